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
//! A worker that finds another batch of its replica still being written (not yet committing)
//! does not start at once with the few movements waiting: it waits until that batch starts to
//! commit (at most `TRANSACTIONS_BATCH_WAIT_MS`, 10 ms), then takes everything that arrived
//! meanwhile. Its keys and locks then overlap the other batch's commit, as before, but it is
//! no longer a batch of one or two that costs a commit of its own and waits on the other's
//! locks anyway. With nothing else being written, a movement starts at once.
//!
//! The batch answers only once it has committed. Whatever else stops a movement in a batch
//! (a conflict, an account the ledger has not heard of yet, a replayed key, a failed commit)
//! sends it back to be tried alone, with the retries a single movement has: its idempotency
//! key makes trying again safe whatever the batch's outcome was. A commit therefore costs one
//! WAL flush for the batch instead of one per movement.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use tokio::sync::{mpsc, oneshot, Mutex, Notify};

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

    /// Batches of up to `max` movements written by `workers` concurrent transactions, each
    /// waiting up to `wait` for the batch before it to start committing; `max` <= 1 is
    /// [`Ledger::unbatched`].
    pub fn batched(db: DatabaseConnection, max: usize, workers: usize, wait: Duration) -> Self {
        if max <= 1 {
            return Self::unbatched(db);
        }
        let (queue, receiver) = mpsc::channel::<Job>(max * workers.max(1) * 4);
        let receiver = Arc::new(Mutex::new(receiver));
        let turns = Arc::new(Turns::default());
        for _ in 0..workers.max(1) {
            tokio::spawn(work(db.clone(), receiver.clone(), turns.clone(), max, wait));
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

/// The batches of one replica that have been taken and have not yet started to commit.
#[derive(Default)]
struct Turns {
    writing: AtomicUsize,
    committing: Notify,
}

/// One batch's place in [`Turns`]: counted from when it is taken until it starts to commit (or
/// ends, whichever comes first).
struct Turn<'a> {
    turns: Option<&'a Turns>,
}

impl<'a> Turn<'a> {
    fn take(turns: &'a Turns) -> Self {
        turns.writing.fetch_add(1, Ordering::SeqCst);
        Self { turns: Some(turns) }
    }

    /// The batch is committing: a waiting worker may take the next one.
    fn pass(&mut self) {
        if let Some(turns) = self.turns.take() {
            turns.writing.fetch_sub(1, Ordering::SeqCst);
            turns.committing.notify_waiters();
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.pass();
    }
}

/// The next batch: the first movement to arrive, and, if another batch is being written, what
/// arrives until it starts to commit (at most `wait`: a stalled database must not hold every
/// movement back; zero does not wait); then everything waiting, up to `max`. `None` once the
/// queue is closed.
async fn take<T>(
    receiver: &mut mpsc::Receiver<T>,
    turns: &Turns,
    max: usize,
    wait: Duration,
) -> Option<Vec<T>> {
    let first = receiver.recv().await?;
    let deadline = tokio::time::Instant::now() + wait;
    while !wait.is_zero() {
        let committing = turns.committing.notified();
        tokio::pin!(committing);
        committing.as_mut().enable();
        if turns.writing.load(Ordering::SeqCst) == 0 || receiver.len() + 1 >= max {
            break;
        }
        if tokio::time::timeout_at(deadline, committing).await.is_err() {
            TURNS_TIMED_OUT.inc();
            break;
        }
    }
    let mut jobs = vec![first];
    while jobs.len() < max {
        match receiver.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
    Some(jobs)
}

async fn work(
    db: DatabaseConnection,
    receiver: Arc<Mutex<mpsc::Receiver<Job>>>,
    turns: Arc<Turns>,
    max: usize,
    wait: Duration,
) {
    loop {
        // The turn is taken before the queue is let go: the next worker to look sees this
        // batch being written.
        let (jobs, turn) = {
            let mut receiver = receiver.lock().await;
            match take(&mut receiver, &turns, max, wait).await {
                Some(jobs) => (jobs, Turn::take(&turns)),
                None => return,
            }
        };
        run(&db, jobs, turn).await;
    }
}

/// Writes `jobs` in one transaction and answers each; `turn` is passed as it commits.
async fn run(db: &DatabaseConnection, jobs: Vec<Job>, mut turn: Turn<'_>) {
    BATCH_SIZE.observe(jobs.len() as f64);
    COMMITS.inc();
    if jobs.len() == 1 {
        let job = jobs.into_iter().next().expect("one job");
        let result = store::try_move(db, &job.movement, &job.hash).await;
        turn.pass();
        let _ = job.reply.send(result);
        return;
    }
    let started = std::time::Instant::now();
    match write(db, &jobs, &mut turn).await {
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
async fn write(
    db: &DatabaseConnection,
    jobs: &[Job],
    turn: &mut Turn<'_>,
) -> Result<Vec<Result<Moved, Stop>>, DbErr> {
    let txn = db.begin().await?;
    let movements: Vec<(&Movement, &str)> = jobs
        .iter()
        .map(|job| (&job.movement, job.hash.as_str()))
        .collect();
    let results = store::move_batch(&txn, &movements).await?;
    turn.pass();
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

static TURNS_TIMED_OUT: std::sync::LazyLock<prometheus::IntCounter> =
    std::sync::LazyLock::new(|| {
        bank_common::metrics::service_counter(
            "ledger_batch_turn_timeouts_total",
            "Batches started without waiting longer for the batch being written to commit",
        )
    });

static REFUSED: std::sync::LazyLock<prometheus::IntCounter> = std::sync::LazyLock::new(|| {
    bank_common::metrics::service_counter(
        "ledger_batch_refused_total",
        "Movements refused by their rules inside a batch that committed the others",
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    /// Another batch is being written: the next one waits for it to start committing and holds
    /// everything that arrived meanwhile, instead of leaving with the first movement alone.
    #[tokio::test]
    async fn a_batch_taken_while_another_is_written_waits_for_its_commit() {
        let turns = Turns::default();
        let (queue, mut receiver) = mpsc::channel(16);
        let mut writing = Turn::take(&turns);
        queue.send(1).await.unwrap();
        let (jobs, ()) = tokio::join!(
            take(&mut receiver, &turns, 64, Duration::from_secs(10)),
            async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                queue.send(2).await.unwrap();
                queue.send(3).await.unwrap();
                writing.pass();
            }
        );
        assert_eq!(jobs, Some(vec![1, 2, 3]));
    }

    /// Nothing else being written: a movement leaves at once, alone.
    #[tokio::test]
    async fn with_nothing_being_written_a_movement_is_taken_at_once() {
        let turns = Turns::default();
        let (queue, mut receiver) = mpsc::channel(16);
        queue.send(1).await.unwrap();
        let started = std::time::Instant::now();
        let jobs = take(&mut receiver, &turns, 64, Duration::from_secs(10)).await;
        assert_eq!(jobs, Some(vec![1]));
        assert!(started.elapsed() < Duration::from_secs(5), "it waited");
    }

    /// A batch that never starts to commit (a stalled database) holds the next one back for
    /// the wait at most; a full queue does not wait at all.
    #[tokio::test]
    async fn the_wait_is_bounded_and_a_full_batch_does_not_wait() {
        let turns = Turns::default();
        let (queue, mut receiver) = mpsc::channel(16);
        let _stalled = Turn::take(&turns);
        queue.send(1).await.unwrap();
        let jobs = take(&mut receiver, &turns, 64, Duration::from_millis(50)).await;
        assert_eq!(jobs, Some(vec![1]));
        assert_eq!(TURNS_TIMED_OUT.get(), 1);

        // No wait at all: what is waiting leaves at once, and nothing timed out.
        queue.send(2).await.unwrap();
        let jobs = take(&mut receiver, &turns, 64, Duration::ZERO).await;
        assert_eq!(jobs, Some(vec![2]));
        assert_eq!(TURNS_TIMED_OUT.get(), 1);

        for job in 3..=5 {
            queue.send(job).await.unwrap();
        }
        let started = std::time::Instant::now();
        let jobs = take(&mut receiver, &turns, 3, Duration::from_secs(10)).await;
        assert_eq!(jobs, Some(vec![3, 4, 5]));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a full batch waited"
        );
        drop(queue);
        assert_eq!(take(&mut receiver, &turns, 3, Duration::ZERO).await, None);
    }
}
