//! Test helpers for the services' integration tests.
//!
//! Each test gets its own database on the test PostgreSQL server (`TEST_DATABASE_URL`, the
//! maintenance database of a server where the role may create databases; on Citus,
//! `TEST_CITUS_WORKERS` names the workers and the database is made on each), its own service on
//! port 0, and tokens signed by a test key the service is told to trust.

use std::net::SocketAddr;

use jsonwebtoken::{encode, jwk::JwkSet, EncodingKey, Header};
use p256::{
    elliptic_curve::{rand_core::OsRng, sec1::ToEncodedPoint},
    pkcs8::{EncodePrivateKey, LineEnding},
    SecretKey,
};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};
use uuid::Uuid;

use bank_common::{
    auth::{Claims, Role, TokenVerifier, ALGORITHM},
    config::{AuthConfig, ServiceConfig, DEFAULT_AUDIENCE, DEFAULT_ISSUER},
    db::DbConfig,
};

pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://bank@127.0.0.1:55432/postgres";

/// Creates an empty database named after a fresh UUID and returns its settings for `schema`.
pub async fn fresh_database(schema: &str) -> DbConfig {
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_string());
    let name = format!("test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(&admin_url).await.unwrap_or_else(|err| {
        panic!("cannot reach the test PostgreSQL at {admin_url} ({err}); run scripts/pg.sh start")
    });
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the test database");
    admin.close().await.ok();
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("a database URL ends with /dbname");
    if let Some(workers) = citus_workers() {
        citus_database(&name, schema, &workers).await;
    }
    DbConfig {
        url: format!("{base}/{name}"),
        schema: schema.to_string(),
        max_connections: 10,
        min_connections: 1,
        acquire_timeout: std::time::Duration::from_secs(10),
    }
}

/// The Citus workers of the test cluster (`TEST_CITUS_WORKERS`, `host:port` comma-separated), when
/// the tests run on Citus (`BANK_DB=citus make test`).
pub fn citus_workers() -> Option<Vec<String>> {
    let workers = std::env::var("TEST_CITUS_WORKERS").ok()?;
    let workers: Vec<String> = workers
        .split(',')
        .map(str::trim)
        .filter(|worker| !worker.is_empty())
        .map(str::to_string)
        .collect();
    (!workers.is_empty()).then_some(workers)
}

/// The superuser's URL for `database` on `host_port` (creating the extension and registering
/// nodes take a superuser; the services' role does not have it).
pub fn superuser_url(host_port: &str, database: &str) -> String {
    let user = std::env::var("TEST_DATABASE_SUPERUSER").unwrap_or_else(|_| "postgres".into());
    format!("postgres://{user}@{host_port}/{database}")
}

async fn superuser_run(host_port: &str, database: &str, statements: &[String]) {
    let url = superuser_url(host_port, database);
    let db = Database::connect(&url)
        .await
        .unwrap_or_else(|err| panic!("cannot reach {url} ({err})"));
    for statement in statements {
        db.execute_unprepared(statement)
            .await
            .unwrap_or_else(|err| panic!("{statement} on {host_port}/{database}: {err}"));
    }
    db.close().await.ok();
}

/// Makes the fresh database `name` a Citus database: the same database on every worker, the
/// extension everywhere, and the coordinator and workers registered in its metadata (which is
/// per database), as `scripts/pg.sh` does for `bank`. It also creates the (empty) `schema`,
/// which makes Citus copy the owning role to the workers: roles are shared by all databases of
/// a node, so tests preparing databases at once would collide there ("tuple concurrently
/// updated"); one test prepares at a time, under an advisory lock in the `postgres` database.
async fn citus_database(name: &str, schema: &str, workers: &[String]) {
    let (owner, coordinator) = test_server();
    let (host, port) = coordinator
        .rsplit_once(':')
        .expect("the test database URL names host:port");
    let lock_url = superuser_url(&coordinator, "postgres");
    let lock = Database::connect(&lock_url)
        .await
        .unwrap_or_else(|err| panic!("cannot reach {lock_url} ({err})"));
    lock.execute_unprepared("SELECT pg_advisory_lock(hashtext('bank.testkit.citus'))")
        .await
        .expect("the test setup lock");
    let mut statements = vec![
        "CREATE EXTENSION citus".to_string(),
        format!("SELECT citus_set_coordinator_host('{host}', {port})"),
    ];
    for worker in workers {
        node_database(worker, name, &owner).await;
        statements.push(add_node(worker));
    }
    statements.push(format!("CREATE SCHEMA \"{schema}\" AUTHORIZATION {owner}"));
    superuser_run(&coordinator, name, &statements).await;
    lock.close().await.ok();
}

/// The database `name` with the extension on the node `host_port`.
async fn node_database(host_port: &str, name: &str, owner: &str) {
    superuser_run(
        host_port,
        "postgres",
        &[format!("CREATE DATABASE {name} OWNER {owner}")],
    )
    .await;
    superuser_run(host_port, name, &["CREATE EXTENSION citus".into()]).await;
}

