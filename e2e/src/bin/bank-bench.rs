//! Transfers per second and latency through the whole stack (NGINX → router → subgraphs →
//! PostgreSQL), with N concurrent clients. `bench/run.sh` (`make bench`) starts a release
//! stack, runs this next to pgbench's TPC-B on the same PostgreSQL and prints the ratio.
//!
//! Usage (`bank-bench --help` lists every option):
//!   bank-bench [transfers] [--clients 32] [--seconds 30] [--customers 20] [--accounts-per-customer 5]
//!   bank-bench alerts [--rate 100] [--seconds 30]      commit-to-alert latency over WSS
//!   bank-bench idle [--subscribers 10000] [--ws ws://127.0.0.1:4004/graphql]
//!                                                       idle subscriptions one instance holds
//! The target comes from BANK_URL and BANK_CA, as for the end-to-end tests.

use std::time::{Duration, Instant};

use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

use bank_e2e::{Bank, Customer};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// Transfers per second and their latency with concurrent clients.
    Transfers,
    /// Commit-to-alert latency over WSS at a steady rate of transfers.
    Alerts,
    /// How many idle alert subscriptions one notifications instance holds.
    Idle,
}

/// Transfers per second and latency through the whole stack (NGINX, the router, the
/// subgraphs, PostgreSQL). The target comes from BANK_URL and BANK_CA, as for the end-to-end
/// tests; `make bench` runs it next to pgbench.
#[derive(Debug, clap::Parser)]
#[command(name = "bank-bench")]
struct Options {
    /// What to measure.
    #[arg(value_enum, default_value = "transfers")]
    mode: Mode,
    /// Transfers per second (alerts).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    rate: u64,
    /// Idle subscriptions to open (idle).
    #[arg(long, default_value_t = 10_000)]
    subscribers: usize,
    /// The notifications instance's WebSocket (idle).
    #[arg(long, default_value = "ws://127.0.0.1:4004/graphql")]
    ws: String,
    /// Concurrent clients (transfers).
    #[arg(long, default_value_t = 32, value_parser = at_least_one())]
    clients: usize,
    /// How long to run, or to hold the subscriptions.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Customers to set up (transfers).
    #[arg(long, default_value_t = 20, value_parser = at_least_one())]
    customers: usize,
    /// Funded accounts per customer (transfers).
    #[arg(long, default_value_t = 5, value_parser = at_least_one())]
    accounts_per_customer: usize,
    /// Transfers for this many seconds before the measured run, not counted: the broker's JIT,
    /// the router's plan cache and the database's caches are warm when measuring starts
    /// (transfers).
    #[arg(long, default_value_t = 0)]
    warmup: u64,
    /// Once set up and warmed up, create `<path>.ready` and start measuring only when `path`
    /// exists: `bench/run.sh` reads every process's CPU time in between (transfers).
    #[arg(long)]
    start_file: Option<std::path::PathBuf>,
}

fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
}

fn options() -> Options {
    let options = <Options as clap::Parser>::parse();
    if options.customers * options.accounts_per_customer < 2 {
        <Options as clap::CommandFactory>::command()
            .error(
                clap::error::ErrorKind::ValueValidation,
                "a transfer needs two accounts: raise --customers or --accounts-per-customer",
            )
            .exit();
    }
    options
}

