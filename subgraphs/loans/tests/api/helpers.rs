use std::time::Duration;

use bank_common::auth::Role;
use bank_testkit::{self as testkit, data, Client, TestKeys};
use loans_subgraph::app::{self as loans_app, LoansConfig};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde_json::{json, Value};
use transactions_subgraph::{
    app::{self as ledger_app, CallingService, LedgerConfig, ServiceTokens},
    events::{self as ledger_events, AccountChanged},
    store as ledger_store,
};
use uuid::Uuid;

/// What the ledger and the loans service share for calls no customer makes.
pub const SERVICE_TOKEN: &str = "test-loans-service-token";

/// The loans service and the ledger it moves money through, sharing one token issuer.
pub struct TestApp {
    pub client: Client,
    pub keys: TestKeys,
    pub db: DatabaseConnection,
    pub ledger_db: DatabaseConnection,
    pub ledger_client: Client,
    pub ledger_url: String,
}

#[derive(Clone)]
pub struct Caller {
    pub id: Uuid,
    pub token: String,
}

/// Both services on databases and topics of their own. `consume` turns the loans service's
/// reading of ledger events on or off.
pub async fn spawn_app_with(consume: bool) -> TestApp {
    let keys = TestKeys::new();
    let ledger_topic = testkit::fresh_topic("test-ledger").await;
    let ledger = LedgerConfig {
        account_sync_wait: Duration::from_millis(200),
        consume_account_events: false,
        topic: ledger_topic.clone(),
        service_tokens: ServiceTokens::new([(CallingService::Loans, SERVICE_TOKEN.into())]),
        self_deposit_limit: Some(1_000_000),
        ..LedgerConfig::default()
    };
    let ledger_database = testkit::fresh_database(ledger_app::NAME).await;
    let ledger_config = testkit::service_config(ledger_app::NAME, ledger_database);
    let ledger_subgraph = ledger_app::build(ledger_config, ledger, keys.verifier())
        .await
        .expect("the ledger starts");
    let ledger_db = ledger_subgraph.db.clone();
    let ledger_addr = testkit::serve(ledger_subgraph.router()).await;
    let ledger_url = format!("http://{ledger_addr}");

    let loans = LoansConfig {
        ledger_url: ledger_url.clone(),
        consume_ledger_events: consume,
        consumer_group: format!("test-loans-{}", Uuid::new_v4()),
        ledger_topic,
        ledger_service_token: Some(SERVICE_TOKEN.into()),
        ..LoansConfig::default()
    };
    let database = testkit::fresh_database(loans_app::NAME).await;
    let mut config = testkit::service_config(loans_app::NAME, database);
    config.database.max_connections = 20;
    let subgraph = loans_app::build(config, loans, keys.verifier())
        .await
        .expect("the loans service starts");
    let db = subgraph.db.clone();
    let addr = testkit::serve(subgraph.router()).await;
    TestApp {
        client: Client::new(addr),
        keys,
        db,
        ledger_db,
        ledger_client: Client::new(ledger_addr),
        ledger_url,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(true).await
}

pub const LOAN_FIELDS: &str = "id status principal { amount currency } annualRate termMonths \
    monthlyPayment { amount } totalDue { amount } repaid { amount } outstanding { amount } \
    account { id } borrower { id } decisionReason disbursement { id } disbursedOn \
    schedule { number dueOn amount { amount } paid { amount } status } \
    awaitingSecondStaff approvals { step staffId at }";

pub const REPAYMENT_FIELDS: &str =
    "id status amount { amount currency } failureCode transaction { id }";

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

    pub async fn gql(&self, caller: &Caller, query: &str, variables: Value) -> Value {
        self.client
            .query(Some(&caller.token), query, variables)
            .await
    }

    /// Opens a ledger account for `owner`, as the accounts service's event would.
    pub async fn open_account(&self, owner: &Caller, currency: &str) -> Uuid {
        let account_id = Uuid::now_v7();
        let changed = AccountChanged {
            account_id,
            owner_id: owner.id,
            number: format!("XB00{:014}", rand_number()),
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
        account_id
    }

    pub async fn freeze_account(&self, owner: &Caller, account: Uuid, currency: &str) {
        let changed = AccountChanged {
            account_id: account,
            owner_id: owner.id,
            number: String::new(),
            currency: currency.into(),
        };
        ledger_store::apply_account_event(
            &self.ledger_db,
            Uuid::now_v7(),
            ledger_events::ACCOUNT_FROZEN,
            &changed,
            5_000,
        )
        .await
        .expect("the account freezes in the ledger");
    }

    pub async fn deposit(&self, caller: &Caller, account: Uuid, amount: &str) {
        let response = self
            .ledger_client
            .query(
                Some(&caller.token),
                "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
                json!({ "i": { "accountId": account, "amount": amount, "idempotencyKey": Uuid::new_v4() } }),
            )
            .await;
        data(&response);
    }

    /// The account's balance in minor units, as the ledger has it.
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

    /// The ledger's invariants (postings balance, balances match postings).
    pub async fn assert_ledger_consistent(&self) {
        let check = ledger_store::check_ledger(&self.ledger_db).await.unwrap();
        assert!(check.ok(), "ledger check failed: {check:?}");
        let mismatches = loans_subgraph::store::repayment_mismatches(&self.db)
            .await
            .unwrap();
        assert!(
            mismatches.is_empty(),
            "loans disagree with their repayments: {mismatches:?}"
        );
    }

    /// Ledger transactions of `kind` (LOAN_DISBURSEMENT, LOAN_REPAYMENT).
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

    pub async fn apply(
        &self,
        caller: &Caller,
        account: Uuid,
        product: &str,
        amount: &str,
        months: i32,
        key: &str,
    ) -> Value {
        self.gql(
            caller,
            &format!("mutation($i: ApplyForLoanInput!) {{ applyForLoan(input: $i) {{ {LOAN_FIELDS} }} }}"),
            json!({ "i": { "productCode": product, "accountId": account, "amount": amount,
                           "termMonths": months, "purpose": "A new bike", "idempotencyKey": key } }),
        )
        .await
    }

    pub async fn approve(&self, staff: &Caller, loan: &str) -> Value {
        self.gql(
            staff,
            &format!("mutation($id: ID!) {{ approveLoan(id: $id) {{ {LOAN_FIELDS} }} }}"),
            json!({ "id": loan }),
        )
        .await
    }

    /// Four eyes: `first` approves, then `second`; the loan is then APPROVED.
    pub async fn approve_by_two(&self, first: &Caller, second: &Caller, loan: &str) {
        let once = self.approve(first, loan).await;
        assert_eq!(data(&once)["approveLoan"]["status"], "PENDING");
        let twice = self.approve(second, loan).await;
        assert_eq!(data(&twice)["approveLoan"]["status"], "APPROVED");
    }

    pub async fn disburse(&self, staff: &Caller, loan: &str) -> Value {
        self.gql(
            staff,
            &format!("mutation($id: ID!) {{ disburseLoan(id: $id) {{ {LOAN_FIELDS} }} }}"),
            json!({ "id": loan }),
        )
        .await
    }

    pub async fn repay(&self, caller: &Caller, loan: &str, amount: &str, key: &str) -> Value {
        self.gql(
            caller,
            &format!(
                "mutation($i: RepayLoanInput!) {{ repayLoan(input: $i) {{ {REPAYMENT_FIELDS} }} }}"
            ),
            json!({ "i": { "loanId": loan, "amount": amount, "idempotencyKey": key } }),
        )
        .await
    }

    pub async fn loan(&self, caller: &Caller, loan: &str) -> Value {
        self.gql(
            caller,
            &format!("query($id: ID!) {{ loan(id: $id) {{ {LOAN_FIELDS} }} }}"),
            json!({ "id": loan }),
        )
        .await
    }

    /// A customer with a funded EUR account and an ACTIVE loan of `amount` over `months`
    /// (MICRO_EUR: no interest, so installments are easy to reason about).
    pub async fn active_loan(
        &self,
        amount: &str,
        months: i32,
        funds: &str,
    ) -> (Caller, Uuid, String) {
        let ada = self.customer();
        let staff = self.teller();
        let account = self.open_account(&ada, "EUR").await;
        if funds != "0" {
            self.deposit(&ada, account, funds).await;
        }
        let applied = self
            .apply(
                &ada,
                account,
                "MICRO_EUR",
                amount,
                months,
                &Uuid::new_v4().to_string(),
            )
            .await;
        let loan = data(&applied)["applyForLoan"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let colleague = self.teller();
        self.approve_by_two(&staff, &colleague, &loan).await;
        data(&self.disburse(&staff, &loan).await);
        let disbursed = self.disburse(&colleague, &loan).await;
        assert_eq!(data(&disbursed)["disburseLoan"]["status"], "ACTIVE");
        (ada, account, loan)
    }
}

fn rand_number() -> u64 {
    (Uuid::new_v4().as_u128() % 100_000_000_000_000) as u64
}

/// Polls `check` until it holds (up to 30 s).
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..150 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what} never happened");
}
