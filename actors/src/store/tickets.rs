//! The electronic queue's tickets: issuing, the atomic call-next, operator actions, the board's
//! history, live counts, and each operator's saved place.

use futures_util::future::BoxFuture;
use serde::Serialize;

use super::{random_token, sql, Backend, Store};
use crate::error::{Error, Result};
use crate::model::{
    board::BoardCall,
    numbering::ticket_code,
    ordering::{sort_key, Placement, PRIORITY_NORMAL, PRIORITY_VIP},
    presence::{Presence, PresenceError},
    ticket::{transition, TicketAction, TicketStatus},
    Millis,
};

const TICKET_COLUMNS: &str = "id, public_id, org_id, branch_id, service_id, number, day, channel, \
    priority, sort_key, status, recalls, issued_at, called_at, started_at, finished_at, window_id, \
    operator_id, comment";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Ticket {
    pub id: i64,
    pub public_id: String,
    pub org_id: i64,
    pub branch_id: i64,
    pub service_id: i64,
    pub number: String,
    pub day: String,
    pub channel: String,
    pub priority: i64,
    #[serde(skip)]
    pub sort_key: i64,
    pub status: String,
    pub recalls: i64,
    pub issued_at: i64,
    pub called_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub window_id: Option<i64>,
    pub operator_id: Option<i64>,
    pub comment: Option<String>,
}

impl Ticket {
    pub fn status(&self) -> Result<TicketStatus> {
        TicketStatus::parse(&self.status)
            .ok_or_else(|| Error::Internal(format!("ticket {} has unknown status {:?}", self.id, self.status)))
    }
}

/// What a kiosk or phone learns right after issuing: enough to print and to follow.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedTicket {
    pub ticket: Ticket,
    /// Tickets ahead of this one in its queue.
    pub ahead: i64,
}

/// A ticket as its holder sees it on their phone: no internal ids beyond the public one.
#[derive(Debug, Clone, Serialize)]
pub struct PublicTicket {
    pub public_id: String,
    pub number: String,
    pub status: String,
    pub branch_id: i64,
    pub branch_name: String,
    pub service_id: i64,
    pub service_ru: String,
    pub service_en: String,
    pub issued_at: i64,
    pub ahead: Option<i64>,
    pub window: Option<String>,
    pub lang: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TodayStats {
    /// Tickets the branch issued today.
    pub issued: i64,
    pub served: i64,
    pub no_show: i64,
    pub waiting: i64,
    /// Mean seconds from issue to call, over tickets called today.
    pub avg_wait_secs: Option<f64>,
    /// Mean seconds from call to finish, over tickets served today.
    pub avg_service_secs: Option<f64>,
}

/// A ticket in play as the supervisor's live view lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LiveTicket {
    pub id: i64,
    pub number: String,
    pub service_id: i64,
    pub status: String,
    pub priority: i64,
    pub issued_at: i64,
    pub called_at: Option<i64>,
    pub started_at: Option<i64>,
    pub window: Option<String>,
    pub operator: Option<String>,
    pub operator_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct OperatorState {
    pub user_id: i64,
    pub window_id: Option<i64>,
    pub service_ids: Vec<i64>,
    pub presence: Presence,
    pub since: Millis,
}

/// What a channel records about a ticket it issues, in the ticket's own transaction (a bot
/// keeps the chat the ticket was taken from, so a repeated update finds it and never issues a
/// second).
pub type WithTicket = Box<dyn for<'t> FnOnce(&'t mut super::Tx<'static>, i64) -> BoxFuture<'t, Result<()>> + Send>;

impl Store {
    /// Issues the next number of `service_id`'s prefix for today and queues the ticket; the
    /// counter bump, the ticket and its first timeline entry commit together.
    #[allow(clippy::too_many_arguments)]
    pub async fn issue_ticket(
        &self,
        org_id: i64,
        branch_id: i64,
        service_id: i64,
        day: &str,
        channel: &str,
        vip: bool,
        now: Millis,
        with_ticket: Option<WithTicket>,
    ) -> Result<IssuedTicket> {
        let mut tx = self.write.begin().await?;
        let prefix: Option<(Option<String>,)> = sqlx::query_as(
            // A service taken off the menu issues nothing more, even from a kiosk's stale menu.
            "SELECT prefix FROM services WHERE id = $1 AND branch_id = $2 AND org_id = $3 AND kind = 'visit' \
             AND retired = 0",
        )
        .bind(service_id)
        .bind(branch_id)
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await?;
        let prefix = match prefix {
            None => return Err(Error::NotFound("service")),
            Some((None,)) => {
                return Err(
                    crate::model::field::FieldError::new("service_id", "menu_group", serde_json::json!({})).into(),
                )
            }
            Some((Some(p),)) => p,
        };
        let (seq,): (i64,) = sqlx::query_as(
            "INSERT INTO ticket_counters (branch_id, prefix, day, last) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (branch_id, prefix, day) DO UPDATE SET last = ticket_counters.last + 1 \
             RETURNING last",
        )
        .bind(branch_id)
        .bind(&prefix)
        .bind(day)
        .fetch_one(&mut *tx)
        .await?;
        let priority = if vip { PRIORITY_VIP } else { PRIORITY_NORMAL };
        let ticket: Ticket = sqlx::query_as(sql(format!(
            "INSERT INTO tickets (public_id, org_id, branch_id, service_id, number, day, channel, \
             priority, sort_key, status, recalls, issued_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '{waiting}', 0, $10) RETURNING {TICKET_COLUMNS}",
            waiting = TicketStatus::Waiting.as_str(),
        )))
        .bind(random_token(12))
        .bind(org_id)
        .bind(branch_id)
        .bind(service_id)
        .bind(ticket_code(&prefix, seq))
        .bind(day)
        .bind(channel)
        .bind(priority)
        .bind(sort_key(now, Placement::Back))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let ahead = ahead_of(&mut tx, &ticket).await?;
        if let Some(record) = with_ticket {
            record(&mut tx, ticket.id).await?;
        }
        tx.commit().await?;
        Ok(IssuedTicket { ticket, ahead })
    }

