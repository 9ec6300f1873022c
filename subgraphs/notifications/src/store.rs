//! Data access for the notifications service (SeaORM over the `notifications` schema).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, QueryResult, Statement,
    TransactionTrait, Value,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bank_common::{db, outbox};

use crate::{
    domain::{posting_channel_body, posting_message, reaches_threshold, Message},
    events::{self, Posted, UserRegistered},
};

/// The PostgreSQL schema this service owns.
pub const SCHEMA: &str = "notifications";

/// The channel on which a stored notification is announced to every replica.
pub const ADDED_CHANNEL: &str = "notifications_added";

fn stmt(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)
}

/// A user's contact details and preferences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: Uuid,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub in_app: bool,
    pub email_enabled: bool,
    pub sms_enabled: bool,
    /// Alerts for amounts from this many whole units of the currency.
    pub alert_threshold: i64,
    /// The user was deleted: nothing is stored or sent for them.
    pub erased: bool,
}

impl Recipient {
    pub fn default_for(user_id: Uuid) -> Self {
        Self {
            user_id,
            email: None,
            full_name: None,
            phone: None,
            in_app: true,
            email_enabled: false,
            sms_enabled: false,
            alert_threshold: 0,
            erased: false,
        }
    }

    fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            user_id: row.try_get("", "user_id")?,
            email: row.try_get("", "email")?,
            full_name: row.try_get("", "full_name")?,
            phone: row.try_get("", "phone")?,
            in_app: row.try_get("", "in_app")?,
            email_enabled: row.try_get("", "email_enabled")?,
            sms_enabled: row.try_get("", "sms_enabled")?,
            alert_threshold: row.try_get("", "alert_threshold")?,
            erased: row.try_get("", "erased")?,
        })
    }
}

pub async fn recipient(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Recipient, DbErr> {
    Ok(recipients(db, &[user_id])
        .await?
        .remove(&user_id)
        .expect("every user asked for is answered"))
}

/// [`recipient`] for many users in one statement, every one of them in the answer.
pub async fn recipients(
    db: &impl ConnectionTrait,
    user_ids: &[Uuid],
) -> Result<HashMap<Uuid, Recipient>, DbErr> {
    let mut found = HashMap::with_capacity(user_ids.len());
    for row in db
        .query_all(stmt(
            "SELECT user_id, email, full_name, phone, in_app, email_enabled, sms_enabled, \
             alert_threshold, erased_at IS NOT NULL AS erased FROM recipients WHERE user_id = ANY($1)",
            [user_ids.to_vec().into()],
        ))
        .await?
    {
        let recipient = Recipient::from_row(&row)?;
        found.insert(recipient.user_id, recipient);
    }
    for id in user_ids {
        found
            .entry(*id)
            .or_insert_with(|| Recipient::default_for(*id));
    }
    Ok(found)
}

/// Changes to a user's preferences; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct PreferenceChanges {
    pub in_app: Option<bool>,
    pub email: Option<bool>,
    pub sms: Option<bool>,
    pub phone: Option<Option<String>>,
    pub alert_threshold: Option<i64>,
}

pub async fn update_preferences(
    db: &DatabaseConnection,
    user_id: Uuid,
    changes: PreferenceChanges,
) -> Result<Recipient, DbErr> {
    let txn = db.begin().await?;
    txn.execute(stmt(
        "INSERT INTO recipients (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING",
        [user_id.into()],
    ))
    .await?;
    let mut current = Recipient::from_row(
        &txn.query_one(stmt(
            "SELECT user_id, email, full_name, phone, in_app, email_enabled, sms_enabled, \
             alert_threshold, erased_at IS NOT NULL AS erased FROM recipients WHERE user_id = $1 FOR UPDATE",
            [user_id.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the recipient just inserted".into()))?,
    )?;
    if let Some(value) = changes.in_app {
        current.in_app = value;
    }
    if let Some(value) = changes.email {
        current.email_enabled = value;
    }
    if let Some(value) = changes.sms {
        current.sms_enabled = value;
    }
    if let Some(value) = changes.phone {
        current.phone = value;
    }
    if let Some(value) = changes.alert_threshold {
        current.alert_threshold = value;
    }
    txn.execute(stmt(
        "UPDATE recipients SET in_app = $2, email_enabled = $3, sms_enabled = $4, phone = $5, \
         alert_threshold = $6, updated_at = now() WHERE user_id = $1",
        [
            user_id.into(),
            current.in_app.into(),
            current.email_enabled.into(),
            current.sms_enabled.into(),
            current.phone.clone().into(),
            current.alert_threshold.into(),
        ],
    ))
    .await?;
    txn.commit().await?;
    Ok(current)
}

/// A stored in-app notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub seq: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl NotificationRow {
    fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            id: row.try_get("", "id")?,
            user_id: row.try_get("", "user_id")?,
            seq: row.try_get("", "seq")?,
            kind: row.try_get("", "kind")?,
            title: row.try_get("", "title")?,
            body: row.try_get("", "body")?,
            created_at: row.try_get("", "created_at")?,
            read_at: row.try_get("", "read_at")?,
        })
    }
}

