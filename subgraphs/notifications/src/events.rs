//! What the notifications service consumes and publishes (docs/events.md).
//!
//! Consumed (consumer group `notifications`): `bank.ledger.posted.v1` (alerts),
//! `bank.user.registered.v1` (where to send e-mail), a registration's e-mails
//! (`bank.user.verification-requested.v1`, `bank.user.registration-attempted.v1`) and the loans service's `bank.loan.*`
//! events (decisions, payouts with a reminder before each due date, repayments) and the
//! payments service's `bank.payment.*` events (completed, returned, a standing order's failed
//! payment, a refused direct debit). Published through the outbox: deliveries
//! that failed for good, on `bank.dead-letter`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bank_common::events::{Envelope, OutgoingEvent};

pub const LEDGER_TOPIC: &str = "bank.ledger";
pub const USERS_TOPIC: &str = "bank.users";
pub const LOANS_TOPIC: &str = "bank.loans";
pub const PAYMENTS_TOPIC: &str = "bank.payments";
pub const POSTED: &str = "bank.ledger.posted.v1";
pub const USER_REGISTERED: &str = "bank.user.registered.v1";
/// An administrator deleted a user: their contact details and messages are erased here.
pub const USER_DELETED: &str = "bank.user.deleted.v1";
/// A registration's e-mails: the confirmation link, or the notice to an address that has an
/// account already (the users service writes them; this service sends them).
pub const VERIFICATION_REQUESTED: &str = "bank.user.verification-requested.v1";
pub const REGISTRATION_ATTEMPTED: &str = "bank.user.registration-attempted.v1";
/// A forgotten password's reset link.
pub const PASSWORD_RESET_REQUESTED: &str = "bank.user.password-reset-requested.v1";
/// Loan events start with this (`bank.loan.approved.v1`, ...).
pub const LOAN_PREFIX: &str = "bank.loan.";
/// Payment events start with this (`bank.payment.completed.v1`, ...).
pub const PAYMENT_PREFIX: &str = "bank.payment.";
/// Direct debit events (`bank.payment.direct-debit.refused.v1`, ...): on the payments topic,
/// with data of their own.
pub const DIRECT_DEBIT_PREFIX: &str = "bank.payment.direct-debit.";
pub const DIRECT_DEBIT_REFUSED: &str = "bank.payment.direct-debit.refused.v1";

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

#[cfg(test)]
impl Posted {
    /// A posting on a EUR account for tests: `kind`, `direction` and amount as given.
    pub(crate) fn sample(kind: &str, direction: &str, amount_minor: i64) -> Self {
        let eur = bank_common::money::Currency::parse("EUR").expect("EUR");
        Self {
            transaction_id: Uuid::nil(),
            account_id: Uuid::nil(),
            owner_id: Uuid::nil(),
            kind: kind.into(),
            direction: direction.into(),
            amount: bank_common::money::format_minor(amount_minor, eur),
            amount_minor,
            currency: "EUR".into(),
            balance_after: "90.00".into(),
            balance_after_minor: 9000,
            counterparty_account_id: None,
            description: Some("Rent".into()),
            posted_at: chrono::Utc::now(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub email: String,
    pub full_name: String,
}

/// `bank.user.deleted.v1`'s data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDeleted {
    pub user_id: Uuid,
}

/// An e-mail the users service asks to be sent for a registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountEmail {
    pub user_id: Uuid,
    pub email: String,
    pub subject: String,
    pub body: String,
}

/// One installment of a disbursed loan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoanInstallment {
    pub number: i32,
    pub due_on: chrono::NaiveDate,
    pub amount: String,
}

/// A loan event, as the loans service publishes it (the part read here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoanEvent {
    pub loan_id: Uuid,
    pub owner_id: Uuid,
    pub currency: String,
    pub principal: String,
    pub outstanding: String,
    pub reason: Option<String>,
    pub amount_minor: Option<i64>,
    #[serde(default)]
    pub installments: Vec<LoanInstallment>,
}

/// A payment event, as the payments service publishes it (the part read here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentEvent {
    pub payment_id: Uuid,
    pub owner_id: Uuid,
    pub amount: String,
    pub currency: String,
    pub creditor_name: String,
    pub failure_reason: Option<String>,
    /// Set when a standing order made the payment: no one was there to see it fail.
    #[serde(default)]
    pub standing_order_id: Option<Uuid>,
}

/// A direct debit event, as the payments service publishes it (the part read here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectDebitEvent {
    pub direct_debit_id: Uuid,
    pub owner_id: Uuid,
    pub amount: String,
    pub currency: String,
    #[serde(default)]
    pub creditor_name: String,
    pub failure_reason: Option<String>,
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
