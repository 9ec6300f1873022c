//! The audit trail: who did what, on whose behalf, when, from which address, under which
//! request id, and what changed; one append-only table per service (docs/security.md).
//!
//! - **What is recorded.** Every GraphQL mutation a subgraph answers, refused ones included
//!   (a failed sign-in is `users.login` with outcome `UNAUTHENTICATED`), by
//!   [`AuditExtension`]: the caller from the verified token, the client's address as NGINX saw
//!   it, the request id, the arguments and the answer with every password, token and secret
//!   removed, and the error code. A resolver adds what only it knows with [`note`]: the
//!   customer it acted for, the state before. Movements that services ask of the ledger over
//!   `/internal/*` are recorded by the ledger with [`Audit::record`].
//! - **When.** The answer leaves only after its entry is stored: a writer task inserts the
//!   entries of concurrent requests together, one commit for many. An entry that cannot be
//!   stored is an error in the log and `audit_write_failures_total`, never a changed answer
//!   (the action has happened by then). A resolver whose action is a database transaction
//!   can instead store its entry in that transaction ([`draft`], [`stored_with_effect`]), so
//!   that the action never happens without it: the ledger does for money movements.
//! - **Append-only.** The service's role has no UPDATE, DELETE or TRUNCATE on `audit_log` and
//!   `audit_chain` (revoked in the migration). Each entry is then **chained**: a sealer, one at
//!   a time per service under an advisory lock, appends to `audit_chain` the entry's id and
//!   `sha256(previous hash, id, the entry as PostgreSQL's jsonb text)`, and logs the new head.
//!   [`verify`] walks the chain: an edited entry, a deleted one, a gap in the chain or an entry
//!   left unsealed are each reported. The head in the log is the anchor outside the database
//!   (a chain cut at its end and rebuilt would not match it).

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};

use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery},
    parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet},
    Context, Object, Response, ServerResult, SimpleObject, Variables, ID,
};
use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, Statement, TransactionTrait, Value as DbValue,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use crate::{
    auth::{Principal, Role},
    pagination::{decode_cursor, encode_cursor, page_size, PageInfo},
    server::ClientAddress,
    ApiError,
};

/// Entries newer than the newest sealed one by more than this many ids are still looked at
/// by the sealer: an entry whose transaction commits late (its id was taken earlier) is sealed
/// when it appears, in the chain's order rather than the ids'.
const SEAL_WINDOW: i64 = 10_000;
/// Entries sealed per sealer pass.
const SEAL_BATCH: u64 = 1_000;
/// Every how many sealer passes one also looks back over [`SEAL_WINDOW`].
const LOOK_BACK_EVERY: u64 = 10;
/// Entries written together, at most.
const WRITE_BATCH: usize = 256;
/// An answer's or a state's JSON longer than this is stored as `{"truncated": true}`.
const MAX_JSON_BYTES: usize = 8 * 1024;

/// One audited action.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// The acting user's id, `anonymous` or `service`.
    pub actor: String,
    pub actor_roles: Vec<String>,
    /// The customer the action was for, when that is not the actor.
    pub on_behalf_of: Option<String>,
    /// `<service>.<field>` for a mutation; `<service>.<what>` otherwise.
    pub action: String,
    /// What the action was on (an account, a loan, an e-mail address).
    pub subject: Option<String>,
    /// `OK` or the error code.
    pub outcome: String,
    pub address: Option<String>,
    pub request_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Entry {
    /// The actor's fields from the request's principal (or `anonymous`).
    pub fn by(principal: Option<&Principal>) -> Self {
        match principal {
            Some(principal) => Entry {
                actor: principal.user_id.to_string(),
                actor_roles: principal
                    .roles
                    .iter()
                    .map(|role| role.as_str().to_string())
                    .collect(),
                ..Entry::default()
            },
            None => Entry {
                actor: "anonymous".into(),
                ..Entry::default()
            },
        }
    }
}

type Batch = (Vec<Entry>, oneshot::Sender<bool>);

/// Writes a service's audit entries. Cheap to clone.
#[derive(Clone)]
pub struct Audit {
    service: &'static str,
    tx: mpsc::Sender<Batch>,
}

