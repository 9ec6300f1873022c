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
    /// The service's own database (the outbox holds the e-mails it asks to be sent).
    pub db: sea_orm::DatabaseConnection,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Throttle::default()).await
}

/// The service with the given limits on failed sign-ins.
pub async fn spawn_app_with(throttle: Throttle) -> TestApp {
    spawn_app_tuned(throttle, 3600).await
}

/// The service with the given limits and a session lifetime of `session_max_secs`.
pub async fn spawn_app_tuned(throttle: Throttle, session_max_secs: i64) -> TestApp {
    spawn_app_configured(|settings| {
        settings.throttle = throttle;
        settings.session_max_secs = session_max_secs;
    })
    .await
}

/// The service with test settings changed by `edit`.
pub async fn spawn_app_configured(edit: impl FnOnce(&mut Settings)) -> TestApp {
    let throttle = Throttle::default();
    let session_max_secs = 3600;
    let database = testkit::fresh_database(app::NAME).await;
    let db = bank_common::db::connect(&database)
        .await
        .expect("the test database");
    let service = testkit::service_config(app::NAME, database);
    let mut config = UsersConfig {
        service,
        settings: Settings {
            access_token_ttl_secs: 300,
            refresh_token_ttl_days: 1,
            session_max_secs,
            key_publish_lead_secs: 1,
            keys_reload_ms: 100,
            key_retire_leeway_secs: 60,
            key_encryption_key: None,
            throttle,
            app_url: "https://bank.test".into(),
        },
        admin: Some((ADMIN_EMAIL.into(), ADMIN_PASSWORD.into())),
        oidc: users_subgraph::oidc::OidcConfig::for_app("https://bank.test"),
    };
    edit(&mut config.settings);
    let subgraph = app::build(config).await.expect("the service starts");
    let addr = testkit::serve(subgraph.router()).await;
    TestApp {
        addr,
        client: Client::new(addr),
        db,
    }
}

pub const AUTH_FIELDS: &str = "accessToken refreshToken expiresIn user { id email fullName roles }";

impl TestApp {
    /// Asks to open an account: the answer is a message, the rest comes by e-mail.
    pub async fn register(&self, email: &str, password: &str, full_name: &str) -> Value {
        self.client
            .query(
                None,
                "mutation($i: RegisterInput!) { register(input: $i) { message } }",
                json!({ "i": { "email": email, "password": password, "fullName": full_name } }),
            )
            .await
    }

    /// The e-mails this service asked the notifications service to send to `email`, oldest
    /// first: (event type, body).
    pub async fn emails_to(&self, email: &str) -> Vec<(String, String)> {
        use sea_orm::ConnectionTrait;
        let rows = self
            .db
            .query_all(sea_orm::Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT event_type, payload FROM outbox WHERE payload -> 'data' ->> 'email' = $1 \
                 AND event_type LIKE 'bank.user.%' ORDER BY id",
                [email.to_lowercase().trim().into()],
            ))
            .await
            .unwrap();
        rows.iter()
            .filter(|row| {
                row.try_get::<String>("", "event_type").unwrap() != "bank.user.registered.v1"
            })
            .map(|row| {
                let payload: Value = row.try_get("", "payload").unwrap();
                (
                    row.try_get("", "event_type").unwrap(),
                    payload["data"]["body"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect()
    }

    /// The token of the newest confirmation link e-mailed to `email`.
    pub async fn confirmation_token(&self, email: &str) -> Option<String> {
        self.emails_to(email)
            .await
            .iter()
            .rev()
            .find_map(|(_, body)| {
                body.split("verify-email?token=").nth(1).map(|rest| {
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string()
                })
            })
    }

    pub async fn verify_email(&self, token: &str, password: &str) -> Value {
        self.client
            .query(
                None,
                &format!(
                    "mutation($i: VerifyEmailInput!) {{ verifyEmail(input: $i) {{ {AUTH_FIELDS} }} }}"
                ),
                json!({ "i": { "token": token, "password": password } }),
            )
            .await
    }

    /// Registers and confirms with the e-mailed link: the `verifyEmail` answer (signed in).
    pub async fn sign_up(&self, email: &str, password: &str, full_name: &str) -> Value {
        testkit::data(&self.register(email, password, full_name).await);
        let token = self
            .confirmation_token(email)
            .await
            .expect("a confirmation e-mail");
        self.verify_email(&token, password).await
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
        let response = self.sign_up(email, PASSWORD, "Test Customer").await;
        let payload = &testkit::data(&response)["verifyEmail"];
        (
            payload["accessToken"].as_str().unwrap().to_string(),
            payload["refreshToken"].as_str().unwrap().to_string(),
            payload["user"]["id"].as_str().unwrap().to_string(),
        )
    }
}
