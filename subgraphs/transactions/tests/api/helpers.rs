use std::time::Duration;

use bank_common::auth::Role;
use bank_testkit::{self as testkit, data, error_code, Client, TestKeys};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};
use transactions_subgraph::{
    app::{self, CallingService, LedgerConfig, ServiceTokens},
    events::{self, AccountChanged},
    store,
};
use uuid::Uuid;

pub struct TestApp {
    pub client: Client,
    pub keys: TestKeys,
    pub db: DatabaseConnection,
    pub addr: std::net::SocketAddr,
    pub topic: String,
}

/// What the bank's other services send to the ledger's internal endpoints in these tests, each
/// its own: the accounts service's (which closes accounts), the loans' and the payments'.
pub const SERVICE_TOKEN: &str = "test-accounts-service-token";
pub const LOANS_TOKEN: &str = "test-loans-service-token";
pub const PAYMENTS_TOKEN: &str = "test-payments-service-token";

/// Settings for tests: accounts arrive by direct calls (see [`TestApp::open`]), so the
/// consumer is off; unknown accounts are answered quickly; holds expire promptly.
pub fn test_ledger_config() -> LedgerConfig {
    LedgerConfig {
        account_sync_wait: Duration::from_millis(200),
        hold_expiry_interval: Duration::from_secs(1),
        consume_account_events: false,
        // A sandbox: customers pay cash into their own accounts, as most tests do.
        self_deposit_limit: Some(1_000_000),
        service_tokens: ServiceTokens::new([
            (CallingService::Accounts, SERVICE_TOKEN.into()),
            (CallingService::Loans, LOANS_TOKEN.into()),
            (CallingService::Payments, PAYMENTS_TOKEN.into()),
        ]),
        ..LedgerConfig::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_ledger_config()).await
}

pub async fn spawn_app_with(mut ledger: LedgerConfig) -> TestApp {
    // Events go to a topic of the test's own.
    ledger.topic = testkit::fresh_topic("test-ledger").await;
    let topic = ledger.topic.clone();
    let database = testkit::fresh_database(app::NAME).await;
    let mut config = testkit::service_config(app::NAME, database.clone());
    config.database.max_connections = 20;
    let keys = TestKeys::new();
    let subgraph = app::build(config, ledger, keys.verifier())
        .await
        .expect("the service starts");
    let db = subgraph.db.clone();
    let addr = testkit::serve(subgraph.router()).await;
    TestApp {
        client: Client::new(addr),
        keys,

        db,
        addr,
        topic,
    }
}

/// A caller: a user id and a token for it.
#[derive(Clone)]
pub struct Caller {
    pub id: Uuid,
    pub token: String,
}

pub const TX_FIELDS: &str = "id kind amount { amount currency } description \
    fromAccount { id } toAccount { id } createdAt";

pub fn random_number() -> String {
    format!("XB00{:014}", rand::random::<u64>() % 100_000_000_000_000)
}

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

    pub fn teller(&self) -> Caller {
        self.caller(&[Role::Teller])
    }

    /// Opens an account for `owner` as the accounts service's `opened` event would.
    pub async fn open(&self, owner: &Caller, currency: &str) -> Uuid {
        let account_id = Uuid::now_v7();
        self.account_event(events::ACCOUNT_OPENED, account_id, owner.id, currency)
            .await;
        account_id
    }

    pub async fn account_event(&self, kind: &str, account_id: Uuid, owner: Uuid, currency: &str) {
        let changed = AccountChanged {
            account_id,
            owner_id: owner,
            number: random_number(),
            currency: currency.into(),
        };
        store::apply_account_event(&self.db, Uuid::now_v7(), kind, &changed, 5_000)
            .await
            .expect("the event applies");
    }

    pub async fn gql(&self, caller: &Caller, query: &str, variables: Value) -> Value {
        self.client
            .query(Some(&caller.token), query, variables)
            .await
    }

    pub async fn deposit(&self, caller: &Caller, account: Uuid, amount: &str) -> Value {
        self.deposit_with_key(caller, account, amount, &Uuid::new_v4().to_string())
            .await
    }

    pub async fn deposit_with_key(
        &self,
        caller: &Caller,
        account: Uuid,
        amount: &str,
        key: &str,
    ) -> Value {
        self.gql(
            caller,
            &format!("mutation($i: DepositInput!) {{ deposit(input: $i) {{ {TX_FIELDS} }} }}"),
            json!({ "i": { "accountId": account, "amount": amount, "idempotencyKey": key } }),
        )
        .await
    }

    pub async fn withdraw(&self, caller: &Caller, account: Uuid, amount: &str) -> Value {
        self.gql(
            caller,
            &format!("mutation($i: WithdrawInput!) {{ withdraw(input: $i) {{ {TX_FIELDS} }} }}"),
            json!({ "i": { "accountId": account, "amount": amount, "idempotencyKey": Uuid::new_v4() } }),
        )
        .await
    }

    pub async fn transfer(&self, caller: &Caller, from: Uuid, to: Uuid, amount: &str) -> Value {
        self.transfer_with_key(caller, from, to, amount, &Uuid::new_v4().to_string())
            .await
    }

    pub async fn transfer_with_key(
        &self,
        caller: &Caller,
        from: Uuid,
        to: Uuid,
        amount: &str,
        key: &str,
    ) -> Value {
        self.gql(
            caller,
            &format!("mutation($i: TransferInput!) {{ transfer(input: $i) {{ {TX_FIELDS} }} }}"),
            json!({ "i": { "fromAccountId": from, "toAccountId": to, "amount": amount, "idempotencyKey": key } }),
        )
        .await
    }

    /// The account as the ledger shows it to `caller` (null when it may not see it).
    pub async fn account(&self, caller: &Caller, id: Uuid) -> Value {
        let response = self
            .gql(
                caller,
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on Account { \
                 id balance { amount currency } availableBalance { amount } } } }",
                json!({ "r": [{ "__typename": "Account", "id": id }] }),
            )
            .await;
        data(&response)["_entities"][0].clone()
    }

    pub async fn balance(&self, caller: &Caller, id: Uuid) -> String {
        self.account(caller, id).await["balance"]["amount"]
            .as_str()
            .unwrap_or_else(|| panic!("account {id} has a balance"))
            .to_string()
    }

    /// Asserts every ledger invariant on the current state.
    pub async fn assert_ledger_ok(&self) -> store::LedgerCheck {
        let check = store::check_ledger(&self.db).await.expect("the check runs");
        assert!(check.ok(), "ledger invariants broken: {check:#?}");
        check
    }
}

/// Asserts the response failed with `code`.
#[track_caller]
pub fn assert_code(response: &Value, code: &str) {
    assert_eq!(error_code(response), Some(code), "{response:#}");
}
