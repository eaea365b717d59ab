//! The store of record, through sqlx with two backends behind one interface: SQLite (embedded
//! default, WAL) and PostgreSQL. Queries are written once with `$n` placeholders, which both
//! drivers accept; the few statements that must differ (row locking) branch on [`Backend`].

pub mod audit;
mod auth;
mod base;
mod breaks;
pub mod clients;
pub mod connector;
mod contacts;
mod conversations;
pub mod desk;
pub mod fleet;
pub mod followers;
pub mod jobs;
pub mod kpis;
pub mod labels;
pub mod labour;
pub mod layout;
pub mod looks;
pub mod namespace;
pub mod org;
mod outbox;
pub mod pairing;
pub mod people;
pub mod plans;
pub mod regions;
pub mod requests;
mod routing;
pub mod search;
pub mod speech;
pub(crate) mod tickets;
pub mod visits;
pub mod webhooks;

#[cfg(test)]
mod circles;

pub use auth::{Principal, PrincipalKind};
pub use base::random_token;
pub use base::{placeholders, sql, timeline, unique_as_conflict, Tx};
pub use contacts::{Attachment, Canned, ContactCard, ContactPatch, Identity, RemoteQueue, UploadCaps, Visitor};
pub use conversations::{
    route_replies, AttachmentMeta, Author, ContactRef, Conversation, Csat, Head, Message, TimelineEntry, TransferTo,
    MESSAGE_LIMIT,
};
pub use followers::{follow_ticket, notice_key, FollowedTicket, OwedCall, OwedRating};
pub use looks::{BoardTemplate, Look};
pub use org::{Branch, Service, UserRow, Window};
pub use outbox::OutboxItem;
pub use routing::{policy_of, OperatorFigures, QueueFigures, Snapshot};
pub use tickets::{IssuedTicket, LiveTicket, OperatorState, PublicTicket, Ticket, TodayStats, WithTicket};

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;

use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    /// Writes. On SQLite one connection: SQLite has one writer anyway, and a single writer
    /// connection never meets `SQLITE_BUSY` on a lock upgrade.
    write: AnyPool,
    /// Reads. On SQLite several connections reading the WAL in parallel; on PostgreSQL the same
    /// pool as `write`.
    read: AnyPool,
    backend: Backend,
    /// Transcription jobs that may wait (0: recognition is off and none are queued). Set by
    /// the speech service when it has a model.
    transcription_limit: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// Seals tenants' secrets at rest (see [`crate::seal`]); None only in tools that touch none.
    sealer: Option<std::sync::Arc<crate::seal::Sealer>>,
    /// The bridges' tables the core must know of without knowing the bridges.
    bridges: &'static [BridgeTables],
}

/// What a bridge tells the core about its tables: the columns holding tenants' secrets (sealed
/// at rest) and those holding names shared by the installation (see `model::namespace`).
#[derive(Debug)]
pub struct BridgeTables {
    pub sealed: &'static [Sealed],
    /// `(table, column)`; the table has an `org_id`.
    pub named: &'static [(&'static str, &'static str)],
}

/// The core's own secrets at rest: webhooks' signing secrets.
pub const CORE_TABLES: BridgeTables = BridgeTables {
    sealed: &[Sealed {
        table: "webhooks",
        column: "secret",
        digest: None,
    }],
    named: &[],
};

/// A column holding a secret, and the column keeping its digest (to find a row by the secret
/// without opening every one), if any.
#[derive(Debug)]
pub struct Sealed {
    pub table: &'static str,
    pub column: &'static str,
    pub digest: Option<&'static str>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

impl Store {
    /// The pool for writes (and reads that must see the latest write). A bridge keeps its own
    /// tables through these, in its own module: the core's store knows no channel.
    pub fn write(&self) -> &AnyPool {
        &self.write
    }

    /// The pool for reads.
    pub fn read(&self) -> &AnyPool {
        &self.read
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Seals tenants' secrets with `sealer` from now on (and opens them with it).
    pub fn with_sealer(mut self, sealer: crate::seal::Sealer) -> Self {
        self.sealer = Some(std::sync::Arc::new(sealer));
        self
    }

    /// Registers the bridges' tables (the one line a bridge adds in the wiring).
    pub fn with_bridges(mut self, bridges: &'static [BridgeTables]) -> Self {
        self.bridges = bridges;
        self
    }

    pub(crate) fn bridges(&self) -> &'static [BridgeTables] {
        self.bridges
    }

