//! A client of the running bank, as its users see it: HTTPS through NGINX, the development CA
//! trusted, GraphQL over HTTP and graphql-ws.
//!
//! Settings come from the environment that `scripts/test.sh` sets: `BANK_URL`, `BANK_CA`,
//! `BANK_ADMIN_EMAIL`, `BANK_ADMIN_PASSWORD`, `BANK_DATABASE_URL`.

use std::{process::Command, sync::Arc};

use anyhow::{bail, Context};
use base64::{engine::general_purpose::STANDARD, Engine};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const PASSWORD: &str = "correct horse 42";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// How long a test client waits out NGINX's rate limit before it takes the 429 as the answer.
const RATE_LIMIT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// The bank as a client reaches it.
#[derive(Clone)]
pub struct Bank {
    pub url: String,
    pub http: reqwest::Client,
    ca_pem: Vec<u8>,
}

/// One GraphQL response with its HTTP status.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    /// `data`, or a panic with the whole reply (errors, or an answer that is no GraphQL
    /// answer at all, such as NGINX's).
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none_or(Value::is_null),
            "unexpected errors: {self:#?}"
        );
        assert!(
            self.status.is_success() && self.body.get("data").is_some(),
            "no GraphQL data: {self:#?}"
        );
        &self.body["data"]
    }
}

