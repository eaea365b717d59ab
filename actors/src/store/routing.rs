//! What the router reads before a pass: the waiting conversations, the operators with their
//! load, skills and routing state, and each remote queue's policy. Also the live figures of the
//! queues and operators for supervisors and waiting customers.

use std::collections::HashMap;

use serde::Serialize;

use super::Store;
use crate::channel::ChannelKind;
use crate::error::Result;
use crate::model::conversation::ConversationStatus as Status;
use crate::model::{
    presence::Presence,
    routing::{Candidate, Policy, Step, Strategy, Waiting},
    Millis,
};

pub struct Snapshot {
    pub waiting: Vec<Waiting>,
    /// Conversation id → its dialogue, for the events the router publishes.
    pub threads: HashMap<i64, String>,
    pub operators: Vec<Candidate>,
    pub policies: HashMap<i64, Policy>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueFigures {
    pub service_id: i64,
    pub name: String,
    pub strategy: String,
    pub waiting: i64,
    pub longest_wait_secs: i64,
    pub ewt_secs: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OperatorFigures {
    pub user_id: i64,
    pub name: String,
    pub presence: String,
    pub reason: Option<String>,
    pub wrap_up_until: i64,
    pub active: i64,
    pub capacity: i64,
    pub missed_offers: i64,
    /// Where they sit, if at a window.
    pub window: Option<String>,
}

#[derive(sqlx::FromRow)]
struct OperatorRow {
    user_id: i64,
    name: String,
    presence: String,
    wrap_up_until: i64,
    idle_since: i64,
    last_offer_at: i64,
    missed_offers: i64,
    chat_capacity: i64,
    chats: i64,
    mail_capacity: i64,
    mails: i64,
    exclusive: i64,
    window_label: Option<String>,
}

/// Recent conversations a queue's average handling time is taken from.
const HANDLING_SAMPLE: i64 = 50;

impl Store {
    pub async fn routing_snapshot(&self, org_id: i64) -> Result<Snapshot> {
        // id, queue, priority, queued at, offered to, offer expires, dialogue.
        type Row = (i64, i64, i64, i64, Option<i64>, Option<i64>, String, String);
        let rows: Vec<Row> = sqlx::query_as(super::sql(format!(
            "SELECT id, service_id, priority, queued_at, offered_to, offer_expires_at, thread_key, channel \
             FROM conversations WHERE org_id = $1 AND {waiting}",
            waiting = Status::sql_in("status", &Status::WAITING),
        )))
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        let tried: Vec<(i64, i64)> = sqlx::query_as(super::sql(format!(
            "SELECT e.conversation_id, e.operator_id FROM conversation_events e \
             JOIN conversations c ON c.id = e.conversation_id \
             WHERE c.org_id = $1 AND {waiting} AND e.kind IN ('offer_expired', 'declined') \
             AND e.at >= c.queued_at AND e.operator_id IS NOT NULL",
            waiting = Status::sql_in("c.status", &Status::WAITING),
        )))
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        let threads = rows.iter().map(|r| (r.0, r.6.clone())).collect();
        let waiting = rows
            .into_iter()
            .map(
                |(id, service_id, priority, queued_at, offered_to, expires, _, channel)| Waiting {
                    id,
                    service_id,
                    priority,
                    queued_at,
                    load: ChannelKind::load_of(&channel),
                    offer: offered_to.zip(expires),
                    tried: tried.iter().filter(|t| t.0 == id).map(|t| t.1).collect(),
                },
            )
            .collect();
        let ops = self.operator_rows(org_id).await?;
        let skills: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT k.user_id, k.service_id, k.proficiency FROM operator_skills k JOIN users u ON u.id = k.user_id \
             WHERE u.org_id = $1",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        let operators = ops
            .into_iter()
            .map(|o| Candidate {
                id: o.user_id,
                available: serde_json::from_str::<Presence>(&o.presence).ok() == Some(Presence::Available),
                wrap_up_until: o.wrap_up_until,
                chats: o.chats as u32,
                chat_capacity: o.chat_capacity.max(0) as u32,
                mails: o.mails as u32,
                mail_capacity: o.mail_capacity.max(0) as u32,
                exclusive: o.exclusive as u32,
                idle_since: o.idle_since,
                last_offer_at: o.last_offer_at,
                missed_offers: o.missed_offers as u32,
                skills: skills
                    .iter()
                    .filter(|s| s.0 == o.user_id)
                    .map(|s| (s.1, s.2.clamp(0, 5) as u8))
                    .collect(),
            })
            .collect();
        let mut policies = HashMap::new();
        for q in self.remote_queues(org_id).await? {
            match policy_of(&q.strategy, &q.steps, q.offer_secs, q.missed_limit) {
                Ok(p) => {
                    policies.insert(q.id, p);
                }
                Err(e) => tracing::warn!(queue = q.id, error = %e, "queue has an invalid routing policy; not routed"),
            }
        }
        Ok(Snapshot {
            waiting,
            threads,
            operators,
            policies,
        })
    }

    /// Every operator of the organisation with what they hold now, by load: one grouped pass
    /// over the open conversations rather than a count per operator and kind.
    async fn operator_rows(&self, org_id: i64) -> Result<Vec<OperatorRow>> {
        Ok(sqlx::query_as(super::sql(format!(
            "SELECT u.id AS user_id, u.name, COALESCE(s.presence, '{{\"state\":\"offline\"}}') AS presence, \
             COALESCE(s.wrap_up_until, 0) AS wrap_up_until, COALESCE(s.idle_since, 0) AS idle_since, \
             COALESCE(s.last_offer_at, 0) AS last_offer_at, COALESCE(s.missed_offers, 0) AS missed_offers, \
             u.chat_capacity, u.mail_capacity, COALESCE(h.chats, 0) AS chats, COALESCE(h.mails, 0) AS mails, \
             (SELECT COUNT(*) FROM tickets t WHERE t.operator_id = u.id AND {in_hand}) + COALESCE(h.calls, 0) \
                AS exclusive, w.label AS window_label \
             FROM users u LEFT JOIN operator_states s ON s.user_id = u.id LEFT JOIN windows w ON w.id = s.window_id \
             LEFT JOIN (SELECT c.assignee_id, SUM(CASE WHEN {chat} THEN 1 ELSE 0 END) AS chats, \
                               SUM(CASE WHEN {mail} THEN 1 ELSE 0 END) AS mails, \
                               SUM(CASE WHEN {exclusive} THEN 1 ELSE 0 END) AS calls \
                        FROM conversations c WHERE c.org_id = $1 AND c.status = '{open}' \
                        AND c.assignee_id IS NOT NULL GROUP BY c.assignee_id) h ON h.assignee_id = u.id \
             WHERE u.org_id = $1 ORDER BY u.name, u.id",
            open = Status::Open,
            exclusive = ChannelKind::sql_exclusive("c.channel"),
            chat = ChannelKind::sql_load("c.channel", crate::model::routing::Load::Chat),
            mail = ChannelKind::sql_load("c.channel", crate::model::routing::Load::Mail),
            in_hand = crate::model::ticket::TicketStatus::sql_in_hand("t.status"),
        )))
        .bind(org_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Live figures per remote queue: waiting, longest wait, estimated wait for a newcomer.
    pub async fn queue_figures(&self, org_id: i64, now: Millis) -> Result<Vec<QueueFigures>> {
        let queues = self.remote_queues(org_id).await?;
        let waiting: Vec<(i64, i64, i64)> = sqlx::query_as(super::sql(format!(
            "SELECT service_id, COUNT(*), MIN(queued_at) FROM conversations \
             WHERE org_id = $1 AND {waiting} GROUP BY service_id",
            waiting = Status::sql_in("status", &Status::WAITING),
        )))
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        let snapshot_ops = self.operator_rows(org_id).await?;
        let skills: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT k.user_id, k.service_id FROM operator_skills k JOIN users u ON u.id = k.user_id WHERE u.org_id = $1",
        )
        .bind(org_id)
        .fetch_all(&self.read)
        .await?;
        let mut out = vec![];
        for q in queues {
            let (count, oldest) = waiting
                .iter()
                .find(|w| w.0 == q.id)
                .map_or((0, None), |w| (w.1, Some(w.2)));
            let slots: i64 = snapshot_ops
                .iter()
                .filter(|o| serde_json::from_str::<Presence>(&o.presence).ok() == Some(Presence::Available))
                .filter(|o| skills.iter().any(|s| s.0 == o.user_id && s.1 == q.id))
                .map(|o| o.chat_capacity.max(0))
                .sum();
            let avg = self.avg_handling_secs(q.id).await?;
            out.push(QueueFigures {
                service_id: q.id,
                name: q.name,
                strategy: q.strategy,
                waiting: count,
                longest_wait_secs: oldest.map_or(0, |o| ((now - o) / 1000).max(0)),
                // A chat queue drains `slots` conversations at a time, as a branch drains one per operator.
                ewt_secs: crate::model::eta::estimate_wait_secs(count, slots, avg),
            });
        }
        Ok(out)
    }

    /// Mean seconds from acceptance to close over the queue's recent conversations.
    pub async fn avg_handling_secs(&self, service_id: i64) -> Result<Option<f64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(super::sql(format!(
            "SELECT closed_at - accepted_at FROM conversations WHERE service_id = $1 AND status = '{closed}' \
             AND accepted_at IS NOT NULL AND closed_at IS NOT NULL ORDER BY closed_at DESC LIMIT {HANDLING_SAMPLE}",
            closed = Status::Closed.as_str(),
        )))
        .bind(service_id)
        .fetch_all(&self.read)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            rows.iter().map(|r| r.0 as f64 / 1000.0).sum::<f64>() / rows.len() as f64,
        ))
    }

    pub async fn operator_figures(&self, org_id: i64) -> Result<Vec<OperatorFigures>> {
        Ok(self
            .operator_rows(org_id)
            .await?
            .into_iter()
            .map(|o| {
                let presence = serde_json::from_str::<Presence>(&o.presence).unwrap_or(Presence::Offline);
                let (state, reason) = match presence {
                    Presence::Offline => ("offline", None),
                    Presence::Available => ("available", None),
                    Presence::Break { reason } => ("break", Some(reason)),
                };
                OperatorFigures {
                    user_id: o.user_id,
                    name: o.name,
                    presence: state.into(),
                    reason,
                    wrap_up_until: o.wrap_up_until,
                    active: o.chats + o.mails + o.exclusive,
                    capacity: o.chat_capacity.max(0) + o.mail_capacity.max(0),
                    missed_offers: o.missed_offers,
                    window: o.window_label,
                }
            })
            .collect())
    }

    /// Whether someone available serves the queue now.
    pub async fn operators_available_for(&self, org_id: i64, service_id: i64) -> Result<bool> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT s.presence FROM operator_states s JOIN operator_skills k ON k.user_id = s.user_id \
             JOIN users u ON u.id = s.user_id WHERE u.org_id = $1 AND k.service_id = $2",
        )
        .bind(org_id)
        .bind(service_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .iter()
            .any(|(p,)| serde_json::from_str::<Presence>(p).ok() == Some(Presence::Available)))
    }

    /// The skills (service → proficiency) an operator has, as the routing rules read them.
    pub async fn proficiencies(&self, user_id: i64) -> Result<HashMap<i64, u8>> {
        Ok(self
            .skills(user_id)
            .await?
            .into_iter()
            .map(|(s, p)| (s, p.clamp(0, 5) as u8))
            .collect())
    }
}

