//! Currencies and amounts. Money is an integer count of minor units (`i64`) with an ISO 4217
//! currency; never a float. The API speaks decimal strings ("12.34") whose number of decimals
//! must fit the currency's exponent.

use std::fmt;

/// A supported ISO 4217 currency and its exponent (digits after the decimal point).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

/// The currencies the bank holds accounts in.
const SUPPORTED: &[Currency] = &[
    Currency {
        code: "EUR",
        exponent: 2,
    },
    Currency {
        code: "USD",
        exponent: 2,
    },
    Currency {
        code: "GBP",
        exponent: 2,
    },
    Currency {
        code: "CHF",
        exponent: 2,
    },
    Currency {
        code: "SEK",
        exponent: 2,
    },
    Currency {
        code: "JPY",
        exponent: 0,
    },
];

impl Currency {
    /// Parses an ISO 4217 code (case-insensitive) the bank supports.
    pub fn parse(code: &str) -> Result<Self, String> {
        let upper = code.trim().to_ascii_uppercase();
        SUPPORTED
            .iter()
            .copied()
            .find(|currency| currency.code == upper)
            .ok_or_else(|| {
                let known: Vec<_> = SUPPORTED.iter().map(|c| c.code).collect();
                format!(
                    "unsupported currency {code:?}; supported: {}",
                    known.join(", ")
                )
            })
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    pub fn all() -> &'static [Currency] {
        SUPPORTED
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// Parses a non-negative decimal string into minor units of `currency`.
/// "12.3" in EUR is 1230; "12.345" in EUR is rejected; "12" in JPY is 12.
pub fn parse_minor(amount: &str, currency: Currency) -> Result<i64, String> {
    let text = amount.trim();
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) || text.ends_with('.') {
        return Err(format!("{amount:?} is not a decimal amount like \"12.34\""));
    }
    let exponent = usize::from(currency.exponent());
    if fraction.len() > exponent {
        return Err(format!(
            "{currency} allows at most {exponent} decimal places, got {amount:?}"
        ));
    }
    let scale = 10i64.pow(u32::from(currency.exponent()));
    let whole: i64 = whole
        .parse()
        .map_err(|_| format!("{amount:?} is too large"))?;
    let fraction_minor: i64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<exponent$}").parse().unwrap_or(0)
    };
    whole
        .checked_mul(scale)
        .and_then(|minor| minor.checked_add(fraction_minor))
        .ok_or_else(|| format!("{amount:?} is too large"))
}

/// Formats minor units as a decimal string with exactly the currency's decimals.
pub fn format_minor(minor: i64, currency: Currency) -> String {
    let exponent = u32::from(currency.exponent());
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(exponent);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let scale = scale as u64;
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = exponent as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("eur").unwrap()
    }

    #[test]
    fn amounts_parse_into_minor_units() {
        assert_eq!(parse_minor("12.34", eur()), Ok(1234));
        assert_eq!(parse_minor("12.3", eur()), Ok(1230));
        assert_eq!(parse_minor("0.01", eur()), Ok(1));
        assert_eq!(parse_minor("7", Currency::parse("JPY").unwrap()), Ok(7));
    }

    #[test]
    fn more_decimals_than_the_currency_allows_are_rejected() {
        assert!(parse_minor("1.234", eur()).is_err());
        assert!(parse_minor("1.5", Currency::parse("JPY").unwrap()).is_err());
    }

    #[test]
    fn malformed_amounts_are_rejected() {
        for bad in [
            "",
            "-1",
            "1,00",
            "abc",
            "1.",
            ".5",
            "1e3",
            "99999999999999999999",
        ] {
            assert!(
                parse_minor(bad, eur()).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn formatting_round_trips() {
        for minor in [0, 1, 99, 100, 123456, -250] {
            let text = format_minor(minor, eur());
            if minor >= 0 {
                assert_eq!(parse_minor(&text, eur()), Ok(minor));
            }
        }
        assert_eq!(format_minor(-250, eur()), "-2.50");
        assert_eq!(format_minor(5, eur()), "0.05");
    }

    #[test]
    fn unknown_currencies_are_rejected_with_the_supported_list() {
        let err = Currency::parse("XYZ").unwrap_err();
        assert!(err.contains("EUR"));
    }
}

/// GraphQL types for money, shared by every subgraph that shows amounts.
pub mod graphql {
    use async_graphql::{
        InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value,
    };

    use super::{format_minor, Currency};

    /// A decimal string such as "12.34". Numbers are refused: a JSON float cannot carry money.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Decimal(pub String);

    /// A decimal string, e.g. "12.34"; its number of decimals must fit the currency.
    #[Scalar(name = "Decimal")]
    impl ScalarType for Decimal {
        fn parse(value: Value) -> InputValueResult<Self> {
            match value {
                Value::String(text) => Ok(Decimal(text)),
                _ => Err(InputValueError::custom(
                    "amounts are decimal strings such as \"12.34\", not numbers",
                )),
            }
        }

        fn to_value(&self) -> Value {
            Value::String(self.0.clone())
        }
    }

    /// An amount in a currency.
    #[derive(Debug, Clone, SimpleObject)]
    #[graphql(shareable)]
    pub struct Money {
        pub amount: Decimal,
        /// ISO 4217 code.
        pub currency: String,
    }

    impl Money {
        pub fn new(minor: i64, currency: Currency) -> Self {
            Money {
                amount: Decimal(format_minor(minor, currency)),
                currency: currency.code().to_string(),
            }
        }
    }
}