impl Audit {
    /// Starts the writer task for `service` on `db`.
    pub fn start(service: &'static str, db: DatabaseConnection) -> Self {
        let (tx, mut rx) = mpsc::channel::<Batch>(4 * WRITE_BATCH);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batches = vec![first];
                let mut count = batches[0].0.len();
                while count < WRITE_BATCH {
                    match rx.try_recv() {
                        Ok(batch) => {
                            count += batch.0.len();
                            batches.push(batch);
                        }
                        Err(_) => break,
                    }
                }
                let entries: Vec<&Entry> = batches.iter().flat_map(|(e, _)| e).collect();
                let stored = match insert(&db, &entries).await {
                    Ok(()) => {
                        WRITTEN.inc_by(entries.len() as u64);
                        true
                    }
                    Err(err) => {
                        WRITE_FAILURES.inc_by(entries.len() as u64);
                        for entry in &entries {
                            tracing::error!(
                                error = %err,
                                action = %entry.action,
                                actor = %entry.actor,
                                outcome = %entry.outcome,
                                request_id = entry.request_id.as_deref().unwrap_or_default(),
                                "an audit entry could not be stored"
                            );
                        }
                        false
                    }
                };
                for (_, done) in batches {
                    let _ = done.send(stored);
                }
            }
        });
        Audit { service, tx }
    }

    pub fn service(&self) -> &'static str {
        self.service
    }

    /// Stores `entries` and waits until they are (or have failed, which is logged and
    /// counted). True when stored.
    pub async fn record(&self, entries: Vec<Entry>) -> bool {
        if entries.is_empty() {
            return true;
        }
        let (done, stored) = oneshot::channel();
        if self.tx.send((entries, done)).await.is_err() {
            WRITE_FAILURES.inc();
            tracing::error!("the audit writer has stopped; an entry was not stored");
            return false;
        }
        stored.await.unwrap_or(false)
    }
}

/// `INSERT INTO audit_log (<the columns of [`Entry::row`]>)`.
pub const INSERT: &str = "INSERT INTO audit_log (actor, actor_roles, on_behalf_of, action, \
                          subject, outcome, address, request_id, before, after)";
/// The types of [`Entry::row`]'s values, in order.
pub const TYPES: [&str; 10] = [
    "text", "text", "text", "text", "text", "text", "text", "text", "jsonb", "jsonb",
];

impl Entry {
    /// The entry's values for [`INSERT`], of [`TYPES`].
    pub fn row(&self) -> [DbValue; 10] {
        [
            self.actor.clone().into(),
            self.actor_roles.join(",").into(),
            self.on_behalf_of.clone().into(),
            self.action.clone().into(),
            self.subject.clone().into(),
            self.outcome.clone().into(),
            self.address.clone().into(),
            self.request_id.clone().into(),
            self.before.as_ref().map(bounded).into(),
            self.after.as_ref().map(bounded).into(),
        ]
    }

    /// The entry as one JSON object of [`INSERT`]'s columns, for a statement that stores many
    /// as `jsonb_to_recordset` (the ledger's, with its movements).
    pub fn record(&self) -> Value {
        let json = |value: &Option<Value>| {
            value.as_ref().map(|value| {
                if value.to_string().len() > MAX_JSON_BYTES {
                    serde_json::json!({ "truncated": true })
                } else {
                    value.clone()
                }
            })
        };
        serde_json::json!({
            "actor": self.actor,
            "actor_roles": self.actor_roles.join(","),
            "on_behalf_of": self.on_behalf_of,
            "action": self.action,
            "subject": self.subject,
            "outcome": self.outcome,
            "address": self.address,
            "request_id": self.request_id,
            "before": json(&self.before),
            "after": json(&self.after),
        })
    }
}

async fn insert(db: &DatabaseConnection, entries: &[&Entry]) -> Result<(), DbErr> {
    let rows = entries.iter().map(|entry| entry.row()).collect();
    let (list, values) = crate::db::values_list(rows, &TYPES);
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        format!("{INSERT} VALUES {list}"),
        values,
    ))
    .await?;
    Ok(())
}

/// JSON text for a jsonb column, or `{"truncated": true}` when it is too long.
fn bounded(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > MAX_JSON_BYTES {
        r#"{"truncated":true}"#.into()
    } else {
        text
    }
}

// --- sealing and verifying -------------------------------------------------------------------

