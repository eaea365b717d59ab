//! Full-text search over requests and conversations (`model::search` makes the terms). Terms are
//! written in the transaction of what adds the text (a message, a request's subject or fields, a
//! note), so a search never misses what was acknowledged; what an older installation held before
//! the index existed is indexed once at start (`index_backlog`), up to the marks its migration
//! set.

use serde::Serialize;

use super::base::{placeholders, sql, Tx};
use super::Store;
use crate::error::Result;
use crate::model::search;

/// A request's terms are kept under this kind, a conversation's under `CONVERSATION`.
pub const REQUEST: &str = "r";
pub const CONVERSATION: &str = "c";

/// Rows per insert: four values each, well under either backend's limit on parameters.
const CHUNK: usize = 200;

/// Adds a text's terms to an object's, in the caller's transaction.
pub async fn index(tx: &mut Tx<'_>, org_id: i64, kind: &str, object_id: i64, text: &str) -> Result<()> {
    let terms = search::terms(text);
    for chunk in terms.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len()).map(|i| format!("($1, ${}, $2, $3)", i + 4)).collect();
        let mut q = sqlx::query(sql(format!(
            "INSERT INTO search_terms (org_id, term, kind, object_id) VALUES {} ON CONFLICT DO NOTHING",
            values.join(",")
        )))
        .bind(org_id)
        .bind(kind)
        .bind(object_id);
        for t in chunk {
            q = q.bind(t.as_str());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The SQL condition "the request's own terms and its threads' hold every one of the query's",
/// over `requests.id`, with the query's terms bound from `$first` on. The organisation is `$1`.
pub fn request_condition(first: usize, n: usize) -> String {
    let terms = placeholders(first, n);
    format!(
        "id IN (SELECT hit.rid FROM (\
           SELECT object_id AS rid, term FROM search_terms WHERE org_id = $1 AND kind = '{REQUEST}' AND term IN ({terms}) \
           UNION SELECT rt.request_id AS rid, st.term FROM search_terms st \
             JOIN request_threads rt ON rt.conversation_id = st.object_id \
             WHERE st.org_id = $1 AND st.kind = '{CONVERSATION}' AND st.term IN ({terms})\
         ) hit GROUP BY hit.rid HAVING COUNT(*) = {n})"
    )
}

/// A conversation a search found: who, by which channel, when, the request it belongs to (if
/// any) and the first of its messages that holds every term.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadHit {
    pub conversation_id: i64,
    pub channel: String,
    pub status: String,
    pub contact_id: i64,
    pub contact_name: Option<String>,
    pub last_message_at: i64,
    pub request_id: Option<i64>,
    pub line: Option<String>,
}

/// A hit's line is cut to this many characters around nothing in particular: its start.
const LINE_CHARS: usize = 240;

impl Store {
    /// The organisation's conversations holding every term of the query, latest first.
    pub async fn search_threads(&self, org_id: i64, q: &str, limit: i64) -> Result<Vec<ThreadHit>> {
        let terms = search::query(q);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let n = terms.len();
        let text = format!(
            "SELECT c.id, c.channel, c.status, c.contact_id, k.name, c.last_message_at, rt.request_id \
             FROM conversations c JOIN contacts k ON k.id = c.contact_id \
             LEFT JOIN request_threads rt ON rt.conversation_id = c.id \
             WHERE c.org_id = $1 AND c.id IN (SELECT object_id FROM search_terms WHERE org_id = $1 \
               AND kind = '{CONVERSATION}' AND term IN ({}) GROUP BY object_id HAVING COUNT(*) = {n}) \
             ORDER BY c.last_message_at DESC, c.id DESC LIMIT ${}",
            placeholders(2, n),
            n + 2
        );
        let mut query = sqlx::query_as(sql(text)).bind(org_id);
        for t in &terms {
            query = query.bind(t.as_str());
        }
        type Row = (i64, String, String, i64, Option<String>, i64, Option<i64>);
        let rows: Vec<Row> = query.bind(limit.clamp(1, 100)).fetch_all(&self.read).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (conversation_id, channel, status, contact_id, contact_name, last_message_at, request_id) in rows {
            let bodies: Vec<(String,)> = sqlx::query_as(
                "SELECT body FROM messages WHERE conversation_id = $1 AND author <> 'system' ORDER BY id LIMIT 500",
            )
            .bind(conversation_id)
            .fetch_all(&self.read)
            .await?;
            let line = bodies
                .into_iter()
                .map(|(b,)| b)
                .find(|b| search::matches(b, &terms))
                .map(|b| b.chars().take(LINE_CHARS).collect());
            out.push(ThreadHit {
                conversation_id,
                channel,
                status,
                contact_id,
                contact_name,
                last_message_at,
                request_id,
                line,
            });
        }
        Ok(out)
    }

