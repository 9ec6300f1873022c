//! The notifications subgraph's GraphQL API: `User.notifications`, preferences, reminders, and
//! the subscriptions `transactionAlerts` and `notificationAdded`.

use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, Schema, SimpleObject, Subscription, ID};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use bank_common::{
    auth::ContextAuth,
    money::{graphql::Money, Currency},
    pagination::{decode_cursor, encode_cursor, page_size, PageInfo},
    ApiError,
};

use crate::{
    domain::{parse_phone, parse_text},
    events::Posted,
    live::Live,
    store::{self, NotificationRow, Recipient},
};

pub type NotificationsSchema = Schema<Query, Mutation, Subscription>;

/// What resolvers share.
pub struct NotificationsContext {
    pub db: DatabaseConnection,
    pub live: Live,
}

fn context<'a>(ctx: &'a Context<'_>) -> &'a NotificationsContext {
    ctx.data_unchecked::<NotificationsContext>()
}

/// Something the bank told a user.
#[derive(Clone)]
pub struct Notification(Arc<NotificationRow>);

#[Object(name = "Notification")]
impl Notification {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// `TRANSACTION` or `REMINDER`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn body(&self) -> &str {
        &self.0.body
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at
    }
}

#[derive(SimpleObject)]
pub struct NotificationEdge {
    pub cursor: String,
    pub node: Notification,
}

#[derive(SimpleObject)]
pub struct NotificationConnection {
    pub edges: Vec<NotificationEdge>,
    pub page_info: PageInfo,
    /// Unread notifications in total (not only on this page).
    pub unread_count: i64,
}

/// How a user wants to hear from the bank.
#[derive(SimpleObject)]
pub struct NotificationPreferences {
    /// Store alerts in the notification centre.
    pub in_app: bool,
    /// Also e-mail them (to the address the user registered with).
    pub email: bool,
    /// Also text them to `phoneNumber`.
    pub sms: bool,
    /// The confirmed number texts go to.
    pub phone_number: Option<String>,
    /// A new number waiting for the code texted to it (`confirmPhoneNumber`); texts keep going
    /// to `phoneNumber` until then.
    pub pending_phone_number: Option<String>,
    /// Alert only for amounts of at least this many whole units of the account's currency.
    pub alert_threshold: i64,
}

impl From<Recipient> for NotificationPreferences {
    fn from(r: Recipient) -> Self {
        Self {
            in_app: r.in_app,
            email: r.email_enabled,
            sms: r.sms_enabled,
            phone_number: r.phone,
            pending_phone_number: None,
            alert_threshold: r.alert_threshold,
        }
    }
}

/// A user's preferences with the number waiting for its code.
async fn preferences(
    db: &DatabaseConnection,
    recipient: Recipient,
) -> async_graphql::Result<NotificationPreferences> {
    let pending = store::pending_phone(db, recipient.user_id)
        .await
        .map_err(ApiError::from)?;
    Ok(NotificationPreferences {
        pending_phone_number: pending,
        ..recipient.into()
    })
}

/// A six-digit code from the operating system's random source (through a v4 UUID's 122
/// random bits; the modulo's bias is below 10^-30).
fn new_phone_code() -> String {
    format!("{:06}", Uuid::new_v4().as_u128() % 1_000_000)
}

#[derive(InputObject)]
pub struct NotificationPreferencesInput {
    pub in_app: Option<bool>,
    pub email: Option<bool>,
    pub sms: Option<bool>,
    /// E.164, e.g. "+441234567890"; an empty string removes it. A new number is texted a
    /// code and becomes `phoneNumber` once `confirmPhoneNumber` gets the code.
    pub phone_number: Option<String>,
    pub alert_threshold: Option<i64>,
}

#[derive(InputObject)]
pub struct ScheduleReminderInput {
    pub title: String,
    pub body: String,
    pub due_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct Reminder {
    pub id: ID,
    pub title: String,
    pub body: String,
    pub due_at: DateTime<Utc>,
    pub status: String,
}

/// The ledger's transaction, resolved by the transactions subgraph.
#[derive(SimpleObject)]
#[graphql(name = "Transaction", unresolvable = "id")]
pub struct TransactionRef {
    pub id: ID,
}

/// The account, resolved by the accounts and transactions subgraphs.
#[derive(SimpleObject)]
#[graphql(name = "Account", unresolvable = "id")]
pub struct AccountRef {
    pub id: ID,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum PostingDirection {
    /// Money came in.
    Credit,
    /// Money went out.
    Debit,
}

/// A posting on one of the subscriber's accounts, as it happens.
pub struct TransactionAlert(Arc<Posted>);

#[Object(name = "TransactionAlert")]
impl TransactionAlert {
    async fn transaction(&self) -> TransactionRef {
        TransactionRef {
            id: ID(self.0.transaction_id.to_string()),
        }
    }

