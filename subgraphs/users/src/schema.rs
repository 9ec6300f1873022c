//! The users subgraph's GraphQL API: `User @key(id)`, `me`, and the authentication mutations.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    dataloader::{DataLoader, Loader},
    ComplexObject, Context, EmptySubscription, InputObject, Object, Schema, SimpleObject, ID,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use uuid::Uuid;

use bank_common::{
    auth::{ContextAuth, Role},
    config::AuthConfig,
    server::ClientAddress,
    ApiError, ApiResult,
};

use crate::{
    domain::{hash_password, throttle, verify_password, Email, FullName, Password, Throttle},
    keys::{hash_refresh_token, new_refresh_token, SigningKeys},
    store::{self, Rotation, UserRow},
};

pub type UsersSchema = Schema<Query, Mutation, EmptySubscription>;

/// Sign-ins refused because of earlier failures (per account or per address).
static SIGN_INS_REFUSED: std::sync::LazyLock<prometheus::IntCounter> = std::sync::LazyLock::new(
    || {
        bank_common::metrics::service_metric(
            prometheus::IntCounter::new(
                "users_sign_ins_throttled_total",
                "Sign-ins refused without checking the password, after too many failures in a row on the account or from the address",
            )
            .expect("valid metric"),
        )
    },
);

/// Token lifetimes and other service settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    /// A session's absolute lifetime from its sign-in (`USERS_SESSION_MAX_SECS`, 30 days):
    /// rotating refresh tokens never carry it further.
    pub session_max_secs: i64,
    /// How long a new signing key is published before it signs
    /// (`USERS_KEY_PUBLISH_LEAD_SECS`, 360: longer than the router's 5-minute JWKS poll).
    pub key_publish_lead_secs: u64,
    /// How often the keys are read again (a rotation on another replica, a retirement).
    pub keys_reload_ms: u64,
    /// Encrypts the signing keys' private halves at rest (`USERS_KEY_ENCRYPTION_KEY`).
    pub key_encryption_key: Option<crate::keys::KeyEncryptionKey>,
    /// A replaced key is retired this long after its last token expired (the verifiers'
    /// clock leeway and a margin; `USERS_KEY_RETIRE_LEEWAY_SECS`, 60).
    pub key_retire_leeway_secs: u64,
    /// When failed sign-ins make further attempts wait.
    pub throttle: Throttle,
    /// The web app's public address, for the links the bank e-mails (`USERS_APP_URL`).
    pub app_url: String,
}

impl Settings {
    /// How long after a key stopped signing it is retired: its last token has expired, with
    /// the leeway.
    pub fn key_retire_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.access_token_ttl_secs.max(0) as u64 + self.key_retire_leeway_secs,
        )
    }
}

/// What resolvers share.
#[derive(Clone)]
pub struct UsersContext {
    pub db: DatabaseConnection,
    pub keys: Arc<SigningKeys>,
    pub auth: AuthConfig,
    pub settings: Settings,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "User", complex)]
pub struct User {
    pub id: ID,
    #[graphql(skip)]
    pub row: Arc<UserRow>,
}

#[ComplexObject]
impl User {
    async fn email(&self) -> &str {
        &self.row.email
    }

    async fn full_name(&self) -> &str {
        &self.row.full_name
    }

    async fn roles(&self) -> Vec<Role> {
        store::roles_of(&self.row)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    /// When an administrator disabled the user (they cannot sign in), if they did.
    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.row.disabled_at
    }

    /// When an administrator deleted the user, if they did: their e-mail address, name and
    /// password are erased, they cannot sign in, and their id stays on the bank's records.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.row.deleted_at
    }
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: ID(row.id.to_string()),
            row: Arc::new(row),
        }
    }
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    /// A JWT (ES256) to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Opaque; exchange it with `refreshToken` for a new pair. Each one works once.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i32,
    pub user: User,
}