    /// Hands the best waiting ticket among `service_ids` to the operator, atomically: two
    /// operators (on one node or several) calling at the same moment never get the same ticket.
    /// SQLite has a single writer; PostgreSQL skips rows another transaction has locked.
    /// Returns None when nothing waits. Refuses while the operator has a ticket in hand.
    #[allow(clippy::too_many_arguments)]
    pub async fn call_next(
        &self,
        branch_id: i64,
        day: &str,
        operator_id: i64,
        window_id: i64,
        service_ids: &[i64],
        now: Millis,
    ) -> Result<Option<Ticket>> {
        let open: Vec<(i64, Millis)> = service_ids.iter().map(|s| (*s, now)).collect();
        self.call_next_within(branch_id, day, operator_id, window_id, &open, now)
            .await
    }

    /// Like [`Store::call_next`], with the routing engine's widening steps applied: each
    /// `(service, cut-off)` admits tickets of that service issued at or before the cut-off (an
    /// operator of lower proficiency only gets tickets that have waited long enough).
    #[allow(clippy::too_many_arguments)]
    pub async fn call_next_within(
        &self,
        branch_id: i64,
        day: &str,
        operator_id: i64,
        window_id: i64,
        services: &[(i64, Millis)],
        now: Millis,
    ) -> Result<Option<Ticket>> {
        if services.is_empty() {
            return Err(
                crate::model::field::FieldError::new("service_ids", "no_service", serde_json::json!({})).into(),
            );
        }
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql_text = format!(
            "UPDATE tickets SET status = '{called}', called_at = $1, changed_at = $1, window_id = $2, \
             operator_id = $3, recalls = 0 \
             WHERE id = (SELECT id FROM tickets WHERE branch_id = $4 AND day = $5 AND status = '{waiting}' \
                         AND ({wanted}) ORDER BY priority DESC, sort_key, id LIMIT 1 {lock}) \
               AND status = '{waiting}' \
               AND NOT EXISTS (SELECT 1 FROM tickets h WHERE h.operator_id = $3 AND {in_hand}) \
             RETURNING {TICKET_COLUMNS}",
            called = TicketStatus::Called.as_str(),
            waiting = TicketStatus::Waiting.as_str(),
            in_hand = TicketStatus::sql_in_hand("h.status"),
            wanted = (0..services.len())
                .map(|i| format!("(service_id = ${} AND issued_at <= ${})", 6 + 2 * i, 7 + 2 * i))
                .collect::<Vec<_>>()
                .join(" OR ")
        );
        // One statement, committed on its own; the timeline row is written by the store's trigger.
        let mut q = sqlx::query_as::<_, Ticket>(sql(sql_text))
            .bind(now)
            .bind(window_id)
            .bind(operator_id)
            .bind(branch_id)
            .bind(day);
        for (s, cut_off) in services {
            q = q.bind(*s).bind(*cut_off);
        }
        let called = q
            .fetch_optional(&self.write)
            .await
            .map_err(|e| super::unique_as_conflict(e, "finish the ticket in hand before calling the next one"))?;
        let Some(ticket) = called else {
            // Nothing changed: tell "hands full" apart from "queue empty".
            if self.in_hand(operator_id).await?.is_some() {
                return Err(Error::Conflict(
                    "finish the ticket in hand before calling the next one".into(),
                ));
            }
            return Ok(None);
        };
        Ok(Some(ticket))
    }