    async fn account(&self) -> AccountRef {
        AccountRef {
            id: ID(self.0.account_id.to_string()),
        }
    }

    /// Always positive; `direction` says which way it went.
    async fn amount(&self) -> async_graphql::Result<Money> {
        Ok(Money::new(self.0.amount_minor, currency(&self.0.currency)?))
    }

    async fn direction(&self) -> PostingDirection {
        if self.0.direction == "CREDIT" {
            PostingDirection::Credit
        } else {
            PostingDirection::Debit
        }
    }

    /// The account's balance right after this posting.
    async fn balance_after(&self) -> async_graphql::Result<Money> {
        Ok(Money::new(
            self.0.balance_after_minor,
            currency(&self.0.currency)?,
        ))
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn posted_at(&self) -> DateTime<Utc> {
        self.0.posted_at
    }
}

fn currency(code: &str) -> Result<Currency, ApiError> {
    Currency::parse(code).map_err(ApiError::internal_msg)
}

/// The users service's `User`, extended with notifications.
pub struct UserRef {
    id: Uuid,
}

impl UserRef {
    /// Notifications are personal: only the user reads them (staff included).
    fn require_self(&self, ctx: &Context<'_>) -> Result<(), ApiError> {
        if ctx.principal()?.user_id == self.id {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

#[Object(name = "User")]
impl UserRef {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The user's notifications, newest first.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
        after: Option<String>,
        #[graphql(default_with = "Some(false)")] unread_only: Option<bool>,
    ) -> async_graphql::Result<NotificationConnection> {
        self.require_self(ctx)?;
        let limit = page_size(first.unwrap_or(20))?;
        let unread_only = unread_only.unwrap_or(false);
        let before = after
            .as_deref()
            .map(|cursor| decode_cursor("n", cursor))
            .transpose()?;
        let db = &context(ctx).db;
        let mut rows = store::list(db, self.id, before, unread_only, limit + 1)
            .await
            .map_err(ApiError::from)?;
        let has_next_page = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let edges: Vec<NotificationEdge> = rows
            .into_iter()
            .map(|row| NotificationEdge {
                cursor: encode_cursor("n", row.seq),
                node: Notification(Arc::new(row)),
            })
            .collect();
        Ok(NotificationConnection {
            page_info: PageInfo {
                has_next_page,
                has_previous_page: before.is_some(),
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            unread_count: store::unread_count(db, self.id)
                .await
                .map_err(ApiError::from)?,
            edges,
        })
    }

    async fn notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<NotificationPreferences> {
        self.require_self(ctx)?;
        let db = &context(ctx).db;
        let recipient = store::recipient(db, self.id)
            .await
            .map_err(ApiError::from)?;
        preferences(db, recipient).await
    }
}

pub struct Query;

#[Object(name = "Query")]
impl Query {
    /// `AuditLog` references: this subgraph contributes its own trail.
    #[graphql(entity)]
    async fn find_audit_log_by_id(&self, id: async_graphql::ID) -> AuditLogRef {
        AuditLogRef { id }
    }

    /// `User` references: this subgraph contributes `User.notifications`.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> async_graphql::Result<UserRef> {
        let id = Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound("user"))?;
        Ok(UserRef { id })
    }
}

pub struct Mutation;

fn parse_id(id: &ID) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound("notification"))
}

/// Reminders are at most a year ahead; titles and bodies are bounded.
const MAX_REMINDER_DAYS: i64 = 366;

#[Object(name = "Mutation")]
impl Mutation {
    /// Marks one of the caller's notifications read (again: no change).
    async fn mark_notification_read(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Notification> {
        let principal = ctx.principal()?;
        let id = parse_id(&id)?;
        let row = store::mark_read(&context(ctx).db, principal.user_id, id)
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::NotFound("notification"))?;
        Ok(Notification(Arc::new(row)))
    }

    /// Marks all the caller's notifications read; returns how many changed.
    async fn mark_all_notifications_read(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let principal = ctx.principal()?;
        let changed = store::mark_all_read(&context(ctx).db, principal.user_id)
            .await
            .map_err(ApiError::from)?;
        Ok(changed as i64)
    }

