//! Telephony in the store: operators' SIP accounts, the numbers callers dial with their menus,
//! the call detail records, and the two conversation changes a call makes by itself (the caller
//! hung up while waiting; a waiting caller's place in the queue).

use std::collections::BTreeMap;

use serde::Serialize;

use hub_actors::store::timeline;
use hub_actors::store::{BridgeTables, Store};

use hub_actors::error::{Error, Result};
use hub_actors::model::Millis;

use super::trunk_store::TrunkStore;

/// The columns of this bridge the core seals at rest and checks names in.
pub const TABLES: BridgeTables = BridgeTables {
    sealed: &[],
    named: &[("sip_accounts", "username")],
};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SipAccount {
    pub id: i64,
    pub org_id: i64,
    pub user_id: i64,
    pub username: String,
    pub realm: String,
    #[serde(skip)]
    pub ha1: String,
    pub auto_answer: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SipNumber {
    pub id: i64,
    pub org_id: i64,
    pub number: String,
    pub greeting: String,
    pub prompt: String,
    /// JSON object: key → service id.
    pub choices: String,
    pub default_service_id: i64,
    pub lang: String,
    pub position_secs: i64,
    pub max_wait_secs: i64,
    /// The trunk the number is a DID of: its calls come only from that trunk's proxies.
    pub trunk_id: Option<i64>,
    pub created_at: i64,
}

impl SipNumber {
    /// The menu's keys; a key that is not one character or a service that is not a number is
    /// left out (the admin API refuses them on the way in).
    pub fn choice_map(&self) -> BTreeMap<char, i64> {
        serde_json::from_str::<BTreeMap<String, i64>>(&self.choices)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| {
                let mut c = k.chars();
                let key = c.next()?;
                c.next().is_none().then_some((key, v))
            })
            .collect()
    }
}

/// An operator's desk-phone credentials: the digest HA1 for `realm`, never the password.
pub struct PhoneAccount<'a> {
    pub username: &'a str,
    pub realm: &'a str,
    pub ha1: &'a str,
    pub auto_answer: bool,
}

pub struct NewSipNumber<'a> {
    pub org_id: i64,
    pub number: &'a str,
    pub greeting: &'a str,
    pub prompt: &'a str,
    pub choices: &'a BTreeMap<char, i64>,
    pub default_service_id: i64,
    pub lang: &'a str,
    pub position_secs: i64,
    pub max_wait_secs: i64,
    pub trunk_id: Option<i64>,
}

/// Where an operator's phone registered (migration 0010), as the registrar keeps it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SipBinding {
    pub user_id: i64,
    pub org_id: i64,
    pub username: String,
    pub contact: String,
    pub target: String,
    pub expires_at: i64,
}

/// A call an operator places (click-to-call).
pub struct Dialled<'a> {
    pub org_id: i64,
    pub call_id: &'a str,
    pub operator: i64,
    /// The number the called person sees (the trunk's caller id).
    pub caller: &'a str,
    pub number: &'a str,
    pub conversation_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CallRecord {
    pub id: i64,
    pub call_id: String,
    pub direction: String,
    pub caller: String,
    pub number: String,
    pub conversation_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub started_at: i64,
    pub queued_at: Option<i64>,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub ended_by: Option<String>,
    pub outcome: Option<String>,
    pub held_ms: i64,
}

const ACCOUNT_COLUMNS: &str = "id, org_id, user_id, username, realm, ha1, auto_answer, created_at";
const NUMBER_COLUMNS: &str = "id, org_id, number, greeting, prompt, choices, default_service_id, lang, \
    position_secs, max_wait_secs, trunk_id, created_at";
const CALL_COLUMNS: &str = "id, call_id, direction, caller, number, conversation_id, operator_id, started_at, \
    queued_at, answered_at, ended_at, ended_by, outcome, held_ms";

