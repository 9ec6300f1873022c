//! The rules of payments, free of I/O.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// An IBAN: country code, two check digits (ISO 7064 mod 97-10), then up to 30 letters and
/// digits. Spaces are allowed on input and dropped; letters are upper-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iban(String);

impl Iban {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let well_formed = (15..=34).contains(&compact.len())
            && compact[..2].bytes().all(|b| b.is_ascii_uppercase())
            && compact[2..4].bytes().all(|b| b.is_ascii_digit())
            && compact[4..].bytes().all(|b| b.is_ascii_alphanumeric());
        if !well_formed {
            return Err(format!("{raw:?} is not an IBAN"));
        }
        let rearranged = format!("{}{}", &compact[4..], &compact[..4]);
        if mod97(&rearranged) != 1 {
            return Err(format!("{raw:?} has wrong check digits"));
        }
        Ok(Iban(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The remainder modulo 97 of a string of digits and letters (A=10 ... Z=35).
fn mod97(text: &str) -> u32 {
    text.chars().fold(0u32, |remainder, c| {
        let value = c.to_digit(36).expect("alphanumeric");
        if value < 10 {
            (remainder * 10 + value) % 97
        } else {
            (remainder * 100 + value) % 97
        }
    })
}

/// A payee's or creditor's name: 1 to 70 characters (the SEPA limit), no control characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 70 || name.chars().any(char::is_control) {
        Err("a name is 1 to 70 characters, without control characters".into())
    } else {
        Ok(name.to_string())
    }
}

/// Remittance information for the creditor: at most 140 characters (the SEPA limit).
pub fn parse_remittance(raw: Option<&str>) -> Result<Option<String>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() > 140 || text.chars().any(char::is_control) => Err(
            "remittance information is at most 140 characters, without control characters".into(),
        ),
        Some(text) => Ok(Some(text.to_string())),
    }
}

/// Where a payment is in its life.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Recorded; the debit of the customer's account is not confirmed yet.
    Pending,
    /// Debited; waiting to be sent to the gateway.
    Queued,
    /// The gateway accepted it; waiting for settlement.
    Submitted,
    /// Settled at the other bank.
    Completed,
    /// The ledger refused the debit (see `failureCode`); no money moved.
    Failed,
    /// The gateway rejected it; the money is on its way back to the account.
    Returning,
    /// Rejected, and the money is back in the account.
    Returned,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::Queued => "QUEUED",
            PaymentStatus::Submitted => "SUBMITTED",
            PaymentStatus::Completed => "COMPLETED",
            PaymentStatus::Failed => "FAILED",
            PaymentStatus::Returning => "RETURNING",
            PaymentStatus::Returned => "RETURNED",
        }
    }

    pub fn from_db(text: &str) -> Self {
        match text {
            "PENDING" => PaymentStatus::Pending,
            "QUEUED" => PaymentStatus::Queued,
            "SUBMITTED" => PaymentStatus::Submitted,
            "COMPLETED" => PaymentStatus::Completed,
            "FAILED" => PaymentStatus::Failed,
            "RETURNING" => PaymentStatus::Returning,
            _ => PaymentStatus::Returned,
        }
    }
}

/// The signature a gateway callback carries: `sha256=<hex HMAC-SHA256 of the body>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Whether `signature` is the body's (compared in constant time).
pub fn verify(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    if hex.len() != 64 {
        return false;
    }
    let Some(bytes) = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}

/// The pause before the `attempt`th retry (1-based): doubling from `base`, at most `max`.
pub fn backoff(
    base: std::time::Duration,
    max: std::time::Duration,
    attempt: u32,
) -> std::time::Duration {
    base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ibans_are_checked_by_their_check_digits() {
        assert_eq!(
            Iban::parse("de89 3704 0044 0532 0130 00").unwrap().as_str(),
            "DE89370400440532013000"
        );
        assert!(Iban::parse("GB82WEST12345698765432").is_ok());
        assert!(
            Iban::parse("DE89370400440532013001").is_err(),
            "one digit off"
        );
        assert!(
            Iban::parse("DE98370400440532013000").is_err(),
            "check digits swapped"
        );
        assert!(Iban::parse("DE89").is_err());
        assert!(Iban::parse("not an iban at all").is_err());
    }

    #[test]
    fn names_and_remittance_are_bounded() {
        assert_eq!(parse_name("  Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert!(parse_name("").is_err());
        assert!(parse_name(&"x".repeat(71)).is_err());
        assert_eq!(parse_remittance(Some("  ")).unwrap(), None);
        assert!(parse_remittance(Some(&"x".repeat(141))).is_err());
        assert!(parse_remittance(Some("a\u{7}b")).is_err());
    }

    #[test]
    fn signatures_verify_only_for_the_same_secret_and_body() {
        let signature = sign(b"secret", b"{\"a\":1}");
        assert!(verify(b"secret", b"{\"a\":1}", &signature));
        assert!(!verify(b"other", b"{\"a\":1}", &signature));
        assert!(!verify(b"secret", b"{\"a\":2}", &signature));
        assert!(!verify(b"secret", b"{\"a\":1}", "sha256=zz"));
        assert!(!verify(b"secret", b"{\"a\":1}", "md5=00"));
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let (base, max) = (Duration::from_secs(1), Duration::from_secs(10));
        assert_eq!(backoff(base, max, 1), Duration::from_secs(1));
        assert_eq!(backoff(base, max, 3), Duration::from_secs(4));
        assert_eq!(backoff(base, max, 9), Duration::from_secs(10));
    }
}
