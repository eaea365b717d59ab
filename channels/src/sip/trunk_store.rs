//! Trunks in the store: an organisation's lines to its telephony provider, and the callers who
//! wait ahead of the rest (VIP numbers); see migration 0009.

use serde::Serialize;

use hub_actors::error::{Error, Result};
use hub_actors::model::Millis;
use hub_actors::store::{BridgeTables, Sealed, Store};

/// The columns of this bridge the core seals at rest and checks names in.
pub const TABLES: BridgeTables = BridgeTables {
    sealed: &[Sealed {
        table: "sip_trunks",
        column: "password",
        digest: None,
    }],
    named: &[],
};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SipTrunk {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub domain: String,
    /// JSON array of "host:port", in the provider's order.
    #[serde(skip)]
    pub proxies: String,
    pub username: String,
    /// Answers the provider's challenges; never shown.
    #[serde(skip)]
    pub password: String,
    pub register: i64,
    pub expires_secs: i64,
    pub caller_id: String,
    pub created_at: i64,
}

impl SipTrunk {
    pub fn proxy_list(&self) -> Vec<String> {
        serde_json::from_str(&self.proxies).unwrap_or_default()
    }
}

pub struct NewTrunk<'a> {
    pub org_id: i64,
    pub name: &'a str,
    pub domain: &'a str,
    pub proxies: &'a [String],
    pub username: &'a str,
    pub password: &'a str,
    pub register: bool,
    pub expires_secs: i64,
    pub caller_id: &'a str,
}

const TRUNK_COLUMNS: &str =
    "id, org_id, name, domain, proxies, username, password, register, expires_secs, caller_id, created_at";

/// The trunk bridge's tables, kept through the core's store (which knows no channel).
#[allow(async_fn_in_trait)] // implemented for `Store` only: callers see its futures are `Send`
pub trait TrunkStore: Sync {
    fn db(&self) -> &Store;