#[derive(InputObject)]
pub struct RegisterInput {
    pub email: String,
    /// Never logged or traced (a secret input value).
    #[graphql(secret)]
    pub password: String,
    pub full_name: String,
}

/// What `register` answers, the same whether or not the address has an account already
/// (nobody learns from it who banks here): the rest happens by e-mail.
#[derive(SimpleObject)]
pub struct RegistrationPayload {
    pub message: String,
}

#[derive(InputObject)]
pub struct VerifyEmailInput {
    /// The token from the e-mailed link.
    pub token: String,
    /// The password chosen at registration: the link alone is not enough.
    #[graphql(secret)]
    pub password: String,
}

/// A new signing key: published now, signing from `signsFrom`.
#[derive(SimpleObject)]
pub struct SigningKeyRotation {
    /// Its key id in the JWKS.
    pub kid: String,
    pub signs_from: DateTime<Utc>,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    #[graphql(secret)]
    pub current_password: String,
    #[graphql(secret)]
    pub new_password: String,
}

#[derive(InputObject)]
pub struct ResetPasswordInput {
    /// The token from the e-mailed link.
    #[graphql(secret)]
    pub token: String,
    #[graphql(secret)]
    pub new_password: String,
}

/// An answer that is only a message (the rest happens by e-mail).
#[derive(SimpleObject)]
pub struct Acknowledgement {
    pub message: String,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    #[graphql(secret)]
    pub password: String,
}