/// The telephony bridge's tables, kept through the core's store (which knows no channel).
#[allow(async_fn_in_trait)] // implemented for `Store` only: callers see its futures are `Send`
pub trait PhoneStore: Sync {
    fn db(&self) -> &Store;

    async fn sip_account(&self, username: &str) -> Result<Option<SipAccount>> {
        Ok(sqlx::query_as(hub_actors::store::sql(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM sip_accounts WHERE username = $1"
        )))
        .bind(username)
        .fetch_optional(self.db().read())
        .await?)
    }

    async fn sip_account_of(&self, user_id: i64) -> Result<Option<SipAccount>> {
        Ok(sqlx::query_as(hub_actors::store::sql(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM sip_accounts WHERE user_id = $1"
        )))
        .bind(user_id)
        .fetch_optional(self.db().read())
        .await?)
    }

    async fn sip_accounts(&self, org_id: i64) -> Result<Vec<SipAccount>> {
        Ok(sqlx::query_as(hub_actors::store::sql(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM sip_accounts WHERE org_id = $1 ORDER BY username"
        )))
        .bind(org_id)
        .fetch_all(self.db().read())
        .await?)
    }

    /// Gives an operator of `org_id` their phone account, or replaces its name and credential.
    async fn set_sip_account(&self, org_id: i64, user_id: i64, a: PhoneAccount<'_>, now: Millis) -> Result<SipAccount> {
        let PhoneAccount {
            username,
            realm,
            ha1,
            auto_answer,
        } = a;
        // Another organisation's user is as unknown here as one that does not exist.
        match self.db().user(user_id).await {
            Ok(u) if u.org_id == org_id => {}
            Ok(_) | Err(Error::NotFound(_)) => return Err(Error::NotFound("operator")),
            Err(e) => return Err(e),
        }
        self.db().check_name(org_id, "username", username).await?;
        let taken: Option<(i64,)> = sqlx::query_as("SELECT user_id FROM sip_accounts WHERE username = $1")
            .bind(username)
            .fetch_optional(self.db().write())
            .await?;
        if taken.is_some_and(|(u,)| u != user_id) {
            return Err(Error::Conflict(format!("the SIP user name {username:?} is taken")));
        }
        sqlx::query(
            "INSERT INTO sip_accounts (org_id, user_id, username, realm, ha1, auto_answer, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, \
             realm = excluded.realm, ha1 = excluded.ha1, auto_answer = excluded.auto_answer",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(username)
        .bind(realm)
        .bind(ha1)
        .bind(i64::from(auto_answer))
        .bind(now)
        .execute(self.db().write())
        .await?;
        self.sip_account_of(user_id)
            .await?
            .ok_or(Error::NotFound("SIP account"))
    }

    async fn delete_sip_account(&self, org_id: i64, user_id: i64) -> Result<bool> {
        Ok(
            sqlx::query("DELETE FROM sip_accounts WHERE org_id = $1 AND user_id = $2")
                .bind(org_id)
                .bind(user_id)
                .execute(self.db().write())
                .await?
                .rows_affected()
                == 1,
        )
    }

    /// Keeps a phone's registration (a new one, or a refresh).
    async fn save_sip_binding(&self, b: &SipBinding) -> Result<()> {
        sqlx::query(
            "INSERT INTO sip_bindings (user_id, org_id, username, contact, target, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO UPDATE SET org_id = excluded.org_id, \
             username = excluded.username, contact = excluded.contact, target = excluded.target, \
             expires_at = excluded.expires_at",
        )
        .bind(b.user_id)
        .bind(b.org_id)
        .bind(&b.username)
        .bind(&b.contact)
        .bind(&b.target)
        .bind(b.expires_at)
        .execute(self.db().write())
        .await?;
        Ok(())
    }

    async fn remove_sip_binding(&self, user_id: i64) -> Result<()> {
        sqlx::query("DELETE FROM sip_bindings WHERE user_id = $1")
            .bind(user_id)
            .execute(self.db().write())
            .await?;
        Ok(())
    }

    /// Registrations still live at `now` whose account still has that user name: what the
    /// registrar starts with. Expired ones are cleared on the way.
    async fn live_sip_bindings(&self, now: Millis) -> Result<Vec<SipBinding>> {
        sqlx::query("DELETE FROM sip_bindings WHERE expires_at <= $1")
            .bind(now)
            .execute(self.db().write())
            .await?;
        Ok(sqlx::query_as(
            "SELECT b.user_id, b.org_id, b.username, b.contact, b.target, b.expires_at FROM sip_bindings b \
             JOIN sip_accounts a ON a.user_id = b.user_id AND a.username = b.username WHERE b.expires_at > $1",
        )
        .bind(now)
        .fetch_all(self.db().read())
        .await?)
    }

    async fn sip_number(&self, number: &str) -> Result<Option<SipNumber>> {
        Ok(sqlx::query_as(hub_actors::store::sql(format!(
            "SELECT {NUMBER_COLUMNS} FROM sip_numbers WHERE number = $1"
        )))
        .bind(number)
        .fetch_optional(self.db().read())
        .await?)
    }

    async fn sip_numbers(&self, org_id: i64) -> Result<Vec<SipNumber>> {
        Ok(sqlx::query_as(hub_actors::store::sql(format!(
            "SELECT {NUMBER_COLUMNS} FROM sip_numbers WHERE org_id = $1 ORDER BY number"
        )))
        .bind(org_id)
        .fetch_all(self.db().read())
        .await?)
    }

    /// Adds a number; its services must be the organisation's remote queues.
    async fn add_sip_number(&self, n: NewSipNumber<'_>, now: Millis) -> Result<SipNumber> {
        let queues: Vec<i64> = self
            .db()
            .remote_queues(n.org_id)
            .await?
            .into_iter()
            .map(|q| q.id)
            .collect();
        for s in n.choices.values().chain(std::iter::once(&n.default_service_id)) {
            if !queues.contains(s) {
                return Err(Error::Invalid(format!(
                    "service {s} is not a remote queue of this organisation"
                )));
            }
        }
        if let Some(t) = n.trunk_id {
            self.db().trunk(n.org_id, t).await?.ok_or(Error::NotFound("trunk"))?;
        }
        self.db().check_number(n.org_id, "number", n.number).await?;
        if self.sip_number(n.number).await?.is_some() {
            return Err(Error::Conflict(format!("the number {:?} is taken", n.number)));
        }
        let choices: BTreeMap<String, i64> = n.choices.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        sqlx::query(
            "INSERT INTO sip_numbers (org_id, number, greeting, prompt, choices, default_service_id, lang, \
             position_secs, max_wait_secs, trunk_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(n.org_id)
        .bind(n.number)
        .bind(n.greeting)
        .bind(n.prompt)
        .bind(serde_json::to_string(&choices).unwrap_or_else(|_| "{}".into()))
        .bind(n.default_service_id)
        .bind(n.lang)
        .bind(n.position_secs)
        .bind(n.max_wait_secs)
        .bind(n.trunk_id)
        .bind(now)
        .execute(self.db().write())
        .await?;
        self.sip_number(n.number).await?.ok_or(Error::NotFound("number"))
    }

    /// The record of an incoming call. A new dialog may reuse the Call-ID of a finished call
    /// (RFC 3261 asks callers not to, and a callee must still take the call): its record is then
    /// kept under the Call-ID suffixed with `#<start>`.
    async fn call_started(
        &self,
        org_id: i64,
        call_id: &str,
        direction: &str,
        caller: &str,
        number: &str,
        now: Millis,
    ) -> Result<i64> {
        let insert = |key: String| {
            sqlx::query_as::<_, (i64,)>(
                "INSERT INTO calls (org_id, call_id, direction, caller, number, started_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(org_id)
            .bind(key)
            .bind(direction)
            .bind(caller)
            .bind(number)
            .bind(now)
            .fetch_one(self.db().write())
        };
        match insert(call_id.to_string()).await {
            Ok((id,)) => Ok(id),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(insert(format!("{call_id}#{now}")).await?.0),
            Err(e) => Err(e.into()),
        }
    }

    /// A click-to-call call an operator placed: its record, and a line in the conversation it was
    /// placed from.
    async fn call_dialled(&self, d: Dialled<'_>, now: Millis) -> Result<i64> {
        let mut tx = self.db().write().begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO calls (org_id, call_id, direction, caller, number, conversation_id, operator_id, started_at) \
             VALUES ($1, $2, 'out', $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(d.org_id)
        .bind(d.call_id)
        .bind(d.caller)
        .bind(d.number)
        .bind(d.conversation_id)
        .bind(d.operator)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(c) = d.conversation_id {
            timeline(&mut tx, c, now, "call_dialled", Some(d.operator), Some(d.number)).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn call_queued(&self, id: i64, conversation_id: i64, now: Millis) -> Result<()> {
        sqlx::query("UPDATE calls SET conversation_id = $1, queued_at = $2 WHERE id = $3")
            .bind(conversation_id)
            .bind(now)
            .bind(id)
            .execute(self.db().write())
            .await?;
        Ok(())
    }

    /// The operator's phone answered; the timeline of the conversation says so.
    async fn call_answered(&self, id: i64, operator: i64, now: Millis) -> Result<()> {
        let mut tx = self.db().write().begin().await?;
        let conv: Option<(Option<i64>,)> = sqlx::query_as(
            "UPDATE calls SET operator_id = $1, answered_at = $2 WHERE id = $3 RETURNING conversation_id",
        )
        .bind(operator)
        .bind(now)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((Some(c),)) = conv {
            timeline(&mut tx, c, now, "call_answered", Some(operator), None).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A step of the call in its conversation's timeline (ringing the operator, held, resumed).
    async fn call_event(
        &self,
        conversation_id: i64,
        kind: &str,
        operator: Option<i64>,
        detail: Option<&str>,
        now: Millis,
    ) -> Result<()> {
        let mut tx = self.db().write().begin().await?;
        timeline(&mut tx, conversation_id, now, kind, operator, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn call_ended(&self, id: i64, ended_by: &str, outcome: &str, held_ms: i64, now: Millis) -> Result<()> {
        let mut tx = self.db().write().begin().await?;
        let conv: Option<(Option<i64>,)> = sqlx::query_as(
            "UPDATE calls SET ended_at = $1, ended_by = $2, outcome = $3, held_ms = $4 WHERE id = $5 AND ended_at IS NULL \
             RETURNING conversation_id",
        )
        .bind(now)
        .bind(ended_by)
        .bind(outcome)
        .bind(held_ms)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((Some(c),)) = conv {
            let detail = format!("{outcome}; hung up by {ended_by}");
            timeline(&mut tx, c, now, "call_ended", None, Some(&detail)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Calls of an organisation, newest first.
    async fn calls(&self, org_id: i64, limit: i64) -> Result<Vec<CallRecord>> {
        Ok(sqlx::query_as(hub_actors::store::sql(format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE org_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2"
        )))
        .bind(org_id)
        .bind(limit)
        .fetch_all(self.db().read())
        .await?)
    }

    /// Calls a restart left without an end: they ended when the node stopped.
    async fn end_orphaned_calls(&self, now: Millis) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE calls SET ended_at = $1, ended_by = 'hub', outcome = COALESCE(outcome, 'failed') WHERE ended_at IS NULL",
        )
        .bind(now)
        .execute(self.db().write())
        .await?
        .rows_affected())
    }
}

impl PhoneStore for Store {
    fn db(&self) -> &Store {
        self
    }
}
