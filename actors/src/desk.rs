//! The service desk's side of the core: opening requests, moving them through their workflows
//! (and carrying out what entering a status does), the thread's messages as the clocks' events,
//! escalation by hand, and the alarm clock that wakes each request's actor on time.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::actors::request::Wake;
use crate::actors::ticket::{Apply, Change, Post};
use crate::bus::{Event, EventKind};
use crate::error::{Error, Result};
use crate::model::conversation::ConversationStatus;
use crate::model::field::FieldError;
use crate::model::now_millis;
use crate::model::role::Role;
use crate::model::workflow::Action;
use crate::store::requests::{Levels, MoveRequest, NewRequest, RequestRow, PRIORITIES};
use crate::store::Author;
use crate::store::Message;
use crate::{Core, Hub};

/// An answer to the customer written on a request's card.
#[derive(Debug, Clone)]
pub struct RequestReply {
    pub user: i64,
    pub role: Role,
    pub conversation_id: Option<i64>,
    pub body: String,
    pub client_id: Option<String>,
}

/// How long a request's actor stays without a message before it stops (its next alarm then
/// waits in the alarm clock alone).
pub const REQUEST_IDLE_SECS: u64 = 60;

impl Hub {
    /// Sets how long idle request actors live (a benchmark compares passivated and not).
    pub fn set_request_idle(&self, secs: u64) {
        self.request_idle.store(secs.max(1), Ordering::Relaxed);
    }

    /// Requests with an alarm to come on this node, and request actors alive now.
    pub fn desk_figures(&self) -> (usize, usize) {
        (self.alarms.len(), self.requests.len())
    }

    /// Wakes a request's actor, reading it again, and answers once it holds the request.
    pub async fn wake_request(&self, id: i64) -> bool {
        let actor = self.requests.get(id);
        actor.do_send(Wake { reload: true });
        actor.send(crate::actors::request::Held).await.unwrap_or(false)
    }

    fn wake(&self, id: i64, reload: bool) {
        self.requests.get(id).do_send(Wake { reload });
    }

    /// Sets every owed alarm's timer from the store and starts the alarm clock and the
    /// listener that re-reads a request when any node changes it.
    pub async fn start_desk(&self) -> Result<()> {
        for (id, at) in self.store().owed_alarms().await? {
            self.alarms.set(id, Some(at));
        }
        let hub = self.clone();
        self.tasks().supervise("desk-alarms", move || {
            let hub = hub.clone();
            async move {
                let stop = hub.tasks().token();
                let h = hub.clone();
                hub.alarms.run(move |id| h.wake(id, false), stop).await;
            }
        });
        let hub = self.clone();
        self.tasks().supervise("desk-changes", move || {
            let hub = hub.clone();
            async move {
                let mut rx = hub.bus().subscribe();
                let stop = hub.tasks().token();
                loop {
                    let heard = tokio::select! {
                        _ = stop.cancelled() => return,
                        e = rx.recv() => e,
                    };
                    match heard {
                        Ok(e) => {
                            if let EventKind::RequestChanged { request_id, .. } = e.kind {
                                hub.wake(request_id, true);
                            }
                        }
                        // Missed changes: every request with a timer reads itself again.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            if let Ok(owed) = hub.store().owed_alarms().await {
                                for (id, _) in owed {
                                    hub.wake(id, true);
                                }
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    }
                }
            }
        });
        Ok(())
    }

    /// Tells every console and node that the request changed.
    pub async fn request_changed(&self, r: &RequestRow) {
        desk_event(
            &self.core,
            r.org_id,
            EventKind::RequestChanged {
                request_id: r.id,
                status: r.status.clone(),
                group_id: r.group_id,
                assignee_id: r.assignee_id,
            },
        )
        .await;
    }

    pub async fn create_request(&self, org_id: i64, new: &NewRequest, by: Option<i64>) -> Result<RequestRow> {
        let id = self.store().create_request(org_id, new, by).await?;
        let r = self.store().request(org_id, id).await?;
        // Every node (this one included) hears it and wakes the request's actor.
        self.request_changed(&r).await;
        Ok(r)
    }

