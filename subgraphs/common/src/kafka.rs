//! Kafka clients with the settings every service uses. The broker is Apache Kafka everywhere:
//! KRaft on loopback in the local stack and the tests (scripts/kafka.sh), a StatefulSet in
//! Kubernetes, or a managed cluster reached over TLS and SASL.

use std::{fmt, str::FromStr};

use rdkafka::{
    consumer::{ConsumerContext, StreamConsumer},
    producer::FutureProducer,
    ClientConfig,
};

use crate::config::{ConfigError, Env};

#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `host:port[,host:port...]`
    pub brokers: String,
    /// Sent as `client.id`, so the broker's logs name the service.
    pub client_id: String,
    /// How long a fetch waits for data before the broker answers empty (`fetch.wait.max.ms`).
    /// Kafka answers as soon as data arrives, so this bounds only idle polling, not latency.
    pub fetch_wait_ms: u32,
    /// How many bytes a fetch waits for (up to `fetch_wait_ms`) before the broker answers
    /// (`fetch.min.bytes`). 1 answers at once; more makes a busy consumer take events in fewer,
    /// larger fetches, which costs the broker less per event and adds at most `fetch_wait_ms`
    /// of delay when events are few.
    pub fetch_min_bytes: u32,
    /// How long the producer gathers messages into one request (`linger.ms`).
    pub linger_ms: u32,
    /// How the clients reach the brokers: plaintext locally, TLS and SASL for a managed cluster.
    pub security: KafkaSecurity,
}

/// librdkafka's own default: an idle consumer asks each broker twice a second.
pub const DEFAULT_FETCH_WAIT_MS: u32 = 500;

/// librdkafka's own default: a fetch is answered as soon as there is one byte.
pub const DEFAULT_FETCH_MIN_BYTES: u32 = 1;

/// A produce request gathers what arrives within this many milliseconds.
pub const DEFAULT_LINGER_MS: u32 = 2;

/// `security.protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecurityProtocol {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "plaintext" => Ok(Self::Plaintext),
            "ssl" => Ok(Self::Ssl),
            "sasl_plaintext" => Ok(Self::SaslPlaintext),
            "sasl_ssl" => Ok(Self::SaslSsl),
            _ => Err("expected plaintext, ssl, sasl_plaintext or sasl_ssl".into()),
        }
    }
}

/// The SASL mechanisms the services support (librdkafka built with TLS; no Kerberos).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl SaslMechanism {
    fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl FromStr for SaslMechanism {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Self::Plain),
            "SCRAM-SHA-256" => Ok(Self::ScramSha256),
            "SCRAM-SHA-512" => Ok(Self::ScramSha512),
            _ => Err("expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512".into()),
        }
    }
}

/// TLS and SASL settings; the default is plaintext without authentication.
#[derive(Clone, Default)]
pub struct KafkaSecurity {
    pub protocol: SecurityProtocol,
    /// A PEM file of the CA that signed the brokers' certificates; the system's roots otherwise.
    pub ssl_ca_location: Option<String>,
    /// Mechanism, user name and password; required together when the protocol uses SASL.
    pub sasl: Option<(SaslMechanism, String, String)>,
}

impl fmt::Debug for KafkaSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSecurity")
            .field("protocol", &self.protocol)
            .field("ssl_ca_location", &self.ssl_ca_location)
            .field(
                "sasl",
                &self
                    .sasl
                    .as_ref()
                    .map(|(mechanism, user, _)| (mechanism, user, "***")),
            )
            .finish()
    }
}

impl KafkaSecurity {
    /// Reads `<PREFIX>_KAFKA_SECURITY_PROTOCOL`, `_KAFKA_SSL_CA_LOCATION`, `_KAFKA_SASL_MECHANISM`,
    /// `_KAFKA_SASL_USERNAME` and `_KAFKA_SASL_PASSWORD`. SASL settings without a SASL protocol,
    /// or a SASL protocol without all three, are refused: half a configuration would otherwise
    /// fail only at the first connection, with the broker's less helpful error.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let protocol: SecurityProtocol =
            env.get_or("KAFKA_SECURITY_PROTOCOL", SecurityProtocol::Plaintext)?;
        let mechanism: Option<SaslMechanism> = env.get("KAFKA_SASL_MECHANISM")?;
        let username = env.raw("KAFKA_SASL_USERNAME");
        let password = env.raw("KAFKA_SASL_PASSWORD");
        let sasl = if protocol.uses_sasl() {
            let missing = |name: &str| ConfigError {
                name: env.var_name(name),
                message: format!("is required when KAFKA_SECURITY_PROTOCOL is {protocol}"),
            };
            Some((
                mechanism.ok_or_else(|| missing("KAFKA_SASL_MECHANISM"))?,
                username.ok_or_else(|| missing("KAFKA_SASL_USERNAME"))?,
                password.ok_or_else(|| missing("KAFKA_SASL_PASSWORD"))?,
            ))
        } else {
            if mechanism.is_some() || username.is_some() || password.is_some() {
                return Err(ConfigError {
                    name: env.var_name("KAFKA_SECURITY_PROTOCOL"),
                    message: format!(
                        "is {protocol}, but SASL settings are given: use sasl_ssl or sasl_plaintext"
                    ),
                });
            }
            None
        };
        Ok(Self {
            protocol,
            ssl_ca_location: env.raw("KAFKA_SSL_CA_LOCATION"),
            sasl,
        })
    }

    fn apply(&self, config: &mut ClientConfig) {
        config.set("security.protocol", self.protocol.as_str());
        if let Some(ca) = &self.ssl_ca_location {
            config.set("ssl.ca.location", ca);
        }
        if let Some((mechanism, username, password)) = &self.sasl {
            config
                .set("sasl.mechanism", mechanism.as_str())
                .set("sasl.username", username)
                .set("sasl.password", password);
        }
    }
}