/// The next chain hash: `sha256(previous || "\n" || entry id || "\n" || entry)`, hex.
pub fn chain_hash(previous: &str, entry_id: i64, entry: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(previous.as_bytes());
    hasher.update(b"\n");
    hasher.update(entry_id.to_string().as_bytes());
    hasher.update(b"\n");
    hasher.update(entry.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Seals what is waiting, at most [`SEAL_BATCH`] entries; the number sealed. Another sealer
/// of the same service busy at the same time makes this one return 0.
pub async fn seal(db: &DatabaseConnection) -> Result<usize, DbErr> {
    seal_looking(db, Look::Back).await
}

/// Where a sealer pass looks for entries to seal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Look {
    /// Only past the newest sealed entry: an index range, whatever the trail's size.
    Ahead,
    /// Also back over the [`SEAL_WINDOW`] ids before it, for entries whose transaction
    /// committed after a later one was sealed (an anti-join over those ids: tens of
    /// milliseconds with a busy trail, so not on every pass).
    Back,
}

/// [`seal`], looking only `look`.
pub async fn seal_looking(db: &DatabaseConnection, look: Look) -> Result<usize, DbErr> {
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    let locked = txn
        .query_one(Statement::from_string(
            backend,
            "SELECT pg_try_advisory_xact_lock(hashtext('bank.audit.seal:' || current_schema())) \
             AS locked",
        ))
        .await?
        .map(|row| row.try_get::<bool>("", "locked"))
        .transpose()?
        .unwrap_or(false);
    // Every way out ends the transaction here. A transaction merely dropped is rolled back by a
    // task the pool runs as its connection goes back, and until then it keeps the advisory
    // lock: the next pass, on another connection of the pool, would find it taken and seal
    // nothing.
    if !locked {
        txn.rollback().await?;
        return Ok(0);
    }
    let head = txn
        .query_one(Statement::from_string(
            backend,
            "SELECT position, hash, (SELECT max(entry_id) FROM audit_chain) AS newest \
             FROM audit_chain ORDER BY position DESC LIMIT 1",
        ))
        .await?;
    let (mut position, mut hash, newest) = match head {
        Some(row) => (
            row.try_get::<i64>("", "position")?,
            row.try_get::<String>("", "hash")?,
            row.try_get::<i64>("", "newest")?,
        ),
        None => (0, String::new(), 0),
    };
    let waiting = match look {
        Look::Ahead => {
            txn.query_all(Statement::from_sql_and_values(
                backend,
                "SELECT a.id, to_jsonb(a)::text AS entry FROM audit_log a \
                 WHERE a.id > $1 ORDER BY a.id LIMIT $2",
                [newest.into(), (SEAL_BATCH as i64).into()],
            ))
            .await?
        }
        Look::Back => {
            txn.query_all(Statement::from_sql_and_values(
                backend,
                "SELECT a.id, to_jsonb(a)::text AS entry FROM audit_log a \
                 WHERE a.id > $1 \
                   AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.entry_id = a.id) \
                 ORDER BY a.id LIMIT $2",
                [(newest - SEAL_WINDOW).into(), (SEAL_BATCH as i64).into()],
            ))
            .await?
        }
    };
    if waiting.is_empty() {
        txn.commit().await?;
        return Ok(0);
    }
    let mut sql = String::from("INSERT INTO audit_chain (position, entry_id, hash) VALUES ");
    let mut values: Vec<DbValue> = Vec::with_capacity(waiting.len() * 3);
    for (i, row) in waiting.iter().enumerate() {
        let id: i64 = row.try_get("", "id")?;
        let entry: String = row.try_get("", "entry")?;
        position += 1;
        hash = chain_hash(&hash, id, &entry);
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${})", i * 3 + 1, i * 3 + 2, i * 3 + 3));
        values.extend([position.into(), id.into(), hash.clone().into()]);
    }
    txn.execute(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    txn.commit().await?;
    CHAIN_POSITION.set(position);
    tracing::info!(
        position,
        head = %hash,
        sealed = waiting.len(),
        "audit chain sealed"
    );
    Ok(waiting.len())
}

/// Seals every `every` for as long as the process runs.
pub fn spawn_sealer(db: DatabaseConnection, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for pass in 0_u64.. {
            tick.tick().await;
            // Back over the window on the first pass and every tenth: an entry that committed
            // late is sealed within ten passes.
            let look = if pass % LOOK_BACK_EVERY == 0 {
                Look::Back
            } else {
                Look::Ahead
            };
            loop {
                match seal_looking(&db, look).await {
                    Ok(n) if n as u64 == SEAL_BATCH => continue,
                    Ok(_) => break,
                    Err(err) => {
                        tracing::warn!(error = %err, "audit sealing failed; retrying");
                        break;
                    }
                }
            }
        }
    });
}

