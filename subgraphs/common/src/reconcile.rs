//! Reconciliation: what a service recorded about money against what the ledger posted.
//!
//! The payments and loans services never move money themselves; they ask the ledger, and each
//! ledger transaction they cause carries a reference naming the record it belongs to
//! (`payment:<id>:debit`, `loan:<id>:repayment:<id>`, ...). Reconciling is comparing the two
//! books by those references, as banks do every day:
//!
//! - every record says, per reference, whether money moved under it ([`Expect::Posted`], with
//!   its amount and account), did not ([`Expect::Absent`]), or may have, while the record is
//!   between two states ([`Expect::Either`]);
//! - the ledger answers every transaction whose reference starts with the service's prefixes,
//!   and the balance of the bank's internal accounts the service's movements go through (the
//!   clearing account for payments) next to the part of it those transactions explain, in one
//!   snapshot (`POST /internal/reconciliation`, [`LedgerSnapshot`]);
//! - [`compare`] lists every disagreement ([`Mismatch`]). The two books are read one after the
//!   other while money moves, so a disagreement can be a moment's race; [`run`] looks twice
//!   and reports only what both looks found.
//!
//! Each service runs it on a schedule ([`spawn_job`]): mismatches are logged as errors and
//! counted in `reconciliation_mismatches{records, kind}`; staff read the same report through
//! the graph (`reconciliation`).

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock},
    time::Duration,
};

use async_graphql::{Enum, SimpleObject, ID};
use chrono::{DateTime, Utc};
pub use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::Principal,
    internal::{error_from, unreachable, LedgerHttp},
    money::{graphql::Money, Currency},
    ApiError,
};

/// What a service asks the ledger for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRequest {
    /// Reference prefixes, such as `payment:`: letters, digits and `-`, ending in `:`.
    pub prefixes: Vec<String>,
    /// Internal accounts whose balance these references must explain, by purpose
    /// (`clearing`, `suspense`, `loan-funding`).
    pub purposes: Vec<String>,
}

impl SnapshotRequest {
    /// Whether a prefix is one the ledger accepts (so it can be used in `LIKE` unescaped).
    pub fn valid_prefix(prefix: &str) -> bool {
        prefix.len() >= 2
            && prefix.len() <= 40
            && prefix.ends_with(':')
            && prefix[..prefix.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }
}

/// One ledger transaction under a reference.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    pub reference: String,
    pub transaction_id: Uuid,
    pub kind: String,
    pub amount_minor: i64,
    pub currency: String,
    /// The customer's side: the account debited, or credited.
    pub account_id: Option<Uuid>,
    /// Money given back to an account that had closed: held in the suspense account.
    pub in_suspense: bool,
    pub created_at: DateTime<Utc>,
}

/// An internal account's balance next to the part that the asked-for references explain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InternalBalance {
    pub purpose: String,
    pub currency: String,
    pub balance_minor: i64,
    pub explained_minor: i64,
}

/// The ledger's side, read in one snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerSnapshot {
    pub entries: Vec<LedgerEntry>,
    pub balances: Vec<InternalBalance>,
}

/// What a record says about one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Money moved: one transaction of this amount and currency, on this account.
    Posted {
        amount_minor: i64,
        currency: String,
        account_id: Uuid,
    },
    /// No money moved under the reference.
    Absent,
    /// The record is between two states; the ledger may be ahead of it.
    Either,
}

/// One reference, as a service's record expects the ledger to hold it.
#[derive(Debug, Clone)]
pub struct Expected {
    pub reference: String,
    pub expect: Expect,
}

/// A record that is not in a final state, and since when: one left there too long is stuck.
#[derive(Debug, Clone)]
pub struct Open {
    /// The record, e.g. `payment:<id>`.
    pub subject: String,
    pub state: String,
    pub since: DateTime<Utc>,
    /// How long this state may last, when it is not the service's usual `stuck_after` (a
    /// payment waiting for the other bank's settlement may take days).
    pub patience: Option<Duration>,
}

