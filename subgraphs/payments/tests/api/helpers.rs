use std::{net::TcpListener, process::Stdio, time::Duration};

use bank_common::auth::Role;
use bank_testkit::{self as testkit, data, Client, TestKeys};
use payments_subgraph::{
    app::{self as payments_app, PaymentsConfig},
    gateway::GatewayClient,
    ledger::LedgerClient,
    store,
};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde_json::{json, Value};
use transactions_subgraph::{
    app::{self as ledger_app, CallingService, LedgerConfig, ServiceTokens},
    events::{self as ledger_events, AccountChanged},
    store as ledger_store,
};
use uuid::Uuid;

pub const WEBHOOK_SECRET: &str = "test-webhook-secret";
pub const SERVICE_TOKEN: &str = "test-payments-service-token";
/// Another service's token the ledger knows: it reaches none of the payments endpoints.
pub const LOANS_TOKEN: &str = "test-loans-service-token";

pub struct TestApp {
    pub client: Client,
    pub keys: TestKeys,
    pub db: DatabaseConnection,
    pub ledger_db: DatabaseConnection,
    pub ledger_client: Client,
    pub ledger_addr: std::net::SocketAddr,
    pub addr: std::net::SocketAddr,
    /// A handle on the running worker, for tests that drive one step by hand.
    pub worker: payments_subgraph::worker::Worker,
    /// The stand-in gateway's address.
    pub gateway_url: String,
    _gateway: tokio::process::Child,
}

#[derive(Clone)]
pub struct Caller {
    pub id: Uuid,
    pub token: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The stand-in gateway as a child process, killed with the test; `SLOW` and `STALL` payments
/// keep the client waiting `slow`.
async fn start_gateway(slow: Duration) -> (tokio::process::Child, String) {
    let port = free_port();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/payment_gateway.py"
    );
    let child = tokio::process::Command::new("python3")
        .args([
            script,
            "--port",
            &port.to_string(),
            "--secret",
            WEBHOOK_SECRET,
            "--delay",
            "0.1",
            "--slow",
            &slow.as_secs_f64().to_string(),
        ])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs the stand-in gateway");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (child, format!("http://127.0.0.1:{port}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the stand-in gateway did not start");
}

/// How the payments service talks to the gateway in a test.
#[derive(Clone, Copy)]
pub struct GatewayTuning {
    /// The client's timeout per call.
    pub timeout: Duration,
    /// Attempts before the worker gives a submission up.
    pub max_attempts: i32,
    /// How long the stand-in keeps `SLOW` and `STALL` payments waiting.
    pub slow: Duration,
}

impl Default for GatewayTuning {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_attempts: 8,
            slow: Duration::from_secs(3),
        }
    }
}

/// The ledger, the gateway and the payments service; `recovery_after` is how old a `PENDING`
/// payment must be before the worker asks the ledger for its debit again.
pub async fn spawn_app_with(recovery_after: Duration) -> TestApp {
    spawn_app_tuned(recovery_after, GatewayTuning::default()).await
}