/// What [`verify`] found.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(shareable, name = "AuditVerification")]
pub struct Verification {
    /// True when the chain is whole and every entry older than a minute is in it unchanged.
    pub ok: bool,
    /// Chain positions checked.
    pub sealed: i64,
    /// Entries older than a minute that are not sealed.
    pub unsealed: i64,
    /// The first problems found (an edited entry, a deleted one, a gap in the chain).
    pub problems: Vec<String>,
    /// The last chain hash: compare it with the one the sealer logged.
    pub head: Option<String>,
    pub checked_at: DateTime<Utc>,
}

/// Walks the whole chain and recomputes every hash from the entries as they are now.
pub async fn verify(db: &DatabaseConnection) -> Result<Verification, DbErr> {
    const PAGE: i64 = 5_000;
    const MAX_PROBLEMS: usize = 20;
    let backend = db.get_database_backend();
    let mut problems = Vec::new();
    let mut previous = String::new();
    let mut expected = 1_i64;
    loop {
        let rows = db
            .query_all(Statement::from_sql_and_values(
                backend,
                "SELECT c.position, c.entry_id, c.hash, to_jsonb(a)::text AS entry \
                 FROM audit_chain c LEFT JOIN audit_log a ON a.id = c.entry_id \
                 WHERE c.position >= $1 ORDER BY c.position LIMIT $2",
                [expected.into(), PAGE.into()],
            ))
            .await?;
        let count = rows.len() as i64;
        for row in rows {
            let position: i64 = row.try_get("", "position")?;
            let entry_id: i64 = row.try_get("", "entry_id")?;
            let stored: String = row.try_get("", "hash")?;
            let entry: Option<String> = row.try_get("", "entry")?;
            if position != expected && problems.len() < MAX_PROBLEMS {
                problems.push(format!(
                    "chain positions {expected} to {} are missing",
                    position - 1
                ));
            }
            match entry {
                None => problems.push(format!(
                    "entry {entry_id} (chain position {position}) was deleted"
                )),
                Some(entry) => {
                    if chain_hash(&previous, entry_id, &entry) != stored {
                        problems.push(format!(
                            "entry {entry_id} (chain position {position}) was changed, or the \
                             chain before it"
                        ));
                    }
                }
            }
            problems.truncate(MAX_PROBLEMS);
            // Going on from the stored hash tells one changed entry from a broken chain.
            previous = stored;
            expected = position + 1;
        }
        if count < PAGE {
            break;
        }
    }
    let unsealed = db
        .query_one(Statement::from_string(
            backend,
            "SELECT count(*) AS n FROM audit_log a WHERE a.at < now() - interval '1 minute' \
             AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.entry_id = a.id)",
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    if unsealed > 0 {
        problems.push(format!(
            "{unsealed} entries older than a minute are not sealed"
        ));
    }
    Ok(Verification {
        ok: problems.is_empty(),
        sealed: expected - 1,
        unsealed,
        problems,
        head: (expected > 1).then_some(previous),
        checked_at: Utc::now(),
    })
}

// --- the GraphQL extension -------------------------------------------------------------------

/// What a resolver adds to its mutation's entry ([`note`]).
#[derive(Debug, Clone, Default)]
pub struct Note {
    pub on_behalf_of: Option<String>,
    pub subject: Option<String>,
    pub before: Option<Value>,
    /// Merged into the entry's `after` under `"detail"`.
    pub detail: Option<Value>,
    /// The entry was stored in the same database transaction as the action ([`draft`],
    /// [`stored_with_effect`]): the extension does not store it again.
    stored: bool,
}

/// Per request: the notes of its mutation fields, by response key, and the fields themselves
/// with their arguments (for [`draft`]).
#[derive(Default)]
pub struct Notes {
    notes: Mutex<HashMap<String, Note>>,
    fields: Mutex<Vec<MutationField>>,
}

/// Adds to the audit entry of the mutation field `ctx` belongs to (no-op outside one).
pub fn note(ctx: &Context<'_>, change: impl FnOnce(&mut Note)) {
    let (Some(notes), Some(key)) = (ctx.data_opt::<Arc<Notes>>(), root_key(ctx)) else {
        return;
    };
    let mut notes = notes.notes.lock().expect("audit notes");
    change(notes.entry(key).or_default());
}

/// The response key of the root field `ctx` is under.
fn root_key(ctx: &Context<'_>) -> Option<String> {
    let mut node = ctx.path_node?;
    while let Some(parent) = node.parent {
        node = *parent;
    }
    match node.segment {
        async_graphql::QueryPathSegment::Name(name) => Some(name.to_string()),
        async_graphql::QueryPathSegment::Index(_) => None,
    }
}

/// The entry of the mutation field `ctx` belongs to as it stands now, for a resolver that
/// stores it in the same database transaction as its effect: then an action that happened
/// always has its entry, even if the process dies before answering. Its outcome is `OK`; its
/// answer is given when it is stored ([`Draft::answered`]). After the transaction commits, the
/// resolver calls [`stored_with_effect`] so that the extension does not store it again; a
/// refused action is stored by the extension as usual. `None` when the request is not audited
/// (a schema executed without [`Audit`], as in tests).
pub fn draft(ctx: &Context<'_>) -> Option<Draft> {
    let notes = ctx.data_opt::<Arc<Notes>>()?;
    let audit = ctx.data_opt::<Audit>()?;
    let key = root_key(ctx)?;
    let field = notes
        .fields
        .lock()
        .expect("audit fields")
        .iter()
        .find(|(field_key, _, _)| *field_key == key)?
        .clone();
    let note = notes
        .notes
        .lock()
        .expect("audit notes")
        .get(&key)
        .cloned()
        .unwrap_or_default();
    let requester = Requester::new(ctx.data_opt(), ctx.data_opt(), ctx.data_opt());
    Some(Draft(requester.entry(
        audit.service(),
        field,
        note,
        "OK".into(),
        None,
    )))
}

/// Says that the entry of the mutation field `ctx` belongs to was stored with its effect.
pub fn stored_with_effect(ctx: &Context<'_>) {
    note(ctx, |note| note.stored = true);
}

/// An entry stored with the action it records ([`draft`]).
#[derive(Debug, Clone)]
pub struct Draft(Entry);

impl Draft {
    /// The entry, with the action's answer (the ledger's: the transaction's id).
    pub fn answered(&self, answer: Value) -> Entry {
        let mut entry = self.0.clone();
        if let Some(Value::Object(after)) = entry.after.as_mut() {
            match after.get_mut("answer") {
                // Under the resolver's detail ([`Note::detail`]).
                Some(Value::Object(wrapped)) if wrapped.contains_key("detail") => {
                    wrapped.insert("result".into(), answer);
                }
                _ => {
                    after.insert("answer".into(), answer);
                }
            }
        }
        entry
    }
}

/// The request id a subgraph received (`x-request-id`).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Audits every mutation of the schema it is added to (needs [`Audit`] in the request's data;
/// without it, as in tests that execute a schema directly, nothing is recorded).
pub struct AuditExtension;

impl ExtensionFactory for AuditExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AuditRequest)
    }
}

