//! The payments subgraph against a real PostgreSQL, a real broker, the real ledger (the
//! transactions service, in process) and the stand-in payment gateway
//! (`scripts/payment_gateway.py`, a real HTTP process that calls back with signed callbacks).

mod helpers;

mod callbacks;
mod direct_debits;
mod payees;
mod payments;
mod reconciliation;
mod standing_orders;
mod unknown_outcomes;
