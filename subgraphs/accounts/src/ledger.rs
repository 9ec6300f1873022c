//! The one call the accounts service makes to the ledger: closing an account's ledger side.
//! It goes to the transactions service's internal endpoint (not routed through NGINX or the
//! router) with the caller's own token, so the ledger checks ownership itself, and the service
//! token (`ACCOUNTS_LEDGER_SERVICE_TOKEN`), which the ledger's internal endpoints require.

use std::time::Duration;

use uuid::Uuid;

use bank_common::{internal, ApiResult};

#[derive(Clone)]
pub struct LedgerClient {
    http: reqwest::Client,
    base_url: String,
    service_token: Option<String>,
}

/// The ledger answers within this, or closing fails with `INTERNAL` (and can be retried).
const TIMEOUT: Duration = Duration::from_secs(5);

impl LedgerClient {
    pub fn new(base_url: &str, service_token: Option<String>) -> Self {
        Self {
            service_token,
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .expect("an HTTP client"),
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    /// Asks the ledger to close `account`; its refusal becomes the caller's error.
    pub async fn close(&self, token: &str, account: Uuid) -> ApiResult<()> {
        let response = self
            .http
            .post(format!(
                "{}/internal/accounts/{account}/close",
                self.base_url
            ))
            .bearer_auth(token)
            .header(
                "x-service-token",
                self.service_token.as_deref().unwrap_or_default(),
            )
            .send()
            .await
            .map_err(|err| internal::unreachable("ledger", err))?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(internal::error_from(response, "id", "account").await)
    }
}
