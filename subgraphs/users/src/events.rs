//! What the users service publishes on `bank.users`, keyed by user id (docs/events.md):
//! `bank.user.registered.v1` once an address is confirmed (where to send e-mail), and the two
//! e-mails a registration sends through the notifications service:
//! `bank.user.verification-requested.v1` (the confirmation link, to a new address) and
//! `bank.user.registration-attempted.v1` (to an address that has an account already, so that
//! `register` answers the same either way); `bank.user.deleted.v1` when an administrator
//! deleted a user (services erase the personal data they keep of them).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bank_common::events::{Envelope, OutgoingEvent};

use crate::store::UserRow;

pub const TOPIC: &str = "bank.users";
pub const SOURCE: &str = "/users";
pub const REGISTERED: &str = "bank.user.registered.v1";
pub const VERIFICATION_REQUESTED: &str = "bank.user.verification-requested.v1";
pub const REGISTRATION_ATTEMPTED: &str = "bank.user.registration-attempted.v1";
pub const PASSWORD_RESET_REQUESTED: &str = "bank.user.password-reset-requested.v1";
pub const DELETED: &str = "bank.user.deleted.v1";

/// A user was deleted: services that keep personal data of theirs erase it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDeleted {
    pub user_id: Uuid,
}

/// `bank.user.deleted.v1` for `user_id`.
pub fn deleted(user_id: Uuid) -> OutgoingEvent {
    OutgoingEvent::new(
        TOPIC,
        &Envelope::new(SOURCE, DELETED, user_id, UserDeleted { user_id }),
    )
}

/// An e-mail the notifications service sends for a registration: to `email`, saying `subject`
/// and `body` (with the confirmation link in it for a new address).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountEmail {
    pub user_id: Uuid,
    pub email: String,
    pub subject: String,
    pub body: String,
}

/// The confirmation e-mail for a new registration.
pub fn verification_requested(row: &UserRow, link: &str) -> OutgoingEvent {
    let data = AccountEmail {
        user_id: row.id,
        email: row.email.clone(),
        subject: "Confirm your e-mail address".into(),
        body: format!(
            "Welcome, {name}.\n\nTo finish opening your account, open this link within 24 hours \
             and enter the password you chose:\n\n{link}\n\nIf you did not ask for an account, \
             ignore this e-mail: nothing happens without that password.",
            name = row.full_name
        ),
    };
    OutgoingEvent::new(
        TOPIC,
        &Envelope::new(SOURCE, VERIFICATION_REQUESTED, row.id, data),
    )
}

/// The e-mail with a password-reset link.
pub fn password_reset_requested(row: &UserRow, link: &str) -> OutgoingEvent {
    let data = AccountEmail {
        user_id: row.id,
        email: row.email.clone(),
        subject: "Reset your password".into(),
        body: format!(
            "Someone asked to reset the password of your account. To choose a new one, open \
             this link within an hour:\n\n{link}\n\nIf it was not you, ignore this e-mail: your \
             password stays as it is."
        ),
    };
    OutgoingEvent::new(
        TOPIC,
        &Envelope::new(SOURCE, PASSWORD_RESET_REQUESTED, row.id, data),
    )
}

/// The e-mail to an address that has an account already.
pub fn registration_attempted(row: &UserRow, app_url: &str) -> OutgoingEvent {
    let data = AccountEmail {
        user_id: row.id,
        email: row.email.clone(),
        subject: "Someone tried to open an account with your address".into(),
        body: format!(
            "Someone asked to open an account with this e-mail address, which has one already.\n\n\
             If it was you, sign in at {app_url}/ instead. If it was not, you need not do \
             anything: your account is unchanged."
        ),
    };
    OutgoingEvent::new(
        TOPIC,
        &Envelope::new(SOURCE, REGISTRATION_ATTEMPTED, row.id, data),
    )
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub email: String,
    pub full_name: String,
}

pub fn registered(row: &UserRow) -> OutgoingEvent {
    let data = UserRegistered {
        user_id: row.id,
        email: row.email.clone(),
        full_name: row.full_name.clone(),
    };
    OutgoingEvent::new(TOPIC, &Envelope::new(SOURCE, REGISTERED, row.id, data))
}
