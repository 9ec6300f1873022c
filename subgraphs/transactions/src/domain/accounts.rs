//! A ledger account as the store locked it, and what each movement does to it.
//!
//! Balances are signed minor units. A customer account's balance minus its holds may not go
//! below minus its overdraft limit; the bank's internal accounts (cash, settlement) mirror the
//! customers' money and go negative as customers deposit, so the sum over all accounts of a
//! currency is always zero.

use chrono::NaiveDate;
use uuid::Uuid;

use bank_common::{money::Currency, ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum TransactionKind {
    Deposit,
    Withdrawal,
    Transfer,
    HoldCapture,
    Reversal,
    LoanDisbursement,
    LoanRepayment,
    ExternalPayment,
}

impl TransactionKind {
    /// Money the bank owes a customer: a returned payment or refund, a loan payout. The bank
    /// asks again under the same key until it lands (an account frozen meanwhile is unfrozen),
    /// so a refusal of it is never the key's final answer.
    pub fn pays_the_customer(self) -> bool {
        matches!(
            self,
            TransactionKind::Reversal | TransactionKind::LoanDisbursement
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TransactionKind::Deposit => "DEPOSIT",
            TransactionKind::Withdrawal => "WITHDRAWAL",
            TransactionKind::Transfer => "TRANSFER",
            TransactionKind::HoldCapture => "HOLD_CAPTURE",
            TransactionKind::Reversal => "REVERSAL",
            TransactionKind::LoanDisbursement => "LOAN_DISBURSEMENT",
            TransactionKind::LoanRepayment => "LOAN_REPAYMENT",
            TransactionKind::ExternalPayment => "EXTERNAL_PAYMENT",
        }
    }

    pub fn from_db(text: &str) -> Self {
        match text {
            "DEPOSIT" => TransactionKind::Deposit,
            "WITHDRAWAL" => TransactionKind::Withdrawal,
            "HOLD_CAPTURE" => TransactionKind::HoldCapture,
            "REVERSAL" => TransactionKind::Reversal,
            "LOAN_DISBURSEMENT" => TransactionKind::LoanDisbursement,
            "LOAN_REPAYMENT" => TransactionKind::LoanRepayment,
            "EXTERNAL_PAYMENT" => TransactionKind::ExternalPayment,
            _ => TransactionKind::Transfer,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// A customer's account, mirrored from the accounts service.
    Customer,
    /// The bank's own accounts: cash (deposits and withdrawals), settlement (captured holds).
    Internal,
}

/// The ledger's view of an account's status: opened, frozen and unfrozen arrive as events
/// from the accounts service; closing is agreed with the ledger first (docs/events.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Frozen,
    Closed,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "ACTIVE",
            AccountStatus::Frozen => "FROZEN",
            AccountStatus::Closed => "CLOSED",
        }
    }

    pub fn from_db(text: &str) -> Self {
        match text {
            "ACTIVE" => AccountStatus::Active,
            "FROZEN" => AccountStatus::Frozen,
            _ => AccountStatus::Closed,
        }
    }
}

/// One locked ledger account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountState {
    pub id: Uuid,
    pub owner_id: Option<Uuid>,
    pub kind: AccountKind,
    pub currency: Currency,
    pub status: AccountStatus,
    pub balance_minor: i64,
    pub held_minor: i64,
    pub overdraft_limit_minor: i64,
    pub daily_withdrawal_limit_minor: i64,
    pub withdrawn_today_minor: i64,
    pub withdrawn_on: NaiveDate,
    /// The database's UTC date when the row was locked: one clock for every replica.
    pub read_on: NaiveDate,
}

impl AccountState {
    /// What can still be spent: the balance less open holds.
    pub fn available_minor(&self) -> i64 {
        self.balance_minor - self.held_minor
    }

