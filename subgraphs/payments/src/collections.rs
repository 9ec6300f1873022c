//! Direct debits: a creditor collects from a customer's account under a mandate the customer
//! gave it (docs/payments.md).
//!
//! The payment gateway brings each collection to `POST /webhooks/gateway` (signed like every
//! callback) and waits for the answer. The collection is recorded once per gateway collection id
//! before the ledger is asked for the debit, keyed by the collection, so a repeat of the request,
//! or the worker finishing one a crash interrupted, moves the money at most once.

use chrono::Utc;
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bank_common::{
    money::{format_minor, parse_minor, Currency},
    ApiError, ApiResult,
};

use crate::{
    domain::{
        mandate_refusal, parse_mandate_reference, parse_remittance, CreditorId, DirectDebitStatus,
        MandateStatus, REFUND_WINDOW_DAYS,
    },
    ledger::{Caller, LedgerClient, PaymentMovement, Refused},
    store::{self, DirectDebitRow},
};

/// What the gateway sends when a creditor collects (`"type": "collection.requested"`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionRequest {
    /// The gateway's id of the collection: a repeat with the same id is the same collection.
    pub collection_id: String,
    pub creditor_id: String,
    pub mandate_reference: String,
    /// A decimal string.
    pub amount: String,
    pub currency: String,
    pub remittance: Option<String>,
}

/// The bank's answer to a collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    rename_all = "camelCase",
    tag = "status",
    rename_all_fields = "camelCase"
)]
pub enum CollectionAnswer {
    /// The account was debited.
    #[serde(rename = "COLLECTED")]
    Collected { direct_debit_id: Uuid },
    /// Not collected; nothing moved. `code`: `NO_MANDATE`, `MANDATE_REVOKED`,
    /// `AMOUNT_ABOVE_LIMIT`, `CURRENCY_MISMATCH`, or the ledger's (`INSUFFICIENT_FUNDS`,
    /// `ACCOUNT_NOT_ACTIVE`, ...).
    #[serde(rename = "REFUSED")]
    Refused {
        direct_debit_id: Option<Uuid>,
        code: String,
        reason: String,
    },
}

/// Why a collection request is not one (answered 400).
#[derive(Debug)]
pub struct BadRequest(pub String);

/// The outcome of a collection; `Ok(None)` when the ledger's answer is unknown (the gateway
/// should ask again with the same collection id).
pub async fn collect(
    db: &DatabaseConnection,
    ledger: &LedgerClient,
    request: &CollectionRequest,
) -> Result<ApiResult<Option<CollectionAnswer>>, BadRequest> {
    let creditor_id = CreditorId::parse(&request.creditor_id).map_err(BadRequest)?;
    let reference = parse_mandate_reference(&request.mandate_reference).map_err(BadRequest)?;
    let collection_id = request.collection_id.trim();
    if collection_id.is_empty() || collection_id.len() > 100 {
        return Err(BadRequest("collectionId is 1 to 100 characters".into()));
    }
    let remittance = parse_remittance(request.remittance.as_deref()).map_err(BadRequest)?;
    let currency = Currency::parse(&request.currency).map_err(BadRequest)?;
    let amount_minor = match parse_minor(&request.amount, currency) {
        Ok(minor) if minor > 0 => minor,
        Ok(_) => return Err(BadRequest("the amount must be positive".into())),
        Err(message) => return Err(BadRequest(message)),
    };
    Ok(async {
        let Some(mandate) = store::mandate_by_key(db, creditor_id.as_str(), &reference).await?
        else {
            return Ok(Some(CollectionAnswer::Refused {
                direct_debit_id: None,
                code: "NO_MANDATE".into(),
                reason: "the customer gave this creditor no mandate with this reference".into(),
            }));
        };
        let refusal = mandate_refusal(
            MandateStatus::from_db(&mandate.status),
            &mandate.currency,
            mandate.max_amount_minor,
            currency.code(),
            amount_minor,
        );
        let creditor_name = mandate.creditor_name.clone();
        let recorded = store::record_direct_debit(
            db,
            store::NewDirectDebit {
                mandate,
                gateway_collection_id: collection_id.to_string(),
                amount_minor,
                remittance,
                refusal,
            },
        )
        .await?;
        let (store::Recorded::New(row) | store::Recorded::Existing(row)) = recorded;
        let row = match DirectDebitStatus::from_db(&row.status) {
            DirectDebitStatus::Pending => match debit(db, ledger, &row, &creditor_name).await? {
                Some(row) => row,
                None => return Ok(None),
            },
            _ => row,
        };
        Ok(Some(answer(&row)))
    }
    .await)
}