/// A service's side of the comparison.
#[derive(Debug, Clone, Default)]
pub struct Records {
    pub expected: Vec<Expected>,
    pub open: Vec<Open>,
    /// Disagreements inside the service's own records (a loan's repaid total against its
    /// repayments, a standing order's dates against its payments).
    pub internal: Vec<Mismatch>,
    /// How many records were read.
    pub checked: usize,
}

/// What kind of disagreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[graphql(name = "ReconciliationMismatchKind")]
pub enum MismatchKind {
    /// The record says money moved; the ledger has no transaction under its reference.
    MissingPosting,
    /// The record says no money moved; the ledger moved some.
    UnexpectedPosting,
    /// The ledger holds more than one transaction under one reference.
    DuplicatePosting,
    /// Amount or currency differ between the record and the ledger.
    AmountDiffers,
    /// The ledger moved the money on another account than the record names.
    AccountDiffers,
    /// The ledger holds a reference that no record of the service knows.
    UnknownReference,
    /// An internal account's balance is not what the service's transactions make it.
    UnexplainedBalance,
    /// A record has been between two states for longer than it should.
    Stuck,
    /// The service's own records disagree with each other.
    RecordsDisagree,
}

impl MismatchKind {
    pub const ALL: [MismatchKind; 9] = [
        MismatchKind::MissingPosting,
        MismatchKind::UnexpectedPosting,
        MismatchKind::DuplicatePosting,
        MismatchKind::AmountDiffers,
        MismatchKind::AccountDiffers,
        MismatchKind::UnknownReference,
        MismatchKind::UnexplainedBalance,
        MismatchKind::Stuck,
        MismatchKind::RecordsDisagree,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MismatchKind::MissingPosting => "MISSING_POSTING",
            MismatchKind::UnexpectedPosting => "UNEXPECTED_POSTING",
            MismatchKind::DuplicatePosting => "DUPLICATE_POSTING",
            MismatchKind::AmountDiffers => "AMOUNT_DIFFERS",
            MismatchKind::AccountDiffers => "ACCOUNT_DIFFERS",
            MismatchKind::UnknownReference => "UNKNOWN_REFERENCE",
            MismatchKind::UnexplainedBalance => "UNEXPLAINED_BALANCE",
            MismatchKind::Stuck => "STUCK",
            MismatchKind::RecordsDisagree => "RECORDS_DISAGREE",
        }
    }
}

/// One disagreement between a service's records and the ledger.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
#[graphql(shareable, name = "ReconciliationMismatch")]
pub struct Mismatch {
    pub kind: MismatchKind,
    /// The ledger reference, record or internal account it is about.
    pub reference: String,
    /// What each side says, in words.
    pub detail: String,
}

impl Mismatch {
    pub fn new(
        kind: MismatchKind,
        reference: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            reference: reference.into(),
            detail: detail.into(),
        }
    }
}

/// Money given back to a closed account, held in suspense until staff pay it out.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(shareable)]
pub struct SuspenseItem {
    pub reference: String,
    pub transaction_id: ID,
    /// The closed account the money was for.
    pub account_id: Option<ID>,
    pub amount: Money,
    pub held_since: DateTime<Utc>,
}

/// A service's reconciliation with the ledger.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(shareable, name = "ServiceReconciliation")]
pub struct Report {
    /// True when nothing disagrees.
    pub ok: bool,
    /// The service's records read.
    pub records_checked: i64,
    /// The ledger transactions under the service's references.
    pub ledger_transactions_checked: i64,
    pub mismatches: Vec<Mismatch>,
    /// Money for closed accounts waiting in suspense (not a mismatch: a task for staff).
    pub suspense: Vec<SuspenseItem>,
    pub checked_at: DateTime<Utc>,
}

