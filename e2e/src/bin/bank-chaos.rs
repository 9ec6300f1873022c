//! The fault workload (`make chaos`, not part of `make test`): customers transfer, pay out to
//! other banks, are collected from by a creditor and repay loans at random for a bounded time,
//! while every part of the bank is killed (SIGKILL; PostgreSQL by an immediate shutdown) and
//! started again in turn, and the stand-in gateway misbehaves (flaky, slow, accepting then
//! failing, rejecting, losing, repeating and reordering its callbacks).
//!
//! Clients behave as the bank's API asks: a request without a clear answer is sent again with
//! the same idempotency key. Afterwards it checks, through the API and the databases:
//! every balance equals its postings, each currency sums to zero, no balance is negative (the
//! ledger's check); payments and loans reconcile with the ledger; every posting on a
//! customer's account reached the notifications service exactly once. For each fault it
//! measures how long after the restarted process was ready money moved again (a transfer
//! started after that moment and confirmed), and fails if any took longer than
//! `--max-recovery-secs`. The report is Markdown (docs/reliability.md keeps the latest).
//!
//! The target comes from BANK_URL, BANK_CA, BANK_ADMIN_EMAIL, BANK_ADMIN_PASSWORD,
//! BANK_GATEWAY_URL and BANK_DATABASE_URL, as for the end-to-end tests; processes are killed
//! and started with scripts/stack.sh.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    process::ExitCode,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};
use uuid::Uuid;

use bank_e2e::{reconciliation_is_clean, Bank, Customer};

const TARGETS: &str =
    "transactions,accounts,payments,loans,notifications,users,transactions-2,router,nginx,kafka,postgres";

/// Money moved under faults, and what it left behind.
#[derive(Debug, clap::Parser)]
#[command(name = "bank-chaos", version, long_about = None)]
struct Args {
    /// How long customers move money, in seconds (no fault starts in the last 20 s; the load
    /// goes on at least `--gap` seconds after the last restart).
    #[arg(long, default_value_t = 240)]
    seconds: u64,
    /// Customers, each with an account, a mandate and a loan.
    #[arg(long, default_value_t = 6)]
    customers: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 6)]
    clients: usize,
    /// What is killed and started again, in this order (scripts/stack.sh kill|start NAME).
    #[arg(long, value_delimiter = ',', default_value = TARGETS)]
    targets: Vec<String>,
    /// Seconds between one fault's restart and the next fault.
    #[arg(long, default_value_t = 8)]
    gap: u64,
    /// How long a killed process stays down, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    down_ms: u64,
    /// The longest allowed time from a restarted process being ready to money moving again.
    #[arg(long, default_value_t = 5.0)]
    max_recovery_secs: f64,
    /// Seed of the random choices (the same seed, the same sequence of operations per client).
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// What became of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Done (money moved, or a collection was answered).
    Done,
    /// Refused by a rule (funds, limits): a definite answer.
    Refused,
    /// No definite answer after every retry: the client gave up (the bank may still have
    /// acted; reconciliation says whether the books agree).
    GaveUp,
}

#[derive(Default)]
struct Tally {
    outcomes: BTreeMap<(&'static str, Outcome), u64>,
    retries: u64,
    /// (started, confirmed) of every confirmed transfer.
    transfers: Vec<(Instant, Instant)>,
}

struct Fault {
    target: String,
    killed: Instant,
    ready: Instant,
    /// How long the start took (the process's own start, until it answered ready).
    start: Duration,
}

struct Setup {
    customer: Customer,
    account: String,
    mandate_reference: String,
    loan: String,
}

const CREDITOR_ID: &str = "DE98ZZZ09999999999";

/// Codes a client retries with the same idempotency key: the outcome is not known, or the bank
/// is briefly unable to answer.
fn retryable(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "INTERNAL"
                | "UNAVAILABLE"
                | "SUBGRAPH_REQUEST_FAILURE"
                | "SUBGRAPH_CIRCUIT_BREAKER_REJECTED"
                | "SUBGRAPH_REQUEST_TIMEOUT"
                | "SUBGRAPH_RESPONSE_ERROR"
                | "RATE_LIMITED"
                | "TIMEOUT"
        )
    )
}