fn add_node(host_port: &str) -> String {
    let (host, port) = host_port
        .rsplit_once(':')
        .expect("a Citus node is host:port");
    format!("SELECT citus_add_node('{host}', {port})")
}

/// The role and the `host:port` of the test server (`TEST_DATABASE_URL`; on Citus, the
/// coordinator).
fn test_server() -> (String, String) {
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_string());
    let without_scheme = admin_url.trim_start_matches("postgres://");
    let (user, rest) = without_scheme
        .split_once('@')
        .expect("the test database URL names its role");
    let host_port = rest
        .split('/')
        .next()
        .expect("the test database URL names host:port");
    (
        user.split(':').next().unwrap_or(user).to_string(),
        host_port.to_string(),
    )
}

/// The test coordinator's `host:port`.
pub fn coordinator() -> String {
    test_server().1
}

/// Adds `worker` (`host:port`, a running node with Citus preloaded) to the Citus database
/// `name`: the database and the extension on the node, then `citus_add_node` on the
/// coordinator. Placing shards on it is a rebalance's job.
pub async fn citus_add_worker(name: &str, worker: &str) {
    let (owner, coordinator) = test_server();
    node_database(worker, name, &owner).await;
    superuser_run(&coordinator, name, &[add_node(worker)]).await;
}

/// Service settings for a test: loopback port 0, the given database, the test broker
/// (`TEST_KAFKA_BROKERS`), default limits.
pub fn service_config(name: &'static str, database: DbConfig) -> ServiceConfig {
    let mut config = ServiceConfig::from_env(name, 0).expect("defaults are valid");
    config.listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    config.database = database;
    config.kafka.brokers = kafka_brokers();
    config
}

pub fn kafka_brokers() -> String {
    std::env::var("TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".to_string())
}

/// Creates topics of 3 partitions on the test broker, so a test's events stay apart from every
/// other test's (the shared topics hold them all).
pub async fn create_topics(names: &[&str]) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<_> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .create()
        .expect("an admin client");
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|name| NewTopic::new(name, 3, TopicReplication::Fixed(1)))
        .collect();
    for result in admin
        .create_topics(&topics, &AdminOptions::new())
        .await
        .expect("create topics")
    {
        result.expect("the topic is created");
    }
}

/// A fresh topic name with `prefix`, created on the test broker.
pub async fn fresh_topic(prefix: &str) -> String {
    let name = format!("{prefix}-{}", Uuid::new_v4().simple());
    create_topics(&[&name]).await;
    name
}

/// Reads `topic` from the beginning in a fresh consumer group, keeping the events `keep`
/// accepts, until `done` says the collection is complete and a further `settle` passed without
/// more kept events (so duplicates would be seen), or until `timeout` runs out.
pub async fn collect_events(
    topic: &str,
    keep: impl Fn(&Value) -> bool,
    done: impl Fn(&[Value]) -> bool,
    timeout: std::time::Duration,
) -> Vec<Value> {
    use rdkafka::{consumer::Consumer, Message};
    let settle = std::time::Duration::from_millis(1500);
    let consumer = bank_common::kafka::KafkaConfig::new(kafka_brokers(), "testkit")
        .consumer(&format!("test-{}", Uuid::new_v4()))
        .expect("a consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = tokio::time::Instant::now() + timeout;
    let mut found = Vec::new();
    let mut quiet_until: Option<tokio::time::Instant> = None;
    loop {
        let until = quiet_until.map_or(deadline, |at| at.min(deadline));
        match tokio::time::timeout_at(until, consumer.recv()).await {
            Err(_) => break,
            Ok(Err(err)) => panic!("consuming {topic}: {err}"),
            Ok(Ok(message)) => {
                let Some(payload) = message.payload() else {
                    continue;
                };
                let event: Value = serde_json::from_slice(payload).expect("JSON events");
                if keep(&event) {
                    found.push(event);
                    if done(&found) {
                        quiet_until = Some(tokio::time::Instant::now() + settle);
                    }
                }
            }
        }
    }
    found
}

/// The events on `topic` whose `subject` is `subject` (see [`collect_events`]), once `expected`
/// of them arrived.
pub async fn events_for(
    topic: &str,
    subject: &str,
    expected: usize,
    timeout: std::time::Duration,
) -> Vec<Value> {
    collect_events(
        topic,
        |event| event["subject"] == subject,
        |found| found.len() >= expected,
        timeout,
    )
    .await
}

/// An ES256 key pair that signs test tokens.
#[derive(Clone)]
pub struct TestKeys {
    pub kid: String,
    encoding: EncodingKey,
    jwks: JwkSet,
    jwks_json: Value,
    pub auth: AuthConfig,
}

impl Default for TestKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl TestKeys {
    pub fn new() -> Self {
        let secret = SecretKey::random(&mut OsRng);
        let pem = secret.to_pkcs8_pem(LineEnding::LF).expect("encode key");
        let point = secret.public_key().to_encoded_point(false);
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        let kid = format!("test-{}", Uuid::new_v4().simple());
        let jwks_json = json!({
            "keys": [{
                "kty": "EC",
                "crv": "P-256",
                "use": "sig",
                "alg": "ES256",
                "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")),
                "y": URL_SAFE_NO_PAD.encode(point.y().expect("y")),
            }]
        });
        let jwks: JwkSet = serde_json::from_value(jwks_json.clone()).expect("a valid JWKS");
        Self {
            kid,
            encoding: EncodingKey::from_ec_pem(pem.as_bytes()).expect("a valid key"),
            jwks,
            jwks_json,
            auth: AuthConfig {
                jwks_url: "http://127.0.0.1:9/unused".into(),
                issuer: DEFAULT_ISSUER.into(),
                audience: DEFAULT_AUDIENCE.into(),
            },
        }
    }

    /// Serves the public keys over HTTP, as the users service does; returns the JWKS URL.
    pub async fn serve_jwks(&self) -> String {
        let jwks = self.jwks_json.clone();
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
        format!("http://{}/jwks.json", serve(app).await)
    }

    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier::with_keys(&self.auth, &self.jwks)
    }

    /// Valid claims for `user` with `roles`, expiring in 5 minutes.
    pub fn claims(&self, user: Uuid, roles: &[Role]) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            iss: self.auth.issuer.clone(),
            aud: self.auth.audience.clone(),
            sub: user,
            roles: roles.to_vec(),
            iat: now,
            exp: now + 300,
            jti: Uuid::new_v4(),
            sid: None,
        }
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.kid.clone());
        header.typ = Some(bank_common::auth::ACCESS_TOKEN_TYPE.into());
        encode(&header, claims, &self.encoding).expect("sign")
    }

    /// A valid token for `user`.
    pub fn token(&self, user: Uuid, roles: &[Role]) -> String {
        self.sign(&self.claims(user, roles))
    }
}

