//! Transfers per second and latency through the whole stack (NGINX → router → subgraphs →
//! PostgreSQL), with N concurrent clients. `bench/run.sh` (`make bench`) starts a release
//! stack, runs this next to pgbench's TPC-B on the same PostgreSQL and prints the ratio.
//!
//! Usage: bank-bench [--clients 32] [--seconds 30] [--customers 20] [--accounts-per-customer 5]
//! The target comes from BANK_URL and BANK_CA, as for the end-to-end tests.

use std::time::{Duration, Instant};

use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

use bank_e2e::{Bank, Customer};

struct Options {
    clients: usize,
    seconds: u64,
    customers: usize,
    accounts_per_customer: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        clients: 32,
        seconds: 30,
        customers: 20,
        accounts_per_customer: 5,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair
            .get(1)
            .ok_or_else(|| anyhow::anyhow!("{} needs a value", pair[0]))?;
        match pair[0].as_str() {
            "--clients" => options.clients = value.parse()?,
            "--seconds" => options.seconds = value.parse()?,
            "--customers" => options.customers = value.parse()?,
            "--accounts-per-customer" => options.accounts_per_customer = value.parse()?,
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    anyhow::ensure!(
        options.clients > 0 && options.customers > 0 && options.accounts_per_customer > 0,
        "counts must be positive"
    );
    anyhow::ensure!(
        options.customers * options.accounts_per_customer >= 2,
        "a transfer needs two accounts"
    );
    Ok(options)
}

const TRANSFER: &str = "mutation($i: TransferInput!) { transfer(input: $i) { id } }";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    let bank = Bank::from_env()?;

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
            bank.query(
                Some(&customer.token),
                "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
                json!({ "i": { "accountId": id, "amount": "1000000.00", "idempotencyKey": Uuid::new_v4() } }),
            )
            .await
            .data();
            accounts.push((c, id));
        }
        customers.push(customer);
        eprint!("\r  {}/{} customers ready", c + 1, options.customers);
    }
    eprintln!();

    eprintln!(
        "{} clients transferring for {} s...",
        options.clients, options.seconds
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let tasks: Vec<_> = (0..options.clients)
        .map(|client| {
            let bank = bank.clone();
            let accounts = accounts.clone();
            let tokens: Vec<String> = customers.iter().map(|c| c.token.clone()).collect();
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
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
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
        })
    );
    Ok(())
}