    pub fn require_active(&self) -> ApiResult<()> {
        match self.status {
            AccountStatus::Active => Ok(()),
            other => Err(ApiError::AccountNotActive(format!(
                "account {} is {}; money cannot move on it",
                self.id,
                other.as_str().to_lowercase()
            ))),
        }
    }

    pub fn require_currency(&self, currency: Currency) -> ApiResult<()> {
        if self.currency == currency {
            Ok(())
        } else {
            Err(ApiError::CurrencyMismatch(format!(
                "account {} holds {}, not {}",
                self.id, self.currency, currency
            )))
        }
    }

    /// Whether `amount` more could leave the account (or be held on it).
    fn can_spend(&self, amount_minor: i64) -> bool {
        self.kind == AccountKind::Internal
            || self
                .available_minor()
                .checked_add(self.overdraft_limit_minor)
                .and_then(|room| room.checked_sub(amount_minor))
                .is_some_and(|left| left >= 0)
    }

    /// Takes `amount` out of the account.
    pub fn debit(&mut self, amount_minor: i64) -> ApiResult<()> {
        assert!(amount_minor > 0, "postings move a positive amount");
        if !self.can_spend(amount_minor) {
            return Err(ApiError::InsufficientFunds);
        }
        self.balance_minor = self
            .balance_minor
            .checked_sub(amount_minor)
            .ok_or_else(too_large)?;
        Ok(())
    }

    /// Puts `amount` into the account.
    pub fn credit(&mut self, amount_minor: i64) -> ApiResult<()> {
        assert!(amount_minor > 0, "postings move a positive amount");
        self.balance_minor = self
            .balance_minor
            .checked_add(amount_minor)
            .ok_or_else(too_large)?;
        Ok(())
    }

    /// Counts a cash withdrawal against today's limit (days are UTC, by the database's clock).
    /// The count starts afresh only when the day moves forward: a `today` before the recorded
    /// day (a clock behind) counts against the recorded day rather than resetting it.
    pub fn count_withdrawal(&mut self, amount_minor: i64, today: NaiveDate) -> ApiResult<()> {
        if today > self.withdrawn_on {
            self.withdrawn_on = today;
            self.withdrawn_today_minor = 0;
        }
        let total = self
            .withdrawn_today_minor
            .checked_add(amount_minor)
            .ok_or_else(too_large)?;
        if total > self.daily_withdrawal_limit_minor {
            return Err(ApiError::LimitExceeded(format!(
                "this withdrawal would exceed the account's daily withdrawal limit ({} of {} minor units already withdrawn today)",
                self.withdrawn_today_minor, self.daily_withdrawal_limit_minor
            )));
        }
        self.withdrawn_today_minor = total;
        Ok(())
    }

    /// Reserves `amount` for a hold.
    pub fn hold(&mut self, amount_minor: i64) -> ApiResult<()> {
        assert!(amount_minor > 0, "holds reserve a positive amount");
        if !self.can_spend(amount_minor) {
            return Err(ApiError::InsufficientFunds);
        }
        self.held_minor = self
            .held_minor
            .checked_add(amount_minor)
            .ok_or_else(too_large)?;
        Ok(())
    }

    /// Gives a hold's reservation back (on capture, void or expiry).
    pub fn release(&mut self, amount_minor: i64) {
        assert!(
            amount_minor > 0 && amount_minor <= self.held_minor,
            "a release matches a hold on the account"
        );
        self.held_minor -= amount_minor;
    }
}