/// A signed-in customer.
pub struct Customer {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// Asserts unread counts (receiver, sender) of one notification per posting: one per transfer
/// received, one per transfer sent plus the sender's deposit.
#[track_caller]
pub fn assert_one_notification_per_posting(counts: (i64, i64), transfers: i64) {
    assert_eq!(
        counts.0, transfers,
        "receiver: one notification per transfer received"
    );
    assert_eq!(
        counts.1,
        transfers + 1,
        "sender: one per transfer sent, plus the deposit"
    );
}

/// Every part of the reconciliation, with what an operator needs to act on a mismatch.
pub const RECONCILIATION: &str = "{ reconciliation { \
    ledger { ok balanceMismatches holdMismatches unbalancedTransactions overdrawnAccounts \
             accountsChecked transactionsChecked } \
    payments { ok recordsChecked ledgerTransactionsChecked mismatches { kind reference detail } \
               suspense { reference amount { amount currency } } } \
    loans { ok recordsChecked ledgerTransactionsChecked mismatches { kind reference detail } } } }";

/// Whether every part of a reconciliation reply is clean.
pub fn reconciliation_is_clean(reply: &Value) -> bool {
    let r = &reply["data"]["reconciliation"];
    r["ledger"]["ok"] == true && r["payments"]["ok"] == true && r["loans"]["ok"] == true
}

impl Bank {
    pub fn from_env() -> anyhow::Result<Self> {
        let url = env_or("BANK_URL", "https://localhost:8443");
        let ca_path = env_or("BANK_CA", ".data/certs/ca.pem");
        let ca_pem =
            std::fs::read(&ca_path).with_context(|| format!("reading the CA at {ca_path}"))?;
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca_pem)?)
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Self { url, http, ca_pem })
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.url)
    }

    pub async fn query(&self, token: Option<&str>, query: &str, variables: Value) -> Reply {
        self.query_with_headers(token, query, variables, &[]).await
    }

    pub async fn query_with_headers(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.send(token, query, variables, headers)
            .await
            .expect("NGINX answers")
    }

    /// [`Bank::query`] for clients that outlive faults: a refused connection or a lost answer
    /// is an error, not a panic.
    pub async fn try_query(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Result<Reply, reqwest::Error> {
        self.send(token, query, variables, &[]).await
    }

    async fn send(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        headers: &[(&str, &str)],
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self
            .http
            .post(self.graphql_url())
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        // A client that is asked to slow down (NGINX's 429: the suites sign up many customers
        // from one address at once) waits and tries again, as a browser's user would; the
        // limit itself is tested from addresses of its own.
        let mut waited = std::time::Duration::ZERO;
        loop {
            let response = request
                .try_clone()
                .expect("a JSON body clones")
                .send()
                .await?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS && waited < RATE_LIMIT_PATIENCE {
                let pause = std::time::Duration::from_millis(250);
                tokio::time::sleep(pause).await;
                waited += pause;
                continue;
            }
            let text = response.text().await?;
            let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
            return Ok(Reply { status, body });
        }
    }

    /// Asks to open an account (the answer is only a message: the rest comes by e-mail).
    pub async fn register(&self, email: &str) -> Reply {
        self.query(
            None,
            "mutation($i: RegisterInput!) { register(input: $i) { message } }",
            json!({ "i": { "email": email, "password": PASSWORD, "fullName": "End To End" } }),
        )
        .await
    }

    /// Confirms a registration with the link's token and the password; signs in.
    pub async fn verify_email(&self, token: &str, password: &str) -> Reply {
        self.query(
            None,
            "mutation($i: VerifyEmailInput!) { verifyEmail(input: $i) { accessToken refreshToken user { id email } } }",
            json!({ "i": { "token": token, "password": password } }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.query(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken user { id email roles } } }",
            json!({ "i": { "email": email, "password": password } }),
        )
        .await
    }

    /// Registers a customer with a unique e-mail address, confirmed as a person would: with
    /// the link from the e-mail the bank sent (read from the mail catcher) and the password.
    pub async fn new_customer(&self, name: &str) -> Customer {
        let email = format!("{name}-{}@e2e.test", uuid::Uuid::new_v4().simple());
        self.register(&email).await.data();
        let token = confirmation_token(&email)
            .await
            .expect("the confirmation e-mail");
        let reply = self.verify_email(&token, PASSWORD).await;
        let payload = &reply.data()["verifyEmail"];
        Customer {
            id: payload["user"]["id"].as_str().unwrap().to_string(),
            email,
            token: payload["accessToken"].as_str().unwrap().to_string(),
        }
    }

    pub async fn admin_token(&self) -> String {
        let email = env_or("BANK_ADMIN_EMAIL", "admin@bank.local");
        let password = std::env::var("BANK_ADMIN_PASSWORD").expect("BANK_ADMIN_PASSWORD is set");
        let reply = self.login(&email, &password).await;
        reply.data()["login"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A new member of staff, for the second pair of eyes: a user the administrator makes a
    /// teller, signed in again so that the token carries the role.
    pub async fn new_teller(&self) -> String {
        let staff = self.new_customer("teller").await;
        let admin = self.admin_token().await;
        self.query(
            Some(&admin),
            "mutation($u: ID!) { setUserRoles(userId: $u, roles: [TELLER]) { id } }",
            json!({ "u": staff.id }),
        )
        .await
        .data();
        let reply = self.login(&staff.email, PASSWORD).await;
        reply.data()["login"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Four eyes: `first` and `second` (two members of staff) approve the loan and pay it out;
    /// the loan's status after the second payout call.
    pub async fn approve_and_pay_out(&self, first: &str, second: &str, loan: &Value) -> Value {
        let mut status = Value::Null;
        for step in ["approveLoan", "disburseLoan"] {
            for token in [first, second] {
                let reply = self
                    .query(
                        Some(token),
                        &format!("mutation($id: ID!) {{ {step}(id: $id) {{ status }} }}"),
                        json!({ "id": loan }),
                    )
                    .await;
                status = reply.data()[step]["status"].clone();
            }
        }
        status
    }

    /// Pays `amount` into the account (`account_id` as the API gave it) as `token`'s holder.
    pub async fn deposit(&self, token: &str, account_id: &Value, amount: &str) -> Reply {
        self.query(
            Some(token),
            "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
            json!({ "i": { "accountId": account_id, "amount": amount, "idempotencyKey": uuid::Uuid::new_v4() } }),
        )
        .await
    }

    /// The bank's reconciliation as staff read it through the graph: the ledger's invariants
    /// and each service's records against the ledger (docs/reliability.md).
    pub async fn reconciliation(&self, token: &str) -> Reply {
        self.query(Some(token), RECONCILIATION, json!({})).await
    }

    /// The customer's unread notifications.
    pub async fn unread(&self, token: &str) -> i64 {
        self.query(
            Some(token),
            "{ me { notifications(first: 1) { unreadCount } } }",
            serde_json::json!({}),
        )
        .await
        .data()["me"]["notifications"]["unreadCount"]
            .as_i64()
            .expect("an unread count")
    }

    /// After `transfers` transfers from `sender` to `receiver` (and the sender's one deposit):
    /// waits up to 60 s until each has at least one unread notification per posting, then 2 s
    /// more so that a late duplicate would show. Answers the counts (receiver, sender) when
    /// they were first complete and after the pause.
    pub async fn unread_after_transfers(
        &self,
        receiver: &Customer,
        sender: &Customer,
        transfers: i64,
    ) -> ((i64, i64), (i64, i64)) {
        let counts = || async {
            (
                self.unread(&receiver.token).await,
                self.unread(&sender.token).await,
            )
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut first = counts().await;
        while (first.0 < transfers || first.1 <= transfers) && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            first = counts().await;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        (first, counts().await)
    }

    pub async fn open_account(&self, customer: &Customer, currency: &str) -> Value {
        let reply = self
            .query(
                Some(&customer.token),
                "mutation($i: OpenAccountInput!) { openAccount(input: $i) { id number currency status } }",
                json!({ "i": { "kind": "CHECKING", "currency": currency } }),
            )
            .await;
        reply.data()["openAccount"].clone()
    }

    /// TLS settings that trust the development CA, for WebSocket clients.
    pub fn tls_config(&self) -> anyhow::Result<Arc<rustls::ClientConfig>> {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&self.ca_pem) {
            roots.add(cert?)?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// The mail catcher's Maildir (`BANK_MAIL_DIR`, the local stack's `.data/mail` by default).
pub fn mail_dir() -> std::path::PathBuf {
    std::env::var("BANK_MAIL_DIR")
        .map(Into::into)
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../.data/mail").into())
}

/// The e-mails to `address` the mail catcher holds, their bodies decoded (quoted-printable or
/// base64, as the sender chose), oldest first.
pub fn mails_to(address: &str) -> Vec<String> {
    let mut found = Vec::new();
    for folder in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(mail_dir().join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            let (headers, body) = text
                .replace("\r\n", "\n")
                .split_once("\n\n")
                .map(|(h, b)| (h.to_string(), b.to_string()))
                .unwrap_or_default();
            let to = headers
                .lines()
                .find(|line| line.to_ascii_lowercase().starts_with("to:"))
                .unwrap_or_default()
                .to_string();
            if !to.contains(address) {
                continue;
            }
            let encoding = headers.to_ascii_lowercase();
            let body = if encoding.contains("content-transfer-encoding: quoted-printable") {
                decode_quoted_printable(&body)
            } else if encoding.contains("content-transfer-encoding: base64") {
                let compact: String = body.split_whitespace().collect();
                String::from_utf8_lossy(&STANDARD.decode(compact).unwrap_or_default()).into_owned()
            } else {
                body
            };
            let modified = entry.metadata().and_then(|m| m.modified()).ok();
            found.push((modified, body));
        }
    }
    found.sort_by_key(|(modified, _)| *modified);
    found.into_iter().map(|(_, body)| body).collect()
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits (up to 20 s) for the confirmation e-mail to `address` and returns its link's token.
pub async fn confirmation_token(address: &str) -> anyhow::Result<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(token) = mails_to(address)
            .iter()
            .rev()
            .find_map(|body| body.split("verify-email?token=").nth(1))
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect::<String>()
            })
        {
            return Ok(token);
        }
        if std::time::Instant::now() > deadline {
            bail!(
                "no confirmation e-mail to {address} in {}",
                mail_dir().display()
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The administrator's URL of the bank's database (`BANK_DATABASE_URL`).
pub fn database_url() -> String {
    env_or("BANK_DATABASE_URL", "postgres://bank@127.0.0.1:55432/bank")
}

/// The URL `service` connects with: the administrator's, with the service's own role
/// (`bank_<service>`, k8s/base/db-roles.sql).
pub fn service_database_url(service: &str) -> anyhow::Result<String> {
    let mut url = reqwest::Url::parse(&database_url())?;
    url.set_username(&format!("bank_{service}"))
        .map_err(|()| anyhow::anyhow!("the database URL has no user"))?;
    Ok(url.to_string())
}

/// `psql` with `url`; one value per line, or psql's error message.
pub fn psql(url: &str, sql: &str) -> anyhow::Result<Vec<String>> {
    let output = Command::new("psql")
        .args([url, "-AtX", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .context("running psql")?;
    if !output.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// The users service's current signing key (kid, PKCS#8 PEM), read from its database, so tests
/// can make tokens that are correctly signed but expired or meant for someone else.
pub fn current_signing_key() -> anyhow::Result<(String, String)> {
    let url = database_url();
    let output = Command::new("psql")
        .args([
            url.as_str(),
            "-At",
            "-F",
            " ",
            "-c",
            "SELECT kid, translate(encode(convert_to(private_key_pem, 'UTF8'), 'base64'), E'\\n', '') \
             FROM users.signing_keys WHERE retired_at IS NULL AND signs_from <= now() \
             ORDER BY signs_from DESC LIMIT 1",
        ])
        .output()
        .context("running psql")?;
    if !output.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let line = String::from_utf8(output.stdout)?;
    let (kid, pem_b64) = line.trim().split_once(' ').context("a key row")?;
    let stored = String::from_utf8(STANDARD.decode(pem_b64)?)?;
    if !stored.starts_with("enc:v1:") {
        return Ok((kid.to_string(), stored));
    }
    // Encrypted at rest: with the stack's key (the environment, or .data/secrets.env).
    let key = match std::env::var("BANK_KEY_ENCRYPTION_KEY") {
        Ok(key) => key,
        Err(_) => {
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../.data/secrets.env"))?
                .lines()
                .find_map(|line| line.strip_prefix("BANK_KEY_ENCRYPTION_KEY="))
                .context("BANK_KEY_ENCRYPTION_KEY in the environment or .data/secrets.env")?
                .to_string()
        }
    };
    let pem = users_subgraph::keys::KeyEncryptionKey::parse(&key)?.open(kid, &stored)?;
    Ok((kid.to_string(), pem))
}

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One graphql-transport-ws subscription over WSS through NGINX.
pub struct Subscription {
    socket: Stream,
}

impl Bank {
    /// Connects over WSS, authenticates in `connection_init` with `token`, and subscribes to
    /// `query`. `Err` when the connection is refused (for example a bad token).
    pub async fn subscribe(&self, token: &str, query: &str) -> anyhow::Result<Subscription> {
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::{
            connect_async_tls_with_config,
            tungstenite::{client::IntoClientRequest, http::HeaderValue, Message},
            Connector,
        };
        let url = self.graphql_url().replacen("https://", "wss://", 1);
        let mut request = url.into_client_request()?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let connector = Connector::Rustls(self.tls_config()?);
        let (mut socket, _) =
            connect_async_tls_with_config(request, None, false, Some(connector)).await?;
        let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
        socket.send(Message::Text(init.to_string().into())).await?;
        let ack = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .context("no answer to connection_init")?;
        match ack {
            Some(Ok(Message::Text(text))) if text.contains("connection_ack") => {}
            other => bail!("connection refused: {other:?}"),
        }
        let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query } });
        socket
            .send(Message::Text(subscribe.to_string().into()))
            .await?;
        Ok(Subscription { socket })
    }
}

impl Subscription {
    /// The next result (`payload` of a `next` message) within `timeout`; `None` if nothing
    /// came or the subscription ended. Errors sent by the server are returned as results too.
    pub async fn next(&mut self, timeout: std::time::Duration) -> Option<Value> {
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??
                .ok()?;
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).ok()?;
            match value["type"].as_str() {
                Some("next") => return Some(value["payload"].clone()),
                Some("error") => return Some(json!({ "errors": value["payload"] })),
                Some("complete") => return None,
                Some("ping") => {
                    let pong = json!({ "type": "pong" }).to_string();
                    self.socket.send(Message::Text(pong.into())).await.ok()?;
                }
                _ => {}
            }
        }
    }

    /// How the subscription ended within `timeout`, as the client saw it (`error: …`,
    /// `complete`, `close <code>`, `closed`), or `None` while it is still open. Results that
    /// arrive meanwhile are skipped.
    pub async fn ended(&mut self, timeout: std::time::Duration) -> Option<String> {
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return None,
                Ok(None) => return Some("closed".into()),
                Ok(Some(Err(err))) => return Some(format!("closed: {err}")),
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Close(frame) => {
                    return Some(format!(
                        "close {}",
                        frame.map_or(1005, |frame| u16::from(frame.code))
                    ))
                }
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).unwrap_or_default();
                    match value["type"].as_str() {
                        Some("error") => return Some(format!("error: {}", value["payload"])),
                        Some("complete") => return Some("complete".into()),
                        Some("ping") => {
                            let pong = json!({ "type": "pong" }).to_string();
                            self.socket.send(Message::Text(pong.into())).await.ok();
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }

    pub async fn close(mut self) {
        self.socket.close(None).await.ok();
    }
}
