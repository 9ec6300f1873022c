//! Many movements per commit. Movements arriving at one ledger replica while others are being
//! written wait in a queue; a worker takes as many as are waiting (up to
//! `TRANSACTIONS_BATCH_MAX`) and writes them in one database transaction, decided in memory
//! against the rows it locked and written set-based ([`store::move_batch`]): each keeps its
//! idempotency key, its checks and its answer, and one that its rules refuse (insufficient
//! funds, a frozen account) is refused alone while the others commit. Keys are claimed before
//! any account is locked, and every customer account of the batch is locked in id order in
//! one statement, so batches cannot deadlock one another (internal accounts lock after
//! customer accounts, as in a single movement).
//!
//! The batch answers only once it has committed. Whatever else stops a movement in a batch
//! (a conflict, an account the ledger has not heard of yet, a replayed key, a failed commit)
//! sends it back to be tried alone, with the retries a single movement has: its idempotency
//! key makes trying again safe whatever the batch's outcome was. A commit therefore costs one
//! WAL flush for the batch instead of one per movement.

use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::store::{self, Moved, Movement, Stop};

/// How movements reach the database: through batches, or one transaction each.
#[derive(Clone)]
pub struct Ledger {
    pub db: DatabaseConnection,
    queue: Option<mpsc::Sender<Job>>,
}

struct Job {
    movement: Movement,
    hash: String,
    reply: oneshot::Sender<Result<Moved, Stop>>,
}

impl Ledger {
    /// One transaction per movement.
    pub fn unbatched(db: DatabaseConnection) -> Self {
        Self { db, queue: None }
    }

    /// Batches of up to `max` movements written by `workers` concurrent transactions;
    /// `max` <= 1 is [`Ledger::unbatched`].
    pub fn batched(db: DatabaseConnection, max: usize, workers: usize) -> Self {
        if max <= 1 {
            return Self::unbatched(db);
        }
        let (queue, receiver) = mpsc::channel::<Job>(max * workers.max(1) * 4);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..workers.max(1) {
            tokio::spawn(work(db.clone(), receiver.clone(), max));
        }
        Self {
            db,
            queue: Some(queue),
        }
    }

    /// A movement's first attempt: in a batch when batching is on, else alone.
    pub(crate) async fn first_attempt(
        &self,
        movement: &Movement,
        hash: &str,
    ) -> Result<Moved, Stop> {
        let Some(queue) = &self.queue else {
            return store::try_move(&self.db, movement, hash).await;
        };
        let (reply, answer) = oneshot::channel();
        let job = Job {
            movement: movement.clone(),
            hash: hash.to_string(),
            reply,
        };
        if queue.send(job).await.is_err() {
            return store::try_move(&self.db, movement, hash).await;
        }
        answer
            .await
            .unwrap_or_else(|_| Err(Stop::Retry(DbErr::Custom("the batch was dropped".into()))))
    }
}

async fn work(db: DatabaseConnection, receiver: Arc<Mutex<mpsc::Receiver<Job>>>, max: usize) {
    loop {
        let jobs = {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut jobs = vec![first];
            while jobs.len() < max {
                match receiver.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            jobs
        };
        run(&db, jobs).await;
    }
}

/// Writes `jobs` in one transaction and answers each.
async fn run(db: &DatabaseConnection, jobs: Vec<Job>) {
    BATCH_SIZE.observe(jobs.len() as f64);
    COMMITS.inc();
    if jobs.len() == 1 {
        let job = jobs.into_iter().next().expect("one job");
        let result = store::try_move(db, &job.movement, &job.hash).await;
        let _ = job.reply.send(result);
        return;
    }
    let started = std::time::Instant::now();
    match write(db, &jobs).await {
        Ok(results) => {
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(err) => {
            BATCHES_FAILED.inc();
            tracing::warn!(error = %err, movements = jobs.len(), "a ledger batch failed; its movements are tried alone");
            for job in jobs {
                let _ = job.reply.send(Err(Stop::Retry(DbErr::Custom(format!(
                    "the batch failed: {err}"
                )))));
            }
        }
    }
    BATCH_SECONDS.observe(started.elapsed().as_secs_f64());
}

/// The batch's transaction ([`store::move_batch`]). `Err`: the transaction did not commit (or
/// may not have).
async fn write(db: &DatabaseConnection, jobs: &[Job]) -> Result<Vec<Result<Moved, Stop>>, DbErr> {
    let txn = db.begin().await?;
    let movements: Vec<(&Movement, &str)> = jobs
        .iter()
        .map(|job| (&job.movement, job.hash.as_str()))
        .collect();
    let results = store::move_batch(&txn, &movements).await?;
    txn.commit().await?;
    REFUSED.inc_by(
        results
            .iter()
            .filter(|result| matches!(result, Err(Stop::Api(_))))
            .count() as u64,
    );
    MOVEMENTS.inc_by(
        results
            .iter()
            .filter(|result| matches!(result, Ok(Moved::Now(..))))
            .count() as u64,
    );
    Ok(results)
}

static BATCH_SIZE: std::sync::LazyLock<prometheus::Histogram> = std::sync::LazyLock::new(|| {
    bank_common::metrics::service_metric(
        prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "ledger_batch_movements",
                "Movements written per ledger database transaction (batch size)",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]),
        )
        .expect("valid metric"),
    )
});

static BATCH_SECONDS: std::sync::LazyLock<prometheus::Histogram> = std::sync::LazyLock::new(|| {
    bank_common::metrics::service_metric(
        prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "ledger_batch_seconds",
                "Time to write and commit one ledger batch",
            )
            .buckets(prometheus::exponential_buckets(0.0005, 2.0, 14).expect("buckets")),
        )
        .expect("valid metric"),
    )
});

static COMMITS: std::sync::LazyLock<prometheus::IntCounter> = std::sync::LazyLock::new(|| {
    bank_common::metrics::service_counter(
        "ledger_batch_commits_total",
        "Ledger database transactions that wrote batched movements (one commit each)",
    )
});

static MOVEMENTS: std::sync::LazyLock<prometheus::IntCounter> = std::sync::LazyLock::new(|| {
    bank_common::metrics::service_counter(
        "ledger_batched_movements_total",
        "Movements committed in batches of more than one",
    )
});

static BATCHES_FAILED: std::sync::LazyLock<prometheus::IntCounter> =
    std::sync::LazyLock::new(|| {
        bank_common::metrics::service_counter(
            "ledger_batches_failed_total",
            "Ledger batches that did not commit; their movements were tried alone",
        )
    });

static REFUSED: std::sync::LazyLock<prometheus::IntCounter> = std::sync::LazyLock::new(|| {
    bank_common::metrics::service_counter(
        "ledger_batch_refused_total",
        "Movements refused by their rules inside a batch that committed the others",
    )
});
