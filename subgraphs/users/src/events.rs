//! What the users service publishes: `bank.user.registered.v1` on `bank.users`, keyed by user
//! id, so that the notifications service knows where to send e-mail (docs/events.md).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bank_common::events::{Envelope, OutgoingEvent};

use crate::store::UserRow;

pub const TOPIC: &str = "bank.users";
pub const SOURCE: &str = "/users";
pub const REGISTERED: &str = "bank.user.registered.v1";

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
