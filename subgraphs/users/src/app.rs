//! Wiring: configuration, database, keys, schema and routes of the users service.

use std::sync::Arc;

use async_graphql::{dataloader::DataLoader, EmptySubscription, Schema};
use axum::{routing::get, Json, Router};
use bank_migrations::MigratorTrait;
use sea_orm::DatabaseConnection;

use bank_common::{
    auth::{Role, TokenVerifier},
    config::{ConfigError, Env, ServiceConfig},
    db,
    server::{configure_schema, federation_sdl, RequestData, Subgraph},
};

use crate::{
    domain::{hash_password, Email, FullName, Password},
    keys::SigningKeys,
    schema::{Mutation, Query, Settings, UserLoader, UsersContext, UsersSchema},
    store,
};

pub const NAME: &str = "users";
pub const DEFAULT_PORT: u16 = 4001;

#[derive(Debug, Clone)]
pub struct UsersConfig {
    pub service: ServiceConfig,
    pub settings: Settings,
    /// An administrator created at start-up if missing (`USERS_ADMIN_EMAIL`/`_PASSWORD`).
    pub admin: Option<(String, String)>,
    /// The OpenID Connect provider's issuer and clients.
    pub oidc: crate::oidc::OidcConfig,
}

impl UsersConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_service(ServiceConfig::from_env(NAME, DEFAULT_PORT)?)
    }

    /// The users service's own settings, next to the common ones already read.
    pub fn from_service(service: ServiceConfig) -> Result<Self, ConfigError> {
        let env = Env::new(NAME);
        let settings = Settings {
            access_token_ttl_secs: env.get_or("ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_token_ttl_days: env.get_or("REFRESH_TOKEN_TTL_DAYS", 30)?,
            session_max_secs: env.get_or("SESSION_MAX_SECS", 30 * 24 * 3600)?,
            key_publish_lead_secs: env.get_or("KEY_PUBLISH_LEAD_SECS", 360)?,
            keys_reload_ms: env.get_or("KEYS_RELOAD_MS", 5_000)?,
            key_retire_leeway_secs: env.get_or("KEY_RETIRE_LEEWAY_SECS", 60)?,
            key_encryption_key: match env.raw("KEY_ENCRYPTION_KEY").filter(|k| !k.is_empty()) {
                Some(text) => Some(crate::keys::KeyEncryptionKey::parse(&text).map_err(|err| {
                    ConfigError {
                        name: env.var_name("KEY_ENCRYPTION_KEY"),
                        message: err.to_string(),
                    }
                })?),
                None => None,
            },
            app_url: env.get_or("APP_URL", "https://localhost:8443".to_string())?,
            throttle: {
                let d = crate::domain::Throttle::default();
                crate::domain::Throttle {
                    account_failures: env
                        .get_or("SIGN_IN_FAILURES_PER_ACCOUNT", d.account_failures)?,
                    address_failures: env
                        .get_or("SIGN_IN_FAILURES_PER_ADDRESS", d.address_failures)?,
                    first_lock: env.secs_or("SIGN_IN_FIRST_LOCK_SECS", d.first_lock.as_secs())?,
                    longest_lock: env
                        .secs_or("SIGN_IN_LONGEST_LOCK_SECS", d.longest_lock.as_secs())?,
                }
            },
        };
        if settings.access_token_ttl_secs <= 0
            || settings.refresh_token_ttl_days <= 0
            || settings.session_max_secs <= 0
        {
            return Err(ConfigError {
                name: env.var_name("ACCESS_TOKEN_TTL_SECS"),
                message: "token lifetimes must be positive".into(),
            });
        }
        let defaults = crate::domain::HashingLimit::default();
        let concurrent: usize = env.get_or("MAX_CONCURRENT_HASHES", defaults.concurrent)?;
        if concurrent == 0 {
            return Err(ConfigError {
                name: env.var_name("MAX_CONCURRENT_HASHES"),
                message: "must be at least 1".into(),
            });
        }
        crate::domain::limit_hashing(crate::domain::HashingLimit {
            concurrent,
            wait: env.secs_or("HASH_WAIT_SECS", defaults.wait.as_secs())?,
        });
        let admin = match (env.raw("ADMIN_EMAIL"), env.raw("ADMIN_PASSWORD")) {
            (Some(email), Some(password)) => Some((email, password)),
            (None, None) => None,
            _ => {
                return Err(ConfigError {
                    name: env.var_name("ADMIN_PASSWORD"),
                    message: "set both USERS_ADMIN_EMAIL and USERS_ADMIN_PASSWORD, or neither"
                        .into(),
                })
            }
        };
        let mut oidc = crate::oidc::OidcConfig::for_app(&settings.app_url);
        if let Some(issuer) = env.raw("OIDC_ISSUER").filter(|i| !i.is_empty()) {
            oidc.issuer = issuer.trim_end_matches('/').to_string();
        }
        if let Some(clients) = env.raw("OIDC_CLIENTS").filter(|c| !c.trim().is_empty()) {
            oidc.clients = serde_json::from_str(&clients).map_err(|err| ConfigError {
                name: env.var_name("OIDC_CLIENTS"),
                message: format!(
                    "a JSON array of {{\"id\", \"redirectUris\": [...], \"postLogoutRedirectUris\": [...]}}: {err}"
                ),
            })?;
        }
        oidc.external = match (
            env.raw("EXTERNAL_ISSUER"),
            env.raw("EXTERNAL_CLIENT_ID"),
            env.raw("EXTERNAL_CLIENT_SECRET"),
        ) {
            (None, None, None) => None,
            (Some(issuer), Some(client_id), Some(client_secret)) => {
                let provider = crate::oidc::ExternalProvider {
                    name: env.raw("EXTERNAL_NAME").unwrap_or_else(|| issuer.clone()),
                    issuer: issuer.trim_end_matches('/').to_string(),
                    client_id,
                    client_secret,
                };
                provider.validate().map_err(|message| ConfigError {
                    name: env.var_name("EXTERNAL_ISSUER"),
                    message,
                })?;
                Some(provider)
            }
            _ => {
                return Err(ConfigError {
                    name: env.var_name("EXTERNAL_ISSUER"),
                    message: "set USERS_EXTERNAL_ISSUER, USERS_EXTERNAL_CLIENT_ID and \
                              USERS_EXTERNAL_CLIENT_SECRET together, or none of them"
                        .into(),
                })
            }
        };
        Ok(Self {
            oidc,
            service,
            settings,
            admin,
        })
    }
}