/// A queue's stored policy, checked.
pub fn policy_of(strategy: &str, steps_json: &str, offer_secs: i64, missed_limit: i64) -> Result<Policy> {
    let strategy: Strategy = strategy
        .parse()
        .map_err(|e: crate::model::routing::RoutingError| crate::Error::Invalid(e.to_string()))?;
    let steps: Vec<Step> =
        serde_json::from_str(steps_json).map_err(|e| crate::Error::Invalid(format!("steps: {e}")))?;
    Policy::new(strategy, steps, offer_secs * 1000, missed_limit.clamp(1, 100) as u32)
        .map_err(|e| crate::Error::Invalid(e.to_string()))
}

impl Store {
    /// The routing policies of the given services (visit or remote), as stored.
    pub async fn policies_for(&self, service_ids: &[i64]) -> Result<HashMap<i64, Policy>> {
        if service_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql_text = format!(
            "SELECT id, strategy, steps, offer_secs, missed_limit FROM services WHERE id IN ({})",
            super::placeholders(1, service_ids.len())
        );
        let mut q = sqlx::query_as::<_, (i64, String, String, i64, i64)>(super::sql(sql_text));
        for s in service_ids {
            q = q.bind(*s);
        }
        let mut out = HashMap::new();
        for (id, strategy, steps, offer, missed) in q.fetch_all(&self.read).await? {
            out.insert(id, policy_of(&strategy, &steps, offer, missed)?);
        }
        Ok(out)
    }

    pub async fn set_routing(
        &self,
        service_id: i64,
        strategy: &str,
        steps: &str,
        offer_secs: i64,
        missed: i64,
    ) -> Result<()> {
        sqlx::query("UPDATE services SET strategy = $1, steps = $2, offer_secs = $3, missed_limit = $4 WHERE id = $5")
            .bind(strategy)
            .bind(steps)
            .bind(offer_secs)
            .bind(missed)
            .bind(service_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn offer_limits(&self, service_id: i64) -> Result<(i64, i64)> {
        sqlx::query_as("SELECT offer_secs, missed_limit FROM services WHERE id = $1")
            .bind(service_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(crate::Error::NotFound("service"))
    }

    pub async fn service_org(&self, service_id: i64) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT org_id FROM services WHERE id = $1")
            .bind(service_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.0))
    }

    /// Whether the operator has a skill in some remote queue (and so may work without a window).
    pub async fn has_remote_skill(&self, user_id: i64) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT k.service_id FROM operator_skills k JOIN services s ON s.id = k.service_id \
             WHERE k.user_id = $1 AND s.kind = 'remote' LIMIT 1",
        )
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.is_some())
    }
}
