//! What the ledger publishes and consumes (docs/events.md).
//!
//! Published on `bank.ledger`, keyed by the customer account id, through the outbox:
//! - `bank.ledger.posted.v1`: one per posting on a customer account (a transfer between two
//!   customers is two events, one per side, with the same `transactionId`);
//! - `bank.ledger.hold.placed.v1`, `bank.ledger.hold.released.v1`;
//! - `bank.ledger.suspense.v1`: money owed to a closed account, held for staff.
//!
//! Consumed from `bank.accounts`: opened, frozen, unfrozen and closed, which keep the ledger's
//! copy of each account's owner, number, currency and status.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bank_common::{
    events::{Envelope, OutgoingEvent},
    money::{format_minor, Currency},
};

pub const TOPIC: &str = "bank.ledger";
pub const SOURCE: &str = "/transactions";

pub const POSTED: &str = "bank.ledger.posted.v1";
pub const HOLD_PLACED: &str = "bank.ledger.hold.placed.v1";
pub const HOLD_RELEASED: &str = "bank.ledger.hold.released.v1";
pub const SUSPENSE: &str = "bank.ledger.suspense.v1";

/// Money owed to a customer whose account was closed meanwhile (a returned payment, a refund):
/// the ledger holds it in the currency's suspense account until staff pay it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldInSuspense {
    pub transaction_id: Uuid,
    /// The closed account the money was for.
    pub account_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
    pub reference: Option<String>,
    pub held_at: DateTime<Utc>,
}

/// The `bank.ledger.suspense.v1` event, keyed by the closed account.
pub fn suspense_event(held: HeldInSuspense) -> OutgoingEvent {
    let envelope = Envelope::new(SOURCE, SUSPENSE, held.account_id, held);
    OutgoingEvent::new(TOPIC, &envelope)
}

/// The accounts service's topic and event types (see the accounts crate).
pub const ACCOUNTS_TOPIC: &str = "bank.accounts";
pub const ACCOUNT_OPENED: &str = "bank.account.opened.v1";
pub const ACCOUNT_FROZEN: &str = "bank.account.frozen.v1";
pub const ACCOUNT_UNFROZEN: &str = "bank.account.unfrozen.v1";
pub const ACCOUNT_CLOSED: &str = "bank.account.closed.v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Direction {
    Credit,
    Debit,
}

/// One posting on a customer's account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Posted {
    pub transaction_id: Uuid,
    pub account_id: Uuid,
    pub owner_id: Uuid,
    pub kind: String,
    pub direction: Direction,
    /// Always positive; `direction` says which way it went.
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
    pub balance_after: String,
    pub balance_after_minor: i64,
    pub available_after: String,
    /// The other customer account of a transfer, if any.
    pub counterparty_account_id: Option<Uuid>,
    pub description: Option<String>,
    /// What another service's movement was for (`loan:<id>:repayment:<id>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub posted_at: DateTime<Utc>,
}

pub struct PostingFacts<'a> {
    pub transaction_id: Uuid,
    pub account_id: Uuid,
    pub owner_id: Uuid,
    pub kind: &'a str,
    pub delta_minor: i64,
    pub currency: Currency,
    pub balance_after_minor: i64,
    pub available_after_minor: i64,
    pub counterparty_account_id: Option<Uuid>,
    pub description: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub posted_at: DateTime<Utc>,
}

pub fn posted(topic: &str, facts: PostingFacts<'_>) -> OutgoingEvent {
    let amount_minor = facts.delta_minor.abs();
    let data = Posted {
        transaction_id: facts.transaction_id,
        account_id: facts.account_id,
        owner_id: facts.owner_id,
        kind: facts.kind.to_string(),
        direction: if facts.delta_minor > 0 {
            Direction::Credit
        } else {
            Direction::Debit
        },
        amount: format_minor(amount_minor, facts.currency),
        amount_minor,
        currency: facts.currency.code().to_string(),
        balance_after: format_minor(facts.balance_after_minor, facts.currency),
        balance_after_minor: facts.balance_after_minor,
        available_after: format_minor(facts.available_after_minor, facts.currency),
        counterparty_account_id: facts.counterparty_account_id,
        description: facts.description.map(str::to_string),
        reference: facts.reference.map(str::to_string),
        posted_at: facts.posted_at,
    };
    let mut envelope = Envelope::new(SOURCE, POSTED, facts.account_id, data);
    envelope.time = facts.posted_at;
    OutgoingEvent::new(topic, &envelope)
}

/// A hold placed on, or released from, a customer's account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldEvent {
    pub hold_id: Uuid,
    pub account_id: Uuid,
    pub owner_id: Uuid,
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
    /// PENDING when placed; CAPTURED, VOIDED or EXPIRED when released.
    pub status: String,
    pub captured_minor: i64,
    pub available_after: String,
    pub expires_at: DateTime<Utc>,
}

pub fn hold(topic: &str, kind: &str, data: HoldEvent) -> OutgoingEvent {
    let subject = data.account_id;
    OutgoingEvent::new(topic, &Envelope::new(SOURCE, kind, subject, data))
}

/// What the ledger reads from the accounts service's events (a subset of their data).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountChanged {
    pub account_id: Uuid,
    pub owner_id: Uuid,
    pub number: String,
    pub currency: String,
}
