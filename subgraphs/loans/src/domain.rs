//! The rules of lending, free of I/O: the repayment schedule (an annuity in integer minor
//! units), how repayments settle installments, and the loan's lifecycle.

use chrono::{Months, NaiveDate};

/// Basis points per whole (100% = 10,000 bp).
const BP: i128 = 10_000;

/// One month's interest on `balance` at `annual_rate_bp`, rounded half up to a minor unit.
pub fn monthly_interest(balance: i64, annual_rate_bp: i32) -> i64 {
    let numerator = balance as i128 * annual_rate_bp as i128;
    let denominator = 12 * BP;
    ((numerator + denominator / 2) / denominator) as i64
}

/// One installment of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Installment {
    /// 1-based.
    pub number: i32,
    pub principal_minor: i64,
    pub interest_minor: i64,
}

impl Installment {
    pub fn amount_minor(&self) -> i64 {
        self.principal_minor + self.interest_minor
    }
}

/// A repayment plan: equal monthly payments (the last one absorbs the rounding), interest on
/// the declining balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub monthly_payment_minor: i64,
    pub installments: Vec<Installment>,
}

impl Schedule {
    /// The smallest equal payment that repays `principal` in `months` at `annual_rate_bp`.
    /// Pure integer arithmetic: the payment is found by bisection over what a simulated
    /// schedule leaves for its last month, so rounding never makes the plan miss a unit.
    pub fn annuity(principal: i64, annual_rate_bp: i32, months: i32) -> Schedule {
        assert!(principal > 0 && months > 0 && annual_rate_bp >= 0);
        // The last installment when every earlier one pays `payment`.
        let last = |payment: i64| -> Option<i64> {
            let mut balance = principal;
            for _ in 1..months {
                let interest = monthly_interest(balance, annual_rate_bp);
                let principal_part = payment - interest;
                if principal_part <= 0 {
                    return None; // the payment does not even cover the interest
                }
                balance = (balance - principal_part).max(0);
            }
            Some(balance + monthly_interest(balance, annual_rate_bp))
        };
        let fits =
            |payment: i64| last(payment).is_some_and(|final_payment| final_payment <= payment);
        let (mut low, mut high) = ((principal + months as i64 - 1) / months as i64, principal);
        high += monthly_interest(principal, annual_rate_bp) + 1;
        while !fits(high) {
            high *= 2;
        }
        while low < high {
            let middle = low + (high - low) / 2;
            if fits(middle) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        let payment = low;
        let mut balance = principal;
        let mut installments = Vec::with_capacity(months as usize);
        for number in 1..=months {
            let interest = monthly_interest(balance, annual_rate_bp);
            let principal_part = if number == months {
                balance
            } else {
                (payment - interest).min(balance)
            };
            balance -= principal_part;
            installments.push(Installment {
                number,
                principal_minor: principal_part,
                interest_minor: interest,
            });
        }
        Schedule {
            monthly_payment_minor: payment,
            installments,
        }
    }

    pub fn total_interest_minor(&self) -> i64 {
        self.installments.iter().map(|i| i.interest_minor).sum()
    }

    pub fn total_minor(&self) -> i64 {
        self.installments
            .iter()
            .map(Installment::amount_minor)
            .sum()
    }
}

/// The due date of installment `number` (1-based) for a loan disbursed on `disbursed_on`: the
/// same day of each following month (the month's last day where it is shorter).
pub fn due_on(disbursed_on: NaiveDate, number: i32) -> NaiveDate {
    disbursed_on
        .checked_add_months(Months::new(number as u32))
        .expect("a due date within chrono's range")
}

/// How much of each installment `repaid` (the total repaid so far) has settled, in order.
pub fn settled(amounts: &[i64], repaid: i64) -> Vec<i64> {
    let mut left = repaid;
    amounts
        .iter()
        .map(|&amount| {
            let paid = left.clamp(0, amount);
            left -= paid;
            paid
        })
        .collect()
}

/// Where a loan is in its life.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoanStatus {
    /// Applied for; waiting for a decision by staff.
    Pending,
    /// Approved; waiting to be paid out.
    Approved,
    Rejected,
    /// Paid out into the customer's account; being repaid.
    Active,
    /// Repaid in full.
    PaidOff,
}

impl LoanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LoanStatus::Pending => "PENDING",
            LoanStatus::Approved => "APPROVED",
            LoanStatus::Rejected => "REJECTED",
            LoanStatus::Active => "ACTIVE",
            LoanStatus::PaidOff => "PAID_OFF",
        }
    }

    pub fn from_db(text: &str) -> Self {
        match text {
            "PENDING" => LoanStatus::Pending,
            "APPROVED" => LoanStatus::Approved,
            "REJECTED" => LoanStatus::Rejected,
            "ACTIVE" => LoanStatus::Active,
            _ => LoanStatus::PaidOff,
        }
    }
}