const TRANSFER: &str = "mutation($i: TransferInput!) { transfer(input: $i) { id } }";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options();
    let bank = Bank::from_env()?;
    match options.mode {
        Mode::Transfers => transfers(&bank, &options).await,
        Mode::Alerts => alerts(&bank, &options).await,
        Mode::Idle => idle(&bank, &options).await,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// Deposits into a just-opened account, waiting (up to 30 s) for the ledger to learn of it
/// from the accounts service's events; the same idempotency key makes the retries safe.
async fn fund(bank: &Bank, token: &str, account: &str, amount: &str) -> anyhow::Result<()> {
    let key = Uuid::new_v4();
    for _ in 0..30 {
        let reply = bank
            .query(
                Some(token),
                "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
                json!({ "i": { "accountId": account, "amount": amount, "idempotencyKey": key } }),
            )
            .await;
        match reply.code() {
            None => return Ok(()),
            Some("NOT_FOUND") => tokio::time::sleep(Duration::from_secs(1)).await,
            Some(code) => anyhow::bail!("deposit failed with {code}: {}", reply.body),
        }
    }
    anyhow::bail!("account {account} never reached the ledger")
}

const ALERTS: &str = "subscription { transactionAlerts { postedAt transaction { id } } }";

/// One sender transfers at a steady rate to a receiver subscribed over WSS through NGINX; the
/// latency of each alert is its arrival time minus the transaction's commit timestamp.
async fn alerts(bank: &Bank, options: &Options) -> anyhow::Result<()> {
    let sender = bank.new_customer("bench-sender").await;
    let receiver = bank.new_customer("bench-receiver").await;
    let from = bank.open_account(&sender, "EUR").await;
    let to = bank.open_account(&receiver, "EUR").await;
    fund(bank, &sender.token, from["id"].as_str().unwrap(), "1000000").await?;
    let mut subscription = bank.subscribe(&receiver.token, ALERTS).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let total = options.rate * options.seconds;
    eprintln!(
        "{} transfers at {}/s, measuring alert latency...",
        total, options.rate
    );
    let sending = {
        let bank = bank.clone();
        let token = sender.token.clone();
        let (from, to) = (from["id"].clone(), to["id"].clone());
        let interval = Duration::from_secs_f64(1.0 / options.rate as f64);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            let mut inflight = Vec::new();
            for _ in 0..total {
                ticker.tick().await;
                let (bank, token, from, to) =
                    (bank.clone(), token.clone(), from.clone(), to.clone());
                inflight.push(tokio::spawn(async move {
                    bank.query(
                        Some(&token),
                        TRANSFER,
                        json!({ "i": { "fromAccountId": from, "toAccountId": to, "amount": "0.01", "idempotencyKey": Uuid::new_v4() } }),
                    )
                    .await
                    .code()
                    .is_none()
                }));
            }
            let mut ok = 0u64;
            for task in inflight {
                ok += u64::from(task.await.unwrap_or(false));
            }
            ok
        })
    };
    let mut latencies = Vec::new();
    // Results with errors instead of an alert (counted, the first one shown).
    let mut failed = 0u64;
    let mut first_error = None;
    while (latencies.len() as u64) + failed < total {
        let Some(alert) = subscription.next(Duration::from_secs(10)).await else {
            break;
        };
        let received = chrono::Utc::now();
        if alert.get("errors").is_some_and(|e| !e.is_null()) {
            failed += 1;
            first_error.get_or_insert_with(|| alert["errors"].to_string());
        }
        if let Some(posted) = alert["data"]["transactionAlerts"]["postedAt"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        {
            let latency = (received - posted.with_timezone(&chrono::Utc))
                .to_std()
                .unwrap_or_default();
            latencies.push(latency);
        }
    }
    let sent = sending.await?;
    latencies.sort();
    if let Some(error) = &first_error {
        eprintln!("{failed} results carried errors; the first: {error}");
    }
    eprintln!(
        "{sent} transfers, {} alerts: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    println!(
        "{}",
        json!({ "mode": "alerts", "rate": options.rate, "transfers": sent, "alerts": latencies.len(),
                "errors": failed,
                "p50_ms": percentile(&latencies, 0.50), "p99_ms": percentile(&latencies, 0.99),
                "max_ms": percentile(&latencies, 1.0) })
    );
    Ok(())
}

/// Opens `subscribers` idle `transactionAlerts` subscriptions straight to one notifications
/// instance (plain WebSocket on loopback) and holds them; the caller measures the instance's
/// memory meanwhile (bench/run.sh reads its RSS).
async fn idle(bank: &Bank, options: &Options) -> anyhow::Result<()> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
    let customer = bank.new_customer("bench-idle").await;
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(options.subscribers);
    for n in 0..options.subscribers {
        let mut request = options.ws.as_str().into_client_request()?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
        let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", customer.token) } });
        socket.send(Message::text(init.to_string())).await?;
        socket.next().await;
        let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": ALERTS } });
        socket.send(Message::text(subscribe.to_string())).await?;
        sockets.push(socket);
        if (n + 1) % 1000 == 0 {
            eprint!("\r  {} subscribed", n + 1);
        }
    }
    eprintln!();
    println!(
        "{}",
        json!({ "mode": "idle", "subscribers": sockets.len(), "seconds_to_open": started.elapsed().as_secs_f64() })
    );
    // Held until the caller has measured.
    tokio::time::sleep(Duration::from_secs(options.seconds)).await;
    Ok(())
}