    pub fn seal(&self, column: &str, plain: &str) -> String {
        match &self.sealer {
            Some(s) => s.seal(column, plain),
            None => plain.to_string(),
        }
    }

    pub fn open(&self, column: &str, stored: &str) -> Result<String> {
        match &self.sealer {
            Some(s) => s
                .open(column, stored)
                .map_err(|e| crate::Error::Internal(e.to_string())),
            None => Ok(stored.to_string()),
        }
    }

    /// Seals every secret still in clear or sealed under a previous key (the first start after
    /// an upgrade, or after a key rotation). Answers how many were sealed.
    pub async fn seal_secrets(&self) -> Result<u64> {
        let Some(sealer) = self.sealer.clone() else {
            return Ok(0);
        };
        let mut n = 0;
        for Sealed { table, column, digest } in self.bridges.iter().chain([&CORE_TABLES]).flat_map(|b| b.sealed) {
            let rows: Vec<(i64, Option<String>)> = sqlx::query_as(sql(format!(
                "SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL"
            )))
            .fetch_all(&self.write)
            .await?;
            let name = format!("{table}.{column}");
            for (id, value) in rows {
                let Some(value) = value.filter(|v| sealer.stale(v)) else {
                    continue;
                };
                let plain = sealer
                    .open(&name, &value)
                    .map_err(|e| crate::Error::Internal(e.to_string()))?;
                sqlx::query(sql(format!("UPDATE {table} SET {column} = $1 WHERE id = $2")))
                    .bind(sealer.seal(&name, &plain))
                    .bind(id)
                    .execute(&self.write)
                    .await?;
                if let Some(digest) = digest {
                    sqlx::query(sql(format!("UPDATE {table} SET {digest} = $1 WHERE id = $2")))
                        .bind(crate::seal::digest(&plain))
                        .bind(id)
                        .execute(&self.write)
                        .await?;
                }
                n += 1;
            }
        }
        if n > 0 && self.backend == Backend::Sqlite {
            // The values in clear (or under the old key) would linger in freed pages and the
            // write-ahead log: rebuild the file and empty the log so none is left on disk.
            // (PostgreSQL keeps old row versions until its own VACUUM; see the README.)
            sqlx::query("VACUUM").execute(&self.write).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.write)
                .await?;
        }
        Ok(n)
    }

    /// Opens the store at `url` (`sqlite://path` or `postgres://…`), creating a SQLite file if
    /// it does not exist yet. Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            let url = if url.contains('?') {
                url.to_string()
            } else {
                format!("{url}?mode=rwc")
            };
            // `cache_kb`: the page cache, which the writer wants larger than SQLite's 2 MB: it
            // inserts into many places at once (each vehicle's track is its own run of a table).
            let open = |max: u32, cache_kb: i64| {
                AnyPoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            // WAL lets readers run beside the writer. synchronous=NORMAL in WAL
                            // mode keeps every commit across a process crash (SIGKILL); only an
                            // OS crash or power cut can lose the last commits.
                            conn.execute(sqlx::AssertSqlSafe(format!(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                                 PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; PRAGMA cache_size=-{cache_kb};"
                            )))
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
            };
            let write = open(1, 32 * 1024).await?;
            // Readers run beside the writer and each other (WAL): enough for a burst of calls
            // and consoles reading at once.
            let read = open(8, 2 * 1024).await?;
            Ok(Self {
                write,
                read,
                backend: Backend::Sqlite,
                transcription_limit: Default::default(),
                sealer: None,
                bridges: &[],
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            Ok(Self {
                write: pool.clone(),
                read: pool,
                backend: Backend::Postgres,
                transcription_limit: Default::default(),
                sealer: None,
                bridges: &[],
            })
        } else {
            Err(crate::Error::Invalid(format!(
                "database_url must start with sqlite:// or postgres://, got {url:?}"
            )))
        }
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.write).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.write).await?,
        }
        Ok(())
    }

    /// Cheap liveness probe for `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}