/// Compares a service's records with the ledger's snapshot. `stuck_after`: how long a record
/// may stay open.
pub fn compare(
    records: &Records,
    ledger: &LedgerSnapshot,
    now: DateTime<Utc>,
    stuck_after: Duration,
) -> Vec<Mismatch> {
    let mut mismatches = records.internal.clone();
    let mut by_reference: HashMap<&str, Vec<&LedgerEntry>> = HashMap::new();
    for entry in &ledger.entries {
        by_reference
            .entry(&entry.reference)
            .or_default()
            .push(entry);
    }
    let mut known: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for expected in &records.expected {
        known.insert(&expected.reference);
        let entries = by_reference
            .get(expected.reference.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        if entries.len() > 1 {
            let ids: Vec<String> = entries
                .iter()
                .map(|e| e.transaction_id.to_string())
                .collect();
            mismatches.push(Mismatch::new(
                MismatchKind::DuplicatePosting,
                &expected.reference,
                format!("{} ledger transactions: {}", entries.len(), ids.join(", ")),
            ));
        }
        match (&expected.expect, entries.first()) {
            (Expect::Posted { .. }, None) => mismatches.push(Mismatch::new(
                MismatchKind::MissingPosting,
                &expected.reference,
                "the record says the money moved; the ledger has no transaction",
            )),
            (
                Expect::Posted {
                    amount_minor,
                    currency,
                    account_id,
                },
                Some(entry),
            ) => {
                if entry.amount_minor != *amount_minor || entry.currency != *currency {
                    mismatches.push(Mismatch::new(
                        MismatchKind::AmountDiffers,
                        &expected.reference,
                        format!(
                            "the record says {amount_minor} {currency} (minor units), the ledger {} {}",
                            entry.amount_minor, entry.currency
                        ),
                    ));
                }
                if entry.account_id != Some(*account_id) {
                    mismatches.push(Mismatch::new(
                        MismatchKind::AccountDiffers,
                        &expected.reference,
                        format!(
                            "the record names account {account_id}, the ledger {}",
                            entry
                                .account_id
                                .map_or_else(|| "none".to_string(), |id| id.to_string())
                        ),
                    ));
                }
            }
            (Expect::Absent, Some(entry)) => mismatches.push(Mismatch::new(
                MismatchKind::UnexpectedPosting,
                &expected.reference,
                format!(
                    "the record says no money moved; the ledger moved {} {} (minor units) in {}",
                    entry.amount_minor, entry.currency, entry.transaction_id
                ),
            )),
            _ => {}
        }
    }
    for entry in &ledger.entries {
        if !known.contains(entry.reference.as_str()) {
            mismatches.push(Mismatch::new(
                MismatchKind::UnknownReference,
                &entry.reference,
                format!(
                    "the ledger moved {} {} (minor units) in {}; no record of the service knows it",
                    entry.amount_minor, entry.currency, entry.transaction_id
                ),
            ));
            known.insert(&entry.reference);
        }
    }
    for balance in &ledger.balances {
        if balance.balance_minor != balance.explained_minor {
            mismatches.push(Mismatch::new(
                MismatchKind::UnexplainedBalance,
                format!("{}:{}", balance.purpose, balance.currency),
                format!(
                    "the balance is {} (minor units), the service's transactions make it {}",
                    balance.balance_minor, balance.explained_minor
                ),
            ));
        }
    }
    let limit = chrono::Duration::from_std(stuck_after).unwrap_or(chrono::Duration::MAX);
    for open in &records.open {
        let limit = open.patience.map_or(limit, |p| {
            chrono::Duration::from_std(p).unwrap_or(chrono::Duration::MAX)
        });
        if now - open.since > limit {
            mismatches.push(Mismatch::new(
                MismatchKind::Stuck,
                &open.subject,
                format!("{} since {}", open.state, open.since.to_rfc3339()),
            ));
        }
    }
    mismatches
}

/// Reads a service's side of a reconciliation, as often as asked.
pub type ReadRecords = Arc<dyn Fn() -> BoxFuture<'static, Result<Records, ApiError>> + Send + Sync>;

/// A service's reconciliation: where its records come from, and the ledger to compare with.
#[derive(Clone)]
pub struct Reconciler {
    pub read: ReadRecords,
    /// Names the records in logs and metrics (`payments`, `loans`).
    pub records: &'static str,
    pub ledger: LedgerHttp,
    /// The service token the ledger's internal endpoints accept.
    pub service_token: Option<String>,
    pub request: SnapshotRequest,
    pub stuck_after: Duration,
    /// The pause between the two looks.
    pub second_look_after: Duration,
}

impl Reconciler {
    /// A service's reconciliation with the ledger at `ledger_url`, which answers for the
    /// references under `prefixes` and the internal accounts of `purposes`; `read` reads the
    /// service's side.
    pub fn new<F, Fut>(
        records: &'static str,
        ledger_url: &str,
        service_token: Option<String>,
        (prefixes, purposes): (&[&str], &[&str]),
        settings: &Settings,
        read: F,
    ) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Records, ApiError>> + Send + 'static,
    {
        Self {
            read: Arc::new(move || Box::pin(read())),
            records,
            // A full comparison reads every record: give the ledger time.
            ledger: LedgerHttp::new(ledger_url, Duration::from_secs(60)),
            service_token,
            request: SnapshotRequest {
                prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
                purposes: purposes.iter().map(|p| p.to_string()).collect(),
            },
            stuck_after: settings.stuck_after,
            second_look_after: Duration::from_secs(1),
        }
    }

    /// Reads both sides and compares them; a mismatch is reported only if a second look a
    /// moment later finds it too (the books are read one after the other while money moves).
    pub async fn run(&self) -> Result<Report, ApiError> {
        let token = self.service_token.as_deref().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "reconciliation needs the ledger's service token, which is not configured"
            ))
        })?;
        let look = || async {
            let records = (self.read)().await?;
            let ledger = self.ledger.snapshot(token, &self.request).await?;
            let mismatches = compare(&records, &ledger, Utc::now(), self.stuck_after);
            Ok::<_, ApiError>((records, ledger, mismatches))
        };
        let (mut records, mut ledger, mut mismatches) = look().await?;
        if !mismatches.is_empty() {
            tokio::time::sleep(self.second_look_after).await;
            let first = mismatches;
            (records, ledger, mismatches) = look().await?;
            mismatches.retain(|m| {
                first
                    .iter()
                    .any(|f| f.kind == m.kind && f.reference == m.reference)
            });
        }
        let suspense = ledger
            .entries
            .iter()
            .filter(|entry| entry.in_suspense)
            .filter_map(|entry| {
                let currency = Currency::parse(&entry.currency).ok()?;
                Some(SuspenseItem {
                    reference: entry.reference.clone(),
                    transaction_id: ID(entry.transaction_id.to_string()),
                    account_id: entry.account_id.map(|id| ID(id.to_string())),
                    amount: Money::new(entry.amount_minor, currency),
                    held_since: entry.created_at,
                })
            })
            .collect();
        Ok(Report {
            ok: mismatches.is_empty(),
            records_checked: records.checked as i64,
            ledger_transactions_checked: ledger.entries.len() as i64,
            mismatches,
            suspense,
            checked_at: Utc::now(),
        })
    }

    /// A run asked for through the graph (staff only); its outcome is published as a
    /// scheduled run's is.
    pub async fn run_for(&self, principal: &Principal) -> async_graphql::Result<Report> {
        principal.require_staff()?;
        let outcome = self.run().await;
        self.publish(&outcome);
        Ok(outcome?)
    }

    /// Records a run's outcome: metrics, and an error log line per mismatch.
    pub fn publish(&self, outcome: &Result<Report, ApiError>) {
        let records = self.records;
        match outcome {
            Ok(report) => {
                for kind in MismatchKind::ALL {
                    let n = report.mismatches.iter().filter(|m| m.kind == kind).count();
                    MISMATCHES
                        .with_label_values(&[records, kind.as_str()])
                        .set(n as i64);
                }
                SUSPENSE_ITEMS
                    .with_label_values(&[records])
                    .set(report.suspense.len() as i64);
                for m in &report.mismatches {
                    tracing::error!(records, kind = m.kind.as_str(), reference = %m.reference, detail = %m.detail, "reconciliation: the ledger and the service's records disagree; staff must look");
                }
                let outcome = if report.ok { "clean" } else { "mismatches" };
                RUNS.with_label_values(&[records, outcome]).inc();
                if report.ok {
                    tracing::info!(
                        records,
                        checked = report.records_checked,
                        ledger_transactions = report.ledger_transactions_checked,
                        "reconciliation clean"
                    );
                }
            }
            Err(err) => {
                RUNS.with_label_values(&[records, "failed"]).inc();
                tracing::warn!(records, error = %err.message(), "reconciliation could not run; retrying at the next interval");
            }
        }
    }
}