const NOTIFICATION_COLUMNS: &str = "id, user_id, seq, kind, title, body, created_at, read_at";

/// Where a notification goes besides the notification centre.
pub struct Outgoing<'a> {
    pub recipient: &'a Recipient,
    pub kind: &'a str,
    pub message: &'a Message,
    pub data: serde_json::Value,
    /// Whether the in-app, e-mail and SMS preferences apply (reminders always go in-app).
    pub in_app: bool,
    /// What e-mail and SMS say instead of the message's body, when that carries free text
    /// written by someone else (see `domain::posting_channel_body`).
    pub channel_body: Option<String>,
}

/// Stores a notification and its deliveries inside `txn`, and announces it to every replica at
/// commit. Returns the notification if one was stored in-app.
pub async fn notify(
    txn: &impl ConnectionTrait,
    outgoing: Outgoing<'_>,
) -> Result<Option<NotificationRow>, DbErr> {
    Ok(notify_all(txn, std::slice::from_ref(&outgoing))
        .await?
        .pop())
}

/// [`notify`] for many at once: the notifications in one statement, their announcements in
/// one, their deliveries in one. Returns the notifications stored in-app, in the given order.
pub async fn notify_all(
    txn: &impl ConnectionTrait,
    outgoing: &[Outgoing<'_>],
) -> Result<Vec<NotificationRow>, DbErr> {
    let outgoing: Vec<&Outgoing<'_>> = outgoing.iter().filter(|o| !o.recipient.erased).collect();
    // In-app notifications: their ids are chosen here, so deliveries can point at them.
    let mut ids = Vec::with_capacity(outgoing.len());
    let mut rows: Vec<[Value; 6]> = Vec::new();
    for o in &outgoing {
        if !o.in_app {
            ids.push(None);
            continue;
        }
        let id = Uuid::now_v7();
        ids.push(Some(id));
        rows.push([
            o.recipient.user_id.into(),
            id.into(),
            o.kind.into(),
            o.message.title.clone().into(),
            o.message.body.clone().into(),
            o.data.to_string().into(),
        ]);
    }
    let mut stored = Vec::with_capacity(rows.len());
    if !rows.is_empty() {
        // Arrays on plain PostgreSQL, a VALUES list on Citus (`db::rows_statement`).
        let insert = db::rows_statement(
            db::on_citus(),
            "INSERT INTO notifications (user_id, id, kind, title, body, data)",
            &["uuid", "uuid", "text", "text", "text", "jsonb"],
            rows,
            &format!("RETURNING {NOTIFICATION_COLUMNS}"),
        );
        let returned = txn.query_all(insert).await?;
        let mut by_id = HashMap::with_capacity(returned.len());
        for row in &returned {
            let row = NotificationRow::from_row(row)?;
            by_id.insert(row.id, row);
        }
        for id in ids.iter().flatten() {
            stored.push(
                by_id
                    .remove(id)
                    .ok_or_else(|| DbErr::RecordNotFound("an inserted notification".into()))?,
            );
        }
        let payloads: Vec<String> = stored
            .iter()
            .map(|row| serde_json::to_string(row).expect("notifications serialise"))
            .collect();
        txn.execute(stmt(
            // In the array's order: an unnest is scanned in order.
            "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload",
            [ADDED_CHANNEL.into(), payloads.into()],
        ))
        .await?;
    }
    let (mut rows, mut values) = (Vec::new(), Vec::<Value>::new());
    for (o, id) in outgoing.iter().zip(&ids) {
        let recipient = o.recipient;
        let mut channels = Vec::new();
        if recipient.email_enabled {
            if let Some(email) = &recipient.email {
                channels.push(("EMAIL", email.clone()));
            }
        }
        if recipient.sms_enabled {
            if let Some(phone) = &recipient.phone {
                channels.push(("SMS", phone.clone()));
            }
        }
        for (channel, address) in channels {
            rows.push(placeholders(values.len(), 8));
            values.extend([
                recipient.user_id.into(),
                Uuid::now_v7().into(),
                (*id).into(),
                channel.into(),
                address.into(),
                o.message.title.clone().into(),
                o.channel_body
                    .clone()
                    .unwrap_or_else(|| o.message.body.clone())
                    .into(),
                "PENDING".into(),
            ]);
        }
    }
    if !rows.is_empty() {
        txn.execute(stmt(
            &format!(
                "INSERT INTO deliveries (user_id, id, notification_id, channel, address, subject, body, status) \
                 VALUES {}",
                rows.join(", ")
            ),
            values,
        ))
        .await?;
    }
    Ok(stored)
}

/// `($n+1, ..., $n+count)`, one row of a multi-row VALUES list.
fn placeholders(n: usize, count: usize) -> String {
    let columns: Vec<String> = (n + 1..=n + count).map(|i| format!("${i}")).collect();
    format!("({})", columns.join(", "))
}

/// Records `event_id` as processed inside `txn`; false if it already was.
async fn first_time(txn: &impl ConnectionTrait, event_id: Uuid, kind: &str) -> Result<bool, DbErr> {
    Ok(txn
        .execute(stmt(
            "INSERT INTO processed_events (event_id, event_type) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [event_id.into(), kind.into()],
        ))
        .await?
        .rows_affected()
        == 1)
}

/// A consumed event this service acts on.
#[derive(Debug, Clone)]
pub enum Applicable {
    Posting(Uuid, Posted),
    Registration(Uuid, UserRegistered),
    /// A deleted user (by id).
    Deletion(Uuid, Uuid),
    /// An e-mail a registration sends (the confirmation link, or a notice).
    AccountEmail(Uuid, crate::events::AccountEmail),
    /// A loan event: its type and data.
    Loan(Uuid, String, crate::events::LoanEvent),
    /// A payment event: its type and data.
    Payment(Uuid, String, crate::events::PaymentEvent),
}

/// Applies a batch of events in one transaction, each once (ids already processed are
/// skipped). Returns how many were new. Consecutive postings, the bulk of the traffic, are
/// applied together in a few statements; other events one by one, in their order.
pub async fn apply_all(db: &DatabaseConnection, batch: &[Applicable]) -> Result<usize, DbErr> {
    let txn = db.begin().await?;
    let mut fresh = 0;
    let mut rest = batch;
    while let Some(item) = rest.first() {
        let postings: Vec<(Uuid, &Posted)> = rest
            .iter()
            .map_while(|item| match item {
                Applicable::Posting(id, posted) => Some((*id, posted)),
                _ => None,
            })
            .collect();
        if !postings.is_empty() {
            rest = &rest[postings.len()..];
            fresh += postings_in(&txn, &postings).await?;
            continue;
        }
        rest = &rest[1..];
        let applied = match item {
            Applicable::Posting(..) => unreachable!("postings are applied together above"),
            Applicable::Registration(id, user) => registration_in(&txn, *id, user).await?,
            Applicable::Deletion(id, user_id) => deletion_in(&txn, *id, *user_id).await?,
            Applicable::AccountEmail(id, mail) => account_email_in(&txn, *id, mail).await?,
            Applicable::Loan(id, kind, loan) => loan_in(&txn, *id, kind, loan).await?,
            Applicable::Payment(id, kind, payment) => payment_in(&txn, *id, kind, payment).await?,
        };
        fresh += usize::from(applied);
    }
    txn.commit().await?;
    Ok(fresh)
}

/// Postings: each user's notification and deliveries, per their preferences. Four statements
/// for any number of postings: their event ids, their recipients, the notifications (with
/// their announcements), the deliveries. Returns how many were new.
async fn postings_in(
    txn: &impl ConnectionTrait,
    postings: &[(Uuid, &Posted)],
) -> Result<usize, DbErr> {
    let mut seen = HashSet::with_capacity(postings.len());
    let rows: Vec<[Value; 2]> = postings
        .iter()
        .filter(|(id, _)| seen.insert(*id))
        .map(|(id, _)| [(*id).into(), events::POSTED.into()])
        .collect();
    let claim = db::rows_statement(
        db::on_citus(),
        "INSERT INTO processed_events (event_id, event_type)",
        &["uuid", "text"],
        rows,
        "ON CONFLICT DO NOTHING RETURNING event_id",
    );
    let mut fresh: HashSet<Uuid> = txn
        .query_all(claim)
        .await?
        .iter()
        .map(|row| row.try_get("", "event_id"))
        .collect::<Result<_, _>>()?;
    let applied = fresh.len();
    // Each new event once, in order (a batch may hold a redelivered copy).
    let new: Vec<&Posted> = postings
        .iter()
        .filter(|(id, _)| fresh.remove(id))
        .map(|(_, posted)| *posted)
        .collect();
    if new.is_empty() {
        return Ok(applied);
    }
    let owners: Vec<Uuid> = new.iter().map(|posted| posted.owner_id).collect();
    let recipients = recipients(txn, &owners).await?;
    let due: Vec<(&Posted, &Recipient, Message)> = new
        .into_iter()
        .filter_map(|posted| {
            let recipient = &recipients[&posted.owner_id];
            reaches_threshold(
                posted.amount_minor,
                &posted.currency,
                recipient.alert_threshold,
            )
            .then(|| (posted, recipient, posting_message(posted)))
        })
        .collect();
    let outgoing: Vec<Outgoing<'_>> = due
        .iter()
        .map(|(posted, recipient, message)| Outgoing {
            recipient,
            kind: "TRANSACTION",
            message,
            data: serde_json::json!({
                "transactionId": posted.transaction_id,
                "accountId": posted.account_id,
                "amount": posted.amount,
                "currency": posted.currency,
                "direction": posted.direction,
                "balanceAfter": posted.balance_after,
            }),
            in_app: recipient.in_app,
            channel_body: Some(posting_channel_body(posted)),
        })
        .collect();
    notify_all(txn, &outgoing).await?;
    Ok(applied)
}

/// A loan event: a notification to the borrower and, when the loan is paid out, a reminder
/// a few days before each installment falls due.
async fn loan_in(
    txn: &impl ConnectionTrait,
    event_id: Uuid,
    kind: &str,
    loan: &crate::events::LoanEvent,
) -> Result<bool, DbErr> {
    if !first_time(txn, event_id, kind).await? {
        return Ok(false);
    }
    let Some(message) = crate::domain::loan_message(kind, loan) else {
        return Ok(true);
    };
    let recipient = recipient(txn, loan.owner_id).await?;
    if recipient.erased {
        return Ok(true);
    }
    notify(
        txn,
        Outgoing {
            recipient: &recipient,
            kind: "LOAN",
            message: &message,
            data: serde_json::json!({ "loanId": loan.loan_id }),
            in_app: true,
            channel_body: None,
        },
    )
    .await?;
    let now = chrono::Utc::now();
    for installment in &loan.installments {
        let remind_on =
            installment.due_on - chrono::Duration::days(crate::domain::LOAN_REMINDER_DAYS_BEFORE);
        let due_at = remind_on
            .and_hms_opt(8, 0, 0)
            .expect("08:00 exists")
            .and_utc()
            .max(now);
        txn.execute(stmt(
            "INSERT INTO reminders (user_id, id, title, body, due_at, status) VALUES ($1, $2, $3, $4, $5, 'PENDING')",
            [
                loan.owner_id.into(),
                Uuid::now_v7().into(),
                format!("Loan repayment due on {}", installment.due_on).into(),
                format!(
                    "Installment {} of {} {} is due on {}.",
                    installment.number, installment.amount, loan.currency, installment.due_on
                )
                .into(),
                due_at.into(),
            ],
        ))
        .await?;
    }
    Ok(true)
}

/// A payment event: a notification to the payer when it completes or comes back.
async fn payment_in(
    txn: &impl ConnectionTrait,
    event_id: Uuid,
    kind: &str,
    payment: &crate::events::PaymentEvent,
) -> Result<bool, DbErr> {
    if !first_time(txn, event_id, kind).await? {
        return Ok(false);
    }
    let Some(message) = crate::domain::payment_message(kind, payment) else {
        return Ok(true);
    };
    let recipient = recipient(txn, payment.owner_id).await?;
    notify(
        txn,
        Outgoing {
            recipient: &recipient,
            kind: "PAYMENT",
            message: &message,
            data: serde_json::json!({ "paymentId": payment.payment_id }),
            in_app: true,
            channel_body: None,
        },
    )
    .await?;
    Ok(true)
}

/// Records a new user's e-mail address and name, once.
async fn registration_in(
    txn: &impl ConnectionTrait,
    event_id: Uuid,
    user: &UserRegistered,
) -> Result<bool, DbErr> {
    if !first_time(txn, event_id, events::USER_REGISTERED).await? {
        return Ok(false);
    }
    txn.execute(stmt(
        // `excluded.updated_at`, not now(): Citus refuses functions that are not immutable in
        // DO UPDATE SET; in VALUES the coordinator evaluates them.
        "INSERT INTO recipients (user_id, email, full_name, updated_at) VALUES ($1, $2, $3, now()) \
         ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, full_name = excluded.full_name, \
           updated_at = excluded.updated_at",
        [user.user_id.into(), user.email.clone().into(), user.full_name.clone().into()],
    ))
    .await?;
    Ok(true)
}

/// Erases a deleted user's contact details, messages, reminders and e-mails (sent or
/// waiting), once. The recipient row stays, marked erased with every channel off, so that a
/// later event for them stores and sends nothing.
async fn deletion_in(
    txn: &impl ConnectionTrait,
    event_id: Uuid,
    user_id: Uuid,
) -> Result<bool, DbErr> {
    if !first_time(txn, event_id, events::USER_DELETED).await? {
        return Ok(false);
    }
    for sql in [
        "INSERT INTO recipients (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING",
        "UPDATE recipients SET email = NULL, full_name = NULL, phone = NULL, in_app = false, \
         email_enabled = false, sms_enabled = false, erased_at = now(), updated_at = now() \
         WHERE user_id = $1",
        "DELETE FROM deliveries WHERE user_id = $1",
        "DELETE FROM reminders WHERE user_id = $1",
        "DELETE FROM notifications WHERE user_id = $1",
        "DELETE FROM phone_confirmations WHERE user_id = $1",
    ] {
        txn.execute(stmt(sql, [user_id.into()])).await?;
    }
    Ok(true)
}

/// Queues a registration's e-mail, once: to the address given, whatever the preferences (the
/// user is not a recipient yet; a confirmation must arrive), with no notification in-app.
async fn account_email_in(
    txn: &impl ConnectionTrait,
    event_id: Uuid,
    mail: &crate::events::AccountEmail,
) -> Result<bool, DbErr> {
    if !first_time(txn, event_id, "bank.user.account-email").await? {
        return Ok(false);
    }
    txn.execute(stmt(
        "INSERT INTO deliveries (user_id, id, notification_id, channel, address, subject, body, status) \
         VALUES ($1, $2, NULL, 'EMAIL', $3, $4, $5, 'PENDING')",
        [
            mail.user_id.into(),
            Uuid::now_v7().into(),
            mail.email.clone().into(),
            mail.subject.clone().into(),
            mail.body.clone().into(),
        ],
    ))
    .await?;
    Ok(true)
}

/// How long a phone number's confirmation code works.
pub const PHONE_CODE_TTL: chrono::TimeDelta = chrono::TimeDelta::minutes(10);
/// Wrong codes before the code stops working (a new one must be asked for).
pub const PHONE_CODE_TRIES: i32 = 5;
/// Codes a user can have texted in a day: the bank's SMS must not be a free pump.
pub const PHONE_CODES_PER_DAY: i64 = 5;

/// A code as stored: SHA-256 over the user, the confirmation and the code.
pub fn phone_code_hash(user_id: Uuid, id: Uuid, code: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(user_id.as_bytes());
    hash.update(id.as_bytes());
    hash.update(code.as_bytes());
    hash.finalize().to_vec()
}

/// Texts `code` to `phone` to confirm it as the user's number (the confirmed number, if any,
/// stays until then; earlier codes stop working). `false`, and nothing sent, when the user had
/// `PHONE_CODES_PER_DAY` codes sent in the last 24 hours.
pub async fn request_phone_confirmation(
    db: &DatabaseConnection,
    user_id: Uuid,
    phone: &str,
    code: &str,
) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    // The recipient's row serialises a user's requests, so that the count below holds.
    txn.execute(stmt(
        "INSERT INTO recipients (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING",
        [user_id.into()],
    ))
    .await?;
    txn.execute(stmt(
        "SELECT 1 FROM recipients WHERE user_id = $1 FOR UPDATE",
        [user_id.into()],
    ))
    .await?;
    let sent: i64 = txn
        .query_one(stmt(
            "SELECT count(*) AS sent FROM phone_confirmations \
             WHERE user_id = $1 AND created_at > now() - interval '1 day'",
            [user_id.into()],
        ))
        .await?
        .map(|row| row.try_get("", "sent"))
        .transpose()?
        .unwrap_or(0);
    if sent >= PHONE_CODES_PER_DAY {
        return Ok(false);
    }
    txn.execute(stmt(
        "UPDATE phone_confirmations SET expires_at = now() \
         WHERE user_id = $1 AND confirmed_at IS NULL AND expires_at > now()",
        [user_id.into()],
    ))
    .await?;
    let id = Uuid::now_v7();
    txn.execute(stmt(
        "INSERT INTO phone_confirmations (user_id, id, phone, code_hash, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
        [
            user_id.into(),
            id.into(),
            phone.into(),
            phone_code_hash(user_id, id, code).into(),
            (Utc::now() + PHONE_CODE_TTL).into(),
        ],
    ))
    .await?;
    txn.execute(stmt(
        "INSERT INTO deliveries (user_id, id, notification_id, channel, address, subject, body, status) \
         VALUES ($1, $2, NULL, 'SMS', $3, $4, $5, 'PENDING')",
        [
            user_id.into(),
            Uuid::now_v7().into(),
            phone.into(),
            "Bank".into(),
            format!(
                "your confirmation code is {code}. It works for 10 minutes. \
                 If you did not ask for it, ignore this message."
            )
            .into(),
        ],
    ))
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// What entering a phone number's confirmation code did.
#[derive(Debug)]
pub enum PhoneConfirmation {
    /// The number is the user's now.
    Confirmed(Recipient),
    /// Wrong; this many tries remain for this code.
    Wrong(i32),
    /// No code is waiting (none asked for, expired, used up or confirmed already).
    NoneWaiting,
}

/// Checks `code` against the user's waiting confirmation.
pub async fn confirm_phone(
    db: &DatabaseConnection,
    user_id: Uuid,
    code: &str,
) -> Result<PhoneConfirmation, DbErr> {
    let txn = db.begin().await?;
    let Some(row) = txn
        .query_one(stmt(
            "SELECT id, phone, code_hash, attempts FROM phone_confirmations \
             WHERE user_id = $1 AND confirmed_at IS NULL AND expires_at > now() \
             ORDER BY id DESC LIMIT 1 FOR UPDATE",
            [user_id.into()],
        ))
        .await?
    else {
        return Ok(PhoneConfirmation::NoneWaiting);
    };
    let id: Uuid = row.try_get("", "id")?;
    let phone: String = row.try_get("", "phone")?;
    let stored: Vec<u8> = row.try_get("", "code_hash")?;
    let attempts: i32 = row.try_get("", "attempts")?;
    if stored != phone_code_hash(user_id, id, code) {
        let attempts = attempts + 1;
        // The last wrong try ends the code. The time is a parameter: Citus refuses `now()`
        // inside CASE.
        txn.execute(stmt(
            "UPDATE phone_confirmations SET attempts = $3, \
             expires_at = CASE WHEN $3 >= $4 THEN $5 ELSE expires_at END \
             WHERE user_id = $1 AND id = $2",
            [
                user_id.into(),
                id.into(),
                attempts.into(),
                PHONE_CODE_TRIES.into(),
                chrono::Utc::now().into(),
            ],
        ))
        .await?;
        txn.commit().await?;
        return Ok(PhoneConfirmation::Wrong(
            (PHONE_CODE_TRIES - attempts).max(0),
        ));
    }
    txn.execute(stmt(
        "UPDATE phone_confirmations SET confirmed_at = now() WHERE user_id = $1 AND id = $2",
        [user_id.into(), id.into()],
    ))
    .await?;
    txn.execute(stmt(
        "UPDATE recipients SET phone = $2, updated_at = now() WHERE user_id = $1",
        [user_id.into(), phone.into()],
    ))
    .await?;
    let recipient = recipient(&txn, user_id).await?;
    txn.commit().await?;
    Ok(PhoneConfirmation::Confirmed(recipient))
}

/// The number waiting for its code, if any.
pub async fn pending_phone(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Option<String>, DbErr> {
    db.query_one(stmt(
        "SELECT phone FROM phone_confirmations \
         WHERE user_id = $1 AND confirmed_at IS NULL AND expires_at > now() \
         ORDER BY id DESC LIMIT 1",
        [user_id.into()],
    ))
    .await?
    .map(|row| row.try_get("", "phone"))
    .transpose()
}

/// A user's notifications, newest first, before `before` (a cursor), at most `limit`.
pub async fn list(
    db: &DatabaseConnection,
    user_id: Uuid,
    before: Option<i64>,
    unread_only: bool,
    limit: u64,
) -> Result<Vec<NotificationRow>, DbErr> {
    let rows = db
        .query_all(stmt(
            &format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = $1 AND seq < $2 \
                 AND ($3 = false OR read_at IS NULL) ORDER BY seq DESC LIMIT $4"
            ),
            [
                user_id.into(),
                before.unwrap_or(i64::MAX).into(),
                unread_only.into(),
                (limit as i64).into(),
            ],
        ))
        .await?;
    rows.iter().map(NotificationRow::from_row).collect()
}

pub async fn unread_count(db: &DatabaseConnection, user_id: Uuid) -> Result<i64, DbErr> {
    db.query_one(stmt(
        "SELECT count(*) AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL",
        [user_id.into()],
    ))
    .await?
    .map(|row| row.try_get("", "n"))
    .transpose()
    .map(Option::unwrap_or_default)
}

/// Marks one of the user's notifications read (idempotent); `None` if it is not theirs.
pub async fn mark_read(
    db: &DatabaseConnection,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<NotificationRow>, DbErr> {
    let row = db
        .query_one(stmt(
            &format!(
                // least(), not coalesce(): the first read time stays (it is never later than
                // now()), and Citus refuses now() inside COALESCE or CASE.
                "UPDATE notifications SET read_at = least(read_at, now()) \
                 WHERE user_id = $1 AND id = $2 RETURNING {NOTIFICATION_COLUMNS}"
            ),
            [user_id.into(), id.into()],
        ))
        .await?;
    row.as_ref().map(NotificationRow::from_row).transpose()
}

pub async fn mark_all_read(db: &DatabaseConnection, user_id: Uuid) -> Result<u64, DbErr> {
    Ok(db
        .execute(stmt(
            "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL",
            [user_id.into()],
        ))
        .await?
        .rows_affected())
}

// ---------------------------------------------------------------------------------------------
// Reminders

#[derive(Debug, Clone)]
pub struct ReminderRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    pub body: String,
    pub due_at: DateTime<Utc>,
    pub status: String,
}

/// A customer's reminders are e-mailed and texted to the addresses they set: bounded, so the
/// bank's channels cannot be turned into a pump (texts to a premium number, mail to others).
/// At most this many are waiting at once...
pub const MAX_PENDING_REMINDERS: i64 = 20;
/// ...and at most this many are scheduled in any 24 hours.
pub const MAX_REMINDERS_PER_DAY: i64 = 50;

/// Schedules a reminder for `user_id`, or `None` when one of the limits above is reached.
/// The user's reminders are counted under a lock of their own, so concurrent requests cannot
/// pass a limit together.
pub async fn schedule_reminder(
    db: &DatabaseConnection,
    user_id: Uuid,
    title: &str,
    body: &str,
    due_at: DateTime<Utc>,
) -> Result<Option<ReminderRow>, DbErr> {
    let id = Uuid::now_v7();
    let txn = db.begin().await?;
    txn.execute(stmt(
        "SELECT pg_advisory_xact_lock(hashtextextended('reminders:' || $1::text, 0))",
        [user_id.into()],
    ))
    .await?;
    let counts = txn
        .query_one(stmt(
            "SELECT count(*) FILTER (WHERE status = 'PENDING') AS pending, \
               count(*) FILTER (WHERE created_at > now() - interval '1 day') AS today \
             FROM reminders WHERE user_id = $1",
            [user_id.into()],
        ))
        .await?;
    let (pending, today): (i64, i64) = match counts {
        Some(row) => (row.try_get("", "pending")?, row.try_get("", "today")?),
        None => (0, 0),
    };
    if pending >= MAX_PENDING_REMINDERS || today >= MAX_REMINDERS_PER_DAY {
        return Ok(None);
    }
    txn.execute(stmt(
        "INSERT INTO reminders (user_id, id, title, body, due_at, status) VALUES ($1, $2, $3, $4, $5, 'PENDING')",
        [user_id.into(), id.into(), title.into(), body.into(), due_at.into()],
    ))
    .await?;
    txn.commit().await?;
    Ok(Some(ReminderRow {
        id,
        user_id,
        title: title.into(),
        body: body.into(),
        due_at,
        status: "PENDING".into(),
    }))
}

/// Sends reminders that are due, at most `batch`: each becomes a notification (and
/// deliveries) in the transaction that marks it sent. Replicas skip each other's rows.
pub async fn send_due_reminders(db: &DatabaseConnection, batch: u64) -> Result<usize, DbErr> {
    let txn = db.begin().await?;
    let due = txn
        .query_all(stmt(
            "SELECT user_id, id, title, body FROM reminders WHERE status = 'PENDING' AND due_at <= now() \
             ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED",
            [(batch as i64).into()],
        ))
        .await?;
    for row in &due {
        let user_id: Uuid = row.try_get("", "user_id")?;
        let id: Uuid = row.try_get("", "id")?;
        let message = Message {
            title: row.try_get("", "title")?,
            body: row.try_get("", "body")?,
        };
        let recipient = recipient(&txn, user_id).await?;
        notify(
            &txn,
            Outgoing {
                recipient: &recipient,
                kind: "REMINDER",
                message: &message,
                data: serde_json::json!({ "reminderId": id }),
                in_app: true,
                channel_body: None,
            },
        )
        .await?;
        txn.execute(stmt(
            "UPDATE reminders SET status = 'SENT', sent_at = now() WHERE user_id = $1 AND id = $2",
            [user_id.into(), id.into()],
        ))
        .await?;
    }
    txn.commit().await?;
    Ok(due.len())
}

// ---------------------------------------------------------------------------------------------
// Deliveries

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub user_id: Uuid,
    pub id: Uuid,
    pub channel: String,
    pub address: String,
    pub subject: String,
    pub body: String,
    pub attempts: i32,
}