/// Sends a mutation until it gets a definite answer (at most ~40 s), with the same variables.
async fn definite(
    bank: &Bank,
    token: &str,
    query: &str,
    vars: &Value,
    tally: &Mutex<Tally>,
) -> Result<Value, Option<String>> {
    let mut pause = Duration::from_millis(200);
    let until = Instant::now() + Duration::from_secs(40);
    loop {
        let answer = bank.try_query(Some(token), query, vars.clone()).await;
        match answer {
            Ok(reply) if reply.status.is_success() || reply.status.as_u16() == 400 => {
                let code = reply.code().map(str::to_string);
                match code {
                    None if reply.body["data"].is_object() => return Ok(reply.body["data"].clone()),
                    Some(code) if !retryable(Some(&code)) => return Err(Some(code)),
                    _ => {}
                }
            }
            _ => {}
        }
        if Instant::now() >= until {
            return Err(None);
        }
        tally.lock().unwrap().retries += 1;
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

fn outcome(result: &Result<Value, Option<String>>) -> Outcome {
    match result {
        Ok(_) => Outcome::Done,
        Err(Some(_)) => Outcome::Refused,
        Err(None) => Outcome::GaveUp,
    }
}

async fn set_up(bank: &Bank, admin: &str, n: usize) -> anyhow::Result<Setup> {
    let customer = bank.new_customer(&format!("chaos{n}")).await;
    let account = bank.open_account(&customer, "EUR").await["id"]
        .as_str()
        .context("an account id")?
        .to_string();
    let t = &customer.token;
    let run = |query: &'static str, vars: Value, token: String| async move {
        let reply = bank.query(Some(&token), query, vars).await;
        if let Some(code) = reply.code() {
            bail!("{query}: {code} {}", reply.body);
        }
        Ok(reply.body["data"].clone())
    };
    run(
        "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
        json!({ "i": { "accountId": account, "amount": "2000", "idempotencyKey": Uuid::new_v4() } }),
        t.clone(),
    )
    .await?;
    let mandate_reference = format!("CHAOS-{}", &Uuid::new_v4().simple().to_string()[..12]);
    run(
        "mutation($i: CreateMandateInput!) { createMandate(input: $i) { id } }",
        json!({ "i": { "accountId": account, "creditorId": CREDITOR_ID, "creditorName": "Chaos Utilities",
                       "reference": mandate_reference, "maxAmount": "50" } }),
        t.clone(),
    )
    .await?;
    let applied = run(
        "mutation($i: ApplyForLoanInput!) { applyForLoan(input: $i) { id } }",
        json!({ "i": { "accountId": account, "productCode": "MICRO_EUR", "amount": "1000",
                       "termMonths": 12, "idempotencyKey": Uuid::new_v4() } }),
        t.clone(),
    )
    .await?;
    let loan = applied["applyForLoan"]["id"]
        .as_str()
        .context("a loan id")?
        .to_string();
    // Four eyes: the administrator and a teller, each step.
    let teller = bank.new_teller().await;
    for step in ["approveLoan", "disburseLoan"] {
        let query: &'static str = if step == "approveLoan" {
            "mutation($id: ID!) { approveLoan(id: $id) { status } }"
        } else {
            "mutation($id: ID!) { disburseLoan(id: $id) { status } }"
        };
        for token in [admin.to_string(), teller.clone()] {
            run(query, json!({ "id": loan }), token).await?;
        }
    }
    Ok(Setup {
        customer,
        account,
        mandate_reference,
        loan,
    })
}

const REMITTANCES: [&str; 9] = [
    "Invoice",
    "Invoice",
    "REJECT",
    "FLAKY",
    "SLOW",
    "ACCEPT500",
    "TWICE",
    "REORDER",
    "NOCALLBACK",
];

