//! The loans service's calls to the ledger (the transactions service's internal endpoints, not
//! routed through NGINX or the router). Each call carries the caller's own token, so the ledger
//! checks who may do what itself: staff pay loans out, owners (or staff) repay from their own
//! accounts.
//!
//! Movements are idempotent per loan: the ledger keys them by the loan id and a key chosen here
//! (`disbursement`, or the repayment's id), so a retry after a timeout or a crash moves money
//! once, whoever retries.

use std::time::Duration;

use serde::Serialize;
use uuid::Uuid;

pub use bank_common::internal::{LedgerAccount, Posted, Refused};
use bank_common::{
    internal::{Caller, LedgerHttp},
    ApiResult,
};

#[derive(Clone)]
pub struct LedgerClient(LedgerHttp);

/// The ledger answers within this, or the call fails with `INTERNAL` (and can be retried).
const TIMEOUT: Duration = Duration::from_secs(5);

/// `LOAN_DISBURSEMENT` or `LOAN_REPAYMENT`.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LoanMovementKind {
    LoanDisbursement,
    LoanRepayment,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoanMovement {
    pub kind: LoanMovementKind,
    pub loan_id: Uuid,
    pub account_id: Uuid,
    pub owner_id: Uuid,
    /// A decimal string in the loan's currency.
    pub amount: String,
    pub currency: String,
    /// Unique per loan: `disbursement`, or the repayment's id.
    pub key: String,
    /// Recorded on the ledger transaction and its events (see `events::Reference`).
    pub reference: String,
}

impl LedgerClient {
    /// `service_token` proves to the ledger that the call comes from this service.
    pub fn new(base_url: &str, service_token: Option<String>) -> Self {
        Self(LedgerHttp::new(base_url, TIMEOUT).with_service_token(service_token))
    }

    /// The account, if the caller may see it.
    pub async fn account(&self, token: &str, id: Uuid) -> ApiResult<LedgerAccount> {
        self.0.account(token, id).await
    }

    /// Moves money for a loan, once per (loan, key).
    pub async fn move_money(
        &self,
        token: &str,
        movement: &LoanMovement,
    ) -> Result<Posted, Refused> {
        self.0
            .movement("/internal/loan-movements", Caller::User(token), movement)
            .await
    }
}
