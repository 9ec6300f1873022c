//! Wiring: configuration, database, keys, schema and routes of the users service.

use std::sync::Arc;

use async_graphql::{dataloader::DataLoader, EmptySubscription, Schema};
use axum::{routing::get, Json, Router};
use bank_migrations::MigratorTrait;
use openidconnect::{
    core::{
        CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType, CoreSubjectIdentifierType,
    },
    AuthUrl, EmptyAdditionalProviderMetadata, IssuerUrl, JsonWebKeySetUrl, ResponseTypes,
};
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
    /// Where this service can be reached, for the `jwks_uri` in the discovery document.
    pub public_url: String,
    /// An administrator created at start-up if missing (`USERS_ADMIN_EMAIL`/`_PASSWORD`).
    pub admin: Option<(String, String)>,
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
        if settings.access_token_ttl_secs <= 0 || settings.refresh_token_ttl_days <= 0 {
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
        let public_url = env.get_or("PUBLIC_URL", format!("http://{}", service.listen_addr))?;
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
        Ok(Self {
            service,
            settings,
            public_url,
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
    let keys = Arc::new(SigningKeys::load_or_create(&db).await?);
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
    let extra_routes = well_known_routes(&config, keys)?;
    Ok(Subgraph {
        config: config.service,
        schema,
        db,
        verifier,
        request_data,
        extra_routes,
    })
}

/// `/.well-known/jwks.json` and the OpenID Connect discovery document.
///
/// Tokens are issued by the GraphQL `login` mutation rather than an OAuth authorization flow;
/// the discovery document exists so that standard JWT middleware (the router, API gateways) can
/// find the issuer's keys. Its required `authorization_endpoint` points at the GraphQL endpoint.
fn well_known_routes(config: &UsersConfig, keys: Arc<SigningKeys>) -> anyhow::Result<Router> {
    let base = config.public_url.trim_end_matches('/');
    let metadata = CoreProviderMetadata::new(
        IssuerUrl::new(config.service.auth.issuer.clone())?,
        AuthUrl::new(format!("{base}/graphql"))?,
        JsonWebKeySetUrl::new(format!("{base}/.well-known/jwks.json"))?,
        vec![ResponseTypes::new(vec![CoreResponseType::Token])],
        vec![CoreSubjectIdentifierType::Public],
        vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256],
        EmptyAdditionalProviderMetadata {},
    );
    let discovery = serde_json::to_value(&metadata)?;
    let jwks = keys.jwks_json().clone();
    Ok(Router::new()
        .route(
            "/.well-known/jwks.json",
            get(move || {
                let jwks = jwks.clone();
                async move { Json(jwks) }
            }),
        )
        .route(
            "/.well-known/openid-configuration",
            get(move || {
                let discovery = discovery.clone();
                async move { Json(discovery) }
            }),
        ))
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
