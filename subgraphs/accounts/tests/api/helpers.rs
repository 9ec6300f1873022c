use accounts_subgraph::app;
use bank_common::auth::Role;
use bank_testkit::{self as testkit, data, Client, TestKeys};
use serde_json::{json, Value};
use uuid::Uuid;

pub struct TestApp {
    pub client: Client,
    pub keys: TestKeys,
    pub database: bank_common::db::DbConfig,
}

pub async fn spawn_app() -> TestApp {
    let database = testkit::fresh_database(app::NAME).await;
    let config = testkit::service_config(app::NAME, database.clone());
    let keys = TestKeys::new();
    let subgraph = app::build(config, keys.verifier())
        .await
        .expect("the service starts");
    let addr = testkit::serve(subgraph.router()).await;
    TestApp {
        client: Client::new(addr),
        keys,
        database,
    }
}

pub const ACCOUNT_FIELDS: &str =
    "id number kind currency status nickname freezeReason owner { id }";

/// A caller: a user id and a token for it.
pub struct Caller {
    pub id: Uuid,
    pub token: String,
}

impl TestApp {
    pub fn customer(&self) -> Caller {
        let id = Uuid::now_v7();
        Caller {
            id,
            token: self.keys.token(id, &[Role::Customer]),
        }
    }

    pub fn teller(&self) -> Caller {
        let id = Uuid::now_v7();
        Caller {
            id,
            token: self.keys.token(id, &[Role::Teller]),
        }
    }

    pub async fn open(
        &self,
        caller: &Caller,
        kind: &str,
        currency: &str,
        nickname: Option<&str>,
    ) -> Value {
        self.client
            .query(
                Some(&caller.token),
                &format!("mutation($i: OpenAccountInput!) {{ openAccount(input: $i) {{ {ACCOUNT_FIELDS} }} }}"),
                json!({ "i": { "kind": kind, "currency": currency, "nickname": nickname } }),
            )
            .await
    }

    /// Opens a EUR checking account and returns it.
    pub async fn opened(&self, caller: &Caller) -> Value {
        data(&self.open(caller, "CHECKING", "EUR", None).await)["openAccount"].clone()
    }

    pub async fn account(&self, caller: &Caller, id: &str) -> Value {
        self.client
            .query(
                Some(&caller.token),
                &format!("query($id: ID!) {{ account(id: $id) {{ {ACCOUNT_FIELDS} }} }}"),
                json!({ "id": id }),
            )
            .await
    }

    pub async fn user_accounts(&self, caller: &Caller, user: Uuid) -> Value {
        self.client
            .query(
                Some(&caller.token),
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { accounts { id number } } } }",
                json!({ "r": [{ "__typename": "User", "id": user.to_string() }] }),
            )
            .await
    }
}