async fn transfers(bank: &Bank, options: &Options) -> anyhow::Result<()> {
    eprintln!(
        "setting up {} customers with {} accounts each...",
        options.customers, options.accounts_per_customer
    );
    let mut customers: Vec<Customer> = Vec::new();
    let mut accounts: Vec<(usize, String)> = Vec::new();
    for c in 0..options.customers {
        let customer = bank.new_customer("bench").await;
        for _ in 0..options.accounts_per_customer {
            let account = bank.open_account(&customer, "EUR").await;
            let id = account["id"].as_str().unwrap().to_string();
            fund(bank, &customer.token, &id, "1000000.00").await?;
            accounts.push((c, id));
        }
        customers.push(customer);
        eprint!("\r  {}/{} customers ready", c + 1, options.customers);
    }
    eprintln!();

    let tokens: Vec<String> = customers.iter().map(|c| c.token.clone()).collect();
    if options.warmup > 0 {
        eprintln!("warming up for {} s...", options.warmup);
        send_transfers(bank, &accounts, &tokens, options.clients, options.warmup).await?;
    }
    if let Some(start) = &options.start_file {
        let mut ready = start.clone().into_os_string();
        ready.push(".ready");
        std::fs::write(&ready, b"")?;
        while !start.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    eprintln!(
        "{} clients transferring for {} s...",
        options.clients, options.seconds
    );
    let started = Instant::now();
    let cpu_before = own_cpu_seconds();
    let (mut latencies, errors) =
        send_transfers(bank, &accounts, &tokens, options.clients, options.seconds).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = own_cpu_seconds() - cpu_before;
    latencies.sort();
    let percentile = |p: f64| percentile(&latencies, p);
    let tps = latencies.len() as f64 / elapsed;
    eprintln!(
        "{} transfers in {elapsed:.1} s: {tps:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {errors} errors",
        latencies.len(),
        percentile(0.50),
        percentile(0.99)
    );
    println!(
        "{}",
        json!({
            "transfers": latencies.len(),
            "errors": errors,
            "seconds": elapsed,
            "tps": tps,
            "p50_ms": percentile(0.50),
            "p99_ms": percentile(0.99),
            "clients": options.clients,
            "cpu_seconds": cpu,
        })
    );
    Ok(())
}

/// This process's CPU time so far (user and system), from `/proc/self/stat`; 0 where there is
/// none.
fn own_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    ticks as f64 / 100.0
}

/// `clients` concurrent clients sending transfers between random accounts for `seconds`: the
/// latency of each that succeeded, and how many failed.
async fn send_transfers(
    bank: &Bank,
    accounts: &[(usize, String)],
    tokens: &[String],
    clients: usize,
    seconds: u64,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let bank = bank.clone();
            let accounts = accounts.to_vec();
            let tokens = tokens.to_vec();
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(client as u64);
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let from = rng.gen_range(0..accounts.len());
                    let to = (from + rng.gen_range(1..accounts.len())) % accounts.len();
                    let (owner, from_id) = &accounts[from];
                    let sent = Instant::now();
                    let reply = bank
                        .query(
                            Some(&tokens[*owner]),
                            TRANSFER,
                            json!({ "i": { "fromAccountId": from_id, "toAccountId": accounts[to].1,
                                    "amount": "0.01", "idempotencyKey": Uuid::new_v4() } }),
                        )
                        .await;
                    if reply.status.is_success() && reply.code().is_none() {
                        latencies.push(sent.elapsed());
                    } else {
                        errors += 1;
                        if errors <= 3 {
                            eprintln!("error: {} {}", reply.status, reply.body);
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (mut l, e) = task.await?;
        latencies.append(&mut l);
        errors += e;
    }
    Ok((latencies, errors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn the_bench_scripts_command_lines_parse() {
        let alerts =
            Options::try_parse_from(["bank-bench", "alerts", "--rate", "100", "--seconds", "30"])
                .unwrap();
        assert_eq!(
            (alerts.mode, alerts.rate, alerts.seconds),
            (Mode::Alerts, 100, 30)
        );
        let idle = Options::try_parse_from([
            "bank-bench",
            "idle",
            "--subscribers",
            "5",
            "--seconds",
            "2",
            "--ws",
            "ws://127.0.0.1:1/graphql",
        ])
        .unwrap();
        assert_eq!((idle.mode, idle.subscribers), (Mode::Idle, 5));
        let transfers =
            Options::try_parse_from(["bank-bench", "--clients", "2", "--seconds", "2"]).unwrap();
        assert_eq!((transfers.mode, transfers.clients), (Mode::Transfers, 2));
    }

    #[test]
    fn help_answers_and_bad_input_is_an_error_not_a_panic() {
        let help = Options::try_parse_from(["bank-bench", "--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        assert!(help.to_string().contains("--clients"));
        assert!(Options::try_parse_from(["bank-bench", "--clients", "0"]).is_err());
        assert!(Options::try_parse_from(["bank-bench", "sideways"]).is_err());
        assert!(Options::try_parse_from(["bank-bench", "--rate"]).is_err());
    }
}
