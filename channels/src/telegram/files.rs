//! Files of Telegram messages fetched on their own. A message whose file could not be had at
//! once has already landed with its words and a note; the file is tried again here (any node,
//! one at a time per file), lands as its own message of the same dialogue when it comes, and
//! when every try has failed the thread and the user are told.

use std::time::Duration;

use hub_actors::model::now_millis;
use hub_actors::Result;

use super::inbound::{fetch_file, post, Fetched};
use super::notices::Notice;
use super::texts::{self, Lang};
use super::update::{FileKind, FileRef};
use super::{thread_key, Metrics, Telegram};
use crate::telegram::store::BotStore;
use crate::telegram::store::FileJob;

/// Tries in all, the one made when the message came included.
const ATTEMPTS: i64 = 6;
/// How long one try holds a file: another node takes it up after this if this one died.
const CLAIM_MS: i64 = 180_000;

/// The wait before try `done + 1`, after `done` tries: the setting, then 5, 15, 60 and 300 times it.
pub(super) fn retry_in(t: &Telegram, done: i64) -> i64 {
    let factor = match done {
        ..=1 => 1,
        2 => 5,
        3 => 15,
        4 => 60,
        _ => 300,
    };
    i64::try_from(t.0.file_retry_ms).unwrap_or(i64::MAX / 400) * factor
}

pub(super) async fn run(t: Telegram) {
    let store = t.hub().store().clone();
    match store.release_telegram_files(&t.0.node, now_millis()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            files = n,
            "Telegram files this node was fetching when it stopped are due again"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot take back this node's Telegram files"),
    }
    loop {
        match store.due_telegram_files(now_millis(), 8).await {
            Ok(jobs) => {
                for job in jobs {
                    if t.stopped() {
                        return;
                    }
                    let now = now_millis();
                    match store.claim_telegram_file(job.id, &t.0.node, now + CLAIM_MS, now).await {
                        Ok(true) => {
                            if let Err(e) = one(&t, &job).await {
                                // The store failed: the claim runs out and the file is tried again.
                                tracing::warn!(file = job.id, error = %e, "a Telegram file's try failed in the store");
                            }
                        }
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %e, "cannot claim a Telegram file"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the Telegram files to fetch"),
        }
        let wait = match store.next_telegram_file_at().await {
            Ok(Some(at)) => (at - now_millis()).clamp(20, 30_000),
            _ => 30_000,
        };
        tokio::select! {
            _ = t.0.stop.cancelled() => return,
            _ = t.0.files_bell.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
        }
    }
}

/// One try at a claimed file (`job.attempts` tries were made before it).
async fn one(t: &Telegram, job: &FileJob) -> Result<()> {
    let store = t.hub().store();
    let bot = store.telegram_bot(job.bot_id).await?;
    let thread = thread_key(bot.id, job.chat_id);
    let lang = Lang::parse(&bot.lang);
    let file = FileRef {
        file_id: job.file_id.clone(),
        size: 0,
        name: job.name.clone(),
        kind: FileKind::parse(&job.kind),
    };
    let tries = job.attempts + 1;
    let now = now_millis();
    let outcome = fetch_file(t, &bot, &thread, lang, &file).await?;
    let chat = job.chat_id.to_string();
    let contact = || store.contact_for(bot.org_id, "telegram", &chat, None, now);
    let client_id = format!("m{}:file", job.message_id);
    match outcome {
        Fetched::Kept(id) => {
            post(t, &bot, &thread, contact().await?, client_id, String::new(), vec![id]).await?;
            Metrics::add(&t.0.metrics.files_fetched_late, 1);
            tracing::info!(
                bot = bot.id,
                file = job.id,
                tries,
                "a Telegram file came after its message"
            );
            store.finish_telegram_file(job.id, "fetched", now_millis()).await
        }
        Fetched::Refused(why) => {
            let note = texts::file_refused(lang, &job.name, &why);
            post(t, &bot, &thread, contact().await?, client_id, note.clone(), vec![]).await?;
            Notice::text(note)
                .enqueue(t, bot.org_id, &thread, &format!("file:{}", job.id))
                .await?;
            store
                .finish_telegram_file(job.id, &format!("refused: {why}"), now_millis())
                .await
        }
        Fetched::Later(error) if tries >= ATTEMPTS => {
            post(
                t,
                &bot,
                &thread,
                contact().await?,
                client_id,
                texts::file_lost(lang, &job.name),
                vec![],
            )
            .await?;
            Notice::text(texts::file_lost_user(lang, &job.name))
                .enqueue(t, bot.org_id, &thread, &format!("file:{}", job.id))
                .await?;
            Metrics::add(&t.0.metrics.files_lost, 1);
            tracing::warn!(
                bot = bot.id,
                file = job.id,
                tries,
                error,
                "a Telegram file is given up on"
            );
            store
                .finish_telegram_file(job.id, &format!("lost: {error}"), now_millis())
                .await
        }
        Fetched::Later(error) => {
            tracing::info!(
                bot = bot.id,
                file = job.id,
                tries,
                error,
                "a Telegram file will be tried again"
            );
            store
                .retry_telegram_file(job.id, now_millis() + retry_in(t, tries), &error)
                .await
        }
    }
}
