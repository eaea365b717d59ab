//! Speech in the store: board voice settings, announcement templates and transcription jobs.

use std::sync::atomic::Ordering;

use super::Store;
use crate::error::{Error, Result};
use crate::model::Millis;

/// How a board announces calls.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BoardVoice {
    pub voice: bool,
    pub chime: bool,
    pub lang: String,
}

/// A called ticket as a board says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallToSay {
    pub org_id: i64,
    pub number: String,
    pub window: String,
    pub lang: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptionJob {
    pub id: i64,
    pub org_id: i64,
    pub conversation_id: i64,
    pub attachment_id: i64,
    pub attempts: i64,
    pub channel: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Transcription {
    pub attachment_id: i64,
    pub status: String,
    pub lang: Option<String>,
    pub text: Option<String>,
    pub error: Option<String>,
    pub audio_ms: Option<i64>,
    pub took_ms: Option<i64>,
}

/// Jobs per status, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TranscriptionCounts {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
    pub skipped: i64,
}

/// Queues a transcription for each audio file of a contact's message, in the message's own
/// transaction: a stored voice message is never left without its job. Past the queue's limit
/// the job is recorded as skipped, so the thread says why no transcript came.
pub(super) async fn enqueue_for_message(
    store: &Store,
    tx: &mut super::Tx<'_>,
    org_id: i64,
    conversation_id: i64,
    message_id: i64,
    now: Millis,
) -> Result<()> {
    let limit = store.transcription_limit.load(Ordering::Relaxed);
    if limit <= 0 {
        return Ok(());
    }
    let audio: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM attachments WHERE message_id = $1 AND mime LIKE 'audio/%' ORDER BY id")
            .bind(message_id)
            .fetch_all(&mut **tx)
            .await?;
    if audio.is_empty() {
        return Ok(());
    }
    let (waiting,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM transcriptions WHERE status IN ('queued', 'running')")
            .fetch_one(&mut **tx)
            .await?;
    for (i, (attachment_id,)) in audio.into_iter().enumerate() {
        let full = waiting + i as i64 >= limit;
        sqlx::query(
            "INSERT INTO transcriptions (org_id, attachment_id, conversation_id, status, error, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (attachment_id) DO NOTHING",
        )
        .bind(org_id)
        .bind(attachment_id)
        .bind(conversation_id)
        .bind(if full { "skipped" } else { "queued" })
        .bind(full.then_some("the transcription queue is full"))
        .bind(now)
        .execute(&mut **tx)
        .await?;
        if full {
            tracing::warn!(
                attachment = attachment_id,
                limit,
                "transcription queue full; recording kept, not transcribed"
            );
        }
    }
    Ok(())
}

/// Transcription jobs as a job queue: queued, or running under a lease; released back to queued.
const TRANSCRIPTIONS: super::jobs::JobQueue = super::jobs::JobQueue {
    table: "transcriptions",
    lease: "lease_until",
    open: "status IN ('queued', 'running')",
    on_claim: ", status = 'running'",
    on_release: ", status = 'queued'",
};

impl Store {
    /// Turns queuing of transcriptions on (`limit` jobs may wait) or off (0).
    pub fn set_transcription_limit(&self, limit: usize) {
        self.transcription_limit.store(limit as i64, Ordering::Relaxed);
    }

    pub async fn board_voice(&self, device_id: i64) -> Result<BoardVoice> {
        let row: Option<(i64, i64, String)> =
            sqlx::query_as("SELECT voice, chime, lang FROM devices WHERE id = $1 AND kind = 'board'")
                .bind(device_id)
                .fetch_optional(&self.read)
                .await?;
        let (voice, chime, lang) = row.ok_or(Error::NotFound("board"))?;
        Ok(BoardVoice {
            voice: voice != 0,
            chime: chime != 0,
            lang,
        })
    }

    pub async fn set_board_voice(
        &self,
        org_id: i64,
        device_id: i64,
        voice: Option<bool>,
        chime: Option<bool>,
        lang: Option<&str>,
    ) -> Result<BoardVoice> {
        let done = sqlx::query(
            "UPDATE devices SET voice = COALESCE($1, voice), chime = COALESCE($2, chime), lang = COALESCE($3, lang) \
             WHERE id = $4 AND org_id = $5 AND kind = 'board'",
        )
        .bind(voice.map(i64::from))
        .bind(chime.map(i64::from))
        .bind(lang)
        .bind(device_id)
        .bind(org_id)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("board"));
        }
        self.board_voice(device_id).await
    }

    /// A ticket a board may announce: called to a window of the board's own branch.
    pub async fn call_to_say(&self, device_id: i64, ticket_id: i64) -> Result<CallToSay> {
        let row: Option<(i64, String, String, String)> = sqlx::query_as(
            "SELECT t.org_id, t.number, w.label, d.lang FROM devices d \
             JOIN tickets t ON t.branch_id = d.branch_id AND t.org_id = d.org_id \
             JOIN windows w ON w.id = t.window_id \
             WHERE d.id = $1 AND t.id = $2 AND t.called_at IS NOT NULL",
        )
        .bind(device_id)
        .bind(ticket_id)
        .fetch_optional(&self.read)
        .await?;
        let (org_id, number, window, lang) = row.ok_or(Error::NotFound("call"))?;
        Ok(CallToSay {
            org_id,
            number,
            window,
            lang,
        })
    }

    pub async fn speech_template(&self, org_id: i64, lang: &str) -> Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT template FROM speech_templates WHERE org_id = $1 AND lang = $2")
                .bind(org_id)
                .bind(lang)
                .fetch_optional(&self.read)
                .await?;
        Ok(row.map(|(t,)| t))
    }

    /// Sets (or with `None` removes) an organisation's announcement for a language.
    pub async fn set_speech_template(&self, org_id: i64, lang: &str, template: Option<&str>) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM speech_templates WHERE org_id = $1 AND lang = $2")
            .bind(org_id)
            .bind(lang)
            .execute(&mut *tx)
            .await?;
        if let Some(t) = template {
            sqlx::query("INSERT INTO speech_templates (org_id, lang, template) VALUES ($1, $2, $3)")
                .bind(org_id)
                .bind(lang)
                .bind(t)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes the oldest job that is queued, or running on a node whose lease ran out.
    pub async fn claim_transcription(
        &self,
        node: &str,
        now: Millis,
        lease_ms: i64,
    ) -> Result<Option<TranscriptionJob>> {
        for _ in 0..5 {
            let candidate: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM transcriptions WHERE status = 'queued' OR (status = 'running' AND lease_until < $1) \
                 ORDER BY id LIMIT 1",
            )
            .bind(now)
            .fetch_optional(&self.write)
            .await?;
            let Some((id,)) = candidate else { return Ok(None) };
            // The guarded update makes the claim exclusive between nodes.
            let claimed: Option<(i64, i64, i64, i64)> = self
                .claim_jobs(
                    &TRANSCRIPTIONS,
                    &[id],
                    Some(node),
                    now,
                    lease_ms,
                    "org_id, conversation_id, attachment_id, attempts",
                )
                .await?
                .pop();
            if let Some((org_id, conversation_id, attachment_id, attempts)) = claimed {
                let (channel,): (String,) = sqlx::query_as("SELECT channel FROM conversations WHERE id = $1")
                    .bind(conversation_id)
                    .fetch_one(&self.read)
                    .await?;
                return Ok(Some(TranscriptionJob {
                    id,
                    org_id,
                    conversation_id,
                    attachment_id,
                    attempts,
                    channel,
                }));
            }
        }
        Ok(None)
    }

    /// Puts back the jobs this node was running when it stopped (a crash, a kill): nobody else
    /// runs them, and waiting out their lease would only delay them.
    pub async fn requeue_transcriptions_of(&self, node: &str) -> Result<u64> {
        self.release_jobs(&TRANSCRIPTIONS, node, None).await
    }

    /// Keeps a long job's claim alive.
    pub async fn renew_transcription(&self, id: i64, until: Millis) -> Result<()> {
        sqlx::query("UPDATE transcriptions SET lease_until = $1 WHERE id = $2 AND status = 'running'")
            .bind(until)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn audio_of(&self, attachment_id: i64) -> Result<(String, Vec<u8>)> {
        let row: Option<(String, Vec<u8>)> = sqlx::query_as("SELECT mime, data FROM attachments WHERE id = $1")
            .bind(attachment_id)
            .fetch_optional(&self.read)
            .await?;
        row.ok_or(Error::NotFound("attachment"))
    }

    pub async fn finish_transcription(
        &self,
        id: i64,
        text: &str,
        lang: &str,
        audio_ms: i64,
        took_ms: i64,
        now: Millis,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE transcriptions SET status = 'done', text = $1, lang = $2, audio_ms = $3, took_ms = $4, \
             finished_at = $5, error = NULL WHERE id = $6",
        )
        .bind(text)
        .bind(lang)
        .bind(audio_ms)
        .bind(took_ms)
        .bind(now)
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// A job that cannot succeed (bad audio) fails for good; one that met a passing problem goes
    /// back to the queue.
    pub async fn fail_transcription(&self, id: i64, error: &str, retry: bool, now: Millis) -> Result<()> {
        sqlx::query(
            "UPDATE transcriptions SET status = $1, error = $2, finished_at = $3, lease_until = 0 WHERE id = $4",
        )
        .bind(if retry { "queued" } else { "failed" })
        .bind(error)
        .bind(if retry { None } else { Some(now) })
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn transcription_counts(&self) -> Result<TranscriptionCounts> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT status, COUNT(*) FROM transcriptions GROUP BY status")
            .fetch_all(&self.read)
            .await?;
        let mut c = TranscriptionCounts::default();
        for (status, n) in rows {
            match status.as_str() {
                "queued" => c.queued = n,
                "running" => c.running = n,
                "done" => c.done = n,
                "failed" => c.failed = n,
                _ => c.skipped += n,
            }
        }
        Ok(c)
    }

    /// The transcriptions of a conversation's recordings, for the console.
    pub async fn transcriptions_of(&self, org_id: i64, conversation_id: i64) -> Result<Vec<Transcription>> {
        type Row = (
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT attachment_id, status, lang, text, error, audio_ms, took_ms FROM transcriptions \
                 WHERE org_id = $1 AND conversation_id = $2 ORDER BY id",
        )
        .bind(org_id)
        .bind(conversation_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(attachment_id, status, lang, text, error, audio_ms, took_ms)| Transcription {
                    attachment_id,
                    status,
                    lang,
                    text,
                    error,
                    audio_ms,
                    took_ms,
                },
            )
            .collect())
    }
}
