//! The users service's rules: what a valid e-mail, password and name are, and how passwords
//! are hashed. Inputs are parsed into these types once, at the edge.

mod credentials;
pub mod throttle;

pub use throttle::Throttle;

pub use credentials::{
    hash_password, limit_hashing, no_password_hash, verify_password, Email, FullName, HashingLimit,
    Password,
};
