//! What the notifications service consumes and publishes (docs/events.md).
//!
//! Consumed (consumer group `notifications`): `bank.ledger.posted.v1` (alerts) and
//! `bank.user.registered.v1` (where to send e-mail). Published through the outbox: deliveries
//! that failed for good, on `bank.dead-letter`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bank_common::events::{Envelope, OutgoingEvent};

pub const LEDGER_TOPIC: &str = "bank.ledger";
pub const USERS_TOPIC: &str = "bank.users";
pub const POSTED: &str = "bank.ledger.posted.v1";
pub const USER_REGISTERED: &str = "bank.user.registered.v1";

pub const SOURCE: &str = "/notifications";
pub const DELIVERY_FAILED: &str = "bank.notification.delivery_failed.v1";

/// A posting on a customer's account, as the ledger publishes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Posted {
    pub transaction_id: Uuid,
    pub account_id: Uuid,
    pub owner_id: Uuid,
    pub kind: String,
    pub direction: String,
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
    pub balance_after: String,
    pub balance_after_minor: i64,
    pub counterparty_account_id: Option<Uuid>,
    pub description: Option<String>,
    pub posted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub email: String,
    pub full_name: String,
}

/// A delivery given up after its last attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryFailed {
    pub delivery_id: Uuid,
    pub user_id: Uuid,
    pub channel: String,
    pub attempts: i32,
    pub reason: String,
}

pub fn delivery_failed(data: DeliveryFailed) -> OutgoingEvent {
    let subject = data.user_id;
    OutgoingEvent::new(
        bank_common::consumer::DEAD_LETTER_TOPIC,
        &Envelope::new(SOURCE, DELIVERY_FAILED, subject, data),
    )
}