#[allow(clippy::too_many_arguments)]
async fn client(
    id: usize,
    bank: Arc<Bank>,
    gateway: String,
    setups: Arc<Vec<Setup>>,
    tally: Arc<Mutex<Tally>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed + id as u64);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let me = &setups[rng.gen_range(0..setups.len())];
        let token = &me.customer.token;
        let pick = rng.gen_range(0..100);
        let cents = rng.gen_range(100..2_000);
        let amount = format!("{}.{:02}", cents / 100, cents % 100);
        let (name, result) = if pick < 45 {
            let other = &setups[rng.gen_range(0..setups.len())];
            let started = Instant::now();
            let result = definite(
                &bank,
                token,
                "mutation($i: TransferInput!) { transfer(input: $i) { id } }",
                &json!({ "i": { "fromAccountId": me.account, "toAccountId": other.account,
                               "amount": amount, "idempotencyKey": Uuid::new_v4() } }),
                &tally,
            )
            .await;
            if result.is_ok() {
                tally
                    .lock()
                    .unwrap()
                    .transfers
                    .push((started, Instant::now()));
            }
            ("transfer", result)
        } else if pick < 60 {
            let remittance = REMITTANCES[rng.gen_range(0..REMITTANCES.len())];
            let result = definite(
                &bank,
                token,
                "mutation($i: SendPaymentInput!) { sendPayment(input: $i) { id status } }",
                &json!({ "i": { "fromAccountId": me.account, "creditorName": "Chaos Creditor",
                               "creditorIban": "GB82 WEST 1234 5698 7654 32", "amount": amount,
                               "remittance": remittance, "idempotencyKey": Uuid::new_v4() } }),
                &tally,
            )
            .await;
            // A payment the ledger refused is recorded FAILED: a definite answer.
            let result = match result {
                Ok(data) if data["sendPayment"]["status"] == "FAILED" => Err(Some("FAILED".into())),
                other => other,
            };
            ("payment", result)
        } else if pick < 72 {
            (
                "collection",
                collect(&http, &gateway, me, &amount, &tally).await,
            )
        } else if pick < 84 {
            let result = definite(
                &bank,
                token,
                "mutation($i: RepayLoanInput!) { repayLoan(input: $i) { status } }",
                &json!({ "i": { "loanId": me.loan, "amount": "1.00", "idempotencyKey": Uuid::new_v4() } }),
                &tally,
            )
            .await;
            ("repayment", result)
        } else {
            let result = definite(
                &bank,
                token,
                "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
                &json!({ "i": { "accountId": me.account, "amount": "40", "idempotencyKey": Uuid::new_v4() } }),
                &tally,
            )
            .await;
            ("deposit", result)
        };
        *tally
            .lock()
            .unwrap()
            .outcomes
            .entry((name, outcome(&result)))
            .or_default() += 1;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(20..120))).await;
    }
}

