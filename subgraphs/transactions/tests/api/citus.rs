//! The data layout of docs/citus.md against a real database, and (on Citus) the cluster growing
//! by a worker while money moves.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use bank_common::db::{connect, with_migration_lock, DbConfig};
use bank_migrations::MigratorTrait;
use bank_testkit::{self as testkit, data, error_code};
use sea_orm::{ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement};

use crate::helpers::{spawn_app, Caller};

const SCHEMAS: [&str; 6] = [
    "users",
    "accounts",
    "transactions",
    "notifications",
    "loans",
    "payments",
];

/// (schema, table) -> what docs/citus.md says Citus makes of it.
fn documented_layout() -> BTreeMap<(String, String), String> {
    let doc = include_str!("../../../../docs/citus.md");
    let mut layout = BTreeMap::new();
    for line in doc.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (schema, table, kind) = (
            cells[1].trim_matches('`'),
            cells[2].trim_matches('`'),
            cells[3],
        );
        if SCHEMAS.contains(&schema) {
            layout.insert((schema.to_string(), table.to_string()), kind.to_string());
        }
    }
    layout
}

/// Runs one service's migrations into `url` the way the service does (its schema as the
/// search path, under its migration lock, distributed first on Citus).
async fn migrate(url: &str, schema: &str) -> DatabaseConnection {
    let config = DbConfig {
        url: url.to_string(),
        schema: schema.to_string(),
        max_connections: 2,
        min_connections: 1,
        acquire_timeout: Duration::from_secs(10),
    };
    let db = connect(&config).await.expect("connect");
    with_migration_lock(&db, schema, || async {
        match schema {
            "users" => bank_migrations::users::Migrator::up(&db, None).await?,
            "accounts" => bank_migrations::accounts::Migrator::up(&db, None).await?,
            "transactions" => bank_migrations::transactions::Migrator::up(&db, None).await?,
            "notifications" => bank_migrations::notifications::Migrator::up(&db, None).await?,
            "loans" => bank_migrations::loans::Migrator::up(&db, None).await?,
            "payments" => bank_migrations::payments::Migrator::up(&db, None).await?,
            other => panic!("no migrator for {other}"),
        }
        Ok(())
    })
    .await
    .unwrap_or_else(|err| panic!("{schema} migrations: {err:#}"));
    db
}

async fn strings(db: &DatabaseConnection, sql: &str) -> Vec<Vec<String>> {
    db.query_all(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .iter()
        .map(|row| {
            (0..)
                .map_while(|i| row.try_get_by_index::<String>(i).ok())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn every_table_is_laid_out_as_docs_citus_md_says() {
    let documented = documented_layout();
    assert!(documented.len() > 30, "docs/citus.md lists the tables");
    let database = testkit::fresh_database("transactions").await;
    let mut db = None;
    for schema in SCHEMAS {
        db = Some(migrate(&database.url, schema).await);
    }
    let db = db.unwrap();

    let tables: BTreeSet<(String, String)> = strings(
        &db,
        "SELECT table_schema::text, table_name::text FROM information_schema.tables \
         WHERE table_type = 'BASE TABLE' \
           AND table_schema IN ('users', 'accounts', 'transactions', 'notifications', 'loans', 'payments')",
    )
    .await
    .into_iter()
    .map(|row| (row[0].clone(), row[1].clone()))
    .collect();
    let listed: BTreeSet<(String, String)> = documented.keys().cloned().collect();
    assert_eq!(
        tables, listed,
        "the tables the migrations create are the tables docs/citus.md lists"
    );

    if testkit::citus_workers().is_none() {
        return;
    }
    // On Citus: each table's type as documented, one colocation group per schema, and every
    // schema distributed.
    let rows = strings(
        &db,
        "SELECT n.nspname::text, c.relname::text, t.citus_table_type::text, t.colocation_id::text \
         FROM public.citus_tables t JOIN pg_class c ON c.oid = t.table_name \
         JOIN pg_namespace n ON n.oid = c.relnamespace",
    )
    .await;
    let mut actual = BTreeMap::new();
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        actual.insert((row[0].clone(), row[1].clone()), row[2].clone());
        groups
            .entry(row[0].clone())
            .or_default()
            .insert(row[3].clone());
    }
    assert_eq!(actual, documented, "citus_tables matches docs/citus.md");
    let mut seen = BTreeSet::new();
    for (schema, colocation) in &groups {
        assert_eq!(colocation.len(), 1, "{schema} is one colocation group");
        assert!(seen.insert(colocation.clone()), "{schema} shares a group");
    }
    let distributed: BTreeSet<String> = strings(
        &db,
        "SELECT schemaid::regnamespace::text FROM pg_dist_schema",
    )
    .await
    .into_iter()
    .map(|row| row[0].clone())
    .collect();
    assert_eq!(
        distributed,
        SCHEMAS.iter().map(|s| s.to_string()).collect(),
        "every service's schema is distributed"
    );
}

/// Where the ledger's schema lives: (shard id, worker port).
async fn ledger_placement(admin: &DatabaseConnection) -> (i64, i32) {
    let row = admin
        .query_one(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT shardid, nodeport FROM citus_shards \
             WHERE table_name = 'transactions.ledger_accounts'::regclass",
        ))
        .await
        .unwrap()
        .expect("the ledger has a shard");
    (
        row.try_get("", "shardid").unwrap(),
        row.try_get("", "nodeport").unwrap(),
    )
}

async fn schemas_per_worker(admin: &DatabaseConnection) -> BTreeMap<i32, i64> {
    let rows = admin
        .query_all(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT s.nodeport, count(DISTINCT t.colocation_id) AS groups \
             FROM citus_shards s JOIN citus_tables t USING (table_name) GROUP BY s.nodeport",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                row.try_get("", "nodeport").unwrap(),
                row.try_get("", "groups").unwrap(),
            )
        })
        .collect()
}

