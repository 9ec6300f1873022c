//! The rules of payments, free of I/O.

use chrono::{Datelike, NaiveDate};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// An IBAN: country code, two check digits (ISO 7064 mod 97-10), then up to 30 letters and
/// digits. Spaces are allowed on input and dropped; letters are upper-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iban(String);

impl Iban {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact = compact(raw);
        if !well_formed(&compact, 15..=34) {
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

/// Spaces dropped, letters upper-cased.
fn compact(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The shape IBANs and creditor identifiers share: a country code, two check digits, then
/// letters and digits, `len` characters in all.
fn well_formed(compact: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&compact.len())
        && compact.is_ascii()
        && compact[..2].bytes().all(|b| b.is_ascii_uppercase())
        && compact[2..4].bytes().all(|b| b.is_ascii_digit())
        && compact[4..].bytes().all(|b| b.is_ascii_alphanumeric())
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

/// A SEPA creditor identifier: country code, two check digits, a three-character business code
/// (often `ZZZ`) and the national identifier (1 to 28 letters and digits). The check digits are
/// ISO 7064 mod 97-10 over the national identifier and the country code, without the business
/// code. Spaces are dropped and letters upper-cased on input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditorId(String);

impl CreditorId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact = compact(raw);
        if !well_formed(&compact, 8..=35) {
            return Err(format!("{raw:?} is not a SEPA creditor identifier"));
        }
        let checked = format!("{}{}", &compact[7..], &compact[..4]);
        if mod97(&checked) != 1 {
            return Err(format!("{raw:?} has wrong check digits"));
        }
        Ok(CreditorId(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mandate reference, as the creditor writes it: 1 to 35 characters of the SEPA character
/// set (letters, digits, space and `/ - ? : ( ) . , ' +`), without leading or trailing spaces.
pub fn parse_mandate_reference(raw: &str) -> Result<String, String> {
    let reference = raw.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || " /-?:().,'+".contains(c);
    if reference.is_empty() || reference.chars().count() > 35 || !reference.chars().all(allowed) {
        Err("a mandate reference is 1 to 35 letters, digits, spaces or / - ? : ( ) . , ' +".into())
    } else {
        Ok(reference.to_string())
    }
}

/// How long after a collection its debtor may have it refunded, no questions asked (the SEPA
/// Core rule: eight weeks).
pub const REFUND_WINDOW_DAYS: i64 = 56;

/// Whether a mandate still allows collections.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MandateStatus {
    /// Creditors may collect under it.
    Active,
    /// Revoked by the customer: every further collection is refused.
    Revoked,
}

impl MandateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MandateStatus::Active => "ACTIVE",
            MandateStatus::Revoked => "REVOKED",
        }
    }

    pub fn from_db(text: &str) -> Self {
        if text == "ACTIVE" {
            MandateStatus::Active
        } else {
            MandateStatus::Revoked
        }
    }
}

/// Where a creditor's collection is in its life.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectDebitStatus {
    /// Recorded; the debit of the account is not confirmed yet.
    Pending,
    /// The account was debited.
    Collected,
    /// Not collected (see `failureCode`); no money moved.
    Refused,
    /// The customer asked for a refund; the money is on its way back.
    Refunding,
    /// Refunded: the money is back in the account.
    Refunded,
}

impl DirectDebitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DirectDebitStatus::Pending => "PENDING",
            DirectDebitStatus::Collected => "COLLECTED",
            DirectDebitStatus::Refused => "REFUSED",
            DirectDebitStatus::Refunding => "REFUNDING",
            DirectDebitStatus::Refunded => "REFUNDED",
        }
    }

    pub fn from_db(text: &str) -> Self {
        match text {
            "PENDING" => DirectDebitStatus::Pending,
            "COLLECTED" => DirectDebitStatus::Collected,
            "REFUSED" => DirectDebitStatus::Refused,
            "REFUNDING" => DirectDebitStatus::Refunding,
            _ => DirectDebitStatus::Refunded,
        }
    }
}

/// Why a collection is refused before the ledger is asked (the ledger's own refusals,
/// `INSUFFICIENT_FUNDS` and the like, keep its codes).
pub fn mandate_refusal(
    status: MandateStatus,
    currency: &str,
    max_amount_minor: Option<i64>,
    requested_currency: &str,
    amount_minor: i64,
) -> Option<(&'static str, String)> {
    if status == MandateStatus::Revoked {
        return Some(("MANDATE_REVOKED", "the customer revoked the mandate".into()));
    }
    if currency != requested_currency {
        return Some((
            "CURRENCY_MISMATCH",
            format!("the mandate's account is in {currency}, not {requested_currency}"),
        ));
    }
    match max_amount_minor {
        Some(max) if amount_minor > max => Some((
            "AMOUNT_ABOVE_LIMIT",
            "the amount is above the mandate's limit per collection".into(),
        )),
        _ => None,
    }
}

/// How often a standing order pays.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// Every seven days from the first date.
    Weekly,
    /// On the first date's day of every month (the month's last day when it is shorter).
    Monthly,
}

impl Frequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
        }
    }

    pub fn from_db(text: &str) -> Self {
        if text == "WEEKLY" {
            Frequency::Weekly
        } else {
            Frequency::Monthly
        }
    }
}

/// Whether a standing order still pays.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandingOrderStatus {
    /// Pays on `nextRunOn`.
    Active,
    /// Cancelled by the customer: no further payments.
    Cancelled,
    /// Its last date has been paid.
    Ended,
}