/// Where an installment stands on a given day.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallmentStatus {
    Paid,
    /// Partly paid, not yet due.
    PartlyPaid,
    /// Not yet due.
    Upcoming,
    /// Due date passed and not paid in full.
    Overdue,
}

pub fn installment_status(
    amount: i64,
    paid: i64,
    due_on: NaiveDate,
    today: NaiveDate,
) -> InstallmentStatus {
    if paid >= amount {
        InstallmentStatus::Paid
    } else if due_on < today {
        InstallmentStatus::Overdue
    } else if paid > 0 {
        InstallmentStatus::PartlyPaid
    } else {
        InstallmentStatus::Upcoming
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interest_rounds_half_up_to_a_minor_unit() {
        // 1000.00 at 6% a year: 5.00 a month.
        assert_eq!(monthly_interest(100_000, 600), 500);
        // 0.01 at 6%: 0.00005 rounds to 0.
        assert_eq!(monthly_interest(1, 600), 0);
        // 100.00 at 10%: 0.8333.. rounds to 0.83.
        assert_eq!(monthly_interest(10_000, 1000), 83);
        assert_eq!(monthly_interest(10_000, 0), 0);
    }

    #[test]
    fn the_annuity_matches_the_textbook_payment() {
        // 10,000.00 over 12 months at 12%: the textbook payment is 888.49.
        let schedule = Schedule::annuity(1_000_000, 1200, 12);
        assert_eq!(schedule.monthly_payment_minor, 88_849);
        assert_eq!(schedule.installments.len(), 12);
        let principal: i64 = schedule
            .installments
            .iter()
            .map(|i| i.principal_minor)
            .sum();
        assert_eq!(principal, 1_000_000, "the principal is repaid exactly");
        // Every installment but the last is the payment; the last is not larger.
        for installment in &schedule.installments[..11] {
            assert_eq!(installment.amount_minor(), 88_849);
        }
        assert!(schedule.installments[11].amount_minor() <= 88_849);
        assert_eq!(schedule.installments[0].interest_minor, 10_000);
    }

    #[test]
    fn a_zero_rate_splits_the_principal_evenly() {
        let schedule = Schedule::annuity(1000, 0, 3);
        assert_eq!(schedule.monthly_payment_minor, 334);
        let amounts: Vec<i64> = schedule
            .installments
            .iter()
            .map(|i| i.amount_minor())
            .collect();
        assert_eq!(amounts, vec![334, 334, 332]);
        assert_eq!(schedule.total_interest_minor(), 0);
    }

    #[test]
    fn schedules_always_repay_the_principal_exactly() {
        for principal in [1, 99, 50_000, 1_234_567, 250_000_000] {
            for rate in [0, 1, 499, 1999, 10_000] {
                for months in [1, 2, 7, 12, 60, 360] {
                    let s = Schedule::annuity(principal, rate, months);
                    let repaid: i64 = s.installments.iter().map(|i| i.principal_minor).sum();
                    assert_eq!(repaid, principal, "{principal} {rate} {months}");
                    assert!(s.installments.iter().all(|i| i.principal_minor >= 0));
                    let last = s.installments.last().unwrap().amount_minor();
                    assert!(
                        last <= s.monthly_payment_minor,
                        "{principal} {rate} {months}"
                    );
                }
            }
        }
    }

    #[test]
    fn repayments_settle_installments_in_order() {
        assert_eq!(settled(&[100, 100, 50], 0), vec![0, 0, 0]);
        assert_eq!(settled(&[100, 100, 50], 150), vec![100, 50, 0]);
        assert_eq!(settled(&[100, 100, 50], 250), vec![100, 100, 50]);
    }

    #[test]
    fn due_dates_keep_the_day_or_take_the_month_end() {
        let jan31 = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        assert_eq!(
            due_on(jan31, 1),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
        assert_eq!(
            due_on(jan31, 2),
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
        );
    }

    #[test]
    fn installment_status_depends_on_payment_and_date() {
        let day = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let before = day.pred_opt().unwrap();
        assert_eq!(
            installment_status(10, 10, before, day),
            InstallmentStatus::Paid
        );
        assert_eq!(
            installment_status(10, 5, before, day),
            InstallmentStatus::Overdue
        );
        assert_eq!(
            installment_status(10, 5, day, day),
            InstallmentStatus::PartlyPaid
        );
        assert_eq!(
            installment_status(10, 0, day, day),
            InstallmentStatus::Upcoming
        );
    }
}