/// Polls the background rebalance until it has finished (within two minutes).
async fn wait_for_rebalance(admin: &DatabaseConnection) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let status = strings(
            admin,
            "SELECT state::text, details::text FROM citus_rebalance_status()",
        )
        .await;
        let (state, details) = (&status[0][0], &status[0][1]);
        match state.as_str() {
            "finished" => return,
            "failed" | "cancelled" => panic!("the rebalance {state}: {details}"),
            _ if tokio::time::Instant::now() > deadline => {
                panic!("the rebalance did not finish in 2 minutes: {state} {details}")
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

const CLIENTS: u64 = 8;
const ACCOUNTS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "Citus only (BANK_DB=citus make test): adds the spare worker scripts/pg.sh add-worker started"]
async fn citus_growth_a_third_worker_and_a_rebalance_under_transfers_lose_nothing() {
    let spare = std::env::var("TEST_CITUS_SPARE")
        .expect("TEST_CITUS_SPARE names the spare worker (scripts/pg.sh add-worker)");
    assert!(testkit::citus_workers().is_some(), "the tests run on Citus");
    let app = spawn_app().await;
    let name: String = strings(&app.db, "SELECT current_database()::text").await[0][0].clone();
    let url = format!("postgres://bank@{}/{name}", testkit::coordinator());
    // The other five services too, so there are schemas to spread over three workers.
    for schema in SCHEMAS.iter().filter(|s| **s != "transactions") {
        migrate(&url, schema).await;
    }
    let admin = Database::connect(testkit::superuser_url(&testkit::coordinator(), &name))
        .await
        .unwrap();

    let owners: Vec<Caller> = (0..4).map(|_| app.customer()).collect();
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS {
        let owner = i % owners.len();
        let id = app.open(&owners[owner], "EUR").await;
        data(&app.deposit(&owners[owner], id, "500.00").await);
        accounts.push((owner, id));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicU64::new(0));
    let app = Arc::new(app);
    let owners = Arc::new(owners);
    let accounts = Arc::new(accounts);
    let load: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (app, owners, accounts) = (app.clone(), owners.clone(), accounts.clone());
            let (stop, committed) = (stop.clone(), committed.clone());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                let mut n = client as usize;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let (owner, from) = accounts[n % ACCOUNTS];
                    let to = accounts[(n * 7 + 1) % ACCOUNTS].1;
                    if from == to {
                        continue;
                    }
                    let response = app.transfer(&owners[owner], from, to, "1.25").await;
                    match error_code(&response) {
                        None => {
                            committed.fetch_add(1, Ordering::Relaxed);
                        }
                        Some("INSUFFICIENT_FUNDS") => {}
                        Some(_) => {
                            failures.push(response);
                            break;
                        }
                    }
                }
                failures
            })
        })
        .collect();

    let (_, before_port) = ledger_placement(&admin).await;
    let before = schemas_per_worker(&admin).await;
    assert_eq!(before.len(), 2, "two workers hold the schemas: {before:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at_growth = committed.load(Ordering::Relaxed);

    // Grow: the spare worker joins, the rebalancer spreads the schemas.
    testkit::citus_add_worker(&name, &spare).await;
    admin
        .execute_unprepared("SELECT citus_rebalance_start()")
        .await
        .expect("the rebalance starts");
    wait_for_rebalance(&admin).await;
    let after = schemas_per_worker(&admin).await;
    eprintln!("schemas per worker: before {before:?}, after {after:?}");
    let (_, spare_port) = spare.rsplit_once(':').unwrap();
    let spare_port: i32 = spare_port.parse().unwrap();
    assert!(
        after.get(&spare_port).copied().unwrap_or(0) > 0,
        "the rebalancer moved schemas onto the new worker: {after:?}"
    );

    // The ledger itself moves while transfers run (if the rebalancer left it where it was).
    let (shard, port) = ledger_placement(&admin).await;
    if port == before_port {
        admin
            .execute_unprepared(&format!(
                "SELECT citus_move_shard_placement({shard}, '127.0.0.1', {port}, '127.0.0.1', {})",
                if port == spare_port {
                    before_port
                } else {
                    spare_port
                }
            ))
            .await
            .expect("the ledger's schema moves");
    }
    let (_, moved_to) = ledger_placement(&admin).await;
    assert_ne!(moved_to, before_port, "the ledger's schema moved");
    let at_move = committed.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for client in load {
        failures.extend(client.await.unwrap());
    }
    let total = committed.load(Ordering::Relaxed);
    eprintln!(
        "{total} transfers: {at_growth} before the new worker, {} during the rebalance and the move, {} after",
        at_move - at_growth,
        total - at_move
    );
    assert!(failures.is_empty(), "requests failed: {failures:?}");
    assert!(
        at_move > at_growth && total > at_move,
        "money moved during and after the growth"
    );

    // Money is conserved and the ledger's invariants hold on the moved schema.
    let mut sum = 0i64;
    for (owner, id) in accounts.iter() {
        let balance = app.balance(&owners[*owner], *id).await;
        sum += bank_common::money::parse_minor(
            &balance,
            bank_common::money::Currency::parse("EUR").unwrap(),
        )
        .unwrap();
    }
    assert_eq!(
        sum,
        ACCOUNTS as i64 * 50_000,
        "customers hold what they deposited"
    );
    app.assert_ledger_ok().await;
}

