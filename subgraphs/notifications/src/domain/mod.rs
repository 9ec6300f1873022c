//! The rules: what a posting's alert says, and valid preferences.

use bank_common::{money::Currency, ApiError, ApiResult};

use crate::events::Posted;

/// What a notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    pub body: String,
}

/// What a posting's e-mail or text message says: the alert without its description. The
/// description is free text someone else may have written (the sender of a transfer, a
/// creditor's name), and the bank's own e-mail and SMS must not carry it (phishing in the
/// bank's name); the notification centre shows it, as text.
pub fn posting_channel_body(posted: &Posted) -> String {
    format!("Balance: {} {}.", posted.balance_after, posted.currency)
}

/// The alert for one posting, e.g. "You received 12.50 EUR".
pub fn posting_message(posted: &Posted) -> Message {
    let money = format!("{} {}", posted.amount, posted.currency);
    let title = match (posted.kind.as_str(), posted.direction.as_str()) {
        ("DEPOSIT", _) => format!("{money} deposited"),
        ("WITHDRAWAL", _) => format!("{money} withdrawn"),
        ("HOLD_CAPTURE", _) => format!("{money} paid from a hold"),
        (_, "CREDIT") => format!("You received {money}"),
        _ => format!("You sent {money}"),
    };
    let mut body = posting_channel_body(posted);
    if let Some(description) = posted.description.as_deref().filter(|d| !d.is_empty()) {
        body = format!("{description}. {body}");
    }
    Message { title, body }
}

/// What a loan event tells its borrower; `None` for events that say nothing to them.
pub fn loan_message(kind: &str, loan: &crate::events::LoanEvent) -> Option<Message> {
    let principal = format!("{} {}", loan.principal, loan.currency);
    let (title, body) = match kind {
        "bank.loan.approved.v1" => (
            format!("Your loan of {principal} is approved"),
            "It will be paid into your account shortly.".to_string(),
        ),
        "bank.loan.rejected.v1" => (
            format!("Your loan application for {principal} was declined"),
            loan.reason.clone().unwrap_or_default(),
        ),
        "bank.loan.disbursed.v1" => (
            format!("{principal} paid into your account"),
            match loan.installments.first() {
                Some(first) => format!(
                    "Your first repayment of {} {} is due on {}.",
                    first.amount, loan.currency, first.due_on
                ),
                None => String::new(),
            },
        ),
        "bank.loan.repaid.v1" => (
            "Loan repayment received".to_string(),
            format!("Still owed: {} {}.", loan.outstanding, loan.currency),
        ),
        "bank.loan.paid-off.v1" => (
            format!("Your loan of {principal} is repaid in full"),
            "Thank you.".to_string(),
        ),
        _ => return None,
    };
    Some(Message { title, body })
}

/// What a payment event tells its payer; `None` for events they learn of otherwise (the
/// debit's own alert, or the error answered to their request).
pub fn payment_message(kind: &str, payment: &crate::events::PaymentEvent) -> Option<Message> {
    let what = format!(
        "Payment of {} {} to {}",
        payment.amount, payment.currency, payment.creditor_name
    );
    match kind {
        "bank.payment.completed.v1" => Some(Message {
            title: format!("{what} completed"),
            body: "The other bank has the money.".into(),
        }),
        "bank.payment.returned.v1" => Some(Message {
            title: format!("{what} returned"),
            body: format!(
                "{}. The money is back in your account.",
                payment
                    .failure_reason
                    .as_deref()
                    .unwrap_or("The other bank did not accept it")
            ),
        }),
        // Failed at once: the payer saw the error, unless a standing order made it.
        "bank.payment.failed.v1" if payment.standing_order_id.is_some() => Some(Message {
            title: format!(
                "Standing order to {}: {} {} not paid",
                payment.creditor_name, payment.amount, payment.currency
            ),
            body: format!(
                "{}. The order goes on with its next date.",
                payment
                    .failure_reason
                    .as_deref()
                    .unwrap_or("The account could not pay it")
                    .trim_end_matches('.')
            ),
        }),
        "bank.payment.direct-debit.refused.v1" => Some(Message {
            title: format!(
                "Direct debit of {} {} by {} refused",
                payment.amount, payment.currency, payment.creditor_name
            ),
            body: format!(
                "{}. Nothing was taken from your account.",
                payment
                    .failure_reason
                    .as_deref()
                    .unwrap_or("It could not be collected")
                    .trim_end_matches('.')
            ),
        }),
        _ => None,
    }
}

/// How long before a loan installment's due date its reminder is sent.
pub const LOAN_REMINDER_DAYS_BEFORE: i64 = 3;

/// Whether a posting of `amount_minor` reaches a threshold in whole units of its currency.
pub fn reaches_threshold(amount_minor: i64, currency: &str, threshold_units: i64) -> bool {
    let exponent = Currency::parse(currency).map(|c| c.exponent()).unwrap_or(2);
    let threshold_minor = threshold_units.saturating_mul(10i64.pow(u32::from(exponent)));
    amount_minor >= threshold_minor
}

/// A phone number in E.164 form: `+` and 8 to 15 digits.
pub fn parse_phone(text: &str) -> ApiResult<String> {
    let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = compact.strip_prefix('+').unwrap_or_default();
    if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(compact)
    } else {
        Err(ApiError::bad_input(
            "phoneNumber",
            "a phone number is + and 8 to 15 digits (E.164), e.g. +441234567890",
        ))
    }
}

/// Titles and bodies of reminders are bounded like any user text.
pub fn parse_text(field: &'static str, text: &str, max_chars: usize) -> ApiResult<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max_chars {
        return Err(ApiError::bad_input(
            field,
            format!("{field} must be 1 to {max_chars} characters"),
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(kind: &str, direction: &str, amount_minor: i64) -> Posted {
        Posted::sample(kind, direction, amount_minor)
    }

    #[test]
    fn a_received_transfer_says_who_got_what_and_the_balance() {
        let message = posting_message(&posted("TRANSFER", "CREDIT", 1250));
        assert_eq!(message.title, "You received 12.50 EUR");
        assert_eq!(message.body, "Rent. Balance: 90.00 EUR.");
        assert_eq!(
            posting_message(&posted("TRANSFER", "DEBIT", 1)).title,
            "You sent 0.01 EUR"
        );
    }

    #[test]
    fn thresholds_count_in_whole_units_of_the_currency() {
        assert!(reaches_threshold(10_000, "EUR", 100));
        assert!(!reaches_threshold(9_999, "EUR", 100));
        assert!(reaches_threshold(100, "JPY", 100));
        assert!(reaches_threshold(1, "EUR", 0));
    }

    #[test]
    fn phone_numbers_are_e164() {
        assert_eq!(parse_phone("+44 1234 567-890").unwrap(), "+441234567890");
        for bad in ["01234567890", "+12", "+44abc4567890", "+1234567890123456"] {
            assert!(parse_phone(bad).is_err(), "{bad}");
        }
    }
}