    /// Moves a request and does what entering its new status does.
    pub async fn move_request(&self, org_id: i64, id: i64, m: &MoveRequest, by: i64, role: Role) -> Result<RequestRow> {
        let (r, notices) = self.store().move_request(org_id, id, m, by, role).await?;
        for (conversation_id, message_id) in notices {
            crate::actors::ticket::announce_message(&self.core, org_id, conversation_id, message_id).await;
        }
        let flow = self.store().workflow_version(r.workflow_version_id).await?;
        let actions = flow.status(&r.status).map(|s| s.on_enter.clone()).unwrap_or_default();
        for a in actions {
            self.enter_action(org_id, &r, &a).await?;
        }
        let r = self.store().request(org_id, id).await?;
        self.request_changed(&r).await;
        Ok(r)
    }

    async fn enter_action(&self, org_id: i64, r: &RequestRow, a: &Action) -> Result<()> {
        let s = self.store();
        match a {
            Action::Assign { group } => {
                let grades = s.desk_grades(org_id).await?;
                if let Some(g) = grades.iter().find(|g| g.id == *group) {
                    let placed = crate::model::assignment::Placement {
                        rule: r.rule_id.unwrap_or(0),
                        group: *g,
                    };
                    s.regroup_request(org_id, r.id, placed, "workflow", None).await?;
                }
            }
            Action::SetField { field, value } => {
                s.set_request_field(org_id, r.id, field, value.clone()).await?;
            }
            Action::RaisePriority => {
                let at = PRIORITIES.iter().position(|p| *p == r.priority).unwrap_or(1);
                let up = PRIORITIES[(at + 1).min(PRIORITIES.len() - 1)];
                s.set_request_levels(org_id, r.id, Some(up), None, None).await?;
            }
            Action::CreateChild { request_type } => {
                let child = NewRequest {
                    type_id: *request_type,
                    subject: r.subject.clone(),
                    priority: Some(r.priority.clone()),
                    category: r.category.clone(),
                    counterparty_id: r.counterparty_id,
                    site_id: r.site_id,
                    contact_id: r.contact_id,
                    ..Default::default()
                };
                let id = s.create_request(org_id, &child, None).await?;
                s.note_request(org_id, r.id, "child", json!({ "request_id": id }), None)
                    .await?;
                self.wake(id, true);
            }
            // Enqueued in the move's own transaction (`Store::move_request`), so it is never lost.
            Action::Webhook { .. } => {}
            // Sent in the move's own transaction too (`Store::move_request`).
            Action::NotifyCustomer { .. } => {}
            // Read by the clocks from the status line itself (`sla::Stops`).
            Action::StopClock { .. } => {}
        }
        Ok(())
    }

    /// The customer wrote, or staff answered, in a conversation that belongs to a request.
    pub async fn request_note(&self, org_id: i64, id: i64, kind: &str, data: Value, by: Option<i64>) -> Result<()> {
        self.store().note_request(org_id, id, kind, data, by).await?;
        let r = self.store().request(org_id, id).await?;
        self.request_changed(&r).await;
        Ok(())
    }

    /// Sets a request's priority and impact: its engineer or a supervisor may. Its SLA follows
    /// (`Store::set_request_levels`).
    pub async fn set_request_levels(
        &self,
        org_id: i64,
        id: i64,
        levels: &Levels,
        by: i64,
        role: Role,
    ) -> Result<RequestRow> {
        let r = self.store().request(org_id, id).await?;
        if r.assignee_id != Some(by) && !role.at_least(Role::Supervisor) {
            return Err(Error::Taken(FieldError::new(
                "assignee_id",
                "not_assignee",
                Value::Null,
            )));
        }
        // A person changes an open request only; a workflow's step may raise the priority of
        // one it closes.
        if r.status_kind == "closed" {
            return Err(Error::Taken(FieldError::new("status", "request_closed", Value::Null)));
        }
        let r = self
            .store()
            .set_request_levels(
                org_id,
                id,
                levels.priority.as_deref(),
                levels.impact.as_deref(),
                Some(by),
            )
            .await?;
        self.request_changed(&r).await;
        Ok(r)
    }