/// The schema without any runtime data: enough for the SDL.
pub fn schema_builder(
    config: &ServiceConfig,
) -> async_graphql::SchemaBuilder<Query, Mutation, EmptySubscription> {
    configure_schema(Schema::build(Query, Mutation, EmptySubscription), config)
        .extension(crate::one_sign_in::OneSignInPerRequest)
}

pub fn sdl() -> String {
    let config = ServiceConfig::from_env(NAME, DEFAULT_PORT).expect("defaults are valid");
    federation_sdl(&schema_builder(&config).finish())
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    bank_common::db::with_migration_lock(db, NAME, || async {
        bank_migrations::users::Migrator::up(db, None).await?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// Connects, migrates, loads keys, seeds the administrator and returns the ready service.
pub async fn build(
    config: UsersConfig,
) -> anyhow::Result<Subgraph<Query, Mutation, EmptySubscription>> {
    let db = db::connect(&config.service.database).await?;
    migrate(&db).await?;
    let keys = Arc::new(
        SigningKeys::load_or_create(&db, config.settings.key_encryption_key.clone()).await?,
    );
    if let Some((email, password)) = &config.admin {
        seed_admin(&db, email, password).await?;
    }
    let verifier = TokenVerifier::with_keys(&config.service.auth, &keys.jwk_set()?);
    // Registrations wait in the outbox until the relay publishes them.
    bank_common::outbox::Relay::spawn(db.clone(), &config.service.kafka, crate::store::SCHEMA)?;
    let context = UsersContext {
        db: db.clone(),
        keys: keys.clone(),
        auth: config.service.auth.clone(),
        settings: config.settings.clone(),
    };
    let oidc_routes = crate::oidc::routes(
        Arc::new(context.clone()),
        config.oidc.clone(),
        verifier.clone(),
        bank_common::audit::Audit::start(NAME, db.clone()),
    )?;
    let schema: UsersSchema = schema_builder(&config.service).data(context).finish();
    let loader_db = db.clone();
    let request_data: RequestData = Arc::new(move |data| {
        data.insert(DataLoader::new(
            UserLoader {
                db: loader_db.clone(),
            },
            tokio::spawn,
        ));
    });
    let published = Published::default();
    tokio::spawn(feed_revocations(
        db.clone(),
        verifier.clone(),
        published.clone(),
        config.settings.access_token_ttl_secs,
    ));
    tokio::spawn(reload_keys(
        db.clone(),
        keys.clone(),
        verifier.clone(),
        config.settings.clone(),
    ));
    let extra_routes = well_known_routes(keys, published).merge(oidc_routes);
    Ok(Subgraph {
        config: config.service,
        schema,
        db,
        verifier,
        request_data,
        extra_routes,
    })
}

/// `/.well-known/jwks.json`, the public keys, and `/.well-known/revocations`, the sessions
/// ended and tokens superseded ([`bank_common::auth::Revocations`]), for the router and the
/// subgraphs inside the cluster. The OpenID Connect discovery document is the provider's, at
/// the issuer (`/auth/.well-known/openid-configuration`, [`crate::oidc`]).
fn well_known_routes(keys: Arc<SigningKeys>, revocations: Published) -> Router {
    Router::new()
        .route(
            "/.well-known/jwks.json",
            get(move || {
                let keys = keys.clone();
                async move { Json(keys.jwks_json()) }
            }),
        )
        .route(
            "/.well-known/revocations",
            // What the feed below read last: the services' polls cost no query.
            get(move || {
                let revocations = revocations.read().expect("not poisoned").clone();
                async move { Json(revocations) }
            }),
        )
}

/// Reads the signing keys again now and then: a rotation (here or on another replica) starts
/// signing when its time comes, and a key replaced longer ago than an access token lives (and
/// a minute) is retired; this service's own verifier follows.
async fn reload_keys(
    db: DatabaseConnection,
    keys: Arc<SigningKeys>,
    verifier: TokenVerifier,
    settings: Settings,
) {
    let grace = settings.key_retire_grace();
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(
        settings.keys_reload_ms.max(100),
    ));
    // What the verifier was given last (a rotation may have reloaded the keys in between).
    let mut given = keys.jwks_json();
    loop {
        ticker.tick().await;
        if let Err(err) = keys.reload(&db, grace).await {
            tracing::warn!(error = %err, "reloading the signing keys failed");
            continue;
        }
        let current = keys.jwks_json();
        if current != given {
            match keys.jwk_set() {
                Ok(jwks) => {
                    verifier.set_keys(&jwks).await;
                    given = current;
                }
                Err(err) => tracing::error!(error = %err, "the reloaded keys do not parse"),
            }
        }
    }
}

/// The revocations as last read, published at `/.well-known/revocations`.
type Published = Arc<std::sync::RwLock<bank_common::auth::Revocations>>;

/// Reads the revocations that still matter (those younger than an access token lives, with a
/// margin) once per poll interval: this service's own verifier gets them, and the endpoint the
/// other services poll serves them.
async fn feed_revocations(
    db: DatabaseConnection,
    verifier: TokenVerifier,
    published: Published,
    access_token_ttl_secs: i64,
) {
    let horizon = chrono::TimeDelta::seconds(access_token_ttl_secs + 60);
    let mut ticker = tokio::time::interval(bank_common::auth::REVOCATIONS_POLL);
    loop {
        ticker.tick().await;
        match store::current_revocations(&db, horizon).await {
            Ok(revocations) => {
                verifier.set_revocations(&revocations);
                *published.write().expect("not poisoned") = revocations;
            }
            Err(err) => tracing::warn!(error = %err, "reading revocations failed"),
        }
    }
}

async fn seed_admin(db: &DatabaseConnection, email: &str, password: &str) -> anyhow::Result<()> {
    let email =
        Email::parse(email).map_err(|e| anyhow::anyhow!("USERS_ADMIN_EMAIL: {}", e.message()))?;
    if store::find_user_by_email(db, email.as_str())
        .await?
        .is_some()
    {
        return Ok(());
    }
    let password = Password::parse(password, &email)
        .map_err(|e| anyhow::anyhow!("USERS_ADMIN_PASSWORD: {}", e.message()))?;
    let name = FullName::parse("Administrator").map_err(|e| anyhow::anyhow!(e.message()))?;
    let hash = hash_password(password.expose())
        .await
        .map_err(|e| anyhow::anyhow!(e.message()))?;
    match store::insert_user(
        db,
        store::NewUser {
            email: email.as_str(),
            password_hash: hash,
            full_name: name.as_str(),
            roles: &[Role::Admin],
            verified: true,
        },
    )
    .await
    {
        Ok(row) => tracing::info!(user_id = %row.id, "seeded the administrator"),
        // Another replica seeded it first.
        Err(bank_common::ApiError::BadUserInput { .. }) => {}
        Err(err) => {
            return Err(anyhow::anyhow!(
                "seeding the administrator: {}",
                err.message()
            ))
        }
    }
    Ok(())
}
