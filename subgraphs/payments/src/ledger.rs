//! The payments service's calls to the ledger (the transactions service's internal endpoints,
//! not routed through NGINX or the router).
//!
//! A debit carries the customer's token when the customer is waiting for it; the background
//! work (finishing an interrupted debit, returning a rejected payment) carries the service
//! token the ledger is configured with (`X-Service-Token`), since no customer is present. Either
//! way the ledger checks that the account is the payment's owner's.
//!
//! Movements are idempotent per payment: keyed by the payment id and `debit` or `reversal`, so
//! a retry moves money once, whoever retries.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bank_common::{internal, ApiError, ApiResult};

#[derive(Clone)]
pub struct LedgerClient {
    http: reqwest::Client,
    base_url: String,
    service_token: Option<String>,
}

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

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentMovementKind {
    /// The customer's account → the bank's clearing account.
    ExternalPayment,
    /// The clearing account → the customer's account (a rejected payment's money back).
    Reversal,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMovement {
    pub kind: PaymentMovementKind,
    pub payment_id: Uuid,
    pub account_id: Uuid,
    pub owner_id: Uuid,
    /// A decimal string in the payment's currency.
    pub amount: String,
    pub currency: String,
    pub description: Option<String>,
}

impl PaymentMovement {
    /// The debit of `payment`'s account, exactly as every caller asks for it (the ledger
    /// compares a retried request with the first).
    pub fn debit(payment: &crate::store::PaymentRow, amount: String) -> Self {
        PaymentMovement {
            kind: PaymentMovementKind::ExternalPayment,
            payment_id: payment.id,
            account_id: payment.from_account_id,
            owner_id: payment.owner_id,
            amount,
            currency: payment.currency.clone(),
            description: Some(format!("Payment to {}", payment.creditor_name)),
        }
    }

    /// The reversal of a returned payment.
    pub fn reversal(payment: &crate::store::PaymentRow, amount: String) -> Self {
        PaymentMovement {
            kind: PaymentMovementKind::Reversal,
            payment_id: payment.id,
            account_id: payment.from_account_id,
            owner_id: payment.owner_id,
            amount,
            currency: payment.currency.clone(),
            description: Some(format!("Returned payment to {}", payment.creditor_name)),
        }
    }

    /// `payment:<id>:debit` or `payment:<id>:reversal`, on the ledger transaction.
    pub fn reference(&self) -> String {
        format!("payment:{}:{}", self.payment_id, self.key())
    }

    fn key(&self) -> &'static str {
        match self.kind {
            PaymentMovementKind::ExternalPayment => "debit",
            PaymentMovementKind::Reversal => "reversal",
        }
    }
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
    /// The ledger said no (funds, status, currency...): final for this payment.
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

/// Who a call is made for.
pub enum Caller<'a> {
    /// A customer or member of staff, by their access token.
    User(&'a str),
    /// The payments service itself (background work).
    Service,
}

impl LedgerClient {
    pub fn new(base_url: &str, service_token: Option<String>) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .expect("an HTTP client"),
            base_url: base_url.trim_end_matches('/').to_string(),
            service_token,
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

    /// Moves money for a payment, once per (payment, kind).
    pub async fn move_money(
        &self,
        caller: Caller<'_>,
        movement: &PaymentMovement,
    ) -> Result<Posted, Refused> {
        let mut request = self
            .http
            .post(format!("{}/internal/payment-movements", self.base_url))
            .json(&serde_json::json!({
                "kind": movement.kind,
                "paymentId": movement.payment_id,
                "accountId": movement.account_id,
                "ownerId": movement.owner_id,
                "amount": movement.amount,
                "currency": movement.currency,
                "key": movement.key(),
                "reference": movement.reference(),
                "description": movement.description,
            }));
        request = match caller {
            Caller::User(token) => request.bearer_auth(token),
            Caller::Service => match &self.service_token {
                Some(token) => request.header("x-service-token", token),
                None => {
                    return Err(Refused::Unknown(ApiError::internal_msg(
                        "PAYMENTS_LEDGER_SERVICE_TOKEN is not set: background ledger calls are impossible",
                    )))
                }
            },
        };
        let response = request
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
            // A key reused with other input means this service asked for something else under
            // the payment's key than before: a bug, never a reason to call the payment failed.
            err @ (ApiError::Internal(_)
            | ApiError::Unauthenticated(_)
            | ApiError::IdempotencyKeyReused) => Err(Refused::Unknown(err)),
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
