//! The background work, leased row by row so replicas share it and a crashed worker's rows are
//! taken over when its lease runs out:
//!
//! 1. `QUEUED` payments go to the gateway. Accepted: `SUBMITTED`. Rejected for good: their
//!    money goes back (`RETURNING`). Unavailable: retried with exponential backoff, with the
//!    same idempotency key. After the last attempt the money goes back only if the gateway
//!    certainly does not have the payment: every attempt failed to connect, or the gateway
//!    answers a cancellation with `CANCELLED`. An attempt that reached the gateway without a
//!    clear answer (a timeout, a 5xx) may have been paid: if the cancellation says the gateway
//!    took it, the payment is `SUBMITTED` and its callback ends it; with no definite answer it
//!    stays queued, is asked about again with backoff, and is logged and counted
//!    (`payments_outcome_unknown_total`) for an operator. Submissions run 16 at a time, so a
//!    gateway slow to answer one payment does not hold up the others, and a batch fits in one
//!    lease (each call is bounded by the gateway timeout), so no other replica takes a payment
//!    while it is being submitted.
//! 2. `RETURNING` payments get their reversal posted by the ledger (`RETURNED`); a frozen or
//!    closed account holds that up, retried until staff resolve it.
//! 3. `PENDING` payments older than a grace period (the debit's outcome unknown: the service
//!    stopped, or the ledger did not answer) get their debit asked for again. The ledger keys it
//!    by the payment, so if it was posted the first time, nothing moves twice.
//! 4. The same for direct debits: `PENDING` collections older than the grace period get their
//!    debit asked for again, and `REFUNDING` ones get their refund posted.
//! 5. Standing orders due today (or before, if the service was down) make their payment: an
//!    ordinary payment keyed by the order and the date, debited with the service token, then
//!    queued for the gateway like any other. Each date is paid once, however often it is tried.

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use bank_common::{
    metrics::service_metric,
    money::{format_minor, Currency},
};
use prometheus::IntCounter;

use crate::{
    collections,
    domain::{backoff, next_run, DirectDebitStatus, Frequency, PaymentStatus},
    gateway::{Cancelled, GatewayClient, Submitted},
    ledger::{Caller, LedgerClient, PaymentMovement, Refused},
    store::{self, PaymentRow, StandingOrderRow},
};

#[derive(Clone)]
pub struct Worker {
    pub db: DatabaseConnection,
    pub ledger: LedgerClient,
    pub gateway: GatewayClient,
    pub settings: WorkerSettings,
    /// Woken when a payment is queued, so it goes out without waiting for the next poll.
    pub wake: Arc<Notify>,
}

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub poll: Duration,
    pub lease: Duration,
    pub max_attempts: i32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How old a `PENDING` payment must be before its debit is asked for again.
    pub debit_recovery_after: Duration,
}

const BATCH: u64 = 50;

/// Payments whose outcome at the gateway could not be settled after their last attempt.
static OUTCOME_UNKNOWN: std::sync::LazyLock<IntCounter> = std::sync::LazyLock::new(|| {
    service_metric(
        IntCounter::new(
            "payments_outcome_unknown_total",
            "Times a payment's last attempt ended without a definite answer from the gateway (its money stays in clearing)",
        )
        .expect("valid metric"),
    )
});

/// Submissions to the gateway in flight at once: a gateway slow to answer one payment (up to
/// the client's timeout) does not hold up the others behind it.
pub const CONCURRENT_SUBMISSIONS: u64 = 16;

/// How many payments one lease may cover while they are submitted in rounds of
/// [`CONCURRENT_SUBMISSIONS`]: every call takes at most `timeout`, and the lease must outlast
/// every round, with one round to spare.
pub fn submit_batch(lease: Duration, timeout: Duration) -> u64 {
    let rounds = (lease.as_secs_f64() / timeout.as_secs_f64().max(0.001)).floor() as u64;
    (rounds.saturating_sub(1) * CONCURRENT_SUBMISSIONS).clamp(1, BATCH)
}

