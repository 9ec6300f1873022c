//! Request input that parses once at the edge.

use std::time::Duration;

use sha2::{Digest, Sha256};

use bank_common::ApiError;

/// A client-chosen key that makes a money-moving request safe to retry: 1 to 100 characters
/// of letters, digits and `-_.:` (a UUID is a good choice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        bank_common::internal::idempotency_key(text).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text description shown on statements: at most 140 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(Option<String>);

pub const MAX_DESCRIPTION_CHARS: usize = 140;

impl Description {
    pub fn parse(text: Option<&str>) -> Result<Self, ApiError> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Self(None));
        };
        if text.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(ApiError::bad_input(
                "description",
                format!("a description has at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(ApiError::bad_input(
                "description",
                "a description cannot contain control characters",
            ));
        }
        Ok(Self(Some(text.to_string())))
    }

    pub fn into_inner(self) -> Option<String> {
        self.0
    }

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// Holds live between these bounds; the default is a week.
pub const HOLD_MIN_TTL: Duration = Duration::from_secs(1);
pub const HOLD_MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// A fingerprint of a request's meaningful fields: a replay must match it exactly, or the key
/// was reused for something else.
pub fn request_hash(operation: &str, fields: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    for field in fields {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_is_a_valid_idempotency_key() {
        assert!(IdempotencyKey::parse("0193a7c2-5f1e-7d2a-9c4b-1e2f3a4b5c6d").is_ok());
    }

    #[test]
    fn empty_long_or_odd_idempotency_keys_are_rejected() {
        for bad in ["", "has space", "semi;colon", &"k".repeat(101)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_description_longer_than_140_characters_is_rejected() {
        assert!(Description::parse(Some(&"é".repeat(140))).is_ok());
        assert!(Description::parse(Some(&"é".repeat(141))).is_err());
    }

    #[test]
    fn blank_descriptions_are_none_and_control_characters_are_rejected() {
        assert_eq!(Description::parse(Some("  ")).unwrap().into_inner(), None);
        assert!(Description::parse(Some("rent\u{7}")).is_err());
    }

    #[test]
    fn request_hashes_separate_their_fields() {
        assert_ne!(
            request_hash("t", &["ab", "c"]),
            request_hash("t", &["a", "bc"])
        );
        assert_eq!(request_hash("t", &["a"]), request_hash("t", &["a"]));
        assert_ne!(request_hash("t", &["a"]), request_hash("u", &["a"]));
    }
}