/// Batches `User` lookups (entity references from other subgraphs) into one query.
pub struct UserLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for UserLoader {
    type Value = UserRow;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, UserRow>, Self::Error> {
        let rows = store::find_users_by_ids(&self.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// One user through the request's loader (batched with other lookups in the same request).
async fn load_user(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<User>> {
    let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
    let row = loader
        .load_one(id)
        .await
        .map_err(|err| ApiError::internal(anyhow::anyhow!(err)))?;
    Ok(row.map(User::from))
}

fn parse_id(id: &ID, what: &'static str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound(what))
}

pub struct Query;

#[Object(name = "Query")]
impl Query {
    /// The caller. `UNAUTHENTICATED` without a valid token.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let principal = ctx.principal()?;
        Ok(load_user(ctx, principal.user_id).await?)
    }

    /// The bank's audit trail: every service's part (`users`, `accounts`, `transactions`,
    /// `notifications`, `loans`, `payments`), administrators only (docs/security.md).
    async fn audit_log(&self, ctx: &Context<'_>) -> async_graphql::Result<AuditLogRef> {
        if !ctx.principal()?.has_role(Role::Admin) {
            return Err(ApiError::forbidden().into());
        }
        Ok(AuditLogRef {
            id: async_graphql::ID("bank".into()),
        })
    }

    /// `AuditLog` references: this subgraph contributes its own trail.
    #[graphql(entity)]
    async fn find_audit_log_by_id(&self, id: async_graphql::ID) -> AuditLogRef {
        AuditLogRef { id }
    }

    /// Resolves `User` references from other subgraphs. A customer resolves only themselves;
    /// staff resolve anyone.
    #[graphql(entity)]
    async fn find_user_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<User>> {
        let principal = ctx.principal()?;
        let Ok(user_id) = parse_id(&id, "user") else {
            return Ok(None);
        };
        if !principal.can_access(user_id) {
            return Ok(None);
        }
        Ok(load_user(ctx, user_id).await?)
    }
}

pub struct Mutation;

#[Object(name = "Mutation")]
impl Mutation {
    /// Creates a customer and signs them in.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<RegistrationPayload> {
        let users = ctx.data_unchecked::<UsersContext>();
        let email = Email::parse(&input.email)?;
        let password = Password::parse(&input.password, &email)?;
        let full_name = FullName::parse(&input.full_name)?;
        // Hashed whatever happens next, so that a taken address answers as slowly as a new one.
        let password_hash = hash_password(password.expose()).await?;
        let (token, token_hash) = new_refresh_token();
        let app_url = users.settings.app_url.trim_end_matches('/');
        let link = format!("{app_url}/verify-email?token={token}");
        // The user (or the change) and the e-mail announcing it commit together.
        let txn = users.db.begin().await.map_err(ApiError::from)?;
        let event = match store::find_user_by_email(&txn, email.as_str())
            .await
            .map_err(ApiError::from)?
        {
            Some(row) if row.email_verified_at.is_some() => {
                tracing::info!(user_id = %row.id, "registration for an address with an account");
                crate::events::registration_attempted(&row, app_url)
            }
            Some(row) => {
                let row =
                    store::replace_unconfirmed(&txn, row.id, password_hash, full_name.as_str())
                        .await
                        .map_err(ApiError::from)?;
                store::new_verification(&txn, row.id, &token_hash)
                    .await
                    .map_err(ApiError::from)?;
                crate::events::verification_requested(&row, &link)
            }
            None => {
                let row = store::insert_user(
                    &txn,
                    store::NewUser {
                        email: email.as_str(),
                        password_hash,
                        full_name: full_name.as_str(),
                        roles: &[Role::Customer],
                        verified: false,
                    },
                )
                .await?;
                store::new_verification(&txn, row.id, &token_hash)
                    .await
                    .map_err(ApiError::from)?;
                tracing::info!(user_id = %row.id, "registered; waiting for the address's confirmation");
                crate::events::verification_requested(&row, &link)
            }
        };
        bank_common::outbox::enqueue(&txn, store::SCHEMA, &event)
            .await
            .map_err(ApiError::from)?;
        txn.commit().await.map_err(ApiError::from)?;
        Ok(RegistrationPayload {
            message: format!(
                "Check your e-mail: we sent a message to {} to finish opening your account.",
                email.as_str()
            ),
        })
    }

    /// Confirms a registration's e-mail address with the token from the e-mailed link and
    /// the password chosen at registration, and signs in. `UNAUTHENTICATED` for an unknown,
    /// used or expired token or the wrong password (told apart from nothing).
    async fn verify_email(
        &self,
        ctx: &Context<'_>,
        input: VerifyEmailInput,
    ) -> async_graphql::Result<AuthPayload> {
        let users = ctx.data_unchecked::<UsersContext>();
        let refused = || {
            ApiError::Unauthenticated(
                "the link has expired or was used, or the password is wrong".into(),
            )
        };
        let token_hash = hash_refresh_token(input.token.trim());
        let txn = users.db.begin().await.map_err(ApiError::from)?;
        let row = store::verification_user(&txn, &token_hash)
            .await
            .map_err(ApiError::from)?;
        let matches = verify_password(
            &input.password,
            row.as_ref().map(|r| r.password_hash.clone()),
        )
        .await?;
        let Some(row) = row.filter(|_| matches) else {
            return Err(refused().into());
        };
        let row = store::confirm_email(&txn, &token_hash, row.id)
            .await
            .map_err(ApiError::from)?;
        bank_common::outbox::enqueue(&txn, store::SCHEMA, &crate::events::registered(&row))
            .await
            .map_err(ApiError::from)?;
        txn.commit().await.map_err(ApiError::from)?;
        tracing::info!(user_id = %row.id, "e-mail address confirmed");
        Ok(start_session(users, row).await?)
    }

    /// Changes the caller's password, given the current one (checked as a sign-in is, with
    /// the same waits after failures). Every session of theirs ends, this one included; the
    /// answer is a new session.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> async_graphql::Result<AuthPayload> {
        let principal = ctx.principal()?;
        let users = ctx.data_unchecked::<UsersContext>();
        let row = store::find_user(&users.db, principal.user_id)
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::NotFound("user"))?;
        let address = ctx.data_opt::<ClientAddress>().and_then(|a| a.0);
        let new = new_password(&row.email, &input.new_password)?;
        let row = authenticate(users, &row.email, &input.current_password, address).await?;
        let txn = users.db.begin().await.map_err(ApiError::from)?;
        let row = replace_password(&txn, row.id, &new).await?;
        txn.commit().await.map_err(ApiError::from)?;
        tracing::info!(user_id = %row.id, "password changed; every session ended");
        Ok(start_session(users, row).await?)
    }

