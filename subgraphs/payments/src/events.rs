//! What the payments service publishes on `bank.payments`, keyed by payment id, through its
//! outbox (docs/events.md): sent (the account is debited), completed (settled at the other
//! bank), returned (rejected; the money is back) and failed (the debit was refused); and, for
//! direct debits, collections collected, refused and refunded (keyed by the direct debit's id).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bank_common::{
    events::{Envelope, OutgoingEvent},
    money::{format_minor, Currency},
};

use crate::store::{DirectDebitRow, PaymentRow};

pub const TOPIC: &str = "bank.payments";
pub const SOURCE: &str = "/payments";

pub const SENT: &str = "bank.payment.sent.v1";
pub const COMPLETED: &str = "bank.payment.completed.v1";
pub const RETURNED: &str = "bank.payment.returned.v1";
pub const FAILED: &str = "bank.payment.failed.v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentEvent {
    pub payment_id: Uuid,
    pub owner_id: Uuid,
    pub from_account_id: Uuid,
    pub status: String,
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
    pub creditor_name: String,
    pub creditor_iban: String,
    pub failure_code: Option<String>,
    pub failure_reason: Option<String>,
    /// The standing order the payment was made for, if any (no one was there to see it).
    pub standing_order_id: Option<Uuid>,
}

pub fn event(kind: &str, row: &PaymentRow) -> OutgoingEvent {
    let currency = Currency::parse(&row.currency).expect("stored currencies are supported");
    let data = PaymentEvent {
        payment_id: row.id,
        owner_id: row.owner_id,
        from_account_id: row.from_account_id,
        status: row.status.clone(),
        amount: format_minor(row.amount_minor, currency),
        amount_minor: row.amount_minor,
        currency: row.currency.clone(),
        creditor_name: row.creditor_name.clone(),
        creditor_iban: row.creditor_iban.clone(),
        failure_code: row.failure_code.clone(),
        failure_reason: row.failure_reason.clone(),
        standing_order_id: row.standing_order_id,
    };
    OutgoingEvent::new(TOPIC, &Envelope::new(SOURCE, kind, row.id, data))
}

pub const DIRECT_DEBIT_COLLECTED: &str = "bank.payment.direct-debit.collected.v1";
pub const DIRECT_DEBIT_REFUSED: &str = "bank.payment.direct-debit.refused.v1";
pub const DIRECT_DEBIT_REFUNDED: &str = "bank.payment.direct-debit.refunded.v1";

/// A creditor's collection under a mandate: collected, refused, or refunded to the debtor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectDebitEvent {
    pub direct_debit_id: Uuid,
    pub mandate_id: Uuid,
    pub owner_id: Uuid,
    pub account_id: Uuid,
    pub status: String,
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
    pub creditor_name: String,
    pub failure_code: Option<String>,
    pub failure_reason: Option<String>,
}

pub fn direct_debit_event(kind: &str, row: &DirectDebitRow, creditor_name: &str) -> OutgoingEvent {
    let currency = Currency::parse(&row.currency).expect("stored currencies are supported");
    let data = DirectDebitEvent {
        direct_debit_id: row.id,
        mandate_id: row.mandate_id,
        owner_id: row.owner_id,
        account_id: row.account_id,
        status: row.status.clone(),
        amount: format_minor(row.amount_minor, currency),
        amount_minor: row.amount_minor,
        currency: row.currency.clone(),
        creditor_name: creditor_name.to_string(),
        failure_code: row.failure_code.clone(),
        failure_reason: row.failure_reason.clone(),
    };
    OutgoingEvent::new(TOPIC, &Envelope::new(SOURCE, kind, row.id, data))
}