/// A mutation field of a request: (response key, field name, arguments).
type MutationField = (String, String, Map<String, Value>);

/// The request's mutation fields are kept in its [`Notes`], where [`draft`] finds them too.
struct AuditRequest;

#[async_trait::async_trait]
impl Extension for AuditRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let (Some(_), Some(notes)) = (ctx.data_opt::<Audit>(), ctx.data_opt::<Arc<Notes>>()) else {
            return Ok(document);
        };
        let mut fields = Vec::new();
        for (_, operation) in document.operations.iter() {
            if operation.node.ty == OperationType::Mutation {
                root_fields(
                    &document,
                    &operation.node.selection_set.node,
                    variables,
                    0,
                    &mut fields,
                );
            }
        }
        *notes.fields.lock().expect("audit fields") = fields;
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        let (Some(audit), Some(notes)) = (ctx.data_opt::<Audit>(), ctx.data_opt::<Arc<Notes>>())
        else {
            return response;
        };
        let fields = std::mem::take(&mut *notes.fields.lock().expect("audit fields"));
        if fields.is_empty() {
            return response;
        }
        let mut notes = std::mem::take(&mut *notes.notes.lock().expect("audit notes"));
        // Every field's entry was stored with its effect (a ledger movement): nothing is left
        // to record, and the response need not be read.
        if fields
            .iter()
            .all(|field| notes.get(&field.0).is_some_and(|note| note.stored))
        {
            return response;
        }
        let requester = Requester::new(ctx.data_opt(), ctx.data_opt(), ctx.data_opt());
        let data = serde_json::to_value(&response.data).unwrap_or(Value::Null);
        let entries = fields
            .into_iter()
            .filter_map(|field| {
                let note = notes.remove(&field.0).unwrap_or_default();
                if note.stored {
                    return None;
                }
                let key = &field.0;
                let outcome = response
                    .errors
                    .iter()
                    .find(|error| {
                        matches!(error.path.first(),
                            Some(async_graphql::PathSegment::Field(first)) if first == key)
                            || error.path.is_empty()
                    })
                    .map(|error| {
                        error
                            .extensions
                            .as_ref()
                            .and_then(|ext| ext.get("code"))
                            .and_then(|code| match code {
                                async_graphql::Value::String(code) => Some(code.clone()),
                                async_graphql::Value::Enum(code) => Some(code.to_string()),
                                _ => None,
                            })
                            .unwrap_or_else(|| "ERROR".into())
                    })
                    .unwrap_or_else(|| "OK".into());
                let answer = data.get(key).cloned().map(redact);
                Some(requester.entry(audit.service(), field, note, outcome, answer))
            })
            .collect();
        audit.record(entries).await;
        response
    }
}

