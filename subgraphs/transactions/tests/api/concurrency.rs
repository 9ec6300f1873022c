use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use rand::{rngs::StdRng, Rng, SeedableRng};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use uuid::Uuid;

use bank_testkit::{collect_events, data, error_code};
use transactions_subgraph::events::POSTED;

use crate::helpers::{spawn_app, Caller};

const CLIENTS: u64 = 32;
const ACCOUNTS: usize = 20;
const OWNERS: usize = 5;
const LOAD: Duration = Duration::from_secs(6);

/// Every transaction id in the ledger with the customer accounts it posted to.
pub async fn committed_postings(db: &DatabaseConnection) -> HashMap<String, HashSet<String>> {
    let rows = db
        .query_all(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT p.transaction_id::text AS tx, p.account_id::text AS account FROM postings p \
             JOIN ledger_accounts a ON a.account_id = p.account_id WHERE a.kind = 'CUSTOMER'",
        ))
        .await
        .unwrap();
    let mut postings: HashMap<String, HashSet<String>> = HashMap::new();
    for row in rows {
        postings
            .entry(row.try_get("", "tx").unwrap())
            .or_default()
            .insert(row.try_get("", "account").unwrap());
    }
    postings
}

/// The `posted` events on Kafka for `transactions`, as (transaction, account) -> event ids.
pub async fn posted_events(
    topic: &str,
    postings: &HashMap<String, HashSet<String>>,
) -> HashMap<(String, String), Vec<String>> {
    let expected: usize = postings.values().map(HashSet::len).sum();
    let events = collect_events(
        topic,
        |event| {
            event["type"] == POSTED
                && event["data"]["transactionId"]
                    .as_str()
                    .is_some_and(|tx| postings.contains_key(tx))
        },
        |found| {
            let distinct: HashSet<&str> = found.iter().filter_map(|e| e["id"].as_str()).collect();
            distinct.len() >= expected
        },
        Duration::from_secs(90),
    )
    .await;
    let mut seen: HashMap<(String, String), Vec<String>> = HashMap::new();
    for event in events {
        let key = (
            event["data"]["transactionId"].as_str().unwrap().to_string(),
            event["data"]["accountId"].as_str().unwrap().to_string(),
        );
        seen.entry(key)
            .or_default()
            .push(event["id"].as_str().unwrap().to_string());
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_clients_transferring_at_random_neither_lose_nor_make_money() {
    let app = spawn_app().await;
    let owners: Vec<Caller> = (0..OWNERS).map(|_| app.customer()).collect();
    let mut accounts: Vec<(usize, Uuid)> = Vec::new();
    for i in 0..ACCOUNTS {
        let owner = i % OWNERS;
        let id = app.open(&owners[owner], "EUR").await;
        data(&app.deposit(&owners[owner], id, "1000.00").await);
        accounts.push((owner, id));
    }

    let deadline = tokio::time::Instant::now() + LOAD;
    let outcomes = futures::future::join_all((0..CLIENTS).map(|client| {
        let (app, owners, accounts) = (&app, &owners, &accounts);
        async move {
            let mut rng = StdRng::seed_from_u64(client);
            let (mut done, mut refused) = (0u64, 0u64);
            while tokio::time::Instant::now() < deadline {
                let from = rng.gen_range(0..ACCOUNTS);
                let to = (from + rng.gen_range(1..ACCOUNTS)) % ACCOUNTS;
                let minor: u64 = rng.gen_range(1..40_000);
                let amount = format!("{}.{:02}", minor / 100, minor % 100);
                let (owner, from_id) = accounts[from];
                let response = app
                    .transfer(&owners[owner], from_id, accounts[to].1, &amount)
                    .await;
                match error_code(&response) {
                    None => done += 1,
                    Some("INSUFFICIENT_FUNDS") => refused += 1,
                    Some(other) => panic!("unexpected {other}: {response}"),
                }
            }
            (done, refused)
        }
    }))
    .await;
    let transfers: u64 = outcomes.iter().map(|(done, _)| done).sum();
    let refused: u64 = outcomes.iter().map(|(_, refused)| refused).sum();
    eprintln!("{transfers} transfers committed, {refused} refused for funds, in {LOAD:?}");
    assert!(transfers > 100, "the load ran ({transfers} transfers)");

    // Money is conserved exactly and never negative; the ledger's own check agrees.
    let mut total = 0i64;
    for (owner, id) in &accounts {
        let balance = app.balance(&owners[*owner], *id).await;
        assert!(
            !balance.starts_with('-'),
            "account {id} went negative: {balance}"
        );
        total += bank_common::money::parse_minor(
            &balance,
            bank_common::money::Currency::parse("EUR").unwrap(),
        )
        .unwrap();
    }
    assert_eq!(
        total,
        ACCOUNTS as i64 * 100_000,
        "customers hold exactly what they deposited"
    );
    let check = app.assert_ledger_ok().await;
    assert_eq!(
        check.transactions_checked as u64,
        transfers + ACCOUNTS as u64
    );

    // Every committed posting is on Kafka exactly once.
    let postings = committed_postings(&app.db).await;
    assert_eq!(postings.len() as u64, transfers + ACCOUNTS as u64);
    let seen = posted_events(&app.topic, &postings).await;
    for (tx, accounts) in &postings {
        for account in accounts {
            let ids = seen.get(&(tx.clone(), account.clone()));
            assert_eq!(
                ids.map(Vec::len),
                Some(1),
                "posting of {tx} on {account} published {ids:?}"
            );
        }
    }
    assert_eq!(
        seen.len(),
        postings.values().map(HashSet::len).sum::<usize>()
    );
}

/// Reads one counter of the service's `/metrics`.
pub async fn counter(app: &crate::helpers::TestApp, name: &str) -> f64 {
    let metrics = bank_testkit::metrics(app.addr).await;
    metrics
        .lines()
        .find(|line| line.starts_with(name) && !line.starts_with('#'))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

/// Concurrent movements share a commit, and a movement its rules refuse (here: more than the
/// account holds) is refused alone, with its own answer, while the others in its batch commit.
#[tokio::test]
async fn a_batch_refuses_one_movement_alone_and_commits_the_others() {
    let app = spawn_app().await;
    let owner = app.customer();
    let rich: Vec<Uuid> = futures::future::join_all((0..12).map(|_| app.open(&owner, "EUR"))).await;
    for id in &rich {
        data(&app.deposit(&owner, *id, "100.00").await);
    }
    let poor = app.open(&owner, "EUR").await;
    data(&app.deposit(&owner, poor, "1.00").await);
    let sink = app.open(&owner, "EUR").await;

    let mut rounds = 0;
    let (mut committed, mut refused) = (0i64, 0);
    while counter(&app, "ledger_batch_refused_total").await < 1.0 {
        rounds += 1;
        assert!(rounds <= 20, "no batch ever held a refused movement");
        // Twelve transfers that the accounts can pay and one that the poor account cannot,
        // all at once.
        let answers = futures::future::join_all(
            rich.iter()
                .map(|from| (*from, "1.00"))
                .chain(std::iter::once((poor, "5.00")))
                .map(|(from, amount)| {
                    let (app, owner) = (&app, &owner);
                    async move { (from, app.transfer(owner, from, sink, amount).await) }
                }),
        )
        .await;
        for (from, answer) in answers {
            if from == poor {
                assert_eq!(error_code(&answer), Some("INSUFFICIENT_FUNDS"), "{answer}");
                refused += 1;
            } else {
                assert!(error_code(&answer).is_none(), "{answer}");
                committed += 1;
            }
        }
    }
    assert!(counter(&app, "ledger_batched_movements_total").await >= 1.0);
    // Every committed transfer is in the sink, the refused ones nowhere.
    assert_eq!(
        app.balance(&owner, sink).await,
        format!("{committed}.00"),
        "{refused} refused"
    );
    assert_eq!(app.balance(&owner, poor).await, "1.00");
    app.assert_ledger_ok().await;
}

/// A batch is decided in memory against the rows it locked: movements on the same accounts in
/// one batch each see the balances the earlier ones left, so every posting's balance after it
/// and every `posted` event's balance follow one another; a key sent several times at once
/// moves money once; deposits, withdrawals and transfers share batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn movements_in_one_batch_see_each_others_balances_and_keys() {
    let app = spawn_app().await;
    let (owner, teller) = (app.customer(), app.teller());
    let (a, b, c) = (
        app.open(&owner, "EUR").await,
        app.open(&owner, "EUR").await,
        app.open(&owner, "EUR").await,
    );
    data(&app.deposit(&teller, a, "200.00").await);
    data(&app.deposit(&teller, b, "100.00").await);

    let mut rounds = 0i64;
    while counter(&app, "ledger_batched_movements_total").await < 20.0 {
        rounds += 1;
        assert!(rounds <= 20, "movements never shared a batch");
        let key = format!("round-{rounds}");
        let movements = (0..15).map(|i| {
            let (app, owner, teller, key) = (&app, &owner, &teller, &key);
            async move {
                match i {
                    0..=3 => ("transfer", app.transfer(owner, a, b, "1.00").await),
                    4..=7 => ("transfer", app.transfer(owner, b, c, "1.00").await),
                    8..=9 => ("withdraw", app.withdraw(owner, a, "1.00").await),
                    10..=11 => ("deposit", app.deposit(teller, c, "1.00").await),
                    _ => (
                        "replay",
                        app.transfer_with_key(owner, a, c, "2.00", key).await,
                    ),
                }
            }
        });
        let answers = futures::future::join_all(movements).await;
        let mut replayed = HashSet::new();
        for (what, answer) in &answers {
            let moved = data(answer);
            if *what == "replay" {
                replayed.insert(moved["transfer"]["id"].as_str().unwrap().to_string());
            }
        }
        assert_eq!(replayed.len(), 1, "one key, one transfer: {answers:?}");
    }
    // Per round: a loses 4 + 2 + 2, b gains 4 and loses 4, c gains 4 + 2 + 2.
    assert_eq!(
        app.balance(&owner, a).await,
        format!("{}.00", 200 - 8 * rounds)
    );
    assert_eq!(app.balance(&owner, b).await, "100.00");
    assert_eq!(app.balance(&owner, c).await, format!("{}.00", 8 * rounds));
    // Balances, running balances, transactions and overdrafts.
    app.assert_ledger_ok().await;

    // Every customer posting's event carries that posting's balance after it.
    let rows = app
        .db
        .query_all(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT p.transaction_id::text AS tx, p.account_id::text AS account, \
             p.balance_after_minor FROM postings p \
             JOIN ledger_accounts a ON a.account_id = p.account_id WHERE a.kind = 'CUSTOMER'",
        ))
        .await
        .unwrap();
    let balances: HashMap<(String, String), i64> = rows
        .iter()
        .map(|row| {
            (
                (
                    row.try_get("", "tx").unwrap(),
                    row.try_get("", "account").unwrap(),
                ),
                row.try_get("", "balance_after_minor").unwrap(),
            )
        })
        .collect();
    let events = collect_events(
        &app.topic,
        |event| event["type"] == POSTED,
        |found| found.len() >= balances.len(),
        Duration::from_secs(60),
    )
    .await;
    let mut checked = HashSet::new();
    for event in &events {
        let key = (
            event["data"]["transactionId"].as_str().unwrap().to_string(),
            event["data"]["accountId"].as_str().unwrap().to_string(),
        );
        assert_eq!(
            Some(&event["data"]["balanceAfterMinor"].as_i64().unwrap()),
            balances.get(&key),
            "{event}"
        );
        checked.insert(key);
    }
    assert_eq!(checked.len(), balances.len(), "an event for every posting");
}
