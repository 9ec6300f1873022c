//! The notifications subgraph against a real PostgreSQL, a real broker, a real SMTP server
//! (Python's aiosmtpd) and a local HTTP SMS sink.

mod helpers;

mod alerts;
mod centre;
mod consumer;
mod delivery;