    async fn add_trunk(&self, t: NewTrunk<'_>, now: Millis) -> Result<SipTrunk> {
        if t.proxies.is_empty() {
            return Err(Error::Invalid("a trunk needs at least one proxy".into()));
        }
        let taken: Option<(i64,)> = sqlx::query_as("SELECT id FROM sip_trunks WHERE org_id = $1 AND name = $2")
            .bind(t.org_id)
            .bind(t.name)
            .fetch_optional(self.db().write())
            .await?;
        if taken.is_some() {
            return Err(Error::Conflict(format!("a trunk named {:?} exists", t.name)));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO sip_trunks (org_id, name, domain, proxies, username, password, register, expires_secs, \
             caller_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(t.org_id)
        .bind(t.name)
        .bind(t.domain)
        .bind(serde_json::to_string(t.proxies).unwrap_or_else(|_| "[]".into()))
        .bind(t.username)
        .bind(self.db().seal("sip_trunks.password", t.password))
        .bind(i64::from(t.register))
        .bind(t.expires_secs)
        .bind(t.caller_id)
        .bind(now)
        .fetch_one(self.db().write())
        .await?;
        self.trunk(t.org_id, id).await?.ok_or(Error::NotFound("trunk"))
    }

    async fn trunk(&self, org_id: i64, id: i64) -> Result<Option<SipTrunk>> {
        let t: Option<SipTrunk> = sqlx::query_as(hub_actors::store::sql(format!(
            "SELECT {TRUNK_COLUMNS} FROM sip_trunks WHERE org_id = $1 AND id = $2"
        )))
        .bind(org_id)
        .bind(id)
        .fetch_optional(self.db().write())
        .await?;
        t.map(|t| self.opened_trunk(t)).transpose()
    }

    async fn trunks(&self, org_id: i64) -> Result<Vec<SipTrunk>> {
        let all: Vec<SipTrunk> = sqlx::query_as(hub_actors::store::sql(format!(
            "SELECT {TRUNK_COLUMNS} FROM sip_trunks WHERE org_id = $1 ORDER BY id"
        )))
        .bind(org_id)
        .fetch_all(self.db().write())
        .await?;
        all.into_iter().map(|t| self.opened_trunk(t)).collect()
    }

    /// Every organisation's trunks: what a node registers when its SIP endpoint starts.
    async fn all_trunks(&self) -> Result<Vec<SipTrunk>> {
        let all: Vec<SipTrunk> = sqlx::query_as(hub_actors::store::sql(format!(
            "SELECT {TRUNK_COLUMNS} FROM sip_trunks ORDER BY id"
        )))
        .fetch_all(self.db().write())
        .await?;
        all.into_iter().map(|t| self.opened_trunk(t)).collect()
    }

    /// A trunk as read, its password opened.
    fn opened_trunk(&self, mut t: SipTrunk) -> Result<SipTrunk> {
        t.password = self.db().open("sip_trunks.password", &t.password)?;
        Ok(t)
    }

    /// Removes a trunk no number uses any more.
    async fn delete_trunk(&self, org_id: i64, id: i64) -> Result<bool> {
        // Only the organisation's own trunk is looked into: another's answers "not found",
        // never what is on it.
        let used: Option<(String,)> = sqlx::query_as(
            "SELECT n.number FROM sip_numbers n JOIN sip_trunks t ON t.id = n.trunk_id \
             WHERE n.trunk_id = $1 AND t.org_id = $2",
        )
        .bind(id)
        .bind(org_id)
        .fetch_optional(self.db().write())
        .await?;
        if let Some((number,)) = used {
            return Err(Error::Conflict(format!("the number {number:?} is on this trunk")));
        }
        Ok(sqlx::query("DELETE FROM sip_trunks WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(self.db().write())
            .await?
            .rows_affected()
            == 1)
    }

    /// Makes `number` (E.164) a VIP of the organisation, or changes its priority and note.
    async fn set_vip(
        &self,
        org_id: i64,
        number: &str,
        priority: i64,
        note: Option<&str>,
        now: Millis,
    ) -> Result<VipNumber> {
        sqlx::query(
            "INSERT INTO sip_vip_numbers (org_id, number, priority, note, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org_id, number) DO UPDATE SET priority = excluded.priority, note = excluded.note",
        )
        .bind(org_id)
        .bind(number)
        .bind(priority)
        .bind(note)
        .bind(now)
        .execute(self.db().write())
        .await?;
        let row: Option<VipNumber> = sqlx::query_as(
            "SELECT number, priority, note, created_at FROM sip_vip_numbers WHERE org_id = $1 AND number = $2",
        )
        .bind(org_id)
        .bind(number)
        .fetch_optional(self.db().write())
        .await?;
        row.ok_or(Error::NotFound("VIP number"))
    }

    async fn vip_numbers(&self, org_id: i64) -> Result<Vec<VipNumber>> {
        Ok(sqlx::query_as(
            "SELECT number, priority, note, created_at FROM sip_vip_numbers WHERE org_id = $1 ORDER BY priority DESC, number",
        )
        .bind(org_id)
        .fetch_all(self.db().read())
        .await?)
    }

    async fn delete_vip(&self, org_id: i64, number: &str) -> Result<bool> {
        Ok(
            sqlx::query("DELETE FROM sip_vip_numbers WHERE org_id = $1 AND number = $2")
                .bind(org_id)
                .bind(number)
                .execute(self.db().write())
                .await?
                .rows_affected()
                == 1,
        )
    }

    /// The queue priority of a call from `number`: the VIP's, or 0.
    async fn caller_priority(&self, org_id: i64, number: &str) -> Result<i64> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT priority FROM sip_vip_numbers WHERE org_id = $1 AND number = $2")
                .bind(org_id)
                .bind(number)
                .fetch_optional(self.db().read())
                .await?;
        Ok(row.map_or(0, |r| r.0))
    }
}

impl TrunkStore for Store {
    fn db(&self) -> &Store {
        self
    }
}

/// A caller who waits ahead of the rest (see migration 0009).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct VipNumber {
    pub number: String,
    pub priority: i64,
    pub note: Option<String>,
    pub created_at: i64,
}