    /// Applies an operator's action to the ticket in their hand. The update is conditional on
    /// the status, recall count and owner read a moment before, so a concurrent change (another
    /// node, a double click) fails cleanly instead of being overwritten.
    ///
    /// `ticket` is the ticket as the operator's actor last saw it; the guarded update checks it
    /// is still so, instead of reading it again.
    #[allow(clippy::too_many_arguments)]
    pub async fn act_on_ticket(
        &self,
        ticket: &Ticket,
        operator_id: i64,
        action: TicketAction,
        recalls_before_no_show: i64,
        transfer: Option<(i64, Placement)>,
        comment: Option<&str>,
        now: Millis,
    ) -> Result<Ticket> {
        if ticket.operator_id != Some(operator_id) {
            return Err(Error::NotFound("ticket in your hands"));
        }
        let from = ticket.status()?;
        let to = transition(from, action, ticket.recalls, recalls_before_no_show)?;
        // $1..$4 guard the row; $5 is the time; the action's own values follow. Each action is
        // one statement; the store's trigger writes the timeline row with it.
        let guard = "WHERE id = $1 AND status = $2 AND recalls = $3 AND operator_id = $4";
        let update = match action {
            TicketAction::Recall => {
                format!("UPDATE tickets SET recalls = recalls + 1, called_at = $5, changed_at = $5 {guard} RETURNING {TICKET_COLUMNS}")
            }
            TicketAction::Start => {
                format!("UPDATE tickets SET status = $6, started_at = $5, changed_at = $5 {guard} RETURNING {TICKET_COLUMNS}")
            }
            TicketAction::Finish | TicketAction::NoShow => format!(
                "UPDATE tickets SET status = $6, finished_at = $5, changed_at = $5, comment = COALESCE($7, comment) {guard} \
                 RETURNING {TICKET_COLUMNS}"
            ),
            TicketAction::Transfer => format!(
                "UPDATE tickets SET status = $9, changed_at = $5, sort_key = $6, service_id = $7, comment = $8, \
                 called_at = NULL, started_at = NULL, window_id = NULL, operator_id = NULL, recalls = 0 \
                 {guard} RETURNING {TICKET_COLUMNS}"
            ),
            // A waiting ticket is in nobody's hands: `transition` refused it above.
            TicketAction::Requeue => return Err(Error::NotFound("ticket in your hands")),
        };
        let q = sqlx::query_as::<_, Ticket>(sql(update))
            .bind(ticket.id)
            .bind(from.as_str())
            .bind(ticket.recalls)
            .bind(operator_id)
            .bind(now);
        let q = match action {
            // Every status written is the one the model's `transition` decided.
            TicketAction::Recall => q,
            TicketAction::Start => q.bind(to.as_str()),
            TicketAction::Finish | TicketAction::NoShow => q.bind(to.as_str()).bind(comment),
            TicketAction::Requeue => q,
            TicketAction::Transfer => {
                let (service_id, placement) = transfer.ok_or_else(|| {
                    Error::from(crate::model::field::FieldError::new(
                        "service_id",
                        "required",
                        serde_json::json!({}),
                    ))
                })?;
                self.check_visit_target(service_id, ticket.branch_id).await?;
                q.bind(sort_key(now, placement))
                    .bind(service_id)
                    .bind(comment)
                    .bind(to.as_str())
            }
        };
        let updated = q
            .fetch_optional(&self.write)
            .await?
            .ok_or_else(|| Error::Conflict("the ticket changed meanwhile; reload".into()))?;
        Ok(updated)
    }

