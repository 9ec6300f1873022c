//! Typed configuration from environment variables with one prefix per service.
//!
//! `USERS_LISTEN_ADDR`, `ACCOUNTS_DATABASE_URL`, ...: each service reads its own prefix, so one
//! shell (or one Kubernetes ConfigMap) can hold every service's settings. A value that does not
//! parse stops the service with a message that names the variable.

use std::{fmt::Display, net::SocketAddr, str::FromStr, time::Duration};

/// Reads settings for one service from `<PREFIX>_<NAME>` variables.
#[derive(Debug, Clone)]
pub struct Env {
    prefix: String,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration variable {name}: {message}")]
pub struct ConfigError {
    pub name: String,
    pub message: String,
}

impl Env {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_ascii_uppercase(),
        }
    }

    pub fn var_name(&self, name: &str) -> String {
        format!("{}_{}", self.prefix, name)
    }

    /// The raw value, if set and not empty.
    pub fn raw(&self, name: &str) -> Option<String> {
        std::env::var(self.var_name(name))
            .ok()
            .filter(|value| !value.trim().is_empty())
    }

    pub fn get<T>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.raw(name)
            .map(|value| {
                value.trim().parse::<T>().map_err(|err| ConfigError {
                    name: self.var_name(name),
                    message: format!("cannot parse {value:?}: {err}"),
                })
            })
            .transpose()
    }

    pub fn get_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.get(name)?.unwrap_or(default))
    }

    pub fn required<T>(&self, name: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.get(name)?.ok_or_else(|| ConfigError {
            name: self.var_name(name),
            message: "is required".into(),
        })
    }

    /// A duration given in whole seconds (`..._SECS`).
    pub fn secs_or(&self, name: &str, default_secs: u64) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(self.get_or(name, default_secs)?))
    }
}

/// Settings every subgraph has.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The service's name, also its PostgreSQL schema and its env prefix.
    pub name: &'static str,
    pub listen_addr: SocketAddr,
    pub database: crate::db::DbConfig,
    pub auth: AuthConfig,
    pub kafka: crate::kafka::KafkaConfig,
    /// Time given to in-flight requests after SIGTERM before the process exits.
    pub shutdown_grace: Duration,
    /// Largest accepted GraphQL request body.
    pub max_body_bytes: usize,
    /// Query depth and complexity limits, enforced again behind the router.
    pub max_query_depth: usize,
    pub max_query_complexity: usize,
    /// `TCP_NODELAY` on accepted connections (small writes are sent at once).
    pub tcp_nodelay: bool,
    /// Whether the schema answers introspection and suggests field names in errors ("did you
    /// mean ..."): on for development, off in production, where the schema is not published.
    pub introspection: bool,
}

/// How access tokens are checked.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Where the users service publishes its keys.
    pub jwks_url: String,
    pub issuer: String,
    pub audience: String,
}

pub const DEFAULT_ISSUER: &str = "https://bank.local/users";
pub const DEFAULT_AUDIENCE: &str = "bank-api";