    /// Indexes what was written before the index existed: the messages and requests up to the
    /// marks migration 0037 set, a batch at a time, moving each mark on as it goes. Run at every
    /// start; nothing to do once the marks are passed. Two nodes doing it at once write the same
    /// terms (a term already there is skipped).
    pub async fn index_backlog(&self) -> Result<u64> {
        let mut done = 0;
        for source in ["messages", "requests"] {
            loop {
                let marks: Vec<(String, i64)> =
                    sqlx::query_as("SELECT source, last_id FROM search_marks WHERE source IN ($1, $2)")
                        .bind(source)
                        .bind(format!("{source}_upto"))
                        .fetch_all(&self.read)
                        .await?;
                let at = |k: &str| marks.iter().find(|(s, _)| s == k).map(|(_, v)| *v);
                let (Some(from), Some(upto)) = (at(source), at(&format!("{source}_upto"))) else {
                    break;
                };
                if from >= upto {
                    break;
                }
                let last = if source == "messages" {
                    self.index_messages(from, upto).await?
                } else {
                    self.index_requests(from, upto).await?
                };
                done += (last - from) as u64;
                sqlx::query("UPDATE search_marks SET last_id = $1 WHERE source = $2 AND last_id < $1")
                    .bind(last)
                    .bind(source)
                    .execute(&self.write)
                    .await?;
            }
        }
        Ok(done)
    }

    /// Indexes a batch of messages after `from` up to `upto`; answers the last id it covered.
    async fn index_messages(&self, from: i64, upto: i64) -> Result<i64> {
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "SELECT id, org_id, conversation_id, body FROM messages WHERE id > $1 AND id <= $2 \
             AND author <> 'system' ORDER BY id LIMIT 500",
        )
        .bind(from)
        .bind(upto)
        .fetch_all(&self.read)
        .await?;
        let last = if rows.len() < 500 {
            upto
        } else {
            rows.last().map_or(upto, |r| r.0)
        };
        let mut tx = self.write.begin().await?;
        for (_, org_id, conversation_id, body) in &rows {
            index(&mut tx, *org_id, CONVERSATION, *conversation_id, body).await?;
        }
        tx.commit().await?;
        Ok(last)
    }

    async fn index_requests(&self, from: i64, upto: i64) -> Result<i64> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT id, org_id FROM requests WHERE id > $1 AND id <= $2 ORDER BY id LIMIT 100")
                .bind(from)
                .bind(upto)
                .fetch_all(&self.read)
                .await?;
        let last = if rows.len() < 100 {
            upto
        } else {
            rows.last().map_or(upto, |r| r.0)
        };
        for (id, org_id) in rows {
            let text = self.request_text(id).await?;
            let mut tx = self.write.begin().await?;
            index(&mut tx, org_id, REQUEST, id, &text).await?;
            tx.commit().await?;
        }
        Ok(last)
    }

    /// All a request says in words: subject, category, its fields' values and the notes and
    /// comments of its history.
    async fn request_text(&self, id: i64) -> Result<String> {
        let (subject, category, fields): (String, Option<String>, String) =
            sqlx::query_as("SELECT subject, category, fields FROM requests WHERE id = $1")
                .bind(id)
                .fetch_one(&self.read)
                .await?;
        let mut text = vec![subject, category.unwrap_or_default(), field_words(&fields)];
        let events: Vec<(String,)> =
            sqlx::query_as("SELECT data FROM request_events WHERE request_id = $1 AND kind = 'comment' ORDER BY id")
                .bind(id)
                .fetch_all(&self.read)
                .await?;
        for (data,) in events {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&data) {
                if let Some(s) = v["text"].as_str() {
                    text.push(s.to_string());
                }
            }
        }
        Ok(text.join("\n"))
    }
}

/// The words of a request's fields (a JSON object): its string and number values.
pub fn field_words(fields: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(fields).unwrap_or_default();
    v.as_object()
        .map(|o| {
            o.values()
                .filter_map(|x| match x {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}
