//! The payment gateway: where payments to other banks go. Its interface, as this service uses
//! it:
//!
//! - `POST {url}/payments` with `Idempotency-Key: <payment id>` and a JSON body (`paymentId`,
//!   `amount`, `currency`, `creditorName`, `creditorIban`, `remittance`, `callbackUrl`).
//!   `2xx` with `{"reference": ...}`: accepted (a repeat with the same key gets the same
//!   answer); `4xx`: rejected for good (`{"reason": ...}`); anything else: try again later.
//!   A request that reached the gateway but got no clear answer (a timeout, a `5xx`, a `2xx`
//!   without a reference) may have been acted on: its outcome is unknown, not a refusal.
//! - `POST {url}/payments/{paymentId}/cancel`: the definite answer about a payment whose
//!   outcome is unknown. `200 {"status": "CANCELLED"}`: the gateway never took it and never
//!   will; `409 {"status": "ACCEPTED", "reference"}`: it took it, and its callback will say how
//!   it ends.
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
    timeout: Duration,
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
    /// The request never reached the gateway (no connection), or it said to come back later
    /// (429) before doing anything: try again later.
    Retry {
        reason: String,
    },
    /// The gateway may have acted (a timeout after sending, a `5xx`, an unreadable `2xx`): try
    /// again with the same key, and never take it for a refusal.
    Unknown {
        reason: String,
    },
}

/// The gateway's definite answer about a payment whose outcome was unknown.
#[derive(Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// It never took the payment and now never will: the money can go back.
    Cancelled,
    /// It took it; the callback will settle or reject it.
    Accepted { reference: String },
    /// No definite answer (unreachable, or an answer that says neither).
    Unknown { reason: String },
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
            timeout,
        }
    }

    /// The longest one call to the gateway takes.
    pub fn timeout(&self) -> Duration {
        self.timeout
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
            // No connection: the request was never sent.
            Err(err) if err.is_connect() => {
                return Submitted::Retry {
                    reason: format!("the gateway is unreachable: {err}"),
                }
            }
            Err(err) => {
                return Submitted::Unknown {
                    reason: format!("no answer from the gateway: {err}"),
                }
            }
        };
        let status = response.status();
        let answer: Option<Answer> = response.json().await.ok();
        if status.is_success() {
            match answer.and_then(|a| a.reference) {
                Some(reference) => Submitted::Accepted { reference },
                None => Submitted::Unknown {
                    reason: "the gateway accepted without a reference".into(),
                },
            }
        } else if status.as_u16() == 429 {
            Submitted::Retry {
                reason: "the gateway asked to slow down (429)".into(),
            }
        } else if status.is_client_error() {
            Submitted::Rejected {
                reason: answer
                    .and_then(|a| a.reason)
                    .unwrap_or_else(|| format!("rejected by the gateway ({status})")),
            }
        } else {
            Submitted::Unknown {
                reason: format!("the gateway answered {status}"),
            }
        }
    }

    /// Asks the gateway to cancel a payment whose outcome is unknown: its answer is definite.
    pub async fn cancel(&self, payment_id: uuid::Uuid) -> Cancelled {
        let response = match self
            .http
            .post(format!("{}/payments/{payment_id}/cancel", self.url))
            .send()
            .await
        {
            Ok(response) => response,
            Err(err) => {
                return Cancelled::Unknown {
                    reason: format!("no answer from the gateway to the cancellation: {err}"),
                }
            }
        };
        let status = response.status();
        let answer: Option<Answer> = response.json().await.ok();
        match status.as_u16() {
            200..=299 => Cancelled::Cancelled,
            409 => match answer.and_then(|a| a.reference) {
                Some(reference) => Cancelled::Accepted { reference },
                None => Cancelled::Unknown {
                    reason: "the gateway took the payment but gave no reference".into(),
                },
            },
            _ => Cancelled::Unknown {
                reason: format!("the gateway answered the cancellation with {status}"),
            },
        }
    }
}
