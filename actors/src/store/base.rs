//! What every part of the store shares: building SQL text, transactions, the conversation
//! timeline, tokens and mapping unique violations. It imports no other store module, so none
//! of them needs another for these (`store_modules_import_no_circle` checks the graph).

use crate::error::{Error, Result};
use crate::model::Millis;

/// A query built at run time from fixed pieces (column lists, placeholders), never from input.
pub fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

/// `$from, …` for `n` values.
pub fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(",")
}

/// A random token as hex: session tokens, device secrets, public ticket ids.
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

pub type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// One line of a conversation's timeline, in the transaction of the change it records.
pub async fn timeline(
    tx: &mut Tx<'_>,
    conversation_id: i64,
    at: Millis,
    kind: &str,
    operator: Option<i64>,
    detail: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO conversation_events (conversation_id, at, kind, operator_id, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(conversation_id)
    .bind(at)
    .bind(kind)
    .bind(operator)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A unique violation as the conflict it means to the caller; any other failure as it is.
/// Whether the store refused a row for a unique index.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub fn unique_as_conflict(e: sqlx::Error, message: &str) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(message.to_string()),
        _ => Error::Store(e),
    }
}

/// An optional number bound as PostgreSQL's `float8` even when missing. sqlx 0.9's Any driver
/// sends `Option<f64>::None` as a `float4` NULL (it swaps the two float kinds for NULLs), and
/// PostgreSQL then holds the connection's cached statement to `float4`: the next real number
/// bound there is refused ("incorrect binary data format"). Every optional float goes through
/// this.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Float(pub Option<f64>);

impl sqlx::Type<sqlx::Any> for Float {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <f64 as sqlx::Type<sqlx::Any>>::type_info()
    }
}

impl sqlx::Encode<'_, sqlx::Any> for Float {
    fn encode_by_ref(
        &self,
        buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self.0 {
            Some(v) => <f64 as sqlx::Encode<sqlx::Any>>::encode_by_ref(&v, buf),
            // An `f32` NULL is what sqlx 0.9 turns into a float8 NULL for PostgreSQL (and a
            // NULL for SQLite).
            None => <Option<f32> as sqlx::Encode<sqlx::Any>>::encode_by_ref(&None, buf),
        }
    }
}
