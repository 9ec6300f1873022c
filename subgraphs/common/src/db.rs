//! The pooled connection to the service's own PostgreSQL schema.
//!
//! Each service owns one schema (`users`, `accounts`, ...) and sets it as its `search_path`, so
//! its tables, its migration history and nothing else are visible to it.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: String,
    pub schema: String,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout: Duration,
}

pub async fn connect(config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(config.url.clone());
    options
        .max_connections(config.max_connections)
        .min_connections(config.min_connections)
        .acquire_timeout(config.acquire_timeout)
        .connect_timeout(config.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .set_schema_search_path(config.schema.clone())
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    // The schema must exist before the migrator writes its history table into it. A deployed
    // service's role owns its schema, made for it in advance (k8s/base/db-roles.sql), and may
    // not create schemas: only a missing one is created.
    let exists = db
        .query_one(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT 1 FROM pg_namespace WHERE nspname = $1",
            [config.schema.clone().into()],
        ))
        .await?
        .is_some();
    if !exists {
        db.execute_unprepared(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{}\"",
            config.schema.replace('"', "")
        ))
        .await?;
    }
    Ok(db)
}

/// A read-only transaction on one repeatable-read snapshot: several reads that must agree
/// (a check, a statement, one side of a reconciliation).
pub async fn snapshot(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::TransactionTrait;
    db.begin_with_config(
        Some(sea_orm::IsolationLevel::RepeatableRead),
        Some(sea_orm::AccessMode::ReadOnly),
    )
    .await
}

/// Readiness: the pool can hand out a connection that answers.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// Whether the database has the `citus` extension (a Citus coordinator).
pub async fn is_citus(db: &DatabaseConnection) -> Result<bool, DbErr> {
    Ok(db
        .query_one(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT 1 FROM pg_extension WHERE extname = 'citus'",
        ))
        .await?
        .is_some())
}

/// On Citus, makes `schema` a distributed schema (schema-based sharding, docs/citus.md): every
/// table created in it afterwards is a single-shard table, all of them colocated on one worker,
/// so each of the service's queries runs on one node as it would on plain PostgreSQL. Nothing
/// happens on plain PostgreSQL or when the schema is already distributed.
pub async fn distribute_schema(db: &DatabaseConnection, schema: &str) -> Result<(), DbErr> {
    if !is_citus(db).await? {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let distributed = db
        .query_one(sea_orm::Statement::from_sql_and_values(
            backend,
            "SELECT 1 FROM pg_dist_schema WHERE schemaid = to_regnamespace($1)::oid",
            [schema.into()],
        ))
        .await?
        .is_some();
    if !distributed {
        db.execute(sea_orm::Statement::from_sql_and_values(
            backend,
            "SELECT citus_schema_distribute($1::text::regnamespace)",
            [schema.into()],
        ))
        .await?;
        tracing::info!(schema, "schema distributed (Citus schema-based sharding)");
    }
    Ok(())
}

/// Runs `migrate` while holding a PostgreSQL advisory lock named after `schema`, so replicas
/// (and a migration job) starting together migrate one after the other instead of colliding.
/// On Citus the schema is distributed first ([`distribute_schema`]).
/// The lock lives on a connection of its own for the duration; migrations use the others.
pub async fn with_migration_lock<F, Fut, T>(
    db: &DatabaseConnection,
    schema: &str,
    migrate: F,
) -> anyhow::Result<T>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    use sea_orm::sqlx;
    let key = format!("bank.migrate:{schema}");
    let mut lock = db.get_postgres_connection_pool().acquire().await?;
    sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
        .bind(&key)
        .execute(&mut *lock)
        .await?;
    let result = match distribute_schema(db, schema).await {
        Ok(()) => migrate().await,
        Err(err) => Err(err.into()),
    };
    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind(&key)
        .execute(&mut *lock)
        .await?;
    result
}

static CITUS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Notes, once at start-up, whether the service's database is a Citus coordinator
/// ([`is_citus`]): statements over many rows are then written as `VALUES` lists
/// ([`rows_statement`]).
pub fn set_citus(on: bool) {
    CITUS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// What [`set_citus`] noted.
pub fn on_citus() -> bool {
    CITUS.load(std::sync::atomic::Ordering::Relaxed)
}

fn stmt(sql: &str, values: Vec<sea_orm::Value>) -> sea_orm::Statement {
    sea_orm::Statement::from_sql_and_values(sea_orm::DatabaseBackend::Postgres, sql, values)
}

/// A statement over `rows`: `head` then the rows then `tail`. On plain PostgreSQL the rows go
/// as one array per column (`SELECT * FROM unnest($1::uuid[], ...)`), so the statement's text,
/// and its prepared plan, is the same whatever the number of rows. On Citus they go as a
/// `VALUES` list, which Citus routes straight to the shard, where a `SELECT` over arrays would
/// be planned through the coordinator.
pub fn rows_statement<const N: usize>(
    citus: bool,
    head: &str,
    types: &[&str; N],
    rows: Vec<[sea_orm::Value; N]>,
    tail: &str,
) -> sea_orm::Statement {
    if citus {
        let (list, values) = values_list(rows, types);
        return stmt(&format!("{head} VALUES {list} {tail}"), values);
    }
    let unnest = (1..=N)
        .zip(types)
        .map(|(n, ty)| format!("${n}::{ty}[]"))
        .collect::<Vec<_>>()
        .join(", ");
    stmt(
        &format!("{head} SELECT * FROM unnest({unnest}) {tail}"),
        arrays(rows, types),
    )
}

/// Rows as one array per column, of the columns' `types` (none may be null).
pub fn arrays<const N: usize>(
    rows: Vec<[sea_orm::Value; N]>,
    types: &[&str; N],
) -> Vec<sea_orm::Value> {
    use sea_orm::sea_query::ArrayType;
    let mut columns: Vec<Vec<sea_orm::Value>> =
        (0..N).map(|_| Vec::with_capacity(rows.len())).collect();
    for row in rows {
        for (column, value) in columns.iter_mut().zip(row) {
            column.push(value);
        }
    }
    columns
        .into_iter()
        .zip(types)
        .map(|(column, ty)| {
            let ty = match *ty {
                "uuid" => ArrayType::Uuid,
                // A jsonb column's values are bound as text and cast (`$n::jsonb[]`).
                "text" | "jsonb" => ArrayType::String,
                "int8" => ArrayType::BigInt,
                "timestamptz" => ArrayType::ChronoDateTimeUtc,
                other => unreachable!("no array of {other} is bound here"),
            };
            sea_orm::Value::Array(ty, Some(Box::new(column)))
        })
        .collect()
}

/// Rows as a `VALUES` list's text (`($1::uuid, $2::text), ($3::uuid, $4::text)`, each
/// parameter cast to its column's type) and its values in order.
pub fn values_list<const N: usize>(
    rows: Vec<[sea_orm::Value; N]>,
    types: &[&str; N],
) -> (String, Vec<sea_orm::Value>) {
    let mut values = Vec::with_capacity(rows.len() * N);
    let list = rows
        .into_iter()
        .map(|row| {
            let first = values.len();
            values.extend(row);
            let params: Vec<String> = (first + 1..=first + N)
                .zip(types)
                .map(|(n, ty)| format!("${n}::{ty}"))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ");
    (list, values)
}