/// [`spawn_app_with`] with the gateway's timing given.
pub async fn spawn_app_tuned(recovery_after: Duration, tuning: GatewayTuning) -> TestApp {
    let keys = TestKeys::new();
    let ledger = LedgerConfig {
        account_sync_wait: Duration::from_millis(200),
        consume_account_events: false,
        topic: testkit::fresh_topic("test-ledger").await,
        service_tokens: ServiceTokens::new([
            (CallingService::Payments, SERVICE_TOKEN.into()),
            (CallingService::Loans, LOANS_TOKEN.into()),
        ]),
        self_deposit_limit: Some(1_000_000),
        ..LedgerConfig::default()
    };
    let ledger_config = testkit::service_config(
        ledger_app::NAME,
        testkit::fresh_database(ledger_app::NAME).await,
    );
    let ledger_subgraph = ledger_app::build(ledger_config, ledger, keys.verifier())
        .await
        .expect("the ledger starts");
    let ledger_db = ledger_subgraph.db.clone();
    let ledger_addr = testkit::serve(ledger_subgraph.router()).await;

    let (gateway, gateway_url) = start_gateway(tuning.slow).await;
    let mut settings = PaymentsConfig {
        ledger_url: format!("http://{ledger_addr}"),
        ledger_service_token: Some(SERVICE_TOKEN.into()),
        gateway_url: gateway_url.clone(),
        webhook_secret: Some(WEBHOOK_SECRET.into()),
        gateway_timeout: tuning.timeout,
        run_worker: false,
        ..PaymentsConfig::default()
    };
    settings.worker.poll = Duration::from_millis(100);
    settings.worker.retry_base = Duration::from_millis(100);
    settings.worker.retry_max = Duration::from_millis(400);
    settings.worker.debit_recovery_after = recovery_after;
    settings.worker.max_attempts = tuning.max_attempts;
    let mut config = testkit::service_config(
        payments_app::NAME,
        testkit::fresh_database(payments_app::NAME).await,
    );
    config.database.max_connections = 20;
    let built = payments_app::build_with_worker(config, settings, keys.verifier())
        .await
        .expect("the payments service starts");
    let db = built.subgraph.db.clone();
    let addr = testkit::serve(built.subgraph.router()).await;
    // The worker starts once the callback address is known.
    let mut worker = built.worker;
    worker.gateway = GatewayClient::new(
        &gateway_url,
        &format!("http://{addr}/webhooks/gateway"),
        tuning.timeout,
    );
    tokio::spawn(worker.clone().run());
    TestApp {
        client: Client::new(addr),
        keys,
        db,
        ledger_db,
        ledger_client: Client::new(ledger_addr),
        ledger_addr,
        addr,
        worker,
        gateway_url,
        _gateway: gateway,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Duration::from_secs(30)).await
}

pub const PAYMENT_FIELDS: &str = "id status amount { amount currency } creditorName creditorIban \
    remittance failureCode failureReason debit { id } reversal { id } gatewayReference fromAccount { id }";

impl TestApp {
    pub fn caller(&self, roles: &[Role]) -> Caller {
        let id = Uuid::now_v7();
        Caller {
            id,
            token: self.keys.token(id, roles),
        }
    }

    pub fn customer(&self) -> Caller {
        self.caller(&[Role::Customer])
    }

    pub async fn gql(&self, caller: &Caller, query: &str, variables: Value) -> Value {
        self.client
            .query(Some(&caller.token), query, variables)
            .await
    }