    pub async fn assign_request(
        &self,
        org_id: i64,
        id: i64,
        user: Option<i64>,
        by: i64,
        role: Role,
    ) -> Result<RequestRow> {
        let r = self.store().assign_request(org_id, id, user, by, role).await?;
        self.request_changed(&r).await;
        Ok(r)
    }

    /// A private note (staff only, no answer for the clocks); each colleague it names by
    /// `@login` is told on their console. Logins that name nobody of the organisation are
    /// plain text. Answers who was told.
    pub async fn note_on_request(&self, org_id: i64, id: i64, text: &str, by: i64) -> Result<Vec<i64>> {
        let wanted = crate::model::mention::logins(text);
        let mentioned: Vec<i64> = if wanted.is_empty() {
            Vec::new()
        } else {
            self.store()
                .org_users(org_id)
                .await?
                .into_iter()
                .filter(|u| u.disabled == 0 && u.id != by && wanted.contains(&u.login.to_lowercase()))
                .map(|u| u.id)
                .collect()
        };
        let data = json!({ "text": text.trim(), "private": true, "mentions": mentioned });
        self.request_note(org_id, id, "comment", data, Some(by)).await?;
        for user_id in &mentioned {
            desk_event(
                &self.core,
                org_id,
                EventKind::RequestMention {
                    request_id: id,
                    user_id: *user_id,
                    by_user: by,
                },
            )
            .await;
        }
        Ok(mentioned)
    }

    /// The engineer answers the customer from the request's card, in one of its threads (the
    /// latest linked when none is named). The request's assignee (or a supervisor) may; the
    /// conversation is handed to them first when someone else holds it, so the thread's holder
    /// is always the one who answers.
    pub async fn request_reply(&self, org_id: i64, id: i64, reply: RequestReply) -> Result<(Message, bool)> {
        let s = self.store();
        let r = s.request(org_id, id).await?;
        if r.assignee_id != Some(reply.user) && !reply.role.at_least(Role::Supervisor) {
            return Err(Error::Taken(FieldError::new(
                "assignee_id",
                "not_assignee",
                Value::Null,
            )));
        }
        let threads = s.request_conversations(id).await?;
        let conversation = match reply.conversation_id {
            Some(c) if threads.contains(&c) => c,
            Some(_) => return Err(Error::NotFound("conversation")),
            None => *threads.last().ok_or(Error::NotFound("conversation"))?,
        };
        let head = s.conversation_head(org_id, conversation).await?;
        if head.status != ConversationStatus::Closed && head.assignee_id != Some(reply.user) {
            crate::ask(
                &self.ticket(conversation),
                Apply {
                    org_id,
                    change: Change::Assign {
                        operator: reply.user,
                        by: reply.user,
                    },
                },
            )
            .await?;
        }
        crate::ask(
            &self.ticket(conversation),
            Post {
                org_id,
                author: Author::Operator(reply.user),
                owner: format!("user:{}", reply.user),
                body: reply.body,
                client_id: reply.client_id,
                attachment_ids: Vec::new(),
            },
        )
        .await
    }

    /// An engineer fills fields of a request: only those its type names.
    pub async fn set_request_fields(
        &self,
        org_id: i64,
        id: i64,
        changes: &serde_json::Map<String, Value>,
        by: i64,
    ) -> Result<RequestRow> {
        let s = self.store();
        let r = s.request(org_id, id).await?;
        let allowed = s
            .request_types(org_id)
            .await?
            .into_iter()
            .find(|t| t.id == r.type_id)
            .map(|t| t.fields)
            .unwrap_or_default();
        s.set_request_fields(org_id, id, changes, Some(&allowed), Some(by))
            .await?;
        let r = s.request(org_id, id).await?;
        self.request_changed(&r).await;
        Ok(r)
    }