/// Who asked, as every entry of a request records it.
struct Requester<'a> {
    principal: Option<&'a Principal>,
    address: Option<String>,
    request_id: Option<String>,
}

impl<'a> Requester<'a> {
    fn new(
        principal: Option<&'a Principal>,
        address: Option<&ClientAddress>,
        request_id: Option<&RequestId>,
    ) -> Self {
        Requester {
            principal,
            address: address
                .and_then(|address| address.0)
                .map(|ip| ip.to_string()),
            request_id: request_id.map(|id| id.0.clone()),
        }
    }

    /// The entry of one mutation field: its arguments and answer with secrets removed, and
    /// what its resolver noted.
    fn entry(
        &self,
        service: &str,
        (_, name, arguments): MutationField,
        note: Note,
        outcome: String,
        answer: Option<Value>,
    ) -> Entry {
        let mut answer = answer;
        if let Some(detail) = note.detail {
            answer = Some(serde_json::json!({ "result": answer, "detail": detail }));
        }
        let arguments = redact(Value::Object(arguments));
        Entry {
            on_behalf_of: note.on_behalf_of,
            action: format!("{service}.{name}"),
            subject: note.subject.or_else(|| subject(&arguments)),
            outcome,
            address: self.address.clone(),
            request_id: self.request_id.clone(),
            before: note.before,
            after: Some(serde_json::json!({ "arguments": arguments, "answer": answer })),
            ..Entry::by(self.principal)
        }
    }
}

/// The root fields of a selection set (through fragments), arguments with variables applied.
fn root_fields(
    document: &ExecutableDocument,
    set: &SelectionSet,
    variables: &Variables,
    depth: usize,
    out: &mut Vec<MutationField>,
) {
    if depth > 16 {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                if field.name.node.starts_with("__") {
                    continue;
                }
                let arguments = field
                    .arguments
                    .iter()
                    .map(|(name, value)| {
                        let value = value
                            .node
                            .clone()
                            .into_const_with(|name| variables.get(&name).cloned().ok_or(()))
                            .ok()
                            .and_then(|value| value.into_json().ok())
                            .unwrap_or(Value::Null);
                        (name.node.to_string(), value)
                    })
                    .collect();
                out.push((
                    field.response_key().node.to_string(),
                    field.name.node.to_string(),
                    arguments,
                ));
            }
            Selection::InlineFragment(fragment) => {
                root_fields(
                    document,
                    &fragment.node.selection_set.node,
                    variables,
                    depth + 1,
                    out,
                );
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    root_fields(
                        document,
                        &fragment.node.selection_set.node,
                        variables,
                        depth + 1,
                        out,
                    );
                }
            }
        }
    }
}

