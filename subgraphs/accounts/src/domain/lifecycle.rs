use async_graphql::Enum;
use bank_common::{ApiError, ApiResult};

/// A customer may hold at most this many accounts that are not closed.
pub const MAX_OPEN_ACCOUNTS_PER_OWNER: u64 = 10;

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    Checking,
    Savings,
}

impl AccountKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            AccountKind::Checking => "CHECKING",
            AccountKind::Savings => "SAVINGS",
        }
    }

    pub fn from_db(text: &str) -> Self {
        match text {
            "SAVINGS" => AccountKind::Savings,
            _ => AccountKind::Checking,
        }
    }
}

/// ACTIVE ⇄ FROZEN → CLOSED. Money moves only on ACTIVE accounts.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Frozen,
    Closed,
}

impl AccountStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            AccountStatus::Active => "ACTIVE",
            AccountStatus::Frozen => "FROZEN",
            AccountStatus::Closed => "CLOSED",
        }
    }

    pub fn from_db(text: &str) -> Self {
        match text {
            "FROZEN" => AccountStatus::Frozen,
            "CLOSED" => AccountStatus::Closed,
            _ => AccountStatus::Active,
        }
    }

    /// The status after freezing. Freezing a frozen account changes nothing.
    pub fn freeze(self) -> ApiResult<AccountStatus> {
        match self {
            AccountStatus::Active | AccountStatus::Frozen => Ok(AccountStatus::Frozen),
            AccountStatus::Closed => Err(ApiError::AccountNotActive(
                "a closed account cannot be frozen".into(),
            )),
        }
    }

    /// The status after unfreezing. Unfreezing an active account changes nothing.
    pub fn unfreeze(self) -> ApiResult<AccountStatus> {
        match self {
            AccountStatus::Active | AccountStatus::Frozen => Ok(AccountStatus::Active),
            AccountStatus::Closed => Err(ApiError::AccountNotActive(
                "a closed account cannot be unfrozen".into(),
            )),
        }
    }
}

/// An optional label the owner gives an account.
pub struct Nickname(Option<String>);

impl Nickname {
    pub const MAX_LEN: usize = 50;

    pub fn parse(raw: Option<&str>) -> ApiResult<Self> {
        let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Nickname(None));
        };
        if text.chars().count() > Self::MAX_LEN {
            return Err(ApiError::bad_input(
                "nickname",
                "the nickname must have at most 50 characters",
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(ApiError::bad_input(
                "nickname",
                "the nickname must not contain control characters",
            ));
        }
        Ok(Nickname(Some(text.to_string())))
    }

    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

/// A freeze needs a reason a colleague can read later.
pub fn parse_freeze_reason(raw: &str) -> ApiResult<String> {
    let reason = raw.trim();
    if reason.is_empty() {
        return Err(ApiError::bad_input(
            "reason",
            "a reason is required to freeze an account",
        ));
    }
    if reason.chars().count() > 500 {
        return Err(ApiError::bad_input(
            "reason",
            "the reason must have at most 500 characters",
        ));
    }
    Ok(reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_accounts_can_be_neither_frozen_nor_unfrozen() {
        assert!(AccountStatus::Closed.freeze().is_err());
        assert!(AccountStatus::Closed.unfreeze().is_err());
    }

    #[test]
    fn freeze_and_unfreeze_are_idempotent() {
        assert_eq!(
            AccountStatus::Frozen.freeze().unwrap(),
            AccountStatus::Frozen
        );
        assert_eq!(
            AccountStatus::Active.unfreeze().unwrap(),
            AccountStatus::Active
        );
        assert_eq!(
            AccountStatus::Active.freeze().unwrap(),
            AccountStatus::Frozen
        );
    }

    #[test]
    fn statuses_round_trip_through_the_database_text() {
        for status in [
            AccountStatus::Active,
            AccountStatus::Frozen,
            AccountStatus::Closed,
        ] {
            assert_eq!(AccountStatus::from_db(status.as_str()), status);
        }
    }

    #[test]
    fn a_long_nickname_is_rejected_and_blank_means_none() {
        assert!(Nickname::parse(Some(&"x".repeat(51))).is_err());
        assert!(Nickname::parse(Some("   ")).unwrap().into_inner().is_none());
    }

    #[test]
    fn a_freeze_needs_a_reason() {
        assert!(parse_freeze_reason("  ").is_err());
        assert_eq!(
            parse_freeze_reason(" suspected fraud ").unwrap(),
            "suspected fraud"
        );
    }
}
