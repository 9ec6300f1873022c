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

use serde::Serialize;
use uuid::Uuid;

pub use bank_common::internal::{LedgerAccount, Posted, Refused};
use bank_common::{
    internal::{self, LedgerHttp},
    ApiError, ApiResult,
};

#[derive(Clone)]
pub struct LedgerClient {
    http: LedgerHttp,
    service_token: Option<String>,
}

const TIMEOUT: Duration = Duration::from_secs(5);

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
    /// What the money moves for: `payment` or `direct-debit` (in the ledger's reference).
    #[serde(skip)]
    pub subject: &'static str,
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
            subject: "payment",
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
            subject: "payment",
        }
    }

    /// A creditor's collection under a mandate: the debtor's account → clearing.
    pub fn collection(
        debit: &crate::store::DirectDebitRow,
        creditor_name: &str,
        amount: String,
    ) -> Self {
        PaymentMovement {
            kind: PaymentMovementKind::ExternalPayment,
            payment_id: debit.id,
            account_id: debit.account_id,
            owner_id: debit.owner_id,
            amount,
            currency: debit.currency.clone(),
            description: Some(format!("Direct debit by {creditor_name}")),
            subject: "direct-debit",
        }
    }

    /// The refund of a collection the debtor disputed: clearing → the debtor's account.
    pub fn refund(
        debit: &crate::store::DirectDebitRow,
        creditor_name: &str,
        amount: String,
    ) -> Self {
        PaymentMovement {
            kind: PaymentMovementKind::Reversal,
            payment_id: debit.id,
            account_id: debit.account_id,
            owner_id: debit.owner_id,
            amount,
            currency: debit.currency.clone(),
            description: Some(format!("Refunded direct debit by {creditor_name}")),
            subject: "direct-debit",
        }
    }

    /// `payment:<id>:debit`, `payment:<id>:reversal`, `direct-debit:<id>:debit` or
    /// `direct-debit:<id>:reversal`, on the ledger transaction.
    pub fn reference(&self) -> String {
        format!("{}:{}:{}", self.subject, self.payment_id, self.key())
    }

    fn key(&self) -> &'static str {
        match self.kind {
            PaymentMovementKind::ExternalPayment => "debit",
            PaymentMovementKind::Reversal => "reversal",
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
            http: LedgerHttp::new(base_url, TIMEOUT).with_service_token(service_token.clone()),
            service_token,
        }
    }

    /// The account, if the caller may see it.
    pub async fn account(&self, token: &str, id: Uuid) -> ApiResult<LedgerAccount> {
        self.http.account(token, id).await
    }

    /// Moves money for a payment, once per (payment, kind).
    pub async fn move_money(
        &self,
        caller: Caller<'_>,
        movement: &PaymentMovement,
    ) -> Result<Posted, Refused> {
        let caller = match caller {
            Caller::User(token) => internal::Caller::User(token),
            Caller::Service => match &self.service_token {
                Some(token) => internal::Caller::Service(token),
                None => {
                    return Err(Refused::Unknown(ApiError::internal_msg(
                        "PAYMENTS_LEDGER_SERVICE_TOKEN is not set: background ledger calls are impossible",
                    )))
                }
            },
        };
        let body = serde_json::json!({
            "kind": movement.kind,
            "paymentId": movement.payment_id,
            "accountId": movement.account_id,
            "ownerId": movement.owner_id,
            "amount": movement.amount,
            "currency": movement.currency,
            "key": movement.key(),
            "reference": movement.reference(),
            "description": movement.description,
        });
        self.http
            .movement("/internal/payment-movements", caller, &body)
            .await
    }
}