impl Worker {
    pub async fn run(self) {
        loop {
            let worked = self.once().await;
            if worked == 0 {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(self.settings.poll) => {}
                }
            }
        }
    }

    /// One round of all three kinds of work; returns how many payments it handled.
    pub async fn once(&self) -> usize {
        let mut handled = 0;
        let now = chrono::Utc::now();
        let recovery_cutoff = now
            - chrono::Duration::from_std(self.settings.debit_recovery_after)
                .unwrap_or_else(|_| chrono::Duration::seconds(30));
        let submissions = submit_batch(self.settings.lease, self.gateway.timeout());
        for (status, older_than, batch) in [
            (PaymentStatus::Queued, now, submissions),
            (PaymentStatus::Returning, now, BATCH),
            (PaymentStatus::Pending, recovery_cutoff, BATCH),
        ] {
            let leased =
                match store::lease_due(&self.db, status, older_than, batch, self.settings.lease)
                    .await
                {
                    Ok(rows) => rows,
                    Err(err) => {
                        tracing::warn!(error = %err, "leasing payments failed; retrying later");
                        continue;
                    }
                };
            handled += leased.len();
            // Submissions wait on the gateway: several at once. The ledger's work is quick.
            let at_once = match status {
                PaymentStatus::Queued => CONCURRENT_SUBMISSIONS as usize,
                _ => 1,
            };
            for round in leased.chunks(at_once) {
                let work: Vec<_> = round
                    .iter()
                    .map(|payment| self.work_on(status, payment))
                    .collect();
                futures::future::join_all(work).await;
            }
        }
        handled + self.direct_debits(recovery_cutoff).await + self.standing_orders().await
    }

    /// One leased payment's work; a failure is retried later.
    async fn work_on(&self, status: PaymentStatus, payment: &PaymentRow) {
        let outcome = match status {
            PaymentStatus::Queued => self.submit(payment).await,
            PaymentStatus::Returning => self.reverse(payment).await,
            _ => self.recover_debit(payment).await,
        };
        if let Err(err) = outcome {
            tracing::warn!(payment_id = %payment.id, error = ?err, "payment work failed; retrying later");
            let delay = self.delay(payment.attempts);
            let _ = store::retry_later(&self.db, payment.id, delay, "internal error").await;
        }
    }

    /// Makes the payments of standing orders that are due; returns how many orders it handled.
    async fn standing_orders(&self) -> usize {
        let today = chrono::Utc::now().date_naive();
        let leased =
            match store::lease_due_standing_orders(&self.db, today, BATCH, self.settings.lease)
                .await
            {
                Ok(rows) => rows,
                Err(err) => {
                    tracing::warn!(error = %err, "leasing standing orders failed; retrying later");
                    return 0;
                }
            };
        for order in &leased {
            if let Err(err) = self.pay_standing_order(order).await {
                tracing::warn!(standing_order_id = %order.id, error = ?err, "a standing order's payment failed; retrying later");
                let _ = store::release_standing_order(&self.db, order.id, self.delay(1)).await;
            }
        }
        leased.len()
    }

    /// Pays the date a leased standing order is due on: once, and not at all if the order was
    /// cancelled (or moved on) since it was leased.
    pub async fn pay_standing_order(&self, order: &StandingOrderRow) -> anyhow::Result<()> {
        let Some(run_on) = order.next_run_on else {
            return Ok(());
        };
        let recorded = store::record_standing_order_payment(
            &self.db,
            order,
            run_on,
            store::NewPayment {
                owner_id: order.owner_id,
                from_account_id: order.from_account_id,
                creditor_name: order.creditor_name.clone(),
                creditor_iban: order.creditor_iban.clone(),
                currency: order.currency.clone(),
                amount_minor: order.amount_minor,
                remittance: order.remittance.clone(),
                key: format!("standing-order:{}:{run_on}", order.id),
                initiated_by: order.owner_id,
                standing_order_id: Some(order.id),
            },
        )
        .await
        .map_err(|err| anyhow::anyhow!(err.message()))?;
        let Some(store::Recorded::New(payment) | store::Recorded::Existing(payment)) = recorded
        else {
            tracing::info!(standing_order_id = %order.id, %run_on, "a standing order was cancelled or moved on after it was leased; nothing paid");
            return Ok(());
        };
        if PaymentStatus::from_db(&payment.status) == PaymentStatus::Pending {
            // Debited and queued, refused (FAILED, the order goes on), or left PENDING for the
            // recovery above when the ledger does not answer.
            self.recover_debit(&payment).await?;
        }
        let next = next_run(Frequency::from_db(&order.frequency), order.start_on, run_on);
        store::advance_standing_order(&self.db, order.id, run_on, next).await?;
        tracing::info!(standing_order_id = %order.id, %run_on, payment_id = %payment.id, "standing order paid");
        self.wake.notify_one();
        Ok(())
    }

    /// Finishes interrupted collections and posts refunds; returns how many it handled.
    async fn direct_debits(&self, recovery_cutoff: chrono::DateTime<chrono::Utc>) -> usize {
        let mut handled = 0;
        for (status, older_than) in [
            (DirectDebitStatus::Refunding, chrono::Utc::now()),
            (DirectDebitStatus::Pending, recovery_cutoff),
        ] {
            let leased = match store::lease_due_direct_debits(
                &self.db,
                status,
                older_than,
                BATCH,
                self.settings.lease,
            )
            .await
            {
                Ok(rows) => rows,
                Err(err) => {
                    tracing::warn!(error = %err, "leasing direct debits failed; retrying later");
                    continue;
                }
            };
            for row in leased {
                handled += 1;
                let outcome = async {
                    let creditor_name = store::find_mandate(&self.db, row.mandate_id)
                        .await?
                        .map(|mandate| mandate.creditor_name)
                        .unwrap_or_default();
                    let done = if status == DirectDebitStatus::Refunding {
                        collections::refund(&self.db, &self.ledger, &row, &creditor_name).await
                    } else {
                        collections::debit(&self.db, &self.ledger, &row, &creditor_name).await
                    };
                    done.map_err(|err| anyhow::anyhow!(err.message()))
                }
                .await;
                if !matches!(outcome, Ok(Some(_))) {
                    if let Err(err) = &outcome {
                        tracing::warn!(direct_debit_id = %row.id, error = ?err, "direct debit work failed; retrying later");
                    }
                    let delay = self.delay(row.attempts);
                    let _ = store::retry_direct_debit_later(&self.db, row.id, delay).await;
                }
            }
        }
        handled
    }

    fn delay(&self, attempts: i32) -> Duration {
        backoff(
            self.settings.retry_base,
            self.settings.retry_max,
            attempts.max(1) as u32,
        )
    }

    fn amount(payment: &PaymentRow) -> anyhow::Result<String> {
        let currency = Currency::parse(&payment.currency).map_err(anyhow::Error::msg)?;
        Ok(format_minor(payment.amount_minor, currency))
    }

    async fn submit(&self, payment: &PaymentRow) -> anyhow::Result<()> {
        match self.gateway.submit(payment, &Self::amount(payment)?).await {
            Submitted::Accepted { reference } => {
                store::submitted(&self.db, payment.id, &reference)
                    .await
                    .map_err(|err| anyhow::anyhow!(err.message()))?;
                tracing::info!(payment_id = %payment.id, reference, "payment submitted to the gateway");
            }
            Submitted::Rejected { reason } => {
                tracing::info!(payment_id = %payment.id, reason, "the gateway rejected a payment");
                store::rejected(&self.db, payment.id, &reason)
                    .await
                    .map_err(|err| anyhow::anyhow!(err.message()))?;
                self.wake.notify_one();
            }
            Submitted::Retry { reason } if payment.attempts >= self.settings.max_attempts => {
                self.last_attempt(payment, &reason, false).await?;
            }
            Submitted::Unknown { reason } if payment.attempts >= self.settings.max_attempts => {
                self.last_attempt(payment, &reason, true).await?;
            }
            Submitted::Retry { reason } => {
                let delay = self.delay(payment.attempts);
                tracing::info!(payment_id = %payment.id, reason, ?delay, "gateway unavailable; retrying later");
                store::retry_later(&self.db, payment.id, delay, &reason).await?;
            }
            Submitted::Unknown { reason } => {
                let delay = self.delay(payment.attempts);
                tracing::warn!(payment_id = %payment.id, reason, ?delay, "the gateway may have taken a payment without saying so; asking again with the same key");
                store::outcome_unknown(&self.db, payment.id, delay, &reason).await?;
            }
        }
        Ok(())
    }

    /// The last attempt did not get the payment accepted. Its money goes back only when the
    /// gateway certainly does not have it.
    async fn last_attempt(
        &self,
        payment: &PaymentRow,
        reason: &str,
        unknown_now: bool,
    ) -> anyhow::Result<()> {
        let attempts = payment.attempts;
        if !unknown_now && payment.outcome_unknown_since.is_none() {
            // No attempt ever reached the gateway.
            tracing::warn!(payment_id = %payment.id, reason, attempts, "the gateway never took a payment; returning it");
            let reason = format!("the gateway did not take it after {attempts} attempts: {reason}");
            store::rejected(&self.db, payment.id, &reason)
                .await
                .map_err(|err| anyhow::anyhow!(err.message()))?;
            self.wake.notify_one();
            return Ok(());
        }
        if unknown_now {
            store::note_outcome_unknown(&self.db, payment.id).await?;
        }
        match self.gateway.cancel(payment.id).await {
            Cancelled::Cancelled => {
                tracing::warn!(payment_id = %payment.id, reason, attempts, "the gateway cancelled a payment it never took; returning it");
                let reason = format!(
                    "the gateway did not take it after {attempts} attempts and cancelled it: {reason}"
                );
                store::rejected(&self.db, payment.id, &reason)
                    .await
                    .map_err(|err| anyhow::anyhow!(err.message()))?;
                self.wake.notify_one();
            }
            Cancelled::Accepted { reference } => {
                tracing::info!(payment_id = %payment.id, reference, "the gateway had taken a payment whose answer was lost");
                store::submitted(&self.db, payment.id, &reference)
                    .await
                    .map_err(|err| anyhow::anyhow!(err.message()))?;
            }
            Cancelled::Unknown { reason: why } => {
                OUTCOME_UNKNOWN.inc();
                let delay = self.delay(attempts);
                tracing::error!(payment_id = %payment.id, attempts, reason = why, ?delay, "a payment's outcome at the gateway is unknown; its money stays in clearing until the gateway answers");
                store::outcome_unknown(&self.db, payment.id, delay, &why).await?;
            }
        }
        Ok(())
    }

    async fn reverse(&self, payment: &PaymentRow) -> anyhow::Result<()> {
        let movement = PaymentMovement::reversal(payment, Self::amount(payment)?);
        match self.ledger.move_money(Caller::Service, &movement).await {
            Ok(posted) => {
                store::returned(&self.db, payment.id, posted.transaction_id)
                    .await
                    .map_err(|err| anyhow::anyhow!(err.message()))?;
                tracing::info!(payment_id = %payment.id, "payment returned to its account");
            }
            Err(Refused::Rule(err)) | Err(Refused::Unknown(err)) => {
                let delay = self.delay(payment.attempts);
                tracing::warn!(payment_id = %payment.id, code = err.code(), message = err.message(), ?delay, "a reversal could not be posted; retrying later");
                store::retry_later(&self.db, payment.id, delay, &err.message()).await?;
            }
        }
        Ok(())
    }

    async fn recover_debit(&self, payment: &PaymentRow) -> anyhow::Result<()> {
        let movement = PaymentMovement::debit(payment, Self::amount(payment)?);
        match self.ledger.move_money(Caller::Service, &movement).await {
            Ok(posted) => {
                store::debited(&self.db, payment.id, posted.transaction_id)
                    .await
                    .map_err(|err| anyhow::anyhow!(err.message()))?;
                tracing::info!(payment_id = %payment.id, "an interrupted payment's debit is confirmed");
            }
            Err(Refused::Rule(err)) => {
                store::debit_refused(&self.db, payment.id, err.code(), &err.message())
                    .await
                    .map_err(|err| anyhow::anyhow!(err.message()))?;
            }
            Err(Refused::Unknown(err)) => {
                let delay = self.delay(payment.attempts);
                store::retry_later(&self.db, payment.id, delay, &err.message()).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_of_submissions_fits_in_its_lease() {
        let secs = Duration::from_secs;
        assert_eq!(submit_batch(secs(30), secs(10)), 32, "two rounds of 16");
        assert_eq!(submit_batch(secs(30), secs(20)), 1, "one call to spare");
        assert_eq!(submit_batch(secs(30), secs(60)), 1, "at least one");
        assert_eq!(submit_batch(secs(3000), secs(1)), BATCH);
        for (lease, timeout) in [(30, 10), (30, 1), (45, 7), (600, 10), (30, 20)] {
            let batch = submit_batch(secs(lease), secs(timeout));
            let rounds = batch.div_ceil(CONCURRENT_SUBMISSIONS);
            assert!(
                rounds * timeout < lease || batch == 1,
                "{batch} calls of {timeout} s, {CONCURRENT_SUBMISSIONS} at a time, within {lease} s"
            );
        }
    }
}
