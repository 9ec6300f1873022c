//! The one call the accounts service makes to the ledger: closing an account's ledger side.
//! It goes to the transactions service's internal endpoint (not routed through NGINX or the
//! router) with the caller's own token, so the ledger checks ownership itself.

use std::time::Duration;

use uuid::Uuid;

use bank_common::{internal, ApiResult};

#[derive(Clone)]
pub struct LedgerClient {
    http: reqwest::Client,
    base_url: String,
}

/// The ledger answers within this, or closing fails with `INTERNAL` (and can be retried).
const TIMEOUT: Duration = Duration::from_secs(5);

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

    /// Asks the ledger to close `account`; its refusal becomes the caller's error.
    pub async fn close(&self, token: &str, account: Uuid) -> ApiResult<()> {
        let response = self
            .http
            .post(format!(
                "{}/internal/accounts/{account}/close",
                self.base_url
            ))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|err| internal::unreachable("ledger", err))?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(internal::error_from(response, "id", "account").await)
    }
}
