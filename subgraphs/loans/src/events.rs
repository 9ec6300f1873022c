//! What the loans service publishes and consumes (docs/events.md).
//!
//! Published on `bank.loans`, keyed by loan id, through the outbox: applied, approved,
//! rejected, disbursed (with the schedule, so reminders can be set for each due date), repaid
//! (one per posted repayment) and paid off.
//!
//! Consumed from `bank.ledger`: `bank.ledger.posted.v1` events of kind `LOAN_DISBURSEMENT` and
//! `LOAN_REPAYMENT` carrying a `loan:` reference. They complete a disbursement or repayment the
//! ledger committed but this service did not record (a crash between the two), so the loan
//! always ends up agreeing with the ledger.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bank_common::{
    events::{Envelope, OutgoingEvent},
    money::{format_minor, Currency},
};

use crate::store::LoanRow;

pub const TOPIC: &str = "bank.loans";
pub const SOURCE: &str = "/loans";

pub const APPLIED: &str = "bank.loan.applied.v1";
pub const APPROVED: &str = "bank.loan.approved.v1";
pub const REJECTED: &str = "bank.loan.rejected.v1";
pub const DISBURSED: &str = "bank.loan.disbursed.v1";
pub const REPAID: &str = "bank.loan.repaid.v1";
pub const PAID_OFF: &str = "bank.loan.paid-off.v1";

/// The ledger's topic and the event this service reads from it.
pub const LEDGER_TOPIC: &str = "bank.ledger";
pub const LEDGER_POSTED: &str = "bank.ledger.posted.v1";

/// One installment as published with `disbursed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DueInstallment {
    pub number: i32,
    pub due_on: NaiveDate,
    pub amount: String,
    pub amount_minor: i64,
}

/// The loan as of the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoanEvent {
    pub loan_id: Uuid,
    pub owner_id: Uuid,
    pub account_id: Uuid,
    pub product_code: String,
    pub status: String,
    pub currency: String,
    pub principal: String,
    pub principal_minor: i64,
    pub repaid_minor: i64,
    pub outstanding: String,
    pub outstanding_minor: i64,
    pub reason: Option<String>,
    /// The ledger transaction of a disbursement or repayment.
    pub transaction_id: Option<Uuid>,
    /// The amount of a repayment.
    pub amount_minor: Option<i64>,
    /// With `disbursed`: every installment's due date and amount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub installments: Vec<DueInstallment>,
}

pub struct Extra {
    pub transaction_id: Option<Uuid>,
    pub amount_minor: Option<i64>,
    pub installments: Vec<DueInstallment>,
}

impl Extra {
    pub fn none() -> Self {
        Extra {
            transaction_id: None,
            amount_minor: None,
            installments: vec![],
        }
    }
}

pub fn event(kind: &str, row: &LoanRow, extra: Extra) -> OutgoingEvent {
    let currency = Currency::parse(&row.currency).expect("stored currencies are supported");
    let outstanding = row.total_due_minor - row.repaid_minor;
    let data = LoanEvent {
        loan_id: row.id,
        owner_id: row.owner_id,
        account_id: row.account_id,
        product_code: row.product_code.clone(),
        status: row.status.clone(),
        currency: row.currency.clone(),
        principal: format_minor(row.principal_minor, currency),
        principal_minor: row.principal_minor,
        repaid_minor: row.repaid_minor,
        outstanding: format_minor(outstanding, currency),
        outstanding_minor: outstanding,
        reason: row.decision_reason.clone(),
        transaction_id: extra.transaction_id,
        amount_minor: extra.amount_minor,
        installments: extra.installments,
    };
    OutgoingEvent::new(TOPIC, &Envelope::new(SOURCE, kind, row.id, data))
}

/// The part of the ledger's `posted` event this service reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerPosted {
    pub transaction_id: Uuid,
    pub kind: String,
    pub amount_minor: i64,
    pub reference: Option<String>,
}

/// What a ledger reference of this service names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    Disbursement { loan_id: Uuid },
    Repayment { loan_id: Uuid, repayment_id: Uuid },
}

impl Reference {
    /// `loan:<id>:disbursement` or `loan:<id>:repayment:<id>`.
    pub fn render(&self) -> String {
        match self {
            Reference::Disbursement { loan_id } => format!("loan:{loan_id}:disbursement"),
            Reference::Repayment {
                loan_id,
                repayment_id,
            } => format!("loan:{loan_id}:repayment:{repayment_id}"),
        }
    }

    pub fn parse(text: &str) -> Option<Reference> {
        let mut parts = text.split(':');
        if parts.next()? != "loan" {
            return None;
        }
        let loan_id = Uuid::parse_str(parts.next()?).ok()?;
        let reference = match (parts.next()?, parts.next()) {
            ("disbursement", None) => Reference::Disbursement { loan_id },
            ("repayment", Some(id)) => Reference::Repayment {
                loan_id,
                repayment_id: Uuid::parse_str(id).ok()?,
            },
            _ => return None,
        };
        parts.next().is_none().then_some(reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip_and_others_are_ignored() {
        let loan_id = Uuid::now_v7();
        let repayment_id = Uuid::now_v7();
        for reference in [
            Reference::Disbursement { loan_id },
            Reference::Repayment {
                loan_id,
                repayment_id,
            },
        ] {
            assert_eq!(Reference::parse(&reference.render()), Some(reference));
        }
        assert_eq!(Reference::parse("loan:nope:disbursement"), None);
        assert_eq!(
            Reference::parse(&format!("payment:{loan_id}:disbursement")),
            None
        );
        assert_eq!(
            Reference::parse(&format!("loan:{loan_id}:disbursement:x")),
            None
        );
    }
}