    /// Changes how the caller hears from the bank; omitted fields stay as they are.
    async fn update_notification_preferences(
        &self,
        ctx: &Context<'_>,
        input: NotificationPreferencesInput,
    ) -> async_graphql::Result<NotificationPreferences> {
        let principal = ctx.principal()?;
        let phone = match input.phone_number.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(text) => Some(Some(parse_phone(text)?)),
        };
        if input
            .alert_threshold
            .is_some_and(|t| !(0..=1_000_000_000).contains(&t))
        {
            return Err(ApiError::bad_input(
                "alertThreshold",
                "the threshold is 0 to 1000000000 whole units",
            )
            .into());
        }
        let db = &context(ctx).db;
        let current = store::recipient(db, principal.user_id)
            .await
            .map_err(ApiError::from)?;
        // A new number is only the user's once they enter the code texted to it: the bank's
        // SMS go to numbers their owners confirmed.
        let (phone, new_number) = match phone {
            Some(Some(number)) if current.phone.as_deref() == Some(number.as_str()) => (None, None),
            Some(Some(number)) => (None, Some(number)),
            removed => (removed, None),
        };
        if input.sms == Some(true) && current.phone.is_none() && new_number.is_none() {
            return Err(ApiError::bad_input(
                "phoneNumber",
                "SMS alerts need a phone number (confirmed with the code texted to it)",
            )
            .into());
        }
        if let Some(number) = &new_number {
            let code = new_phone_code();
            if !store::request_phone_confirmation(db, principal.user_id, number, &code)
                .await
                .map_err(ApiError::from)?
            {
                return Err(ApiError::LimitExceeded(format!(
                    "at most {} confirmation codes a day: try again tomorrow",
                    store::PHONE_CODES_PER_DAY
                ))
                .into());
            }
            tracing::info!(user_id = %principal.user_id, "a confirmation code texted to a new number");
        }
        let updated = store::update_preferences(
            db,
            principal.user_id,
            store::PreferenceChanges {
                in_app: input.in_app,
                email: input.email,
                sms: input.sms,
                phone,
                alert_threshold: input.alert_threshold,
            },
        )
        .await
        .map_err(ApiError::from)?;
        preferences(db, updated).await
    }

    /// Confirms the new phone number with the six-digit code texted to it; it becomes
    /// `phoneNumber`. A wrong code is `BAD_USER_INPUT` on `code` (five tries per code); with no
    /// code waiting (expired, used up, never asked for) too, saying so.
    async fn confirm_phone_number(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<NotificationPreferences> {
        let principal = ctx.principal()?;
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(
                ApiError::bad_input("code", "the code is the six digits texted to you").into(),
            );
        }
        let db = &context(ctx).db;
        match store::confirm_phone(db, principal.user_id, code)
            .await
            .map_err(ApiError::from)?
        {
            store::PhoneConfirmation::Confirmed(recipient) => {
                tracing::info!(user_id = %principal.user_id, "phone number confirmed");
                preferences(db, recipient).await
            }
            store::PhoneConfirmation::Wrong(0) => Err(ApiError::bad_input(
                "code",
                "wrong code, and no tries left: set the phone number again for a new code",
            )
            .into()),
            store::PhoneConfirmation::Wrong(left) => Err(ApiError::bad_input(
                "code",
                format!("wrong code: {left} tries left"),
            )
            .into()),
            store::PhoneConfirmation::NoneWaiting => Err(ApiError::bad_input(
                "code",
                "no code is waiting (it expired or was used): set the phone number again for a new one",
            )
            .into()),
        }
    }

    /// Schedules a reminder for the caller: at `dueAt` it becomes a notification (and an
    /// e-mail or SMS, per preferences).
    async fn schedule_reminder(
        &self,
        ctx: &Context<'_>,
        input: ScheduleReminderInput,
    ) -> async_graphql::Result<Reminder> {
        let principal = ctx.principal()?;
        let title = parse_text("title", &input.title, 120)?;
        let body = parse_text("body", &input.body, 1000)?;
        let now = Utc::now();
        if input.due_at > now + chrono::Duration::days(MAX_REMINDER_DAYS) {
            return Err(ApiError::bad_input(
                "dueAt",
                format!("reminders are at most {MAX_REMINDER_DAYS} days ahead"),
            )
            .into());
        }
        let row = store::schedule_reminder(
            &context(ctx).db,
            principal.user_id,
            &title,
            &body,
            input.due_at.max(now),
        )
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| {
            ApiError::LimitExceeded(format!(
                "at most {} reminders waiting and {} scheduled a day",
                store::MAX_PENDING_REMINDERS,
                store::MAX_REMINDERS_PER_DAY
            ))
        })?;
        Ok(Reminder {
            id: ID(row.id.to_string()),
            title: row.title,
            body: row.body,
            due_at: row.due_at,
            status: row.status,
        })
    }
}

pub struct Subscription;

#[Subscription(name = "Subscription")]
impl Subscription {
    /// Every posting on the caller's accounts, as it happens.
    async fn transaction_alerts(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = TransactionAlert> + use<>> {
        let principal = ctx.principal()?;
        Ok(context(ctx)
            .live
            .alerts_for(principal.user_id)
            .map(TransactionAlert))
    }

    /// The caller's new notifications, as they are stored.
    async fn notification_added(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = Notification> + use<>> {
        let principal = ctx.principal()?;
        Ok(context(ctx)
            .live
            .notifications_for(principal.user_id)
            .map(Notification))
    }
}

bank_common::audit_log_part!(notifications, "notifications", NotificationsContext);