impl StandingOrderStatus {
    pub fn from_db(text: &str) -> Self {
        match text {
            "ACTIVE" => StandingOrderStatus::Active,
            "CANCELLED" => StandingOrderStatus::Cancelled,
            _ => StandingOrderStatus::Ended,
        }
    }
}

/// How far ahead a standing order's first date may be.
pub const MAX_START_AHEAD_DAYS: i64 = 366;

/// The date after `run_on` on which a standing order that started on `start_on` pays: seven
/// days later, or the same day of the next month as `start_on` (the month's last day if it has
/// fewer days), so an order started on 31 January pays on 28 or 29 February, then 31 March.
pub fn next_run(frequency: Frequency, start_on: NaiveDate, run_on: NaiveDate) -> NaiveDate {
    match frequency {
        Frequency::Weekly => run_on + chrono::Duration::days(7),
        Frequency::Monthly => {
            let (year, month) = if run_on.month() == 12 {
                (run_on.year() + 1, 1)
            } else {
                (run_on.year(), run_on.month() + 1)
            };
            let last = last_day_of_month(year, month);
            NaiveDate::from_ymd_opt(year, month, start_on.day().min(last))
                .expect("a day within the month")
        }
    }
}

fn last_day_of_month(year: i32, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1)
        .and_then(|first| first.pred_opt())
        .map(|last| last.day())
        .expect("a valid month")
}

/// Checks a standing order's dates against `today`: the first date from today up to a year
/// ahead, the last (if any) not before the first. Returns the field at fault and why.
pub fn check_schedule(
    today: NaiveDate,
    start_on: NaiveDate,
    end_on: Option<NaiveDate>,
) -> Result<(), (&'static str, String)> {
    if start_on < today {
        return Err(("startOn", "the first payment cannot be in the past".into()));
    }
    if start_on > today + chrono::Duration::days(MAX_START_AHEAD_DAYS) {
        return Err((
            "startOn",
            "the first payment is at most a year ahead".into(),
        ));
    }
    if end_on.is_some_and(|end| end < start_on) {
        return Err((
            "endOn",
            "the last payment cannot come before the first".into(),
        ));
    }
    Ok(())
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

    #[test]
    fn creditor_ids_are_checked_without_their_business_code() {
        let id = CreditorId::parse("de98 zzz 09999999999").unwrap();
        assert_eq!(id.as_str(), "DE98ZZZ09999999999");
        // The business code is not part of the check.
        assert!(CreditorId::parse("DE98ABC09999999999").is_ok());
        assert!(
            CreditorId::parse("DE97ZZZ09999999999").is_err(),
            "check digits off"
        );
        assert!(
            CreditorId::parse("DE98ZZZ09999999990").is_err(),
            "one digit off"
        );
        assert!(CreditorId::parse("DE98ZZZ").is_err());
        assert!(CreditorId::parse("no creditor id").is_err());
    }

    #[test]
    fn mandate_references_use_the_sepa_characters() {
        assert_eq!(
            parse_mandate_reference(" M-2026/001 ").unwrap(),
            "M-2026/001"
        );
        assert!(parse_mandate_reference("").is_err());
        assert!(parse_mandate_reference(&"x".repeat(36)).is_err());
        assert!(parse_mandate_reference("M_1").is_err());
        assert!(parse_mandate_reference("Mandat ü").is_err());
    }

    #[test]
    fn a_collection_is_refused_by_its_mandate_before_the_ledger_is_asked() {
        let active = MandateStatus::Active;
        assert_eq!(
            mandate_refusal(active, "EUR", Some(5000), "EUR", 5000),
            None
        );
        assert_eq!(
            mandate_refusal(active, "EUR", None, "EUR", 10_000_000),
            None
        );
        assert_eq!(
            mandate_refusal(active, "EUR", Some(5000), "EUR", 5001).map(|r| r.0),
            Some("AMOUNT_ABOVE_LIMIT")
        );
        assert_eq!(
            mandate_refusal(active, "EUR", None, "USD", 100).map(|r| r.0),
            Some("CURRENCY_MISMATCH")
        );
        assert_eq!(
            mandate_refusal(MandateStatus::Revoked, "EUR", None, "EUR", 100).map(|r| r.0),
            Some("MANDATE_REVOKED")
        );
    }

    #[test]
    fn monthly_orders_keep_their_day_and_fall_back_to_short_months_ends() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let start = d(2027, 1, 31);
        let feb = next_run(Frequency::Monthly, start, start);
        assert_eq!(feb, d(2027, 2, 28));
        assert_eq!(next_run(Frequency::Monthly, start, feb), d(2027, 3, 31));
        assert_eq!(
            next_run(Frequency::Monthly, d(2028, 1, 30), d(2028, 1, 30)),
            d(2028, 2, 29)
        );
        assert_eq!(
            next_run(Frequency::Monthly, d(2026, 12, 15), d(2026, 12, 15)),
            d(2027, 1, 15)
        );
        assert_eq!(
            next_run(Frequency::Weekly, d(2026, 12, 29), d(2026, 12, 29)),
            d(2027, 1, 5)
        );
    }

    #[test]
    fn a_schedule_starts_from_today_within_a_year_and_ends_after_it_starts() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let day = chrono::Duration::days(1);
        assert!(check_schedule(today, today, None).is_ok());
        assert!(check_schedule(today, today, Some(today)).is_ok());
        assert_eq!(
            check_schedule(today, today - day, None).unwrap_err().0,
            "startOn"
        );
        assert_eq!(
            check_schedule(today, today + day * 367, None)
                .unwrap_err()
                .0,
            "startOn"
        );
        assert_eq!(
            check_schedule(today, today + day, Some(today))
                .unwrap_err()
                .0,
            "endOn"
        );
    }
}
