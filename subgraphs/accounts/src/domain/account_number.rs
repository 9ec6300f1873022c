//! Account numbers in IBAN form: country code, two check digits (ISO 7064 mod 97-10), then the
//! bank's own part. The bank uses the user-assigned code `XB` (ISO 3166 reserves `XA`-`XZ`
//! for private use, so no real IBAN collides) followed by a 4-digit branch and 10 digits.
//! A typo in one digit, or two swapped digits, fails the check.

use std::fmt;

use rand::Rng;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountNumber(String);

const COUNTRY: &str = "XB";
const BRANCH: &str = "0001";

impl AccountNumber {
    /// A new random number with valid check digits.
    pub fn generate() -> Self {
        let serial: u64 = rand::thread_rng().gen_range(0..10_000_000_000);
        let bban = format!("{BRANCH}{serial:010}");
        Self::from_bban(COUNTRY, &bban)
    }

    fn from_bban(country: &str, bban: &str) -> Self {
        let remainder = mod97(&format!("{bban}{country}00"));
        let check = 98 - remainder;
        AccountNumber(format!("{country}{check:02}{bban}"))
    }

    /// Accepts any IBAN-form number whose check digits are right (spaces allowed, any case).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let well_formed = compact.len() >= 5
            && compact.len() <= 34
            && compact[..2].bytes().all(|b| b.is_ascii_uppercase())
            && compact[2..4].bytes().all(|b| b.is_ascii_digit())
            && compact[4..].bytes().all(|b| b.is_ascii_alphanumeric());
        if !well_formed {
            return Err(format!("{raw:?} is not an account number"));
        }
        let rearranged = format!("{}{}", &compact[4..], &compact[..4]);
        if mod97(&rearranged) != 1 {
            return Err(format!("{raw:?} has wrong check digits"));
        }
        Ok(AccountNumber(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// ISO 7064 mod 97-10 over an alphanumeric string (letters count as 10..35).
fn mod97(text: &str) -> u32 {
    text.chars().fold(0u32, |acc, c| {
        let value = c.to_digit(36).unwrap_or(0);
        if value >= 10 {
            (acc * 100 + value) % 97
        } else {
            (acc * 10 + value) % 97
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_iban_validates() {
        // The example IBAN from the UK's IBAN documentation.
        assert!(AccountNumber::parse("GB82 WEST 1234 5698 7654 32").is_ok());
        assert!(AccountNumber::parse("GB82WEST12345698765433").is_err());
    }

    #[test]
    fn generated_numbers_validate_and_look_like_the_bank() {
        for _ in 0..1000 {
            let number = AccountNumber::generate();
            assert_eq!(AccountNumber::parse(number.as_str()).as_ref(), Ok(&number));
            assert!(number.as_str().starts_with("XB"));
            assert_eq!(number.as_str().len(), 18);
        }
    }

    #[test]
    fn a_single_changed_digit_is_caught() {
        let number = AccountNumber::generate().as_str().to_string();
        let mut digits: Vec<char> = number.chars().collect();
        let last = digits.len() - 1;
        digits[last] = if digits[last] == '9' {
            '0'
        } else {
            (digits[last] as u8 + 1) as char
        };
        let typo: String = digits.into_iter().collect();
        assert!(AccountNumber::parse(&typo).is_err());
    }

    #[test]
    fn swapped_neighbouring_digits_are_caught() {
        let number = AccountNumber::from_bban(COUNTRY, "00011234567890");
        let swapped = number.as_str().replacen("12345", "21345", 1);
        assert!(AccountNumber::parse(&swapped).is_err());
    }
}