    /// Asks for a password-reset link by e-mail. The answer is the same whether or not the
    /// address has an account; a confirmed, enabled account gets a link (an hour), at most
    /// three an hour.
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> async_graphql::Result<Acknowledgement> {
        let users = ctx.data_unchecked::<UsersContext>();
        let email = Email::parse(&email)?;
        let answer = Acknowledgement {
            message: format!(
                "If {} has an account, we sent it a link to choose a new password.",
                email.as_str()
            ),
        };
        let txn = users.db.begin().await.map_err(ApiError::from)?;
        let Some(row) = store::find_user_by_email(&txn, email.as_str())
            .await
            .map_err(ApiError::from)?
            .filter(|row| row.email_verified_at.is_some() && row.disabled_at.is_none())
        else {
            return Ok(answer);
        };
        let (token, token_hash) = new_refresh_token();
        if !store::new_password_reset(&txn, row.id, &token_hash)
            .await
            .map_err(ApiError::from)?
        {
            tracing::info!(user_id = %row.id, "password-reset e-mails to this address are paused for an hour");
            return Ok(answer);
        }
        let app_url = users.settings.app_url.trim_end_matches('/');
        let link = format!("{app_url}/reset-password?token={token}");
        bank_common::outbox::enqueue(
            &txn,
            store::SCHEMA,
            &crate::events::password_reset_requested(&row, &link),
        )
        .await
        .map_err(ApiError::from)?;
        txn.commit().await.map_err(ApiError::from)?;
        Ok(answer)
    }