fn too_large() -> ApiError {
    ApiError::LimitExceeded("the amount is too large for the account".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(balance: i64) -> AccountState {
        AccountState {
            id: Uuid::nil(),
            owner_id: Some(Uuid::nil()),
            kind: AccountKind::Customer,
            currency: Currency::parse("EUR").unwrap(),
            status: AccountStatus::Active,
            balance_minor: balance,
            held_minor: 0,
            overdraft_limit_minor: 0,
            daily_withdrawal_limit_minor: 1_000,
            withdrawn_today_minor: 0,
            withdrawn_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            read_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        }
    }

    #[test]
    fn the_daily_count_resets_only_when_the_day_moves_forward() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let mut a = account(10_000);
        a.withdrawn_on = day;
        a.withdrawn_today_minor = 1_000;
        // A clock a day behind does not start the count afresh.
        let yesterday = day.pred_opt().unwrap();
        assert_eq!(code(a.count_withdrawal(1, yesterday)), "LIMIT_EXCEEDED");
        assert_eq!(a.withdrawn_on, day);
        // The next day does.
        assert_eq!(code(a.count_withdrawal(600, day.succ_opt().unwrap())), "OK");
        assert_eq!(a.withdrawn_today_minor, 600);
    }

    fn code(result: ApiResult<()>) -> &'static str {
        result.err().map(|e| e.code()).unwrap_or("OK")
    }

    #[test]
    fn a_debit_beyond_the_balance_is_insufficient_funds() {
        let mut a = account(100);
        assert_eq!(code(a.debit(101)), "INSUFFICIENT_FUNDS");
        assert_eq!(a.balance_minor, 100, "a refused debit changes nothing");
        assert_eq!(code(a.debit(100)), "OK");
        assert_eq!(a.balance_minor, 0);
    }

    #[test]
    fn an_overdraft_limit_lets_the_balance_go_that_far_below_zero() {
        let mut a = account(0);
        a.overdraft_limit_minor = 50;
        assert_eq!(code(a.debit(50)), "OK");
        assert_eq!(a.balance_minor, -50);
        assert_eq!(code(a.debit(1)), "INSUFFICIENT_FUNDS");
    }

    #[test]
    fn holds_reduce_what_can_be_spent() {
        let mut a = account(100);
        assert_eq!(code(a.hold(60)), "OK");
        assert_eq!(a.available_minor(), 40);
        assert_eq!(code(a.debit(41)), "INSUFFICIENT_FUNDS");
        assert_eq!(code(a.hold(41)), "INSUFFICIENT_FUNDS");
        a.release(60);
        assert_eq!(code(a.debit(100)), "OK");
    }

    #[test]
    fn internal_accounts_go_negative() {
        let mut cash = account(0);
        cash.kind = AccountKind::Internal;
        assert_eq!(code(cash.debit(1_000_000)), "OK");
        assert_eq!(cash.balance_minor, -1_000_000);
    }

    #[test]
    fn the_daily_withdrawal_limit_counts_per_utc_day() {
        let mut a = account(10_000);
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(code(a.count_withdrawal(600, day)), "OK");
        assert_eq!(code(a.count_withdrawal(401, day)), "LIMIT_EXCEEDED");
        assert_eq!(code(a.count_withdrawal(400, day)), "OK");
        let next = day.succ_opt().unwrap();
        assert_eq!(code(a.count_withdrawal(1_000, next)), "OK");
    }

    #[test]
    fn only_active_accounts_move_money() {
        let mut a = account(0);
        assert_eq!(code(a.require_active()), "OK");
        a.status = AccountStatus::Frozen;
        assert_eq!(code(a.require_active()), "ACCOUNT_NOT_ACTIVE");
        a.status = AccountStatus::Closed;
        assert_eq!(code(a.require_active()), "ACCOUNT_NOT_ACTIVE");
    }

    #[test]
    fn currencies_must_match() {
        let a = account(0);
        assert_eq!(
            code(a.require_currency(Currency::parse("EUR").unwrap())),
            "OK"
        );
        assert_eq!(
            code(a.require_currency(Currency::parse("USD").unwrap())),
            "CURRENCY_MISMATCH"
        );
    }

    #[test]
    fn balances_that_would_overflow_are_refused() {
        let mut a = account(i64::MAX - 1);
        assert_eq!(code(a.credit(2)), "LIMIT_EXCEEDED");
    }
}