/// A creditor's collection through the stand-in gateway, sent again under the same collection
/// id until the bank answers.
async fn collect(
    http: &reqwest::Client,
    gateway: &str,
    me: &Setup,
    amount: &str,
    tally: &Mutex<Tally>,
) -> Result<Value, Option<String>> {
    let body = json!({ "creditorId": CREDITOR_ID, "mandateReference": me.mandate_reference,
                       "amount": amount, "currency": "EUR", "remittance": "Chaos bill",
                       "collectionId": format!("chaos-{}", Uuid::new_v4()) });
    let until = Instant::now() + Duration::from_secs(40);
    loop {
        if let Ok(response) = http
            .post(format!("{gateway}/collections"))
            .json(&body)
            .send()
            .await
        {
            if let Ok(answer) = response.json::<Value>().await {
                match answer["status"].as_str() {
                    Some("COLLECTED") => return Ok(answer),
                    Some("REFUSED") => {
                        return Err(Some(answer["code"].as_str().unwrap_or("REFUSED").into()))
                    }
                    _ => {}
                }
            }
        }
        if Instant::now() >= until {
            return Err(None);
        }
        tally.lock().unwrap().retries += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn stack(step: &str, target: &str) -> anyhow::Result<()> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/stack.sh");
    let output = tokio::process::Command::new("bash")
        .args([script, step, target])
        .output()
        .await
        .context("running scripts/stack.sh")?;
    if !output.status.success() {
        bail!(
            "stack.sh {step} {target} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

async fn faults(args: &Args, until: Instant) -> anyhow::Result<Vec<Fault>> {
    let mut done = Vec::new();
    tokio::time::sleep(Duration::from_secs(args.gap)).await;
    for target in args.targets.iter().cycle() {
        // Leave time for the last restart and for money to move again.
        if Instant::now() + Duration::from_secs(20) > until {
            break;
        }
        eprintln!("bank-chaos: killing {target}");
        stack("kill", target).await?;
        let killed = Instant::now();
        tokio::time::sleep(Duration::from_millis(args.down_ms)).await;
        let starting = Instant::now();
        stack("start", target).await?;
        let ready = Instant::now();
        eprintln!(
            "bank-chaos: {target} ready again after {:.1} s",
            (ready - killed).as_secs_f64()
        );
        done.push(Fault {
            target: target.clone(),
            killed,
            ready,
            start: ready - starting,
        });
        tokio::time::sleep(Duration::from_secs(args.gap)).await;
    }
    Ok(done)
}

/// `psql` on the bank's database as its administrator; one value per line.
fn psql(sql: &str) -> anyhow::Result<Vec<String>> {
    bank_e2e::psql(&bank_e2e::database_url(), sql)
}

/// Every posting on the customers' accounts, and every posting notification they got: equal
/// sets, and no notification twice. Answers (postings, notifications, missing, duplicated).
fn notifications_once(owners: &[String]) -> anyhow::Result<(usize, usize, usize, usize)> {
    let list = owners
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let postings: HashSet<String> = psql(&format!(
        "SELECT p.transaction_id || ':' || p.account_id FROM transactions.postings p \
         JOIN transactions.ledger_accounts a ON a.account_id = p.account_id \
         WHERE a.owner_id IN ({list})"
    ))?
    .into_iter()
    .collect();
    let notified = psql(&format!(
        "SELECT (data->>'transactionId') || ':' || (data->>'accountId') FROM notifications.notifications \
         WHERE kind = 'TRANSACTION' AND user_id IN ({list})"
    ))?;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for n in &notified {
        *seen.entry(n).or_default() += 1;
    }
    let duplicated = seen.values().filter(|n| **n > 1).count();
    let missing = postings
        .iter()
        .filter(|p| !seen.contains_key(p.as_str()))
        .count();
    Ok((postings.len(), notified.len(), missing, duplicated))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    if std::env::var("BANK_ADMIN_PASSWORD").is_err() {
        eprintln!(
            "bank-chaos: BANK_ADMIN_PASSWORD is not set (the administrator's password; \
             make chaos reads it from .data/secrets.env)"
        );
        return ExitCode::from(2);
    }
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("bank-chaos: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let bank = Arc::new(Bank::from_env()?);
    let gateway =
        std::env::var("BANK_GATEWAY_URL").unwrap_or_else(|_| "http://127.0.0.1:4091".into());
    let admin = bank.admin_token().await;
    let mut setups = Vec::new();
    for n in 0..args.customers {
        setups.push(set_up(&bank, &admin, n).await?);
    }
    let setups = Arc::new(setups);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    eprintln!(
        "bank-chaos: {} customers, {} clients, {} s; faults: {}",
        args.customers,
        args.clients,
        args.seconds,
        args.targets.join(", ")
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..args.clients)
        .map(|id| {
            tokio::spawn(client(
                id,
                bank.clone(),
                gateway.clone(),
                setups.clone(),
                tally.clone(),
                stop.clone(),
                args.seed,
            ))
        })
        .collect();
    let faults = faults(&args, until).await?;
    // The load goes on after the last restart, so its recovery is measured too.
    let tail = until.max(Instant::now() + Duration::from_secs(args.gap));
    tokio::time::sleep_until(tail.into()).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in clients {
        c.await?;
    }
    let elapsed = started.elapsed();

    // Let consumers, the relay and the payments worker catch up, then check.
    let owners: Vec<String> = setups.iter().map(|s| s.customer.id.clone()).collect();
    let mut once = notifications_once(&owners)?;
    for _ in 0..60 {
        if once.2 == 0 && once.3 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        once = notifications_once(&owners)?;
    }
    let admin = bank.admin_token().await;
    let reconciliation = bank.reconciliation(&admin).await;
    let clean = reconciliation_is_clean(&reconciliation.body);
    let report = &reconciliation.body["data"]["reconciliation"];
    let totals_zero = report["ledger"]["ok"] == true;

    let tally = tally.lock().unwrap();
    let mut recoveries = Vec::new();
    for fault in &faults {
        let moved = tally
            .transfers
            .iter()
            .filter(|(start, _)| *start >= fault.ready)
            .map(|(_, done)| *done - fault.ready)
            .min();
        let last_before = tally
            .transfers
            .iter()
            .filter(|(_, done)| *done <= fault.killed)
            .map(|(_, done)| *done)
            .max();
        let first_after = tally
            .transfers
            .iter()
            .filter(|(_, done)| *done > fault.killed)
            .map(|(_, done)| *done)
            .min();
        let gap = match (last_before, first_after) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        recoveries.push((fault, moved, gap));
    }
    let slow: Vec<&str> = recoveries
        .iter()
        .filter(|(_, moved, _)| moved.is_none_or(|m| m.as_secs_f64() > args.max_recovery_secs))
        .map(|(fault, _, _)| fault.target.as_str())
        .collect();

    println!("### A run of `make chaos`\n");
    println!(
        "{} customers, {} concurrent clients, {:.0} s of load, {} faults, seed {}.\n",
        args.customers,
        args.clients,
        elapsed.as_secs_f64(),
        faults.len(),
        args.seed
    );
    println!("| operation | done | refused by a rule | no definite answer |");
    println!("|---|---:|---:|---:|");
    for op in ["transfer", "payment", "collection", "repayment", "deposit"] {
        let get = |o| tally.outcomes.get(&(op, o)).copied().unwrap_or(0);
        println!(
            "| {op} | {} | {} | {} |",
            get(Outcome::Done),
            get(Outcome::Refused),
            get(Outcome::GaveUp)
        );
    }
    println!(
        "\n{} requests were sent again under the same key (no clear answer the first time).\n",
        tally.retries
    );
    println!("| fault (SIGKILL, then start) | start until ready | ready → money moved | longest pause in confirmed transfers |");
    println!("|---|---:|---:|---:|");
    for (fault, moved, gap) in &recoveries {
        println!(
            "| {} | {:.1} s | {} | {} |",
            fault.target,
            fault.start.as_secs_f64(),
            moved.map_or("never".to_string(), |m| format!("{:.2} s", m.as_secs_f64())),
            gap.map_or("-".to_string(), |g| format!("{:.1} s", g.as_secs_f64()))
        );
    }
    println!("\n| check | result |");
    println!("|---|---|");
    println!(
        "| ledger: balances equal postings, each currency sums to zero, no balance below its limit | {} |",
        if totals_zero { "holds" } else { "FAILS" }
    );
    for part in ["payments", "loans"] {
        println!(
            "| reconciliation: {part} against the ledger ({} records, {} ledger transactions) | {} |",
            report[part]["recordsChecked"],
            report[part]["ledgerTransactionsChecked"],
            if report[part]["ok"] == true { "clean".to_string() } else { format!("MISMATCHES: {}", report[part]["mismatches"]) }
        );
    }
    println!(
        "| every posting on the customers' accounts notified exactly once ({} postings, {} notifications) | {} |",
        once.0,
        once.1,
        if once.2 == 0 && once.3 == 0 { "holds".to_string() } else { format!("FAILS: {} missing, {} twice", once.2, once.3) }
    );
    println!(
        "| money moved again within {:.0} s of every restarted process being ready | {} |",
        args.max_recovery_secs,
        if slow.is_empty() {
            "holds".to_string()
        } else {
            format!("FAILS: {}", slow.join(", "))
        }
    );
    Ok(clean && totals_zero && once.2 == 0 && once.3 == 0 && slow.is_empty())
}
