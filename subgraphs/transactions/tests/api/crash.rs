use std::time::Duration;

use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

use bank_common::auth::Role;
use bank_testkit::TestKeys;
use transactions_subgraph::{events, store};

use crate::concurrency::{committed_postings, posted_events};

/// The real binary is killed (SIGKILL) while clients transfer money, then restarted: the
/// ledger's invariants hold, and every committed posting reaches Kafka once the relay catches
/// up (a posting published just before the kill may be published again under the same event id,
/// which consumers discard).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_mid_load_leaves_the_ledger_consistent_and_loses_no_event() {
    let database = bank_testkit::fresh_database("transactions").await;
    let keys = TestKeys::new();
    let jwks_url = keys.serve_jwks().await;
    let topic = bank_testkit::fresh_topic("test-ledger").await;
    let mut service = bank_testkit::ServiceProcess::new(
        env!("CARGO_BIN_EXE_transactions"),
        "TRANSACTIONS",
        &[
            ("TRANSACTIONS_DATABASE_URL", &database.url),
            ("TRANSACTIONS_JWKS_URL", &jwks_url),
            ("TRANSACTIONS_KAFKA_BROKERS", &bank_testkit::kafka_brokers()),
            ("TRANSACTIONS_CONSUME_ACCOUNT_EVENTS", "false"),
            // Customers fund their accounts themselves, as in a sandbox.
            ("TRANSACTIONS_SELF_DEPOSITS", "true"),
            ("TRANSACTIONS_LEDGER_TOPIC", &topic),
        ],
    );
    let client = service.client();

    service.start().await;
    let db = bank_common::db::connect(&database).await.unwrap();
    let owners: Vec<(Uuid, String)> = (0..4)
        .map(|_| {
            let id = Uuid::now_v7();
            (id, keys.token(id, &[Role::Customer]))
        })
        .collect();
    let mut accounts = Vec::new();
    for i in 0..12 {
        let (owner, token) = &owners[i % owners.len()];
        let id = Uuid::now_v7();
        let changed = events::AccountChanged {
            account_id: id,
            owner_id: *owner,
            number: crate::helpers::random_number(),
            currency: "EUR".into(),
        };
        store::apply_account_event(&db, Uuid::now_v7(), events::ACCOUNT_OPENED, &changed, 5_000)
            .await
            .unwrap();
        let deposit = client
            .query(
                Some(token),
                "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
                json!({ "i": { "accountId": id, "amount": "500", "idempotencyKey": Uuid::new_v4() } }),
            )
            .await;
        bank_testkit::data(&deposit);
        accounts.push((i % owners.len(), id));
    }

    let load = futures::future::join_all((0..16u64).map(|n| {
        let (client, owners, accounts) = (&client, &owners, &accounts);
        async move {
            let mut rng = StdRng::seed_from_u64(n);
            for _ in 0..400 {
                let from = rng.gen_range(0..accounts.len());
                let to = (from + rng.gen_range(1..accounts.len())) % accounts.len();
                let (owner, from_id) = accounts[from];
                let result = tokio::time::timeout(
                    Duration::from_secs(5),
                    client.try_query(
                        Some(&owners[owner].1),
                        "mutation($i: TransferInput!) { transfer(input: $i) { id } }",
                        json!({ "i": { "fromAccountId": from_id, "toAccountId": accounts[to].1,
                                "amount": format!("{}.{:02}", rng.gen_range(0..50), rng.gen_range(1..100)),
                                "idempotencyKey": Uuid::new_v4() } }),
                    ),
                )
                .await;
                if !matches!(result, Ok(Ok(_))) {
                    break; // the service is gone
                }
            }
        }
    }));
    let kill = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        service.kill().await;
    };
    tokio::join!(load, kill);

    let transfers = committed_postings(&db).await.len() - accounts.len();
    assert!(transfers > 0, "some transfers committed before the kill");
    assert!(
        transfers < 16 * 400,
        "the kill interrupted the load ({transfers} committed)"
    );

    service.start().await;
    let check = store::check_ledger(&db).await.unwrap();
    assert!(check.ok(), "ledger invariants after the crash: {check:#?}");
    // Every movement that committed before the kill has its audit entry, once.
    use sea_orm::ConnectionTrait;
    let unaudited = db
        .query_one(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT count(*) FILTER (WHERE n = 0) AS missing, count(*) FILTER (WHERE n > 1) AS twice \
             FROM (SELECT (SELECT count(*) FROM audit_log a \
                            WHERE a.after->'answer'->>'id' = t.id::text) AS n \
                     FROM transactions t) AS entries",
        ))
        .await
        .unwrap()
        .unwrap();
    let missing: i64 = unaudited.try_get("", "missing").unwrap();
    let twice: i64 = unaudited.try_get("", "twice").unwrap();
    assert_eq!(
        (missing, twice),
        (0, 0),
        "committed movements without an audit entry, or with two"
    );

    let postings = committed_postings(&db).await;
    let seen = posted_events(&topic, &postings).await;
    for (tx, accounts) in &postings {
        for account in accounts {
            let ids = seen.get(&(tx.clone(), account.clone()));
            let distinct: std::collections::HashSet<_> = ids.into_iter().flatten().collect();
            assert_eq!(
                distinct.len(),
                1,
                "posting of {tx} on {account} must be on Kafka under one event id: {ids:?}"
            );
        }
    }
    service.kill().await;
}