impl KafkaConfig {
    /// Plaintext to `brokers`, the default fetch wait: the local broker, and tests.
    pub fn new(brokers: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            client_id: client_id.into(),
            fetch_wait_ms: DEFAULT_FETCH_WAIT_MS,
            fetch_min_bytes: DEFAULT_FETCH_MIN_BYTES,
            linger_ms: DEFAULT_LINGER_MS,
            security: KafkaSecurity::default(),
        }
    }

    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("socket.timeout.ms", "10000");
        self.security.apply(&mut config);
        config
    }

    /// An idempotent producer: retries never duplicate or reorder a partition's messages, and
    /// every message is acknowledged by all in-sync replicas.
    pub fn producer(&self) -> Result<FutureProducer, rdkafka::error::KafkaError> {
        self.producer_config().create()
    }

    /// The settings of [`Self::producer`].
    pub(crate) fn producer_config(&self) -> ClientConfig {
        let mut config = self.base();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", self.linger_ms.to_string())
            .set("message.timeout.ms", "30000");
        config
    }

    /// The settings of a consumer in `group` that commits offsets only when told to (after the
    /// effect is stored), starting from the earliest message when the group is new.
    pub(crate) fn consumer_config(&self, group: &str) -> ClientConfig {
        let mut config = self.base();
        config
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            // A member that dies without leaving (SIGKILL, a lost node) holds its partitions
            // until this passes: the broker's minimum, 6 s (librdkafka's default is 45 s).
            // Heartbeats come from librdkafka's own thread, so a busy handler does not miss them.
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "1000")
            .set("fetch.wait.max.ms", self.fetch_wait_ms.to_string())
            .set("fetch.min.bytes", self.fetch_min_bytes.to_string());
        config
    }

    /// A consumer in `group` (see [`Self::consumer_config`]).
    pub fn consumer(&self, group: &str) -> Result<StreamConsumer, rdkafka::error::KafkaError> {
        self.consumer_config(group).create()
    }

    /// A consumer in `group` whose `context` sees rebalances and, every `stats_interval_ms`,
    /// librdkafka's statistics (lag per partition).
    pub fn consumer_with<C: ConsumerContext + 'static>(
        &self,
        group: &str,
        context: C,
        stats_interval_ms: u32,
    ) -> Result<StreamConsumer<C>, rdkafka::error::KafkaError> {
        self.consumer_config(group)
            .set("statistics.interval.ms", stats_interval_ms.to_string())
            .create_with_context(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_protocols_and_mechanisms_parse() {
        assert_eq!("SASL_SSL".parse(), Ok(SecurityProtocol::SaslSsl));
        assert_eq!("plaintext".parse(), Ok(SecurityProtocol::Plaintext));
        assert!("tls".parse::<SecurityProtocol>().is_err());
        assert_eq!("scram-sha-512".parse(), Ok(SaslMechanism::ScramSha512));
        assert!("GSSAPI".parse::<SaslMechanism>().is_err());
    }

    #[test]
    fn sasl_needs_all_three_settings_and_a_sasl_protocol() {
        std::env::set_var("KSECA_KAFKA_SECURITY_PROTOCOL", "sasl_ssl");
        std::env::set_var("KSECA_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256");
        std::env::set_var("KSECA_KAFKA_SASL_USERNAME", "bank");
        let err = KafkaSecurity::from_env(&Env::new("ksecA")).unwrap_err();
        assert_eq!(err.name, "KSECA_KAFKA_SASL_PASSWORD");

        std::env::set_var("KSECB_KAFKA_SASL_USERNAME", "bank");
        let err = KafkaSecurity::from_env(&Env::new("ksecB")).unwrap_err();
        assert_eq!(err.name, "KSECB_KAFKA_SECURITY_PROTOCOL");

        std::env::set_var("KSECC_KAFKA_SECURITY_PROTOCOL", "sasl_ssl");
        std::env::set_var("KSECC_KAFKA_SASL_MECHANISM", "PLAIN");
        std::env::set_var("KSECC_KAFKA_SASL_USERNAME", "bank");
        std::env::set_var("KSECC_KAFKA_SASL_PASSWORD", "secret");
        std::env::set_var("KSECC_KAFKA_SSL_CA_LOCATION", "/etc/ssl/kafka-ca.pem");
        let security = KafkaSecurity::from_env(&Env::new("ksecC")).unwrap();
        assert_eq!(security.protocol, SecurityProtocol::SaslSsl);
        assert!(
            !format!("{security:?}").contains("secret"),
            "the password is not logged"
        );
        let mut config = ClientConfig::new();
        security.apply(&mut config);
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(config.get("sasl.mechanism"), Some("PLAIN"));
        assert_eq!(config.get("sasl.password"), Some("secret"));
        assert_eq!(config.get("ssl.ca.location"), Some("/etc/ssl/kafka-ca.pem"));
    }

    #[test]
    fn plaintext_is_the_default() {
        let security = KafkaSecurity::from_env(&Env::new("ksecD")).unwrap();
        assert_eq!(security.protocol, SecurityProtocol::Plaintext);
        assert!(security.sasl.is_none());
    }
}
