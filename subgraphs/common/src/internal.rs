//! Calls between services. The ledger's internal endpoints (`/internal/...`, not routed
//! through NGINX or the router) answer an error as `{"code", "message"}` with a fitting HTTP
//! status; callers turn it back into the same [`ApiError`], so a refusal reaches the client
//! with the code the ledger chose.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

use crate::ApiError;

/// An internal endpoint's answer for `err` (`what` names the operation in the logs). Refusals
/// by the rules (funds, status, input) are `409 Conflict`; callers read the code.
pub fn error_response(err: ApiError, what: &str) -> Response {
    let status = match &err {
        ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::Internal(cause) => {
            tracing::error!(error = ?cause, "{what} failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::CONFLICT,
    };
    (
        status,
        Json(serde_json::json!({ "code": err.code(), "message": err.message() })),
    )
        .into_response()
}

/// The error for a service that could not be reached (the outcome is unknown).
pub fn unreachable(service: &str, err: reqwest::Error) -> ApiError {
    ApiError::internal(anyhow::anyhow!("the {service} is unreachable: {err}"))
}

/// The caller's side of [`error_response`]: the error an internal endpoint answered.
/// `field` names the input a `BAD_USER_INPUT` is about; `object` what a `NOT_FOUND` did not
/// find. Anything without a known code is `INTERNAL`.
pub async fn error_from(
    response: reqwest::Response,
    field: &'static str,
    object: &'static str,
) -> ApiError {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let message = body["message"].as_str().unwrap_or_default().to_string();
    match body["code"].as_str() {
        Some("BAD_USER_INPUT") => ApiError::bad_input(field, message),
        Some("ACCOUNT_NOT_ACTIVE") => ApiError::AccountNotActive(message),
        Some("INSUFFICIENT_FUNDS") => ApiError::InsufficientFunds,
        Some("CURRENCY_MISMATCH") => ApiError::CurrencyMismatch(message),
        Some("LIMIT_EXCEEDED") => ApiError::LimitExceeded(message),
        Some("IDEMPOTENCY_KEY_REUSED") => ApiError::IdempotencyKeyReused,
        Some("NOT_FOUND") => ApiError::NotFound(object),
        Some("FORBIDDEN") => ApiError::Forbidden(message),
        Some("UNAUTHENTICATED") => ApiError::Unauthenticated(message),
        _ => ApiError::internal(anyhow::anyhow!("{status} {body}")),
    }
}

/// The longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 100;

/// Checks a client's idempotency key: 1 to 100 letters, digits or `-_.:` (a UUID works).
pub fn idempotency_key(text: &str) -> Result<String, ApiError> {
    let valid = !text.is_empty()
        && text.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if valid {
        Ok(text.to_string())
    } else {
        Err(ApiError::bad_input(
            "idempotencyKey",
            format!(
                "an idempotency key is 1 to {MAX_IDEMPOTENCY_KEY_LEN} letters, digits or -_.: (a UUID works)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_short_and_plain() {
        assert!(idempotency_key("0b4a7e4e-2a4c-4c1e-9b1e-8a6d8e6f1a2b").is_ok());
        assert!(idempotency_key("").is_err());
        assert!(idempotency_key("with space").is_err());
        assert!(idempotency_key(&"k".repeat(101)).is_err());
    }
}

/// A customer account as the ledger knows it (`GET /internal/accounts/{id}`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerAccount {
    pub account_id: uuid::Uuid,
    pub owner_id: uuid::Uuid,
    pub currency: String,
    pub status: String,
}

/// A movement the ledger posted.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Posted {
    pub transaction_id: uuid::Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Why a movement did not happen.
#[derive(Debug)]
pub enum Refused {
    /// The ledger said no (funds, status, currency...): final for this request.
    Rule(ApiError),
    /// The ledger could not be asked, failed, or saw a key reused with other input (a bug on
    /// the caller's side, never the customer's): the outcome is unknown; retrying is safe.
    Unknown(ApiError),
}

impl Refused {
    pub fn into_api(self) -> ApiError {
        match self {
            Refused::Rule(err) | Refused::Unknown(err) => err,
        }
    }
}

/// Who a call to the ledger is made for.
pub enum Caller<'a> {
    /// A customer or member of staff, by their access token.
    User(&'a str),
    /// The calling service itself, by the service token (`X-Service-Token`).
    Service(&'a str),
}

/// The ledger's internal endpoints, as other services call them.
#[derive(Clone)]
pub struct LedgerHttp {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    /// Sent as `X-Service-Token` on every call: the ledger's internal endpoints answer the
    /// bank's services only (a customer's token alone is refused).
    pub(crate) service_token: Option<String>,
}

impl LedgerHttp {
    /// The ledger answers within `timeout`, or the call fails with `INTERNAL` (retry is safe).
    pub fn new(base_url: &str, timeout: std::time::Duration) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("an HTTP client"),
            base_url: base_url.trim_end_matches('/').to_string(),
            service_token: None,
        }
    }

    /// The calling service's token, sent with every call (`<SERVICE>_LEDGER_SERVICE_TOKEN`,
    /// equal to the ledger's `TRANSACTIONS_SERVICE_TOKEN`).
    pub fn with_service_token(mut self, token: Option<String>) -> Self {
        self.service_token = token.filter(|token| !token.is_empty());
        self
    }

    fn signed_by_this_service(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.service_token {
            Some(token) => request.header("x-service-token", token),
            None => request,
        }
    }

    /// The customer account, if the caller (by `token`) may see it.
    pub async fn account(&self, token: &str, id: uuid::Uuid) -> Result<LedgerAccount, ApiError> {
        let response = self
            .signed_by_this_service(
                self.http
                    .get(format!("{}/internal/accounts/{id}", self.base_url)),
            )
            .bearer_auth(token)
            .send()
            .await
            .map_err(|err| unreachable("ledger", err))?;
        if response.status().is_success() {
            return response.json().await.map_err(ApiError::internal);
        }
        Err(error_from(response, "accountId", "account").await)
    }

    /// Posts `body` to the movement endpoint `path` (e.g. `/internal/loan-movements`).
    pub async fn movement(
        &self,
        path: &str,
        caller: Caller<'_>,
        body: &impl serde::Serialize,
    ) -> Result<Posted, Refused> {
        let request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .json(body);
        let request = match caller {
            Caller::User(token) => self.signed_by_this_service(request).bearer_auth(token),
            Caller::Service(token) => request.header("x-service-token", token),
        };
        let response = request
            .send()
            .await
            .map_err(|err| Refused::Unknown(unreachable("ledger", err)))?;
        if response.status().is_success() {
            return response
                .json()
                .await
                .map_err(|err| Refused::Unknown(ApiError::internal(err)));
        }
        match error_from(response, "amount", "account").await {
            err @ (ApiError::Internal(_)
            | ApiError::Unauthenticated(_)
            | ApiError::IdempotencyKeyReused) => Err(Refused::Unknown(err)),
            err => Err(Refused::Rule(err)),
        }
    }
}