impl ServiceConfig {
    /// Reads the common settings for the service `name` with `default_port` on loopback.
    pub fn from_env(name: &'static str, default_port: u16) -> Result<Self, ConfigError> {
        let env = Env::new(name);
        let listen_addr = env.get_or(
            "LISTEN_ADDR",
            SocketAddr::from(([127, 0, 0, 1], default_port)),
        )?;
        let database_url: String = env.get_or(
            "DATABASE_URL",
            "postgres://bank@127.0.0.1:55432/bank".to_string(),
        )?;
        let database = crate::db::DbConfig {
            url: database_url,
            schema: name.to_string(),
            max_connections: env.get_or("DB_MAX_CONNECTIONS", 16)?,
            min_connections: env.get_or("DB_MIN_CONNECTIONS", 2)?,
            acquire_timeout: env.secs_or("DB_ACQUIRE_TIMEOUT_SECS", 5)?,
        };
        if database.max_connections == 0 || database.min_connections > database.max_connections {
            return Err(ConfigError {
                name: env.var_name("DB_MAX_CONNECTIONS"),
                message: "must be at least 1 and at least DB_MIN_CONNECTIONS".into(),
            });
        }
        let auth = AuthConfig {
            jwks_url: env.get_or(
                "JWKS_URL",
                "http://127.0.0.1:4001/.well-known/jwks.json".to_string(),
            )?,
            issuer: env.get_or("JWT_ISSUER", DEFAULT_ISSUER.to_string())?,
            audience: env.get_or("JWT_AUDIENCE", DEFAULT_AUDIENCE.to_string())?,
        };
        let kafka = crate::kafka::KafkaConfig {
            brokers: env.get_or("KAFKA_BROKERS", "127.0.0.1:19092".to_string())?,
            client_id: name.to_string(),
            fetch_wait_ms: env
                .get_or("KAFKA_FETCH_WAIT_MS", crate::kafka::DEFAULT_FETCH_WAIT_MS)?,
            fetch_min_bytes: env.get_or(
                "KAFKA_FETCH_MIN_BYTES",
                crate::kafka::DEFAULT_FETCH_MIN_BYTES,
            )?,
            linger_ms: env.get_or("KAFKA_LINGER_MS", crate::kafka::DEFAULT_LINGER_MS)?,
            security: crate::kafka::KafkaSecurity::from_env(&env)?,
        };
        Ok(Self {
            name,
            listen_addr,
            database,
            auth,
            kafka,
            shutdown_grace: env.secs_or("SHUTDOWN_GRACE_SECS", 10)?,
            max_body_bytes: env.get_or("MAX_BODY_BYTES", 256 * 1024)?,
            max_query_depth: env.get_or("MAX_QUERY_DEPTH", 12)?,
            max_query_complexity: env.get_or("MAX_QUERY_COMPLEXITY", 1000)?,
            tcp_nodelay: env.get_or("TCP_NODELAY", true)?,
            introspection: env.get_or("GRAPHQL_INTROSPECTION", true)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_value_names_the_variable() {
        std::env::set_var("CFGTEST_LISTEN_ADDR", "not-an-address");
        let err = ServiceConfig::from_env("cfgtest", 1).unwrap_err();
        assert_eq!(err.name, "CFGTEST_LISTEN_ADDR");
        assert!(err.to_string().contains("CFGTEST_LISTEN_ADDR"));
    }

    #[test]
    fn kafka_batching_settings_reach_the_clients() {
        std::env::set_var("CFGKAFKA_KAFKA_LINGER_MS", "7");
        std::env::set_var("CFGKAFKA_KAFKA_FETCH_MIN_BYTES", "65536");
        std::env::set_var("CFGKAFKA_KAFKA_FETCH_WAIT_MS", "50");
        let kafka = ServiceConfig::from_env("cfgkafka", 1).unwrap().kafka;
        assert_eq!(kafka.producer_config().get("linger.ms"), Some("7"));
        let consumer = kafka.consumer_config("a-group");
        assert_eq!(consumer.get("fetch.min.bytes"), Some("65536"));
        assert_eq!(consumer.get("fetch.wait.max.ms"), Some("50"));

        // Unset, librdkafka's own defaults: a consumer answers at once, a producer waits 2 ms.
        let kafka = ServiceConfig::from_env("cfgkafkadefaults", 1)
            .unwrap()
            .kafka;
        assert_eq!(kafka.producer_config().get("linger.ms"), Some("2"));
        assert_eq!(
            kafka.consumer_config("a-group").get("fetch.min.bytes"),
            Some("1")
        );
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = ServiceConfig::from_env("cfgdefaults", 4999).unwrap();
        assert_eq!(config.listen_addr.port(), 4999);
        assert_eq!(config.database.schema, "cfgdefaults");
        assert_eq!(config.auth.audience, DEFAULT_AUDIENCE);
    }
}
