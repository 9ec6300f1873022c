//! The loans subgraph against a real PostgreSQL, a real broker and the real ledger (the
//! transactions service, in process): products and quotes, the application's life, money
//! moved once under retries and concurrency, and recovery from a crash between the ledger's
//! commit and this service's record.

mod helpers;

mod lifecycle;
mod reconciliation;
mod recovery;
mod repayments;