/// Asks the ledger for a pending collection's debit (again, after a crash: it is keyed by the
/// collection) and records the outcome; `None` if the ledger's answer is unknown.
pub async fn debit(
    db: &DatabaseConnection,
    ledger: &LedgerClient,
    row: &DirectDebitRow,
    creditor_name: &str,
) -> ApiResult<Option<DirectDebitRow>> {
    let movement = PaymentMovement::collection(row, creditor_name, amount(row)?);
    match ledger.move_money(Caller::Service, &movement).await {
        Ok(posted) => {
            let row = store::collected(db, row.id, posted.transaction_id, creditor_name).await?;
            tracing::info!(direct_debit_id = %row.id, "direct debit collected");
            Ok(Some(row))
        }
        Err(Refused::Rule(err)) => {
            let row =
                store::collection_refused(db, row.id, err.code(), &err.message(), creditor_name)
                    .await?;
            tracing::info!(direct_debit_id = %row.id, code = err.code(), "direct debit refused by the ledger");
            Ok(Some(row))
        }
        Err(Refused::Unknown(err)) => {
            tracing::warn!(direct_debit_id = %row.id, code = err.code(), "a direct debit's outcome is unknown");
            Ok(None)
        }
    }
}

/// Posts a refunding collection's reversal; `None` if the ledger's answer is unknown or it
/// refused for now (a frozen account): the worker tries again.
pub async fn refund(
    db: &DatabaseConnection,
    ledger: &LedgerClient,
    row: &DirectDebitRow,
    creditor_name: &str,
) -> ApiResult<Option<DirectDebitRow>> {
    let movement = PaymentMovement::refund(row, creditor_name, amount(row)?);
    match ledger.move_money(Caller::Service, &movement).await {
        Ok(posted) => {
            let row = store::refunded(db, row.id, posted.transaction_id, creditor_name).await?;
            tracing::info!(direct_debit_id = %row.id, "direct debit refunded");
            Ok(Some(row))
        }
        Err(Refused::Rule(err)) | Err(Refused::Unknown(err)) => {
            tracing::warn!(direct_debit_id = %row.id, code = err.code(), message = err.message(), "a refund could not be posted yet");
            Ok(None)
        }
    }
}

/// Until when the debtor may have a collection refunded.
pub fn refundable_until(row: &DirectDebitRow) -> chrono::DateTime<Utc> {
    row.created_at + chrono::Duration::days(REFUND_WINDOW_DAYS)
}

fn amount(row: &DirectDebitRow) -> ApiResult<String> {
    let currency = Currency::parse(&row.currency).map_err(ApiError::internal_msg)?;
    Ok(format_minor(row.amount_minor, currency))
}

fn answer(row: &DirectDebitRow) -> CollectionAnswer {
    match DirectDebitStatus::from_db(&row.status) {
        DirectDebitStatus::Refused => CollectionAnswer::Refused {
            direct_debit_id: Some(row.id),
            code: row.failure_code.clone().unwrap_or_default(),
            reason: row.failure_reason.clone().unwrap_or_default(),
        },
        _ => CollectionAnswer::Collected {
            direct_debit_id: row.id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_as_the_gateway_expects() {
        let id = Uuid::nil();
        assert_eq!(
            serde_json::to_value(CollectionAnswer::Collected {
                direct_debit_id: id
            })
            .unwrap(),
            serde_json::json!({ "status": "COLLECTED", "directDebitId": id })
        );
        assert_eq!(
            serde_json::to_value(CollectionAnswer::Refused {
                direct_debit_id: None,
                code: "NO_MANDATE".into(),
                reason: "none".into()
            })
            .unwrap(),
            serde_json::json!({ "status": "REFUSED", "directDebitId": null, "code": "NO_MANDATE", "reason": "none" })
        );
    }
}