    /// Applies an account event (`bank.account.frozen.v1`, ...) to the ledger's copy of `account`.
    pub async fn account_status(&self, account: Uuid, event_type: &str) {
        let row = self
            .ledger_db
            .query_one(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT number, owner_id, currency FROM ledger_accounts WHERE account_id = $1",
                [account.into()],
            ))
            .await
            .unwrap()
            .expect("the account is in the ledger");
        let changed = AccountChanged {
            account_id: account,
            owner_id: row.try_get("", "owner_id").unwrap(),
            number: row.try_get("", "number").unwrap(),
            currency: row
                .try_get::<String>("", "currency")
                .unwrap()
                .trim()
                .to_string(),
        };
        ledger_store::apply_account_event(
            &self.ledger_db,
            Uuid::now_v7(),
            event_type,
            &changed,
            5_000,
        )
        .await
        .expect("the ledger applies the event");
    }

    /// A ledger account for `owner` (as the accounts service's event would open it), funded.
    pub async fn funded_account(&self, owner: &Caller, currency: &str, amount: &str) -> Uuid {
        let account_id = Uuid::now_v7();
        let changed = AccountChanged {
            account_id,
            owner_id: owner.id,
            number: format!("XB00{:014}", Uuid::new_v4().as_u128() % 100_000_000_000_000),
            currency: currency.into(),
        };
        ledger_store::apply_account_event(
            &self.ledger_db,
            Uuid::now_v7(),
            ledger_events::ACCOUNT_OPENED,
            &changed,
            5_000,
        )
        .await
        .expect("the account opens in the ledger");
        if amount != "0" {
            let response = self
                .ledger_client
                .query(
                    Some(&owner.token),
                    "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
                    json!({ "i": { "accountId": account_id, "amount": amount, "idempotencyKey": Uuid::new_v4() } }),
                )
                .await;
            data(&response);
        }
        account_id
    }

    pub async fn balance(&self, account: Uuid) -> i64 {
        let row = self
            .ledger_db
            .query_one(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT balance_minor FROM ledger_accounts WHERE account_id = $1",
                [account.into()],
            ))
            .await
            .unwrap()
            .expect("the account exists");
        row.try_get("", "balance_minor").unwrap()
    }

    pub async fn ledger_transactions(&self, kind: &str) -> i64 {
        let row = self
            .ledger_db
            .query_one(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT count(*) AS n FROM transactions WHERE kind = $1",
                [kind.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    }

    pub async fn assert_ledger_consistent(&self) {
        let check = ledger_store::check_ledger(&self.ledger_db).await.unwrap();
        assert!(check.ok(), "ledger check failed: {check:?}");
    }

    pub async fn send(
        &self,
        caller: &Caller,
        from: Uuid,
        amount: &str,
        remittance: &str,
        key: &str,
    ) -> Value {
        self.gql(
            caller,
            &format!("mutation($i: SendPaymentInput!) {{ sendPayment(input: $i) {{ {PAYMENT_FIELDS} }} }}"),
            json!({ "i": { "fromAccountId": from, "creditorName": "Grace Hopper",
                           "creditorIban": "DE89 3704 0044 0532 0130 00", "amount": amount,
                           "remittance": remittance, "idempotencyKey": key } }),
        )
        .await
    }

    /// Sends a payment of `amount` under a fresh key and answers its id.
    pub async fn send_new(
        &self,
        caller: &Caller,
        from: Uuid,
        amount: &str,
        remittance: &str,
    ) -> String {
        let sent = self
            .send(
                caller,
                from,
                amount,
                remittance,
                &Uuid::new_v4().to_string(),
            )
            .await;
        data(&sent)["sendPayment"]["id"]
            .as_str()
            .expect("a payment id")
            .to_string()
    }

    /// A 25.00 EUR payment recorded by hand under `key` (`PENDING`: the worker leaves it alone
    /// until it is older than the recovery age), as a crash before the ledger was asked leaves it.
    pub async fn record_by_hand(
        &self,
        owner: &Caller,
        account: Uuid,
        key: &str,
    ) -> store::PaymentRow {
        let recorded = store::record_payment(
            &self.db,
            store::NewPayment {
                owner_id: owner.id,
                from_account_id: account,
                creditor_name: "Grace Hopper".into(),
                creditor_iban: "DE89370400440532013000".into(),
                currency: "EUR".into(),
                amount_minor: 2_500,
                remittance: None,
                key: key.into(),
                initiated_by: owner.id,
                standing_order_id: None,
            },
        )
        .await
        .expect("the payment is recorded");
        match recorded {
            store::Recorded::New(row) => row,
            store::Recorded::Existing(_) => panic!("a new payment"),
        }
    }

    /// The ledger's client as the payments service's background work calls it.
    pub fn ledger_as_service(&self) -> LedgerClient {
        LedgerClient::new(
            &format!("http://{}", self.ledger_addr),
            Some(SERVICE_TOKEN.into()),
        )
    }

    /// A counter or gauge of this service's `/metrics` (0 when absent).
    pub async fn metric(&self, name: &str) -> u64 {
        let body = reqwest::get(format!("http://{}/metrics", self.addr))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics body");
        body.lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .map(|value| value as u64)
            .unwrap_or(0)
    }

    pub async fn payment(&self, caller: &Caller, id: &str) -> Value {
        self.gql(
            caller,
            &format!("query($id: ID!) {{ payment(id: $id) {{ {PAYMENT_FIELDS} }} }}"),
            json!({ "id": id }),
        )
        .await
    }

    /// Waits until the payment reaches `status` (up to 30 s) and returns it.
    pub async fn wait_for_status(&self, caller: &Caller, id: &str, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..150 {
            last = self.payment(caller, id).await;
            if last["data"]["payment"]["status"] == status {
                return last["data"]["payment"].clone();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("payment {id} never reached {status}: {last:#}");
    }
}