/// The movement statement wakes the outbox relay, which listens on the database the service
/// connects to (on Citus, the coordinator; the statement itself runs on a worker there).
#[tokio::test]
async fn a_movement_wakes_the_outbox_relay_where_it_listens() {
    use sea_orm::sqlx::postgres::PgListener;
    let app = spawn_app().await;
    let owner = app.customer();
    let account = app.open(&owner, "EUR").await;
    let mut listener = PgListener::connect_with(app.db.get_postgres_connection_pool())
        .await
        .expect("a listener");
    listener
        .listen(&bank_common::outbox::channel("transactions"))
        .await
        .expect("listen");
    data(&app.deposit(&owner, account, "10.00").await);
    let woken = tokio::time::timeout(Duration::from_secs(10), listener.recv()).await;
    assert!(
        matches!(woken, Ok(Ok(_))),
        "no notification reached the relay's channel: {woken:?}"
    );
}

/// On Citus a movement is one local transaction on the ledger's worker, never a two-phase
/// commit: the coordinator records each two-phase commit in `pg_dist_transaction` (its gid holds
/// the distributed transaction's number), and none appears for deposits and transfers. On plain
/// PostgreSQL there is no such thing to check.
#[tokio::test]
async fn on_citus_a_movement_is_not_a_two_phase_commit() {
    if testkit::citus_workers().is_none() {
        return;
    }
    let app = spawn_app().await;
    let name: String = strings(&app.db, "SELECT current_database()::text").await[0][0].clone();
    let admin = Database::connect(testkit::superuser_url(&testkit::coordinator(), &name))
        .await
        .unwrap();
    let two_phase_after = |marker: i64| {
        format!(
            "SELECT count(*)::text FROM pg_dist_transaction \
             WHERE split_part(gid, '_', 4)::bigint > {marker}"
        )
    };
    let marker: i64 = strings(
        &admin,
        "SELECT coalesce(max(split_part(gid, '_', 4)::bigint), 0)::text FROM pg_dist_transaction",
    )
    .await[0][0]
        .parse()
        .unwrap();
    let owner = app.customer();
    let (a, b) = (app.open(&owner, "EUR").await, app.open(&owner, "EUR").await);
    data(&app.deposit(&owner, a, "50.00").await);
    data(&app.transfer(&owner, a, b, "20.00").await);
    data(&app.deposit(&owner, b, "5.00").await);
    assert_eq!(app.balance(&owner, b).await, "25.00");
    // Batches too: transfers sent at once, one that its account cannot pay and one key sent
    // twice, so that a batch claims keys, gives one back and writes many rows.
    let empty = app.open(&owner, "EUR").await;
    let mut rounds = 0;
    while crate::concurrency::counter(&app, "ledger_batched_movements_total").await < 2.0 {
        rounds += 1;
        assert!(rounds <= 20, "transfers never shared a batch");
        let key = format!("citus-round-{rounds}");
        futures::future::join_all((0..8).map(|i| {
            let (app, owner, key) = (&app, &owner, &key);
            async move {
                match i {
                    0 => app.transfer(owner, empty, a, "1.00").await,
                    1 | 2 => app.transfer_with_key(owner, a, b, "0.10", key).await,
                    _ => app.transfer(owner, a, b, "0.10").await,
                }
            }
        }))
        .await;
    }
    app.assert_ledger_ok().await;
    assert_eq!(
        strings(&admin, &two_phase_after(marker)).await[0][0],
        "0",
        "movements were two-phase commits"
    );
}