/// Takes up to `batch` due deliveries of `channel` for `lease` seconds: other replicas skip
/// them meanwhile, and a crashed worker's lease simply runs out.
pub async fn lease_deliveries(
    db: &DatabaseConnection,
    channel: &str,
    batch: u64,
    lease_secs: i64,
) -> Result<Vec<DeliveryRow>, DbErr> {
    let rows = db
        .query_all(stmt(
            "UPDATE deliveries d SET next_attempt_at = now() + make_interval(secs => $3) \
             FROM (SELECT user_id, id FROM deliveries WHERE status = 'PENDING' AND channel = $1 \
                   AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) due \
             WHERE d.user_id = due.user_id AND d.id = due.id \
             RETURNING d.user_id, d.id, d.channel, d.address, d.subject, d.body, d.attempts",
            [channel.into(), (batch as i64).into(), (lease_secs as f64).into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(DeliveryRow {
                user_id: row.try_get("", "user_id")?,
                id: row.try_get("", "id")?,
                channel: row.try_get("", "channel")?,
                address: row.try_get("", "address")?,
                subject: row.try_get("", "subject")?,
                body: row.try_get("", "body")?,
                attempts: row.try_get("", "attempts")?,
            })
        })
        .collect()
}

pub async fn delivery_sent(db: &DatabaseConnection, delivery: &DeliveryRow) -> Result<(), DbErr> {
    db.execute(stmt(
        "UPDATE deliveries SET status = 'SENT', attempts = attempts + 1, sent_at = now(), last_error = NULL \
         WHERE user_id = $1 AND id = $2",
        [delivery.user_id.into(), delivery.id.into()],
    ))
    .await
    .map(|_| ())
}

/// Records a failed attempt: retried after `retry_in_secs`, or given up (and published to the
/// dead-letter topic, in the same transaction) when it was the last attempt.
pub async fn delivery_failed(
    db: &DatabaseConnection,
    delivery: &DeliveryRow,
    error: &str,
    retry_in_secs: Option<f64>,
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    match retry_in_secs {
        Some(secs) => {
            txn.execute(stmt(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = $3, \
                 next_attempt_at = now() + make_interval(secs => $4) WHERE user_id = $1 AND id = $2",
                [delivery.user_id.into(), delivery.id.into(), error.into(), secs.into()],
            ))
            .await?;
        }
        None => {
            txn.execute(stmt(
                "UPDATE deliveries SET status = 'FAILED', attempts = attempts + 1, last_error = $3 \
                 WHERE user_id = $1 AND id = $2",
                [delivery.user_id.into(), delivery.id.into(), error.into()],
            ))
            .await?;
            outbox::enqueue(
                &txn,
                SCHEMA,
                &events::delivery_failed(events::DeliveryFailed {
                    delivery_id: delivery.id,
                    user_id: delivery.user_id,
                    channel: delivery.channel.clone(),
                    attempts: delivery.attempts + 1,
                    reason: error.to_string(),
                }),
            )
            .await?;
        }
    }
    txn.commit().await
}

/// Puts a leased delivery back without counting an attempt (the provider's breaker is open).
pub async fn delivery_postponed(
    db: &DatabaseConnection,
    delivery: &DeliveryRow,
    in_secs: f64,
) -> Result<(), DbErr> {
    db.execute(stmt(
        "UPDATE deliveries SET next_attempt_at = now() + make_interval(secs => $3) WHERE user_id = $1 AND id = $2",
        [delivery.user_id.into(), delivery.id.into(), in_secs.into()],
    ))
    .await
    .map(|_| ())
}
