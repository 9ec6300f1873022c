//! What the accounts service publishes: account lifecycle events on the `bank.accounts` topic,
//! keyed by account id. The ledger keeps its own copy of each account's status and currency
//! from these (docs/events.md).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bank_common::events::{Envelope, OutgoingEvent};

use crate::store::AccountRow;

pub const TOPIC: &str = "bank.accounts";
pub const SOURCE: &str = "/accounts";

pub const OPENED: &str = "bank.account.opened.v1";
pub const FROZEN: &str = "bank.account.frozen.v1";
pub const UNFROZEN: &str = "bank.account.unfrozen.v1";
pub const CLOSED: &str = "bank.account.closed.v1";

/// The account as of the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountEvent {
    pub account_id: Uuid,
    pub owner_id: Uuid,
    pub number: String,
    pub kind: String,
    pub currency: String,
    pub status: String,
    pub reason: Option<String>,
}

pub fn event(kind: &str, row: &AccountRow) -> OutgoingEvent {
    let data = AccountEvent {
        account_id: row.id,
        owner_id: row.owner_id,
        number: row.number.clone(),
        kind: row.kind.clone(),
        currency: row.currency.clone(),
        status: row.status.clone(),
        reason: row.freeze_reason.clone(),
    };
    OutgoingEvent::new(TOPIC, &Envelope::new(SOURCE, kind, row.id, data))
}