/// Reconciles every `interval` for the life of the process (the first run after one
/// interval, so a starting service is not slowed down).
pub fn spawn_job(reconciler: Reconciler, interval: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let outcome = reconciler.run().await;
            reconciler.publish(&outcome);
        }
    });
}

/// How often a service reconciles, and how long a record may stay between two states
/// (`<SERVICE>_RECONCILIATION_INTERVAL_SECS`, 0 to run it only on demand;
/// `<SERVICE>_RECONCILIATION_STUCK_AFTER_SECS`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub interval: Duration,
    pub stuck_after: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(300),
            stuck_after: Duration::from_secs(3600),
        }
    }
}

impl Settings {
    pub fn from_env(env: &crate::config::Env) -> Result<Self, crate::config::ConfigError> {
        let d = Self::default();
        Ok(Self {
            interval: env.secs_or("RECONCILIATION_INTERVAL_SECS", d.interval.as_secs())?,
            stuck_after: env.secs_or("RECONCILIATION_STUCK_AFTER_SECS", d.stuck_after.as_secs())?,
        })
    }
}

static MISMATCHES: LazyLock<prometheus::IntGaugeVec> = LazyLock::new(|| {
    crate::metrics::service_metric(
        prometheus::IntGaugeVec::new(
            prometheus::opts!(
                "reconciliation_mismatches",
                "Disagreements between the service's records and the ledger found by the last reconciliation, by kind"
            ),
            &["records", "kind"],
        )
        .expect("valid metric"),
    )
});

