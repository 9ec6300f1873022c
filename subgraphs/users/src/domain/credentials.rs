use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use bank_common::{ApiError, ApiResult};

/// An e-mail address, trimmed and lower-cased, so that one person has one login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> ApiResult<Self> {
        let email = raw.trim().to_lowercase();
        let invalid =
            |why: &str| ApiError::bad_input("email", format!("invalid e-mail address: {why}"));
        if email.is_empty() {
            return Err(invalid("it is empty"));
        }
        if email.len() > Self::MAX_LEN {
            return Err(invalid("it is longer than 254 characters"));
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("it contains spaces"));
        }
        let (local, domain) = email
            .rsplit_once('@')
            .ok_or_else(|| invalid("it has no @"))?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(invalid("the part before @ is empty or too long"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|label| label.is_empty()) {
            return Err(invalid("the domain must look like example.com"));
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the bank's rules. Never logged, never stored.
pub struct Password(String);

impl Password {
    pub const MIN_LEN: usize = 10;
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str, email: &Email) -> ApiResult<Self> {
        let bad = |why: &str| ApiError::bad_input("password", why.to_string());
        let length = raw.chars().count();
        if length < Self::MIN_LEN {
            return Err(bad("the password must have at least 10 characters"));
        }
        if length > Self::MAX_LEN {
            return Err(bad("the password must have at most 128 characters"));
        }
        if !raw.chars().any(char::is_alphabetic) || !raw.chars().any(|c| c.is_ascii_digit()) {
            return Err(bad(
                "the password must contain at least one letter and one digit",
            ));
        }
        if raw.trim().to_lowercase() == email.as_str() {
            return Err(bad("the password must not be the e-mail address"));
        }
        Ok(Password(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A person's name as they want it shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    pub const MAX_LEN: usize = 200;

    pub fn parse(raw: &str) -> ApiResult<Self> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ApiError::bad_input(
                "fullName",
                "the full name must not be empty",
            ));
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err(ApiError::bad_input(
                "fullName",
                "the full name must have at most 200 characters",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ApiError::bad_input(
                "fullName",
                "the full name must not contain control characters",
            ));
        }
        Ok(FullName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many passwords are hashed or verified at once, and how long a request waits for its
/// turn. Each argon2id run holds 19 MiB: unbounded, about 25 concurrent logins exhaust a 512 MiB
/// pod. Past the wait the request is refused with `LIMIT_EXCEEDED` (try again shortly).
#[derive(Debug, Clone, Copy)]
pub struct HashingLimit {
    pub concurrent: usize,
    pub wait: std::time::Duration,
}

impl Default for HashingLimit {
    fn default() -> Self {
        Self {
            concurrent: 4,
            wait: std::time::Duration::from_secs(5),
        }
    }
}

struct Hashing {
    permits: tokio::sync::Semaphore,
    wait: std::time::Duration,
}

static HASHING: std::sync::OnceLock<Hashing> = std::sync::OnceLock::new();

/// Sets the process's hashing limit; the first call wins (start-up), later ones change nothing.
pub fn limit_hashing(limit: HashingLimit) {
    let _ = HASHING.set(Hashing {
        permits: tokio::sync::Semaphore::new(limit.concurrent.max(1)),
        wait: limit.wait,
    });
}

fn hashing() -> &'static Hashing {
    HASHING.get_or_init(|| {
        let limit = HashingLimit::default();
        Hashing {
            permits: tokio::sync::Semaphore::new(limit.concurrent),
            wait: limit.wait,
        }
    })
}

/// Runs CPU- and memory-heavy `work` off the async workers, at most as many at once as
/// `permits` allows, waiting up to `wait` for a turn.
async fn bounded<T: Send + 'static>(
    permits: &tokio::sync::Semaphore,
    wait: std::time::Duration,
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let _permit = match tokio::time::timeout(wait, permits.acquire()).await {
        Ok(Ok(permit)) => permit,
        _ => {
            return Err(ApiError::LimitExceeded(
                "too many sign-ins at once; try again in a moment".into(),
            ))
        }
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)?
}

/// Hashes with argon2id (default parameters: 19 MiB, 2 passes). CPU-bound: runs off the
/// async workers, bounded by the hashing limit.
pub async fn hash_password(password: &str) -> ApiResult<String> {
    let password = password.to_owned();
    let limit = hashing();
    bounded(&limit.permits, limit.wait, move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| ApiError::internal(anyhow::anyhow!("hashing failed: {err}")))
    })
    .await
}

/// Checks a password against a stored hash. `None` (unknown user) still spends the same work,
/// so response times do not tell which e-mail addresses exist.
pub async fn verify_password(password: &str, stored_hash: Option<String>) -> ApiResult<bool> {
    let password = password.to_owned();
    let limit = hashing();
    bounded(&limit.permits, limit.wait, move || {
        let hash = stored_hash.unwrap_or_else(|| DUMMY_HASH.to_string());
        let parsed = PasswordHash::new(&hash)
            .map_err(|err| ApiError::internal(anyhow::anyhow!("stored hash unreadable: {err}")))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(matches && hash != DUMMY_HASH)
    })
    .await
}

/// A stored hash that no password matches: for users who have no password (deleted ones).
pub fn no_password_hash() -> String {
    DUMMY_HASH.to_string()
}

/// The argon2id hash of a random password nobody knows, for unknown users.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2ZQ8KmgOdCyuSOUK4bJxpCBPzuvcqfQOFCjJ5P8oDkE";

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("ada@example.com").unwrap()
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn a_short_password_is_rejected() {
        assert!(Password::parse("abc123", &email()).is_err());
    }

    #[test]
    fn a_password_without_a_digit_is_rejected() {
        assert!(Password::parse("onlyletterslong", &email()).is_err());
    }

    #[test]
    fn a_password_equal_to_the_email_is_rejected() {
        let email = Email::parse("ada1234567@example.com").unwrap();
        assert!(Password::parse("ADA1234567@example.com", &email).is_err());
    }

    #[test]
    fn a_good_password_is_accepted() {
        assert!(Password::parse("correct horse 42", &email()).is_ok());
    }

    #[test]
    fn an_empty_name_is_rejected_and_names_are_trimmed() {
        assert!(FullName::parse("   ").is_err());
        assert_eq!(
            FullName::parse(" Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let hash = hash_password("correct horse 42").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse 42", Some(hash.clone()))
            .await
            .unwrap());
        assert!(!verify_password("wrong horse 42", Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn hashing_beyond_the_limit_waits_its_turn_then_is_refused() {
        let permits = tokio::sync::Semaphore::new(2);
        let wait = std::time::Duration::from_millis(200);
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let work = || {
            let (running, most) = (running.clone(), most.clone());
            move || {
                use std::sync::atomic::Ordering::SeqCst;
                let now = running.fetch_add(1, SeqCst) + 1;
                most.fetch_max(now, SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(50));
                running.fetch_sub(1, SeqCst);
                Ok(())
            }
        };
        // Six at once, each 50 ms, two at a time: all are done within the 200 ms wait.
        let results =
            futures::future::join_all((0..6).map(|_| bounded(&permits, wait, work()))).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(
            most.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "never more than two"
        );
        // With every permit held past the wait, the request is refused, not queued forever.
        let _held = (
            permits.acquire().await.unwrap(),
            permits.acquire().await.unwrap(),
        );
        let refused = bounded(&permits, wait, work()).await;
        assert!(matches!(refused, Err(ApiError::LimitExceeded(_))));
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        assert!(!verify_password("anything 123", None).await.unwrap());
    }
}
