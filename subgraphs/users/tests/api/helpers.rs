use std::net::SocketAddr;

use bank_testkit::{self as testkit, Client};
use serde_json::{json, Value};
pub use users_subgraph::domain::Throttle;
use users_subgraph::{
    app::{self, UsersConfig},
    schema::Settings,
};

pub const ADMIN_EMAIL: &str = "root@bank.test";
pub const ADMIN_PASSWORD: &str = "admin password 1";
pub const PASSWORD: &str = "correct horse 42";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: Client,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Throttle::default()).await
}

/// The service with the given limits on failed sign-ins.
pub async fn spawn_app_with(throttle: Throttle) -> TestApp {
    let database = testkit::fresh_database(app::NAME).await;
    let service = testkit::service_config(app::NAME, database);
    let config = UsersConfig {
        service,
        settings: Settings {
            access_token_ttl_secs: 300,
            refresh_token_ttl_days: 1,
            throttle,
        },
        public_url: "http://127.0.0.1:4001".into(),
        admin: Some((ADMIN_EMAIL.into(), ADMIN_PASSWORD.into())),
    };
    let subgraph = app::build(config).await.expect("the service starts");
    let addr = testkit::serve(subgraph.router()).await;
    TestApp {
        addr,
        client: Client::new(addr),
    }
}

pub const AUTH_FIELDS: &str = "accessToken refreshToken expiresIn user { id email fullName roles }";

impl TestApp {
    pub async fn register(&self, email: &str, password: &str, full_name: &str) -> Value {
        self.client
            .query(
                None,
                &format!(
                    "mutation($i: RegisterInput!) {{ register(input: $i) {{ {AUTH_FIELDS} }} }}"
                ),
                json!({ "i": { "email": email, "password": password, "fullName": full_name } }),
            )
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        self.client
            .query(
                None,
                &format!("mutation($i: LoginInput!) {{ login(input: $i) {{ {AUTH_FIELDS} }} }}"),
                json!({ "i": { "email": email, "password": password } }),
            )
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Value {
        self.client
            .query(
                None,
                &format!("mutation($t: String!) {{ refreshToken(refreshToken: $t) {{ {AUTH_FIELDS} }} }}"),
                json!({ "t": refresh_token }),
            )
            .await
    }

    pub async fn logout(&self, refresh_token: &str) -> Value {
        self.client
            .query(
                None,
                "mutation($t: String!) { logout(refreshToken: $t) }",
                json!({ "t": refresh_token }),
            )
            .await
    }

    pub async fn me(&self, token: &str) -> Value {
        self.client
            .query(Some(token), "{ me { id email fullName roles } }", json!({}))
            .await
    }

    /// Registers a customer and returns (access token, refresh token, user id).
    pub async fn customer(&self, email: &str) -> (String, String, String) {
        let response = self.register(email, PASSWORD, "Test Customer").await;
        let payload = &testkit::data(&response)["register"];
        (
            payload["accessToken"].as_str().unwrap().to_string(),
            payload["refreshToken"].as_str().unwrap().to_string(),
            payload["user"]["id"].as_str().unwrap().to_string(),
        )
    }
}
