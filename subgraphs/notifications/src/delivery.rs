//! Sending e-mail and SMS: a worker per channel leases due deliveries from the database, sends
//! them through the channel's provider behind a circuit breaker, and records the outcome.
//! Failures are retried with exponential backoff; after the last attempt the delivery is
//! marked failed and published to the dead-letter topic with the reason. While a provider's
//! breaker is open, deliveries wait without spending attempts.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use lettre::{
    message::Mailbox, AsyncSmtpTransport, AsyncTransport, Message as Email, Tokio1Executor,
};
use sea_orm::DatabaseConnection;

use crate::store::{self, DeliveryRow};

/// Something that can deliver a message to an address.
pub trait Provider: Send + Sync + 'static {
    fn channel(&self) -> &'static str;
    fn send(
        &self,
        address: &str,
        subject: &str,
        body: &str,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send;
}

/// E-mail over SMTP (`smtp://host:port` for plain, `smtps://` or `?tls=required` for TLS).
pub struct SmtpProvider {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpProvider {
    pub fn new(url: &str, from: &str, timeout: Duration) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
            .timeout(Some(timeout))
            .build();
        Ok(Self {
            transport,
            from: from.parse()?,
        })
    }
}

impl Provider for SmtpProvider {
    fn channel(&self) -> &'static str {
        "EMAIL"
    }

    async fn send(&self, address: &str, subject: &str, body: &str) -> Result<(), String> {
        let to: Mailbox = address
            .parse()
            .map_err(|err| format!("bad address {address:?}: {err}"))?;
        let email = Email::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body.to_string())
            .map_err(|err| format!("cannot build the message: {err}"))?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|err| format!("SMTP: {err}"))
    }
}

/// SMS through an HTTP provider: `POST <url>` with `{"to", "body"}` as JSON and an optional
/// bearer token; any 2xx is success.
pub struct HttpSmsProvider {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl HttpSmsProvider {
    pub fn new(url: &str, token: Option<String>, timeout: Duration) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("an HTTP client"),
            url: url.to_string(),
            token,
        }
    }
}

impl Provider for HttpSmsProvider {
    fn channel(&self) -> &'static str {
        "SMS"
    }

    async fn send(&self, address: &str, subject: &str, body: &str) -> Result<(), String> {
        let mut request = self
            .http
            .post(&self.url)
            .json(&serde_json::json!({ "to": address, "body": format!("{subject}: {body}") }));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|err| format!("SMS: {err}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("SMS provider answered {}", response.status()))
        }
    }
}

/// Opens after `threshold` consecutive failures and stays open for `cooldown`; then one trial
/// call decides (half-open): success closes it, failure opens it again.
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<BreakerState>,
}

#[derive(Default)]
struct BreakerState {
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(BreakerState::default()),
        }
    }

    /// `None` when a call may go ahead; otherwise how long until it may.
    pub fn wait(&self) -> Option<Duration> {
        let state = self.state.lock().expect("breaker lock");
        state
            .open_until
            .and_then(|until| until.checked_duration_since(Instant::now()))
    }

    pub fn record(&self, ok: bool) {
        let mut state = self.state.lock().expect("breaker lock");
        if ok {
            *state = BreakerState::default();
            return;
        }
        state.consecutive_failures += 1;
        if state.consecutive_failures >= self.threshold {
            if state.open_until.is_none_or(|until| until <= Instant::now()) {
                tracing::warn!(
                    failures = state.consecutive_failures,
                    "circuit breaker opened"
                );
            }
            state.open_until = Some(Instant::now() + self.cooldown);
        }
    }

    pub fn is_open(&self) -> bool {
        self.wait().is_some()
    }
}

/// Retry policy for deliveries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The wait before the attempt after `attempts_so_far` failures, or `None` to give up.
    pub fn next_delay(&self, attempts_so_far: i32) -> Option<Duration> {
        if attempts_so_far + 1 >= self.max_attempts {
            return None;
        }
        let factor = 2u32.saturating_pow(attempts_so_far.max(0) as u32);
        Some(self.base_delay.saturating_mul(factor).min(self.max_delay))
    }
}

/// How long a worker holds a leased delivery before another may take it.
const LEASE_SECS: i64 = 60;
const BATCH: u64 = 20;

/// Sends due deliveries of `provider`'s channel until the process stops.
pub async fn run_worker<P: Provider>(
    db: DatabaseConnection,
    provider: P,
    breaker: CircuitBreaker,
    policy: RetryPolicy,
    poll: Duration,
) {
    loop {
        if let Some(wait) = breaker.wait() {
            tokio::time::sleep(wait.min(poll * 10)).await;
            continue;
        }
        let due = match store::lease_deliveries(&db, provider.channel(), BATCH, LEASE_SECS).await {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(error = %err, "cannot lease deliveries; retrying");
                tokio::time::sleep(poll * 4).await;
                continue;
            }
        };
        if due.is_empty() {
            tokio::time::sleep(poll).await;
            continue;
        }
        for delivery in due {
            if let Err(err) = deliver(&db, &provider, &breaker, &policy, &delivery).await {
                // The lease runs out and the delivery is tried again.
                tracing::warn!(error = %err, delivery_id = %delivery.id, "cannot record a delivery");
            }
        }
    }
}

async fn deliver<P: Provider>(
    db: &DatabaseConnection,
    provider: &P,
    breaker: &CircuitBreaker,
    policy: &RetryPolicy,
    delivery: &DeliveryRow,
) -> Result<(), sea_orm::DbErr> {
    if let Some(wait) = breaker.wait() {
        return store::delivery_postponed(db, delivery, wait.as_secs_f64()).await;
    }
    match provider
        .send(&delivery.address, &delivery.subject, &delivery.body)
        .await
    {
        Ok(()) => {
            breaker.record(true);
            tracing::info!(delivery_id = %delivery.id, channel = provider.channel(), "delivered");
            store::delivery_sent(db, delivery).await
        }
        Err(error) => {
            breaker.record(false);
            let retry = policy.next_delay(delivery.attempts);
            tracing::warn!(delivery_id = %delivery.id, channel = provider.channel(), %error, gives_up = retry.is_none(), "delivery failed");
            store::delivery_failed(db, delivery, &error, retry.map(|d| d.as_secs_f64())).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_consecutive_failures_and_a_success_closes_it() {
        let breaker = CircuitBreaker::new(3, Duration::from_secs(60));
        breaker.record(false);
        breaker.record(false);
        assert!(!breaker.is_open());
        breaker.record(false);
        assert!(breaker.is_open());
        breaker.record(true);
        assert!(!breaker.is_open());
    }

    #[test]
    fn an_open_breaker_lets_a_trial_through_after_its_cooldown() {
        let breaker = CircuitBreaker::new(1, Duration::from_millis(20));
        breaker.record(false);
        assert!(breaker.is_open());
        std::thread::sleep(Duration::from_millis(30));
        assert!(!breaker.is_open());
    }

    #[test]
    fn retries_back_off_exponentially_up_to_a_bound_then_stop() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
        };
        let delays: Vec<_> = (0..5).map(|n| policy.next_delay(n)).collect();
        assert_eq!(
            delays,
            vec![
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(4)),
                Some(Duration::from_secs(5)),
                None
            ]
        );
    }
}