    /// A supervisor moves a waiting ticket of the organisation to a service of its branch (or
    /// keeps its service), at the front or the back of that line. Guarded on the status and
    /// service read a moment before: a ticket called meanwhile is not moved.
    pub async fn requeue(
        &self,
        org_id: i64,
        ticket_id: i64,
        service_id: Option<i64>,
        placement: Placement,
        now: Millis,
    ) -> Result<(Ticket, Ticket)> {
        let before = self.ticket_of_org(org_id, ticket_id).await?;
        let to = transition(before.status()?, TicketAction::Requeue, before.recalls, 0)?;
        let service_id = service_id.unwrap_or(before.service_id);
        self.check_visit_target(service_id, before.branch_id).await?;
        let after: Ticket = sqlx::query_as(sql(format!(
            "UPDATE tickets SET status = $1, sort_key = $2, service_id = $3, changed_at = $4 \
             WHERE id = $5 AND status = $6 AND service_id = $7 RETURNING {TICKET_COLUMNS}"
        )))
        .bind(to.as_str())
        .bind(sort_key(now, placement))
        .bind(service_id)
        .bind(now)
        .bind(ticket_id)
        .bind(before.status.as_str())
        .bind(before.service_id)
        .fetch_optional(&self.write)
        .await?
        .ok_or_else(|| Error::Conflict("the ticket changed meanwhile; reload".into()))?;
        Ok((before, after))
    }

    /// Where a visit ticket may be sent: a service of its own branch that issues tickets (not a
    /// menu group).
    async fn check_visit_target(&self, service_id: i64, branch_id: i64) -> Result<()> {
        let target: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT prefix FROM services WHERE id = $1 AND branch_id = $2 AND kind = 'visit' AND retired = 0",
        )
        .bind(service_id)
        .bind(branch_id)
        .fetch_optional(&self.read)
        .await?;
        match target {
            None => Err(Error::NotFound("service")),
            Some((None,)) => {
                Err(crate::model::field::FieldError::new("service_id", "menu_group", serde_json::json!({})).into())
            }
            Some(_) => Ok(()),
        }
    }

    /// A ticket of the organisation, whatever its state.
    pub async fn ticket_of_org(&self, org_id: i64, ticket_id: i64) -> Result<Ticket> {
        sqlx::query_as(sql(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1 AND org_id = $2"
        )))
        .bind(ticket_id)
        .bind(org_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(Error::NotFound("ticket"))
    }

    /// A branch's tickets of today still in play (waiting, called, being served), the line's
    /// order first, for the supervisor's live view.
    pub async fn live_tickets(&self, org_id: i64, branch_id: i64, day: &str) -> Result<Vec<LiveTicket>> {
        Ok(sqlx::query_as(
            "SELECT t.id, t.number, t.service_id, t.status, t.priority, t.issued_at, t.called_at, t.started_at, \
                    w.label AS window, u.name AS operator, t.operator_id \
             FROM tickets t LEFT JOIN windows w ON w.id = t.window_id LEFT JOIN users u ON u.id = t.operator_id \
             WHERE t.org_id = $1 AND t.branch_id = $2 AND t.day = $3 AND t.status IN ('waiting', 'called', 'serving') \
             ORDER BY CASE WHEN t.status = 'waiting' THEN 1 ELSE 0 END, t.priority DESC, t.sort_key, t.id",
        )
        .bind(org_id)
        .bind(branch_id)
        .bind(day)
        .fetch_all(&self.read)
        .await?)
    }

    /// The ticket the operator is dealing with now, if any.
    pub async fn in_hand(&self, operator_id: i64) -> Result<Option<Ticket>> {
        Ok(sqlx::query_as(sql(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE operator_id = $1 \
             AND {in_hand} ORDER BY called_at DESC LIMIT 1",
            in_hand = TicketStatus::sql_in_hand("status"),
        )))
        .bind(operator_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// The branch's latest calls of the day, newest first: what a board shows, rebuilt from the
    /// store after a restart.
    pub async fn board_calls(&self, branch_id: i64, day: &str, n: i64) -> Result<Vec<BoardCall>> {
        let rows: Vec<(i64, String, String, i64, String)> = sqlx::query_as(
            "SELECT t.id, t.number, w.label, t.called_at, t.status FROM tickets t JOIN windows w ON w.id = t.window_id \
             WHERE t.branch_id = $1 AND t.day = $2 AND t.called_at IS NOT NULL \
               AND t.status IN ('called', 'serving', 'done') \
             ORDER BY t.called_at DESC, t.id DESC LIMIT $3",
        )
        .bind(branch_id)
        .bind(day)
        .bind(n)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(ticket_id, number, window, called_at, status)| BoardCall {
                ticket_id,
                number,
                window,
                called_at,
                status: TicketStatus::parse(&status).unwrap_or(TicketStatus::Done),
            })
            .collect())
    }

