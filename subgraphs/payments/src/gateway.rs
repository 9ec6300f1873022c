//! The payment gateway: where payments to other banks go. Its interface, as this service uses
//! it:
//!
//! - `POST {url}/payments` with `Idempotency-Key: <payment id>` and a JSON body (`paymentId`,
//!   `amount`, `currency`, `creditorName`, `creditorIban`, `remittance`, `callbackUrl`).
//!   `2xx` with `{"reference": ...}`: accepted (a repeat with the same key gets the same
//!   answer); `4xx`: rejected for good (`{"reason": ...}`); anything else: try again later.
//! - Later, a callback to `callbackUrl`: `{"eventId", "paymentId", "status": "SETTLED" |
//!   "REJECTED", "reason"}`, signed `X-Gateway-Signature: sha256=<HMAC-SHA256 of the body>`
//!   with the shared webhook secret.
//!
//! `scripts/payment_gateway.py` is a stand-in with this interface for the local stack and the
//! tests.

use std::time::Duration;

use serde::Deserialize;

use crate::store::PaymentRow;

#[derive(Clone)]
pub struct GatewayClient {
    http: reqwest::Client,
    url: String,
    callback_url: String,
}

/// What the gateway said to a submission.
#[derive(Debug)]
pub enum Submitted {
    Accepted {
        reference: String,
    },
    Rejected {
        reason: String,
    },
    /// Unavailable, timed out or failed: try again later.
    Retry {
        reason: String,
    },
}

#[derive(Deserialize)]
struct Answer {
    reference: Option<String>,
    reason: Option<String>,
}

impl GatewayClient {
    pub fn new(url: &str, callback_url: &str, timeout: Duration) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("an HTTP client"),
            url: url.trim_end_matches('/').to_string(),
            callback_url: callback_url.to_string(),
        }
    }

    pub async fn submit(&self, payment: &PaymentRow, amount: &str) -> Submitted {
        let body = serde_json::json!({
            "paymentId": payment.id,
            "amount": amount,
            "currency": payment.currency,
            "creditorName": payment.creditor_name,
            "creditorIban": payment.creditor_iban,
            "remittance": payment.remittance,
            "callbackUrl": self.callback_url,
        });
        let response = match self
            .http
            .post(format!("{}/payments", self.url))
            .header("idempotency-key", payment.id.to_string())
            .json(&body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(err) => {
                return Submitted::Retry {
                    reason: format!("the gateway is unreachable: {err}"),
                }
            }
        };
        let status = response.status();
        let answer: Option<Answer> = response.json().await.ok();
        if status.is_success() {
            match answer.and_then(|a| a.reference) {
                Some(reference) => Submitted::Accepted { reference },
                None => Submitted::Retry {
                    reason: "the gateway accepted without a reference".into(),
                },
            }
        } else if status.is_client_error() && status.as_u16() != 429 {
            Submitted::Rejected {
                reason: answer
                    .and_then(|a| a.reason)
                    .unwrap_or_else(|| format!("rejected by the gateway ({status})")),
            }
        } else {
            Submitted::Retry {
                reason: format!("the gateway answered {status}"),
            }
        }
    }
}