    /// A supervisor sends the request one grade up its line.
    pub async fn escalate_request(&self, org_id: i64, id: i64, by: i64) -> Result<RequestRow> {
        let r = self.store().request(org_id, id).await?;
        let to = self.store().escalation_of(org_id, &r).await?.ok_or_else(|| {
            Error::Taken(crate::model::field::FieldError::new(
                "group_id",
                "top_of_line",
                Value::Null,
            ))
        })?;
        self.store()
            .regroup_request(org_id, id, to, "by_hand", Some(by))
            .await?;
        let r = self.store().request(org_id, id).await?;
        self.request_changed(&r).await;
        Ok(r)
    }

    /// A policy or calendar changed: every open request of the organisation reads its clocks
    /// again (they come out as if it had always been so).
    pub async fn desk_rules_changed(&self, org_id: i64) -> Result<()> {
        for id in self.store().open_request_ids(org_id).await? {
            self.wake(id, true);
        }
        Ok(())
    }
}

impl Hub {
    /// A conversation just opened in a queue with intake: a request of the queue's type, its
    /// counterparty by the customer's mail domain, its site by name in the first message. A
    /// failure here is logged, never the message's: the conversation stands either way.
    pub(crate) async fn intake(&self, org_id: i64, service_id: i64, conversation_id: i64, contact_id: i64, body: &str) {
        if let Err(e) = self
            .try_intake(org_id, service_id, conversation_id, contact_id, body)
            .await
        {
            tracing::warn!(conversation = conversation_id, error = %e, "no request opened for a new conversation");
        }
    }

    async fn try_intake(
        &self,
        org_id: i64,
        service_id: i64,
        conversation_id: i64,
        contact_id: i64,
        body: &str,
    ) -> Result<()> {
        let s = self.store();
        let Some(type_id) = s.desk_intake(service_id).await? else {
            return Ok(());
        };
        let card = s.contact_card(org_id, contact_id).await?;
        let addresses = card
            .email
            .iter()
            .chain(card.identities.iter().filter(|i| i.kind == "email").map(|i| &i.value));
        let mut counterparty = None;
        for a in addresses {
            if let Some(d) = crate::model::desk::mail_domain(a) {
                counterparty = s.counterparty_by_domain(org_id, &d).await?;
                if counterparty.is_some() {
                    break;
                }
            }
        }
        let subject = crate::model::desk::intake_subject(body);
        let sites = s.site_names(org_id, counterparty).await?;
        let new = NewRequest {
            type_id,
            subject,
            counterparty_id: counterparty,
            site_id: crate::model::desk::intake_site(body, &sites),
            contact_id: Some(contact_id),
            conversation_id: Some(conversation_id),
            ..Default::default()
        };
        self.create_request(org_id, &new, None).await?;
        Ok(())
    }
}

/// A message stored in a conversation: if the conversation belongs to a request, the request's
/// clocks read it (the customer's starts a next-response clock, an operator's answers it) from
/// the thread itself, so only its actor is told to read again.
pub(crate) async fn thread_message(core: &Core, conversation_id: i64, author: Author) {
    if author == Author::System {
        return;
    }
    let found = core.store.request_of_conversation(conversation_id).await;
    let Ok(Some((org_id, id))) = found else { return };
    if let Ok(r) = core.store.request(org_id, id).await {
        desk_event(
            core,
            org_id,
            EventKind::RequestChanged {
                request_id: id,
                status: r.status,
                group_id: r.group_id,
                assignee_id: r.assignee_id,
            },
        )
        .await;
    }
}

pub(crate) async fn desk_event(core: &Core, org_id: i64, kind: EventKind) {
    let e = Event {
        origin: 0,
        org_id,
        branch_id: 0,
        at: now_millis(),
        kind,
    };
    if let Err(err) = core.bus.publish(e).await {
        tracing::warn!(error = %err, "publish failed; the request's change is stored");
    }
}
