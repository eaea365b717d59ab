//! Kiosks and phones: a visitor picks a service and takes a numbered ticket.

use hub_actors::{Hub, Issued, Result};
use serde::{Deserialize, Serialize};

/// Where a ticket was taken: recorded on the ticket for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A kiosk device in the branch.
    Kiosk,
    /// The visitor's own phone, through the branch's registrar page.
    Mobile,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kiosk => "kiosk",
            Self::Mobile => "mobile",
        }
    }
}

/// A tap on the menu. The VIP code exists only at kiosks, where staff can hand it out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakeTicket {
    pub service_id: i64,
    #[serde(default)]
    pub vip_code: Option<String>,
}

/// What the screen shows after a tap: the ticket, its place and wait, and where to follow it.
#[derive(Debug, Serialize)]
pub struct TicketTaken {
    #[serde(flatten)]
    pub issued: Issued,
    /// The ticket's live status page, for the QR code.
    pub status_url: String,
    pub qr_url: String,
}

impl From<Issued> for TicketTaken {
    fn from(issued: Issued) -> Self {
        let id = issued.issued.ticket.public_id.clone();
        Self {
            issued,
            status_url: format!("/t/{id}"),
            qr_url: format!("/api/public/tickets/{id}/qr.svg"),
        }
    }
}

/// Issues the ticket a visitor asked for at `branch_id`.
pub async fn take_ticket(
    hub: &Hub,
    org_id: i64,
    branch_id: i64,
    channel: Channel,
    req: TakeTicket,
) -> Result<TicketTaken> {
    let vip = match channel {
        Channel::Kiosk => req.vip_code.as_deref(),
        Channel::Mobile => None,
    };
    let issued = hub
        .issue_ticket(org_id, branch_id, req.service_id, channel.as_str(), vip, None)
        .await?;
    tracing::info!(number = %issued.issued.ticket.number, branch = branch_id, channel = channel.as_str(), "ticket issued");
    Ok(issued.into())
}

/// What a phone is told after taking a ticket: no internal ids, no staff fields. The public
/// registrar is open to anyone, so it answers with what the visitor's own status page shows.
#[derive(Debug, Serialize)]
pub struct PhoneTicketTaken {
    pub public_id: String,
    pub number: String,
    pub status: String,
    pub service_id: i64,
    pub issued_at: i64,
    pub ahead: i64,
    pub eta_secs: Option<i64>,
    pub status_url: String,
    pub qr_url: String,
}

impl From<TicketTaken> for PhoneTicketTaken {
    fn from(t: TicketTaken) -> Self {
        let ticket = t.issued.issued.ticket;
        Self {
            public_id: ticket.public_id,
            number: ticket.number,
            status: ticket.status,
            service_id: ticket.service_id,
            issued_at: ticket.issued_at,
            ahead: t.issued.issued.ahead,
            eta_secs: t.issued.eta_secs,
            status_url: t.status_url,
            qr_url: t.qr_url,
        }
    }
}
