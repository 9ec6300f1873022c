//! Password guessing is slowed down per account and per client address: after a number of
//! failed sign-ins in a row, further attempts are refused (`LIMIT_EXCEEDED`) for a while that
//! doubles with each further failure, up to a ceiling. A refused attempt is not checked at all,
//! so the answer says nothing about the password. A successful sign-in clears the account's
//! count; a count whose last failure is older than the longest lock starts again at one.
//!
//! A token does not help: the limit is the users service's, behind every token check. Locking an
//! account is also what an attacker can do to its owner; the lock is short at first and never
//! permanent, and the owner's own address is not the attacker's.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// When attempts are refused.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    /// Failed sign-ins in a row on one account before attempts wait.
    pub account_failures: i32,
    /// Failed sign-ins in a row from one address (any account) before attempts wait.
    pub address_failures: i32,
    /// The first wait; each further failure doubles it.
    pub first_lock: Duration,
    /// The longest wait.
    pub longest_lock: Duration,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            account_failures: 5,
            address_failures: 20,
            first_lock: Duration::from_secs(30),
            longest_lock: Duration::from_secs(15 * 60),
        }
    }
}

impl Throttle {
    /// How long attempts wait after the `failures`-th failure in a row, given the limit.
    pub fn lock_after(&self, failures: i32, limit: i32) -> Option<Duration> {
        if failures < limit {
            return None;
        }
        let doublings = (failures - limit).min(30) as u32;
        Some(
            self.first_lock
                .saturating_mul(2u32.saturating_pow(doublings))
                .min(self.longest_lock),
        )
    }

    /// The message for an attempt refused until `until`.
    pub fn refusal(until: DateTime<Utc>, now: DateTime<Utc>) -> String {
        let secs = (until - now).num_seconds().max(1);
        format!("too many failed sign-ins; try again in {secs} s")
    }
}

/// What a key's row says: `account:<e-mail>` or `address:<ip>`.
pub fn account_key(email: &str) -> String {
    format!("account:{}", email.to_ascii_lowercase())
}

pub fn address_key(address: std::net::IpAddr) -> String {
    format!("address:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_from_the_limit_up_to_the_ceiling() {
        let t = Throttle::default();
        assert_eq!(t.lock_after(4, 5), None);
        assert_eq!(t.lock_after(5, 5), Some(Duration::from_secs(30)));
        assert_eq!(t.lock_after(6, 5), Some(Duration::from_secs(60)));
        assert_eq!(t.lock_after(8, 5), Some(Duration::from_secs(240)));
        assert_eq!(t.lock_after(10, 5), Some(Duration::from_secs(900)));
        assert_eq!(t.lock_after(1_000, 5), Some(Duration::from_secs(900)));
    }

    #[test]
    fn keys_do_not_depend_on_case() {
        assert_eq!(
            account_key("Ada@Example.com"),
            account_key("ada@example.com")
        );
        assert_eq!(
            address_key("127.0.0.2".parse().unwrap()),
            "address:127.0.0.2"
        );
    }
}