static SUSPENSE_ITEMS: LazyLock<prometheus::IntGaugeVec> = LazyLock::new(|| {
    crate::metrics::service_metric(
        prometheus::IntGaugeVec::new(
            prometheus::opts!(
                "reconciliation_suspense_items",
                "Transactions of the service's records held in suspense for staff to pay out"
            ),
            &["records"],
        )
        .expect("valid metric"),
    )
});

static RUNS: LazyLock<prometheus::IntCounterVec> = LazyLock::new(|| {
    crate::metrics::service_metric(
        prometheus::IntCounterVec::new(
            prometheus::opts!(
                "reconciliation_runs_total",
                "Reconciliation runs by outcome (clean, mismatches, failed)"
            ),
            &["records", "outcome"],
        )
        .expect("valid metric"),
    )
});

impl LedgerHttp {
    /// The ledger's side of a reconciliation (`POST /internal/reconciliation`, service token).
    pub async fn snapshot(
        &self,
        service_token: &str,
        request: &SnapshotRequest,
    ) -> Result<LedgerSnapshot, ApiError> {
        let response = self
            .http
            .post(format!("{}/internal/reconciliation", self.base_url))
            .header("x-service-token", service_token)
            .json(request)
            .send()
            .await
            .map_err(|err| unreachable("ledger", err))?;
        if response.status().is_success() {
            return response.json().await.map_err(ApiError::internal);
        }
        Err(error_from(response, "prefixes", "reconciliation").await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reference: &str, amount: i64, account: Uuid) -> LedgerEntry {
        LedgerEntry {
            reference: reference.into(),
            transaction_id: Uuid::new_v4(),
            kind: "EXTERNAL_PAYMENT".into(),
            amount_minor: amount,
            currency: "EUR".into(),
            account_id: Some(account),
            in_suspense: false,
            created_at: Utc::now(),
        }
    }

    fn posted(reference: &str, amount: i64, account: Uuid) -> Expected {
        Expected {
            reference: reference.into(),
            expect: Expect::Posted {
                amount_minor: amount,
                currency: "EUR".into(),
                account_id: account,
            },
        }
    }

    fn kinds(mismatches: &[Mismatch]) -> Vec<(MismatchKind, &str)> {
        mismatches
            .iter()
            .map(|m| (m.kind, m.reference.as_str()))
            .collect()
    }

    #[test]
    fn agreeing_books_have_no_mismatch() {
        let account = Uuid::new_v4();
        let records = Records {
            expected: vec![
                posted("payment:1:debit", 500, account),
                Expected {
                    reference: "payment:1:reversal".into(),
                    expect: Expect::Absent,
                },
                Expected {
                    reference: "payment:2:debit".into(),
                    expect: Expect::Either,
                },
            ],
            ..Records::default()
        };
        let ledger = LedgerSnapshot {
            entries: vec![
                entry("payment:1:debit", 500, account),
                entry("payment:2:debit", 700, account),
            ],
            balances: vec![InternalBalance {
                purpose: "clearing".into(),
                currency: "EUR".into(),
                balance_minor: 1200,
                explained_minor: 1200,
            }],
        };
        assert!(compare(&records, &ledger, Utc::now(), Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn every_kind_of_disagreement_is_found() {
        let (account, other) = (Uuid::new_v4(), Uuid::new_v4());
        let records = Records {
            expected: vec![
                posted("payment:1:debit", 500, account),
                posted("payment:2:debit", 500, account),
                posted("payment:3:debit", 500, account),
                Expected {
                    reference: "payment:4:reversal".into(),
                    expect: Expect::Absent,
                },
                posted("payment:5:debit", 500, account),
            ],
            open: vec![Open {
                subject: "payment:6".into(),
                state: "QUEUED".into(),
                since: Utc::now() - chrono::Duration::hours(2),
                patience: None,
            }],
            internal: vec![Mismatch::new(
                MismatchKind::RecordsDisagree,
                "standing-order:7",
                "3 dates paid, 2 payments",
            )],
            checked: 7,
        };
        let ledger = LedgerSnapshot {
            entries: vec![
                entry("payment:2:debit", 400, account),
                entry("payment:3:debit", 500, other),
                entry("payment:4:reversal", 500, account),
                entry("payment:5:debit", 500, account),
                entry("payment:5:debit", 500, account),
                entry("payment:9:debit", 100, account),
            ],
            balances: vec![InternalBalance {
                purpose: "clearing".into(),
                currency: "EUR".into(),
                balance_minor: 2600,
                explained_minor: 2500,
            }],
        };
        let found = compare(&records, &ledger, Utc::now(), Duration::from_secs(3600));
        assert_eq!(
            kinds(&found),
            vec![
                (MismatchKind::RecordsDisagree, "standing-order:7"),
                (MismatchKind::MissingPosting, "payment:1:debit"),
                (MismatchKind::AmountDiffers, "payment:2:debit"),
                (MismatchKind::AccountDiffers, "payment:3:debit"),
                (MismatchKind::UnexpectedPosting, "payment:4:reversal"),
                (MismatchKind::DuplicatePosting, "payment:5:debit"),
                (MismatchKind::UnknownReference, "payment:9:debit"),
                (MismatchKind::UnexplainedBalance, "clearing:EUR"),
                (MismatchKind::Stuck, "payment:6"),
            ]
        );
    }

    #[test]
    fn an_open_record_is_stuck_only_after_the_limit() {
        let records = Records {
            open: vec![Open {
                subject: "payment:6".into(),
                state: "QUEUED".into(),
                since: Utc::now() - chrono::Duration::seconds(30),
                patience: None,
            }],
            ..Records::default()
        };
        let ledger = LedgerSnapshot::default();
        assert!(compare(&records, &ledger, Utc::now(), Duration::from_secs(60)).is_empty());
        assert_eq!(
            compare(&records, &ledger, Utc::now(), Duration::from_secs(10)).len(),
            1
        );
    }

    #[test]
    fn prefixes_are_plain() {
        assert!(SnapshotRequest::valid_prefix("payment:"));
        assert!(SnapshotRequest::valid_prefix("direct-debit:"));
        assert!(!SnapshotRequest::valid_prefix("payment"));
        assert!(!SnapshotRequest::valid_prefix("pay%:"));
        assert!(!SnapshotRequest::valid_prefix(":"));
    }
}