/// Replaces the value of every key that names a password, a token or a secret.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let lower = key.to_ascii_lowercase();
                    if ["password", "token", "secret"]
                        .iter()
                        .any(|word| lower.contains(word))
                    {
                        (key, Value::String("[redacted]".into()))
                    } else {
                        (key, redact(value))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

/// What a mutation acted on, from its arguments (or its `input` object's).
fn subject(arguments: &Value) -> Option<String> {
    const KEYS: [&str; 9] = [
        "id",
        "accountId",
        "loanId",
        "userId",
        "paymentId",
        "mandateId",
        "standingOrderId",
        "fromAccountId",
        "email",
    ];
    let look = |map: &Value| {
        KEYS.iter().find_map(|key| match map.get(key) {
            Some(Value::String(text)) => Some(text.clone()),
            _ => None,
        })
    };
    look(arguments).or_else(|| arguments.get("input").and_then(look))
}

// --- reading it through the graph ------------------------------------------------------------

/// One audit entry.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(shareable)]
pub struct AuditEntry {
    pub id: ID,
    /// Its place in the chain; null until sealed (within a second or so).
    pub position: Option<i64>,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_roles: Vec<String>,
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub subject: Option<String>,
    pub outcome: String,
    pub address: Option<String>,
    pub request_id: Option<String>,
    /// JSON text.
    pub before: Option<String>,
    /// JSON text: the arguments and the answer, secrets removed.
    pub after: Option<String>,
}

/// A page of entries, newest first.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(shareable)]
pub struct AuditEntryConnection {
    pub nodes: Vec<AuditEntry>,
    pub page_info: PageInfo,
}

/// One service's audit trail (administrators only).
pub struct AuditTrail {
    service: &'static str,
    db: DatabaseConnection,
}

/// The trail of `service`, for an administrator; `FORBIDDEN` for anyone else.
pub fn trail(
    ctx: &Context<'_>,
    service: &'static str,
    db: &DatabaseConnection,
) -> Result<AuditTrail, ApiError> {
    let principal = ctx
        .data_opt::<Principal>()
        .ok_or_else(ApiError::unauthenticated)?;
    if !principal.has_role(Role::Admin) {
        return Err(ApiError::forbidden());
    }
    Ok(AuditTrail {
        service,
        db: db.clone(),
    })
}

#[Object(shareable)]
impl AuditTrail {
    async fn service(&self) -> &str {
        self.service
    }

    /// Entries newest first; `action` filters by the exact action (`users.login`).
    async fn entries(
        &self,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
        action: Option<String>,
    ) -> async_graphql::Result<AuditEntryConnection> {
        let limit = page_size(first)?;
        let before_id = after
            .as_deref()
            .map(|cursor| decode_cursor("audit", cursor))
            .transpose()?;
        let rows = self
            .db
            .query_all(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "SELECT a.id, c.position, a.at, a.actor, a.actor_roles, a.on_behalf_of, a.action, \
                 a.subject, a.outcome, a.address, a.request_id, a.before::text AS before, \
                 a.after::text AS after \
                 FROM audit_log a LEFT JOIN audit_chain c ON c.entry_id = a.id \
                 WHERE ($1::bigint IS NULL OR a.id < $1) AND ($2::text IS NULL OR a.action = $2) \
                 ORDER BY a.id DESC LIMIT $3",
                [before_id.into(), action.into(), (limit as i64 + 1).into()],
            ))
            .await
            .map_err(ApiError::from)?;
        let has_next_page = rows.len() as u64 > limit;
        let mut nodes = Vec::with_capacity(rows.len());
        for row in rows.into_iter().take(limit as usize) {
            let roles: String = row.try_get("", "actor_roles").map_err(ApiError::from)?;
            nodes.push(AuditEntry {
                id: ID(row
                    .try_get::<i64>("", "id")
                    .map_err(ApiError::from)?
                    .to_string()),
                position: row.try_get("", "position").map_err(ApiError::from)?,
                at: row.try_get("", "at").map_err(ApiError::from)?,
                actor: row.try_get("", "actor").map_err(ApiError::from)?,
                actor_roles: roles
                    .split(',')
                    .filter(|role| !role.is_empty())
                    .map(str::to_string)
                    .collect(),
                on_behalf_of: row.try_get("", "on_behalf_of").map_err(ApiError::from)?,
                action: row.try_get("", "action").map_err(ApiError::from)?,
                subject: row.try_get("", "subject").map_err(ApiError::from)?,
                outcome: row.try_get("", "outcome").map_err(ApiError::from)?,
                address: row.try_get("", "address").map_err(ApiError::from)?,
                request_id: row.try_get("", "request_id").map_err(ApiError::from)?,
                before: row.try_get("", "before").map_err(ApiError::from)?,
                after: row.try_get("", "after").map_err(ApiError::from)?,
            });
        }
        let cursor = |entry: &AuditEntry| {
            encode_cursor("audit", entry.id.parse::<i64>().unwrap_or_default())
        };
        Ok(AuditEntryConnection {
            page_info: PageInfo {
                has_next_page,
                has_previous_page: before_id.is_some(),
                start_cursor: nodes.first().map(cursor),
                end_cursor: nodes.last().map(cursor),
            },
            nodes,
        })
    }

    /// Walks the chain now (the whole trail: seconds for millions of entries).
    async fn verification(&self) -> async_graphql::Result<Verification> {
        Ok(verify(&self.db).await.map_err(ApiError::from)?)
    }
}