/// An unsigned token (`alg: none`) with the given claims.
pub fn unsigned_token(claims: &Claims) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims"));
    format!("{header}.{body}.")
}

/// Serves `app` on a loopback port; returns the address.
/// A service's `/metrics` page, as Prometheus scrapes it.
pub async fn metrics(addr: SocketAddr) -> String {
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("the service answers /metrics")
        .text()
        .await
        .expect("a text page")
}

pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a port");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    addr
}

/// A GraphQL client for one service.
#[derive(Clone)]
pub struct Client {
    pub url: String,
    pub http: reqwest::Client,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            url: format!("http://{addr}/graphql"),
            http: reqwest::Client::new(),
        }
    }

    /// Posts a query; returns the whole response body.
    pub async fn query(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.try_query(token, query, variables)
            .await
            .expect("the service answers with JSON")
    }

    /// Like [`Client::query`], for services that may be down (crash tests).
    pub async fn try_query(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Result<Value, reqwest::Error> {
        let mut request = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await?.json().await
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// Panics with the response when it has errors; returns `data`.
pub fn data(response: &Value) -> &Value {
    assert!(
        response.get("errors").is_none_or(|errors| errors.is_null()),
        "unexpected errors: {response:#}"
    );
    &response["data"]
}

/// A service's real binary run as a child process on a fixed loopback port, for tests that
/// kill it (SIGKILL) and start it again.
pub struct ServiceProcess {
    binary: String,
    env: Vec<(String, String)>,
    pub port: u16,
    child: Option<tokio::process::Child>,
}

impl ServiceProcess {
    /// `prefix` is the service's variable prefix (`ACCOUNTS`); `env` the rest of its settings.
    pub fn new(binary: &str, prefix: &str, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut vars: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vars.push((format!("{prefix}_LISTEN_ADDR"), format!("127.0.0.1:{port}")));
        vars.push(("RUST_LOG".into(), "warn".into()));
        Self {
            binary: binary.to_string(),
            env: vars,
            port,
            child: None,
        }
    }

    /// Starts the binary (`serve`) and waits until `/readyz` answers.
    pub async fn start(&mut self) {
        let child = tokio::process::Command::new(&self.binary)
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("{} starts: {err}", self.binary));
        self.child = Some(child);
        let url = format!("http://127.0.0.1:{}/readyz", self.port);
        for _ in 0..150 {
            if reqwest::get(&url)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{} did not become ready", self.binary);
    }

    /// SIGKILL: no shutdown, no flushing.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("SIGKILL");
            child.wait().await.ok();
        }
    }

    pub fn client(&self) -> Client {
        Client::new(([127, 0, 0, 1], self.port).into())
    }
}
