//! The loans service's calls to the ledger (the transactions service's internal endpoints, not
//! routed through NGINX or the router). Each call carries the caller's own token, so the ledger
//! checks who may do what itself: staff pay loans out, owners (or staff) repay from their own
//! accounts.
//!
//! Movements are idempotent per loan: the ledger keys them by the loan id and a key chosen here
//! (`disbursement`, or the repayment's id), so a retry after a timeout or a crash moves money
//! once, whoever retries.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bank_common::{internal, ApiError, ApiResult};

#[derive(Clone)]
pub struct LedgerClient {
    http: reqwest::Client,
    base_url: String,
}

/// The ledger answers within this, or the call fails with `INTERNAL` (and can be retried).
const TIMEOUT: Duration = Duration::from_secs(5);

/// A customer account as the ledger knows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerAccount {
    pub account_id: Uuid,
    pub owner_id: Uuid,
    pub currency: String,
    pub status: String,
}

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

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Posted {
    pub transaction_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Why a movement did not happen.
#[derive(Debug)]
pub enum Refused {
    /// The ledger said no (funds, status, currency...): final for this request.
    Rule(ApiError),
    /// The ledger could not be asked or failed: the outcome is unknown; retrying is safe.
    Unknown(ApiError),
}

impl Refused {
    pub fn into_api(self) -> ApiError {
        match self {
            Refused::Rule(err) | Refused::Unknown(err) => err,
        }
    }
}

impl LedgerClient {
    pub fn new(base_url: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .expect("an HTTP client"),
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    /// The account, if the caller may see it.
    pub async fn account(&self, token: &str, id: Uuid) -> ApiResult<LedgerAccount> {
        let response = self
            .http
            .get(format!("{}/internal/accounts/{id}", self.base_url))
            .bearer_auth(token)
            .send()
            .await
            .map_err(unreachable)?;
        if response.status().is_success() {
            return response.json().await.map_err(ApiError::internal);
        }
        Err(refusal(response).await)
    }

    /// Moves money for a loan, once per (loan, key).
    pub async fn move_money(
        &self,
        token: &str,
        movement: &LoanMovement,
    ) -> Result<Posted, Refused> {
        let response = self
            .http
            .post(format!("{}/internal/loan-movements", self.base_url))
            .bearer_auth(token)
            .json(movement)
            .send()
            .await
            .map_err(|err| Refused::Unknown(unreachable(err)))?;
        if response.status().is_success() {
            return response
                .json()
                .await
                .map_err(|err| Refused::Unknown(ApiError::internal(err)));
        }
        match refusal(response).await {
            err @ ApiError::Internal(_) => Err(Refused::Unknown(err)),
            err => Err(Refused::Rule(err)),
        }
    }
}

fn unreachable(err: reqwest::Error) -> ApiError {
    internal::unreachable("ledger", err)
}

async fn refusal(response: reqwest::Response) -> ApiError {
    internal::error_from(response, "amount", "account").await
}
