//! The accounts service's rules: account numbers, kinds, statuses and their transitions.

mod account_number;
mod lifecycle;

pub use account_number::AccountNumber;
pub use lifecycle::{
    parse_freeze_reason, AccountKind, AccountStatus, Nickname, MAX_OPEN_ACCOUNTS_PER_OWNER,
};