    /// Sets a new password with the token from the e-mailed reset link; every session ends,
    /// and the answer signs in. `UNAUTHENTICATED` for an unknown, used or expired link.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        input: ResetPasswordInput,
    ) -> async_graphql::Result<AuthPayload> {
        let users = ctx.data_unchecked::<UsersContext>();
        let txn = users.db.begin().await.map_err(ApiError::from)?;
        let Some(row) = store::use_password_reset(&txn, &hash_refresh_token(input.token.trim()))
            .await
            .map_err(ApiError::from)?
        else {
            return Err(
                ApiError::Unauthenticated("the link has expired or was used".into()).into(),
            );
        };
        let new = new_password(&row.email, &input.new_password)?;
        let row = replace_password(&txn, row.id, &new).await?;
        txn.commit().await.map_err(ApiError::from)?;
        store::clear_sign_in_failures(&users.db, &throttle::account_key(&row.email))
            .await
            .map_err(ApiError::from)?;
        tracing::info!(user_id = %row.id, "password reset; every session ended");
        if row.disabled_at.is_some() {
            return Err(ApiError::Forbidden(
                "this account is disabled: please contact the bank".into(),
            )
            .into());
        }
        Ok(start_session(users, row).await?)
    }

    /// Signs in with e-mail and password. Wrong e-mail and wrong password look the same.
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<AuthPayload> {
        let users = ctx.data_unchecked::<UsersContext>();
        let address = ctx.data_opt::<ClientAddress>().and_then(|a| a.0);
        let row = authenticate(users, &input.email, &input.password, address).await?;
        Ok(start_session(users, row).await?)
    }

    /// Exchanges a refresh token for a new pair. The old refresh token stops working; presenting
    /// it again revokes the whole session (it has been copied).
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        let users = ctx.data_unchecked::<UsersContext>();
        match rotate_refresh_token(users, &refresh_token).await? {
            Refreshed::Rotated(row, token, session) => Ok(payload(users, *row, token, session)?),
            Refreshed::Reused => {
                bank_common::audit::note(ctx, |note| {
                    note.detail = Some(serde_json::json!({
                        "event": "REFRESH_TOKEN_REUSED",
                        "sessionRevoked": true,
                    }));
                });
                Err(refresh_rejected().into())
            }
            Refreshed::Rejected => Err(refresh_rejected().into()),
        }
    }

    /// Ends the session the refresh token belongs to. `false` if it was unknown or already ended.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] refresh_token: String,
    ) -> async_graphql::Result<bool> {
        let users = ctx.data_unchecked::<UsersContext>();
        let hash = hash_refresh_token(refresh_token.trim());
        Ok(store::revoke_by_token(&users.db, &hash)
            .await
            .map_err(ApiError::from)?)
    }

    /// Disables a user (ADMIN only, not oneself): they cannot sign in, and every session and
    /// access token of theirs ends (within about a second everywhere).
    async fn disable_user(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<User> {
        set_disabled(ctx, user_id, true).await
    }

    /// Lets a disabled user sign in again (ADMIN only).
    async fn enable_user(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<User> {
        set_disabled(ctx, user_id, false).await
    }

    /// Deletes a user (ADMIN only, not oneself): their e-mail address, name and password are
    /// erased, every session and access token of theirs ends, and the notifications service
    /// erases their contact details (`bank.user.deleted.v1`). Their accounts, loans and ledger
    /// entries stay, as the bank must keep them, under the user's id. The address can register
    /// again, as a new user. Deleting a deleted user changes nothing.
    async fn delete_user(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<User> {
        let principal = ctx.principal()?;
        if !principal.has_role(Role::Admin) {
            return Err(ApiError::forbidden().into());
        }
        let id = parse_id(&user_id, "user")?;
        if id == principal.user_id {
            return Err(
                ApiError::Forbidden("administrators do not delete themselves".into()).into(),
            );
        }
        let users = ctx.data_unchecked::<UsersContext>();
        bank_common::audit::note(ctx, |note| note.on_behalf_of = Some(id.to_string()));
        let txn = users.db.begin().await.map_err(ApiError::from)?;
        let (row, newly) = store::delete_user(&txn, id).await?;
        if newly {
            bank_common::outbox::enqueue(&txn, store::SCHEMA, &crate::events::deleted(id))
                .await
                .map_err(ApiError::from)?;
        }
        txn.commit().await.map_err(ApiError::from)?;
        tracing::info!(user_id = %id, "a user was deleted");
        Ok(row.into())
    }

    /// Rotates the access-token signing key (ADMIN only): a new key is published in the JWKS
    /// now and signs from `signsFrom` (`USERS_KEY_PUBLISH_LEAD_SECS` later, once every verifier
    /// has it); the key it replaces keeps verifying until its last token has expired, then it
    /// is retired and leaves the JWKS.
    async fn rotate_signing_key(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<SigningKeyRotation> {
        let principal = ctx.principal()?;
        if !principal.has_role(Role::Admin) {
            return Err(ApiError::forbidden().into());
        }
        let users = ctx.data_unchecked::<UsersContext>();
        let (kid, signs_from) = users
            .keys
            .rotate(
                &users.db,
                std::time::Duration::from_secs(users.settings.key_publish_lead_secs),
            )
            .await
            .map_err(ApiError::internal)?;
        // Published here at once; other replicas read it within their reload interval.
        users
            .keys
            .reload(&users.db, users.settings.key_retire_grace())
            .await
            .map_err(ApiError::internal)?;
        Ok(SigningKeyRotation { kid, signs_from })
    }

    /// Replaces a user's roles (ADMIN only). Their sessions end at once (their tokens stop
    /// working within about a second everywhere); the next sign-in carries the new roles.
    async fn set_user_roles(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        roles: Vec<Role>,
    ) -> async_graphql::Result<User> {
        let principal = ctx.principal()?;
        if !principal.has_role(Role::Admin) {
            return Err(ApiError::forbidden().into());
        }
        if roles.is_empty() {
            return Err(ApiError::bad_input("roles", "a user needs at least one role").into());
        }
        let users = ctx.data_unchecked::<UsersContext>();
        let id = parse_id(&user_id, "user")?;
        if let Some(before) = store::find_user(&users.db, id)
            .await
            .map_err(ApiError::from)?
        {
            bank_common::audit::note(ctx, |note| {
                note.on_behalf_of = Some(id.to_string());
                note.before = Some(serde_json::json!({ "roles": before.roles }));
            });
        }
        let txn = users.db.begin().await.map_err(ApiError::from)?;
        let updated = store::set_roles(&txn, id, &roles).await?;
        // The old roles must not outlive the change in a token: every session of the user
        // ends, and tokens issued so far stop counting.
        store::revoke_user_tokens(&txn, id)
            .await
            .map_err(ApiError::from)?;
        txn.commit().await.map_err(ApiError::from)?;
        Ok(updated.into())
    }
}

async fn set_disabled(
    ctx: &Context<'_>,
    user_id: ID,
    disabled: bool,
) -> async_graphql::Result<User> {
    let principal = ctx.principal()?;
    if !principal.has_role(Role::Admin) {
        return Err(ApiError::forbidden().into());
    }
    let id = parse_id(&user_id, "user")?;
    if id == principal.user_id {
        return Err(ApiError::Forbidden("administrators do not disable themselves".into()).into());
    }
    let users = ctx.data_unchecked::<UsersContext>();
    bank_common::audit::note(ctx, |note| note.on_behalf_of = Some(id.to_string()));
    let txn = users.db.begin().await.map_err(ApiError::from)?;
    if !disabled
        && store::find_user(&txn, id)
            .await
            .map_err(ApiError::from)?
            .is_some_and(|row| row.deleted_at.is_some())
    {
        return Err(ApiError::bad_input("userId", "a deleted user cannot be enabled").into());
    }
    let row = store::set_disabled(&txn, id, disabled).await?;
    txn.commit().await.map_err(ApiError::from)?;
    tracing::info!(user_id = %id, disabled, "a user's access changed");
    Ok(row.into())
}

/// A new password for the account at `email`, by the rules (`BAD_USER_INPUT` on `newPassword`).
fn new_password(email: &str, text: &str) -> ApiResult<Password> {
    Password::parse(text, &Email::parse(email)?)
        .map_err(|err| ApiError::bad_input("newPassword", err.message()))
}

/// Sets a user's password and ends every session and access token of theirs (in `txn`).
async fn replace_password(
    txn: &impl sea_orm::ConnectionTrait,
    user_id: Uuid,
    password: &Password,
) -> ApiResult<UserRow> {
    let hash = hash_password(password.expose()).await?;
    let row = store::set_password(txn, user_id, hash).await?;
    store::revoke_user_tokens(txn, user_id).await?;
    Ok(row)
}

/// Checks an e-mail address and password as every sign-in does (the `login` mutation and the
/// OpenID Connect login page): refused without looking at the password while the account or
/// the client address waits after failures (`LIMIT_EXCEEDED`); a wrong address, a wrong
/// password and an address not confirmed yet are one `UNAUTHENTICATED`, and count as a
/// failure for the account and the address.
pub async fn authenticate(
    users: &UsersContext,
    email_text: &str,
    password: &str,
    client: Option<std::net::IpAddr>,
) -> ApiResult<UserRow> {
    let wrong = || {
        ApiError::Unauthenticated(
            "wrong e-mail address or password, or the address is not confirmed yet".into(),
        )
    };
    let throttle = users.settings.throttle;
    let email = Email::parse(email_text).ok();
    let account = throttle::account_key(
        email
            .as_ref()
            .map_or(email_text.trim(), |email| email.as_str()),
    );
    let address = client.map(throttle::address_key);
    let keys: Vec<String> = std::iter::once(account.clone())
        .chain(address.clone())
        .collect();
    // Refused before the password is looked at: the answer says nothing about it.
    if let Some(until) = store::sign_in_blocked_until(&users.db, &keys).await? {
        SIGN_INS_REFUSED.inc();
        return Err(ApiError::LimitExceeded(Throttle::refusal(
            until,
            chrono::Utc::now(),
        )));
    }
    let row = match &email {
        Some(email) => store::find_user_by_email(&users.db, email.as_str()).await?,
        None => None,
    };
    let matches = verify_password(password, row.as_ref().map(|r| r.password_hash.clone())).await?;
    match row {
        // An address not confirmed yet signs in once it is (verifyEmail signs in).
        Some(row) if matches && row.email_verified_at.is_some() => {
            store::clear_sign_in_failures(&users.db, &account).await?;
            if row.disabled_at.is_some() {
                // Only the account's owner (the right password) learns this.
                return Err(ApiError::Forbidden(
                    "this account is disabled: please contact the bank".into(),
                ));
            }
            Ok(row)
        }
        _ => {
            let lock = |failures, limit| throttle.lock_after(failures, limit);
            store::record_sign_in_failure(
                &users.db,
                &account,
                throttle.account_failures,
                throttle.longest_lock,
                |n| lock(n, throttle.account_failures),
            )
            .await?;
            if let Some(address) = &address {
                store::record_sign_in_failure(
                    &users.db,
                    address,
                    throttle.address_failures,
                    throttle.longest_lock,
                    |n| lock(n, throttle.address_failures),
                )
                .await?;
            }
            Err(wrong())
        }
    }
}

/// What presenting a refresh token did.
pub enum Refreshed {
    /// Used; here are the user, the token's successor and the session.
    Rotated(Box<UserRow>, String, Uuid),
    /// Unknown, expired or revoked.
    Rejected,
    /// Already used once: someone holds a copy, and the whole session is revoked now.
    Reused,
}

pub fn refresh_rejected() -> ApiError {
    ApiError::Unauthenticated("the refresh token is invalid, expired or revoked".into())
}

/// Rotates a refresh token: it stops working and its successor, in the same session, is
/// returned. Presenting a rotated one again revokes the session.
pub async fn rotate_refresh_token(users: &UsersContext, presented: &str) -> ApiResult<Refreshed> {
    let hash = hash_refresh_token(presented.trim());
    let txn = users.db.begin().await?;
    let (row, family_id) = match store::use_refresh_token(&txn, &hash).await? {
        Rotation::Rotated { user, family_id } => (user, family_id),
        Rotation::Rejected => return Ok(Refreshed::Rejected),
        Rotation::ReuseDetected => {
            txn.commit().await?;
            tracing::warn!("a rotated refresh token was presented again; session revoked");
            return Ok(Refreshed::Reused);
        }
    };
    // The session began at its sign-in (the family id is a UUIDv7: its time); refreshing never
    // carries it past the absolute lifetime.
    let ends = session_start(family_id) + Duration::seconds(users.settings.session_max_secs);
    let expiry = refresh_expiry(users).min(ends);
    if expiry <= Utc::now() {
        // The used token stays used: the session is over.
        txn.commit().await?;
        return Ok(Refreshed::Rejected);
    }
    let (token, token_hash) = new_refresh_token();
    store::insert_refresh_token(&txn, row.id, family_id, token_hash, expiry).await?;
    txn.commit().await?;
    Ok(Refreshed::Rotated(Box::new(row), token, family_id))
}

/// A new session (refresh-token family) for `user_id`: its first refresh token and its id.
pub async fn new_session(
    db: &impl sea_orm::ConnectionTrait,
    users: &UsersContext,
    user_id: Uuid,
) -> ApiResult<(String, Uuid)> {
    let (token, token_hash) = new_refresh_token();
    let family_id = Uuid::now_v7();
    store::insert_refresh_token(db, user_id, family_id, token_hash, refresh_expiry(users)).await?;
    Ok((token, family_id))
}

/// When the session with this family id began (its UUIDv7 time; now for any other id).
fn session_start(family_id: Uuid) -> DateTime<Utc> {
    family_id
        .get_timestamp()
        .and_then(|ts| {
            let (secs, nanos) = ts.to_unix();
            DateTime::from_timestamp(secs as i64, nanos)
        })
        .unwrap_or_else(Utc::now)
}

fn refresh_expiry(users: &UsersContext) -> DateTime<Utc> {
    Utc::now() + Duration::days(users.settings.refresh_token_ttl_days)
}

/// A new login: a new refresh-token family.
async fn start_session(users: &UsersContext, row: UserRow) -> ApiResult<AuthPayload> {
    let (token, session) = new_session(&users.db, users, row.id).await?;
    payload(users, row, token, session)
}

fn payload(
    users: &UsersContext,
    row: UserRow,
    refresh_token: String,
    session: Uuid,
) -> ApiResult<AuthPayload> {
    let ttl = users.settings.access_token_ttl_secs;
    let access_token =
        users
            .keys
            .issue(&users.auth, row.id, store::roles_of(&row), ttl, session)?;
    Ok(AuthPayload {
        access_token,
        refresh_token,
        expires_in: i32::try_from(ttl).unwrap_or(i32::MAX),
        user: row.into(),
    })
}

bank_common::audit_log_part!(users, "users", UsersContext);

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_graphql::{
        extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
        parser::types::ExecutableDocument,
        ServerResult, Variables,
    };

    /// Keeps what a logging extension would print of each request.
    struct Printed(Arc<Mutex<Vec<String>>>);

    impl ExtensionFactory for Printed {
        fn create(&self) -> Arc<dyn Extension> {
            Arc::new(Printed(self.0.clone()))
        }
    }

    #[async_trait::async_trait]
    impl Extension for Printed {
        async fn parse_query(
            &self,
            ctx: &ExtensionContext<'_>,
            query: &str,
            variables: &Variables,
            next: NextParseQuery<'_>,
        ) -> ServerResult<ExecutableDocument> {
            let document = next.run(ctx, query, variables).await?;
            self.0
                .lock()
                .unwrap()
                .push(ctx.stringify_execute_doc(&document, variables));
            // Printed; nothing needs to run (there is no database here).
            Err(async_graphql::ServerError::new("printed", None))
        }
    }

    /// Passwords and refresh tokens are secret input values: what a logging or tracing
    /// extension prints of a request shows `<secret>` instead.
    #[tokio::test]
    async fn passwords_and_refresh_tokens_are_never_printed() {
        let printed = Arc::new(Mutex::new(Vec::new()));
        let config = bank_common::config::ServiceConfig::from_env(
            crate::app::NAME,
            crate::app::DEFAULT_PORT,
        )
        .unwrap();
        let schema = crate::app::schema_builder(&config)
            .extension(Printed(printed.clone()))
            .finish();
        for (query, variables) in [
            (
                "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                serde_json::json!({ "i": { "email": "a@b.c", "password": "hunter2-secret" } }),
            ),
            (
                "mutation($i: RegisterInput!) { register(input: $i) { message } }",
                serde_json::json!({ "i": { "email": "a@b.c", "password": "hunter2-secret", "fullName": "A" } }),
            ),
            (
                "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
                serde_json::json!({ "t": "hunter2-secret" }),
            ),
            (
                "mutation($t: String!) { logout(refreshToken: $t) }",
                serde_json::json!({ "t": "hunter2-secret" }),
            ),
        ] {
            let request =
                async_graphql::Request::new(query).variables(Variables::from_json(variables));
            let _ = schema.execute(request).await;
        }
        let printed = printed.lock().unwrap();
        assert_eq!(printed.len(), 4);
        for line in printed.iter() {
            assert!(!line.contains("hunter2"), "{line}");
            assert!(line.contains("<secret>"), "{line}");
        }
    }
}