/// Defines `AuditLogRef`, the subgraph's part of the `AuditLog` entity: a field named after
/// the service with its trail (administrators only). The subgraph's query root adds the
/// entity resolver: `#[graphql(entity)] async fn find_audit_log_by_id(&self, id: ID) ->
/// AuditLogRef { AuditLogRef { id } }`.
#[macro_export]
macro_rules! audit_log_part {
    ($field:ident, $service:literal, $context:ty) => {
        /// The bank's audit trail (`auditLog`, administrators only): each service adds its own.
        pub struct AuditLogRef {
            pub id: async_graphql::ID,
        }

        #[async_graphql::Object(name = "AuditLog")]
        impl AuditLogRef {
            async fn id(&self) -> &async_graphql::ID {
                &self.id
            }

            /// This service's audit trail.
            async fn $field(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> async_graphql::Result<$crate::audit::AuditTrail> {
                Ok($crate::audit::trail(
                    ctx,
                    $service,
                    &ctx.data_unchecked::<$context>().db,
                )?)
            }
        }
    };
}

// --- metrics ---------------------------------------------------------------------------------

static WRITTEN: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    crate::metrics::service_metric(
        prometheus::IntCounter::new("audit_entries_written_total", "Audit entries stored")
            .expect("valid metric"),
    )
});

static WRITE_FAILURES: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    crate::metrics::service_metric(
        prometheus::IntCounter::new(
            "audit_write_failures_total",
            "Audit entries that could not be stored (each one is also an error in the log)",
        )
        .expect("valid metric"),
    )
});

static CHAIN_POSITION: LazyLock<prometheus::IntGauge> = LazyLock::new(|| {
    crate::metrics::service_metric(
        prometheus::IntGauge::new(
            "audit_chain_position",
            "The newest sealed position of the service's audit chain",
        )
        .expect("valid metric"),
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let value = serde_json::json!({
            "email": "a@b.c",
            "password": "hunter2",
            "input": { "refreshToken": "x", "items": [{ "clientSecret": "y", "n": 1 }] },
            "answer": { "accessToken": "z", "user": { "id": "u" } }
        });
        let text = redact(value).to_string();
        for secret in ["hunter2", "\"x\"", "\"y\"", "\"z\""] {
            assert!(!text.contains(secret), "{secret} left in {text}");
        }
        assert!(text.contains("a@b.c") && text.contains("\"u\""));
    }

    #[test]
    fn the_chain_hash_depends_on_everything_before() {
        let one = chain_hash("", 1, "{\"a\": 1}");
        assert_eq!(one.len(), 64);
        assert_ne!(one, chain_hash("", 1, "{\"a\": 2}"));
        assert_ne!(one, chain_hash("", 2, "{\"a\": 1}"));
        assert_ne!(
            chain_hash(&one, 2, "{}"),
            chain_hash(&chain_hash("", 1, "{\"a\": 2}"), 2, "{}")
        );
    }

    #[test]
    fn the_subject_comes_from_the_arguments_or_the_input() {
        let direct = serde_json::json!({ "accountId": "acc", "amount": 1 });
        assert_eq!(subject(&direct).as_deref(), Some("acc"));
        let nested = serde_json::json!({ "input": { "loanId": "loan" } });
        assert_eq!(subject(&nested).as_deref(), Some("loan"));
        assert_eq!(subject(&serde_json::json!({ "n": 1 })), None);
    }
}
