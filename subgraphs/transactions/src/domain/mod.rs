//! The ledger's rules, free of I/O: what a valid request is, and what a movement does to the
//! accounts it touches. The store locks the rows, hands them here, and writes back the result.

mod accounts;
mod input;

pub use accounts::{AccountKind, AccountState, AccountStatus, TransactionKind};
pub use input::{request_hash, Description, IdempotencyKey, HOLD_MAX_TTL, HOLD_MIN_TTL};