    /// Waiting tickets per service of the branch.
    pub async fn waiting_counts(&self, branch_id: i64, day: &str) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT service_id, COUNT(*) FROM tickets WHERE branch_id = $1 AND day = $2 AND status = 'waiting' \
             GROUP BY service_id",
        )
        .bind(branch_id)
        .bind(day)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn public_ticket(&self, public_id: &str) -> Result<PublicTicket> {
        let ticket: Ticket = sqlx::query_as(sql(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE public_id = $1"
        )))
        .bind(public_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(Error::NotFound("ticket"))?;
        let (branch_name, lang, service_ru, service_en): (String, String, String, String) = sqlx::query_as(
            "SELECT b.name, b.lang, s.name_ru, s.name_en FROM branches b JOIN services s ON s.branch_id = b.id \
             WHERE b.id = $1 AND s.id = $2",
        )
        .bind(ticket.branch_id)
        .bind(ticket.service_id)
        .fetch_one(&self.read)
        .await?;
        let window: Option<(String,)> = match ticket.window_id {
            Some(w) => {
                sqlx::query_as("SELECT label FROM windows WHERE id = $1")
                    .bind(w)
                    .fetch_optional(&self.read)
                    .await?
            }
            None => None,
        };
        let ahead = if ticket.status == "waiting" {
            let mut conn = self.read.acquire().await?;
            Some(ahead_of(&mut conn, &ticket).await?)
        } else {
            None
        };
        Ok(PublicTicket {
            public_id: ticket.public_id,
            number: ticket.number,
            status: ticket.status,
            branch_id: ticket.branch_id,
            branch_name,
            service_id: ticket.service_id,
            service_ru,
            service_en,
            issued_at: ticket.issued_at,
            ahead,
            window: window.map(|w| w.0),
            lang,
        })
    }

    /// Today's figures for the branch, or for one operator when `operator_id` is given.
    pub async fn today_stats(&self, branch_id: i64, day: &str, operator_id: Option<i64>) -> Result<TodayStats> {
        let (served, no_show, avg_wait, avg_service): (i64, i64, Option<f64>, Option<f64>) = sqlx::query_as(
            "SELECT \
               CAST(COALESCE(SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN status = 'no_show' THEN 1 ELSE 0 END), 0) AS BIGINT), \
               CAST(AVG(CASE WHEN called_at IS NOT NULL THEN called_at - issued_at END) / 1000.0 AS DOUBLE PRECISION), \
               CAST(AVG(CASE WHEN status = 'done' THEN finished_at - called_at END) / 1000.0 AS DOUBLE PRECISION) \
             FROM tickets WHERE branch_id = $1 AND day = $2 AND ($3 = 0 OR operator_id = $3)",
        )
        .bind(branch_id)
        .bind(day)
        .bind(operator_id.unwrap_or(0))
        .fetch_one(&self.read)
        .await?;
        let (issued, waiting): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN status = 'waiting' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM tickets WHERE branch_id = $1 AND day = $2",
        )
        .bind(branch_id)
        .bind(day)
        .fetch_one(&self.read)
        .await?;
        Ok(TodayStats {
            issued,
            served,
            no_show,
            waiting,
            avg_wait_secs: avg_wait,
            avg_service_secs: avg_service,
        })
    }

    pub async fn operator_state(&self, user_id: i64) -> Result<Option<OperatorState>> {
        let row: Option<(Option<i64>, String, String, i64)> =
            sqlx::query_as("SELECT window_id, service_ids, presence, since FROM operator_states WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.read)
                .await?;
        Ok(row.map(|(window_id, services, presence, since)| OperatorState {
            user_id,
            window_id,
            service_ids: serde_json::from_str(&services).unwrap_or_default(),
            presence: serde_json::from_str(&presence).unwrap_or(Presence::Offline),
            since,
        }))
    }

    /// Saves where the operator sits and their presence. One window, one operator: a window an
    /// operator at work or on a break holds is refused to another (the store's unique index
    /// decides, so two operators choosing at once cannot both have it).
    pub async fn save_operator_state(&self, s: &OperatorState) -> Result<()> {
        let saved = sqlx::query(
            // A change of presence starts a new idle period (longest-idle routing) and forgives
            // the offers missed before it.
            "INSERT INTO operator_states (user_id, window_id, service_ids, presence, since, idle_since) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (user_id) DO UPDATE SET window_id = $2, \
             service_ids = $3, presence = $4, since = $5, \
             idle_since = CASE WHEN operator_states.presence <> $4 THEN $5 ELSE operator_states.idle_since END, \
             missed_offers = CASE WHEN operator_states.presence <> $4 THEN 0 ELSE operator_states.missed_offers END",
        )
        .bind(s.user_id)
        .bind(s.window_id)
        .bind(to_json(&s.service_ids)?)
        .bind(to_json(&s.presence)?)
        .bind(s.since)
        .execute(&self.write)
        .await;
        match saved {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                let label: Option<(String,)> = sqlx::query_as("SELECT label FROM windows WHERE id = $1")
                    .bind(s.window_id)
                    .fetch_optional(&self.read)
                    .await?;
                Err(PresenceError::WindowTaken {
                    window: label.map(|l| l.0).unwrap_or_default(),
                }
                .into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Marks the operators' consoles as seen connected now (the node holding them open says so
    /// every few seconds).
    pub async fn consoles_seen(&self, users: &[i64], now: Millis) -> Result<()> {
        if users.is_empty() {
            return Ok(());
        }
        let q = sqlx::query(sql(format!(
            "UPDATE operator_states SET console_seen_at = $1 WHERE user_id IN ({})",
            super::placeholders(2, users.len())
        )))
        .bind(now);
        let q = users.iter().fold(q, |q, u| q.bind(*u));
        q.execute(&self.write).await?;
        Ok(())
    }

    /// Operators none of whose consoles was seen since `before`: their consoles are forgotten
    /// (once: one node takes each) and they are returned, to be signed off.
    pub async fn consoles_gone(&self, before: Millis) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "UPDATE operator_states SET console_seen_at = NULL WHERE console_seen_at < $1 RETURNING user_id",
        )
        .bind(before)
        .fetch_all(&self.write)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// The saved places of the operators seated at the branch's windows, whatever their
    /// presence: the queue actor counts the available ones per service for the estimated wait.
    pub async fn operators_serving(&self, branch_id: i64) -> Result<Vec<OperatorState>> {
        let rows: Vec<(i64, Option<i64>, String, String, i64)> = sqlx::query_as(
            "SELECT o.user_id, o.window_id, o.service_ids, o.presence, o.since FROM operator_states o \
             JOIN windows w ON w.id = o.window_id WHERE w.branch_id = $1",
        )
        .bind(branch_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(user_id, window_id, services, presence, since)| OperatorState {
                user_id,
                window_id,
                service_ids: serde_json::from_str(&services).unwrap_or_default(),
                presence: serde_json::from_str(&presence).unwrap_or(Presence::Offline),
                since,
            })
            .collect())
    }
}

/// Marks SQL built with `format!` as audited: only column lists and `$n` placeholder lists are
/// ever spliced in, never a value.
fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))
}

/// How many waiting tickets of the same queue will be called before `t`.
async fn ahead_of(conn: &mut sqlx::AnyConnection, t: &Ticket) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM tickets WHERE branch_id = $1 AND service_id = $2 AND day = $6 AND status = 'waiting' \
         AND (priority > $3 OR (priority = $3 AND (sort_key < $4 OR (sort_key = $4 AND id < $5))))",
    )
    .bind(t.branch_id)
    .bind(t.service_id)
    .bind(t.priority)
    .bind(t.sort_key)
    .bind(t.id)
    .bind(&t.day)
    .fetch_one(conn)
    .await?;
    Ok(n)
}

impl Store {
    pub async fn ticket_owned(&self, operator_id: i64, ticket_id: i64) -> Result<Ticket> {
        sqlx::query_as(sql(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1 AND operator_id = $2"
        )))
        .bind(ticket_id)
        .bind(operator_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(Error::NotFound("ticket in your hands"))
    }
}

impl Store {
    pub async fn waiting_total(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tickets WHERE status = 'waiting'")
            .fetch_one(&self.read)
            .await?;
        Ok(n)
    }
}
