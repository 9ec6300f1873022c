//! Data access for the users service (SeaORM over the `users` schema).

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, SqlErr, Statement, TransactionTrait,
};
use uuid::Uuid;

use bank_common::{auth::Role, ApiError, ApiResult};

/// The PostgreSQL schema this service owns.
pub const SCHEMA: &str = "users";

pub mod users {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub email: String,
        pub password_hash: String,
        pub full_name: String,
        pub roles: Vec<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// When the address was confirmed; a user without it cannot sign in yet.
        pub email_verified_at: Option<DateTimeUtc>,
        /// When an administrator disabled the user: no sign-in, no session.
        pub disabled_at: Option<DateTimeUtc>,
        /// When an administrator deleted the user: their personal data is gone from this row.
        pub deleted_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod refresh_tokens {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub family_id: Uuid,
        pub token_hash: Vec<u8>,
        pub expires_at: DateTimeUtc,
        pub created_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
        pub revoked_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod signing_keys {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kid: String,
        pub algorithm: String,
        pub private_key_pem: String,
        pub created_at: DateTimeUtc,
        pub retired_at: Option<DateTimeUtc>,
        /// When it starts signing (published before, so every verifier knows it).
        pub signs_from: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type UserRow = users::Model;

pub fn roles_of(row: &UserRow) -> Vec<Role> {
    row.roles.iter().filter_map(|r| Role::parse(r)).collect()
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: String,
    pub full_name: &'a str,
    pub roles: &'a [Role],
    /// Confirmed already (the administrator from configuration); a registration is not.
    pub verified: bool,
}

/// Inserts a user; an e-mail already registered is `BAD_USER_INPUT` on `email`.
pub async fn insert_user(db: &impl ConnectionTrait, new: NewUser<'_>) -> ApiResult<UserRow> {
    let now = Utc::now();
    let model = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(new.email.to_string()),
        password_hash: Set(new.password_hash),
        full_name: Set(new.full_name.to_string()),
        roles: Set(new.roles.iter().map(|r| r.as_str().to_string()).collect()),
        created_at: Set(now),
        updated_at: Set(now),
        email_verified_at: Set(new.verified.then_some(now)),
        disabled_at: Set(None),
        deleted_at: Set(None),
    };
    users::Entity::insert(model)
        .exec_with_returning(db)
        .await
        .map_err(|err| match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::bad_input(
                "email",
                "an account with this e-mail address already exists",
            ),
            _ => err.into(),
        })
}

/// How long an e-mailed confirmation link works.
pub const VERIFICATION_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// A new confirmation link's token for `user_id`, stored by its hash; earlier unused ones
/// stop working.
pub async fn new_verification(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    token_hash: &[u8],
) -> Result<(), DbErr> {
    let now = Utc::now();
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE email_verifications SET used_at = $2 \
         WHERE user_id = $1 AND used_at IS NULL AND purpose = 'confirm'",
        [user_id.into(), now.into()],
    ))
    .await?;
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO email_verifications (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        [
            token_hash.to_vec().into(),
            user_id.into(),
            (now + VERIFICATION_TTL).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The user a confirmation token belongs to, if it is unused and unexpired (locked until the
/// transaction ends).
pub async fn verification_user(
    txn: &impl ConnectionTrait,
    token_hash: &[u8],
) -> Result<Option<UserRow>, DbErr> {
    let row = txn
        .query_one(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "SELECT user_id FROM email_verifications WHERE token_hash = $1 AND used_at IS NULL \
             AND expires_at > $2 AND purpose = 'confirm' FOR UPDATE",
            [token_hash.to_vec().into(), Utc::now().into()],
        ))
        .await?;
    match row {
        Some(row) => find_user(txn, row.try_get("", "user_id")?).await,
        None => Ok(None),
    }
}

/// Marks the token used and the user's address confirmed.
pub async fn confirm_email(
    txn: &impl ConnectionTrait,
    token_hash: &[u8],
    user_id: Uuid,
) -> Result<UserRow, DbErr> {
    let now = Utc::now();
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "UPDATE email_verifications SET used_at = $2 WHERE token_hash = $1",
        [token_hash.to_vec().into(), now.into()],
    ))
    .await?;
    users::Entity::update(users::ActiveModel {
        id: Set(user_id),
        email_verified_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(txn)
    .await
}

/// A registration again for an address not confirmed yet: the new password and name replace
/// the old (whoever registered first cannot confirm with their password any more).
pub async fn replace_unconfirmed(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
    password_hash: String,
    full_name: &str,
) -> Result<UserRow, DbErr> {
    users::Entity::update(users::ActiveModel {
        id: Set(user_id),
        password_hash: Set(password_hash),
        full_name: Set(full_name.to_string()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(txn)
    .await
}

pub async fn find_user_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<UserRow>, DbErr> {
    users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(db)
        .await
}

pub async fn find_users_by_ids(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> Result<Vec<UserRow>, DbErr> {
    users::Entity::find()
        .filter(users::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

pub async fn find_user(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<UserRow>, DbErr> {
    users::Entity::find_by_id(id).one(db).await
}

pub async fn set_roles(db: &impl ConnectionTrait, id: Uuid, roles: &[Role]) -> ApiResult<UserRow> {
    let result = users::Entity::update_many()
        .col_expr(
            users::Column::Roles,
            Expr::value(
                roles
                    .iter()
                    .map(|r| r.as_str().to_string())
                    .collect::<Vec<_>>(),
            ),
        )
        .col_expr(users::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(users::Column::Id.eq(id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(ApiError::NotFound("user"));
    }
    find_user(db, id).await?.ok_or(ApiError::NotFound("user"))
}

pub async fn insert_refresh_token(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    family_id: Uuid,
    token_hash: Vec<u8>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    refresh_tokens::Entity::insert(refresh_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        family_id: Set(family_id),
        token_hash: Set(token_hash),
        expires_at: Set(expires_at),
        created_at: Set(Utc::now()),
        used_at: Set(None),
        revoked_at: Set(None),
    })
    .exec_without_returning(db)
    .await
    .map(|_| ())
}

/// Outcome of presenting a refresh token.
pub enum Rotation {
    /// The token was valid: it is now used, and the caller may issue its successor.
    Rotated { user: UserRow, family_id: Uuid },
    /// Unknown, expired or revoked.
    Rejected,
    /// A token that was already rotated came back: someone holds a copy. The whole family
    /// (that login on every device it reached) is revoked.
    ReuseDetected,
}

/// Marks the token used, under a row lock, so two concurrent refreshes cannot both succeed.
/// The successor is inserted by the caller in the same transaction.
pub async fn use_refresh_token(
    txn: &impl ConnectionTrait,
    token_hash: &[u8],
) -> ApiResult<Rotation> {
    let now = Utc::now();
    let Some(row) = refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(token_hash.to_vec()))
        .lock_exclusive()
        .one(txn)
        .await?
    else {
        return Ok(Rotation::Rejected);
    };
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Ok(Rotation::Rejected);
    }
    if row.used_at.is_some() {
        revoke_family(txn, row.family_id).await?;
        return Ok(Rotation::ReuseDetected);
    }
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::UsedAt, Expr::value(now))
        .filter(refresh_tokens::Column::Id.eq(row.id))
        .exec(txn)
        .await?;
    let user = find_user(txn, row.user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(Rotation::Rotated {
        user,
        family_id: row.family_id,
    })
}

/// Revokes every token of the family the token belongs to. Returns whether it knew the token.
pub async fn revoke_by_token(db: &DatabaseConnection, token_hash: &[u8]) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    let row = refresh_tokens::Entity::find()
        .filter(refresh_tokens::Column::TokenHash.eq(token_hash.to_vec()))
        .one(&txn)
        .await?;
    let known = match row {
        Some(row) if row.revoked_at.is_none() => {
            revoke_family(&txn, row.family_id).await?;
            true
        }
        _ => false,
    };
    txn.commit().await?;
    Ok(known)
}

/// Ends a session: its refresh tokens stop working, and so do its access tokens (`sid`),
/// everywhere, once the verifiers have fetched the revocations.
async fn revoke_family(db: &impl ConnectionTrait, family_id: Uuid) -> Result<(), DbErr> {
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_tokens::Column::FamilyId.eq(family_id))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO revocations (kind, id, until) VALUES ('session', $1, $2) \
         ON CONFLICT (kind, id) DO UPDATE SET until = EXCLUDED.until",
        [family_id.into(), (Utc::now() + REVOCATION_KEPT).into()],
    ))
    .await?;
    Ok(())
}

/// How long a revocation is published: longer than any access token lives.
pub const REVOCATION_KEPT: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Ends every session of a user and every access token issued to them so far (a change of
/// roles: the next sign-in carries the new ones).
pub async fn revoke_user_tokens(db: &impl ConnectionTrait, user_id: Uuid) -> Result<(), DbErr> {
    let families: Vec<Uuid> = refresh_tokens::Entity::find()
        .select_only()
        .column(refresh_tokens::Column::FamilyId)
        .distinct()
        .filter(refresh_tokens::Column::UserId.eq(user_id))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    for family in families {
        revoke_family(db, family).await?;
    }
    // Tokens count `iat` in whole seconds: one issued earlier in this second passes this
    // check, but its session was just ended above, so its `sid` is refused. A sign-in after
    // this moment gets a token that counts.
    let now = Utc::now();
    let not_before = now;
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO revocations (kind, id, not_before, until) VALUES ('user', $1, $2, $3) \
         ON CONFLICT (kind, id) DO UPDATE SET not_before = EXCLUDED.not_before, until = EXCLUDED.until",
        [
            user_id.into(),
            not_before.into(),
            (now + REVOCATION_KEPT).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// What no longer counts now (for `/.well-known/revocations`): the revocations made within
/// `horizon` (an access token's lifetime and a margin). Older ones stay stored until `until`
/// but matter no more: every token they refused has expired.
pub async fn current_revocations(
    db: &impl ConnectionTrait,
    horizon: chrono::TimeDelta,
) -> Result<bank_common::auth::Revocations, DbErr> {
    // Made at `until - REVOCATION_KEPT`.
    let rows = db
        .query_all(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT kind, id, not_before FROM revocations WHERE until > $1",
            [(Utc::now() + REVOCATION_KEPT - horizon).into()],
        ))
        .await?;
    let mut revocations = bank_common::auth::Revocations::default();
    for row in rows {
        let kind: String = row.try_get("", "kind")?;
        let id: Uuid = row.try_get("", "id")?;
        if kind == "session" {
            revocations.sessions.push(id);
        } else {
            let not_before: Option<DateTime<Utc>> = row.try_get("", "not_before")?;
            revocations.users.push(bank_common::auth::UserCutoff {
                user_id: id,
                not_before: not_before.map_or(0, |t| t.timestamp()),
            });
        }
    }
    Ok(revocations)
}

pub async fn active_signing_keys(
    db: &impl ConnectionTrait,
) -> Result<Vec<signing_keys::Model>, DbErr> {
    signing_keys::Entity::find()
        .filter(signing_keys::Column::RetiredAt.is_null())
        .order_by_desc(signing_keys::Column::SignsFrom)
        .all(db)
        .await
}

pub async fn insert_signing_key(
    db: &impl ConnectionTrait,
    kid: &str,
    private_key_pem: &str,
    signs_from: DateTime<Utc>,
) -> Result<(), DbErr> {
    signing_keys::Entity::insert(signing_keys::ActiveModel {
        kid: Set(kid.to_string()),
        algorithm: Set("ES256".to_string()),
        private_key_pem: Set(private_key_pem.to_string()),
        created_at: Set(Utc::now()),
        retired_at: Set(None),
        signs_from: Set(signs_from),
    })
    .on_conflict(
        OnConflict::column(signing_keys::Column::Kid)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map(|_| ())
}

/// The latest moment until which any of `keys` refuses sign-ins, if one is still blocked. One
/// read, on every sign-in; nothing is written here.
pub async fn sign_in_blocked_until(
    db: &DatabaseConnection,
    keys: &[String],
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let row = db
        .query_one(raw(
            "SELECT max(blocked_until) AS until FROM login_failures \
             WHERE key = ANY($1) AND blocked_until > now()",
            [keys.to_vec().into()],
        ))
        .await?;
    Ok(row.and_then(|row| {
        row.try_get::<Option<DateTime<Utc>>>("", "until")
            .ok()
            .flatten()
    }))
}

/// Counts one failed sign-in under `key`; once the count reaches `limit`, attempts under the key
/// wait `lock(count)` from now. A count whose last failure is older than `forget_after` starts
/// again at one (failures in a row, not over a lifetime). Answers the new count.
pub async fn record_sign_in_failure(
    db: &DatabaseConnection,
    key: &str,
    limit: i32,
    forget_after: std::time::Duration,
    lock: impl Fn(i32) -> Option<std::time::Duration>,
) -> Result<i32, DbErr> {
    let txn = db.begin().await?;
    // (Two statements: Citus refuses anything but immutable functions in DO UPDATE SET.)
    txn.execute(raw(
        "DELETE FROM login_failures WHERE key = $1 \
         AND last_failure_at < now() - make_interval(secs => $2)",
        [key.into(), forget_after.as_secs_f64().into()],
    ))
    .await?;
    let row = txn
        .query_one(raw(
            "INSERT INTO login_failures (key, failures) VALUES ($1, 1) \
             ON CONFLICT (key) DO UPDATE SET failures = login_failures.failures + 1, \
               last_failure_at = excluded.last_failure_at \
             RETURNING failures",
            [key.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("login_failures".into()))?;
    let failures: i32 = row.try_get("", "failures")?;
    if failures >= limit {
        if let Some(wait) = lock(failures) {
            txn.execute(raw(
                "UPDATE login_failures SET blocked_until = now() + make_interval(secs => $2) \
                 WHERE key = $1",
                [key.into(), wait.as_secs_f64().into()],
            ))
            .await?;
        }
    }
    txn.commit().await?;
    Ok(failures)
}

/// Forgets an account's failed sign-ins (it signed in).
pub async fn clear_sign_in_failures(db: &DatabaseConnection, key: &str) -> Result<(), DbErr> {
    db.execute(raw(
        "DELETE FROM login_failures WHERE key = $1",
        [key.into()],
    ))
    .await?;
    Ok(())
}

fn raw(sql: &str, values: impl IntoIterator<Item = sea_orm::Value>) -> sea_orm::Statement {
    sea_orm::Statement::from_sql_and_values(sea_orm::DatabaseBackend::Postgres, sql, values)
}

/// An OpenID Connect authorization code as stored (by hash).
#[derive(Debug, Clone)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub user_id: Uuid,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub scope: String,
    pub auth_time: chrono::DateTime<Utc>,
}

/// How long an authorization code can be exchanged.
pub const AUTHORIZATION_CODE_TTL: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

pub async fn insert_authorization_code(
    db: &impl ConnectionTrait,
    code_hash: &[u8],
    code: &AuthorizationCode,
) -> Result<(), DbErr> {
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, \
         code_challenge, nonce, scope, auth_time, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            code_hash.to_vec().into(),
            code.client_id.clone().into(),
            code.user_id.into(),
            code.redirect_uri.clone().into(),
            code.code_challenge.clone().into(),
            code.nonce.clone().into(),
            code.scope.clone().into(),
            code.auth_time.into(),
            (Utc::now() + AUTHORIZATION_CODE_TTL).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// What presenting an authorization code found.
#[derive(Debug)]
pub enum CodeUse {
    /// Unused and unexpired: now used; the caller records the session it starts.
    Fresh(AuthorizationCode),
    /// Unknown or expired.
    Unknown,
    /// Used already: someone replays it. The session it was exchanged for is revoked.
    Replayed,
}

/// Marks the code used, under a row lock (two exchanges cannot both succeed).
pub async fn use_authorization_code(
    txn: &impl ConnectionTrait,
    code_hash: &[u8],
) -> Result<CodeUse, DbErr> {
    let backend = txn.get_database_backend();
    let Some(row) = txn
        .query_one(Statement::from_sql_and_values(
            backend,
            "SELECT client_id, user_id, redirect_uri, code_challenge, nonce, scope, auth_time, \
             expires_at, used_at, family_id FROM authorization_codes WHERE code_hash = $1 \
             FOR UPDATE",
            [code_hash.to_vec().into()],
        ))
        .await?
    else {
        return Ok(CodeUse::Unknown);
    };
    let used_at: Option<chrono::DateTime<Utc>> = row.try_get("", "used_at")?;
    if used_at.is_some() {
        let family: Option<Uuid> = row.try_get("", "family_id")?;
        if let Some(family) = family {
            revoke_family(txn, family).await?;
        }
        return Ok(CodeUse::Replayed);
    }
    let expires_at: chrono::DateTime<Utc> = row.try_get("", "expires_at")?;
    if expires_at <= Utc::now() {
        return Ok(CodeUse::Unknown);
    }
    txn.execute(Statement::from_sql_and_values(
        backend,
        "UPDATE authorization_codes SET used_at = now() WHERE code_hash = $1",
        [code_hash.to_vec().into()],
    ))
    .await?;
    Ok(CodeUse::Fresh(AuthorizationCode {
        client_id: row.try_get("", "client_id")?,
        user_id: row.try_get("", "user_id")?,
        redirect_uri: row.try_get("", "redirect_uri")?,
        code_challenge: row.try_get("", "code_challenge")?,
        nonce: row.try_get("", "nonce")?,
        scope: row.try_get("", "scope")?,
        auth_time: row.try_get("", "auth_time")?,
    }))
}

/// Records the session a code was exchanged for (revoked if the code is replayed).
pub async fn set_code_family(
    txn: &impl ConnectionTrait,
    code_hash: &[u8],
    family_id: Uuid,
) -> Result<(), DbErr> {
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "UPDATE authorization_codes SET family_id = $2 WHERE code_hash = $1",
        [code_hash.to_vec().into(), family_id.into()],
    ))
    .await?;
    Ok(())
}

/// Disables (`true`) or enables a user; disabling ends every session and token of theirs.
pub async fn set_disabled(
    db: &impl ConnectionTrait,
    id: Uuid,
    disabled: bool,
) -> ApiResult<UserRow> {
    let now = Utc::now();
    let row = users::Entity::update(users::ActiveModel {
        id: Set(id),
        disabled_at: Set(disabled.then_some(now)),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await
    .map_err(|err| match err {
        DbErr::RecordNotUpdated => ApiError::NotFound("user"),
        other => other.into(),
    })?;
    if disabled {
        revoke_user_tokens(db, id).await?;
    }
    Ok(row)
}

/// The e-mail address a deleted user's row keeps: unique, and no one's (`.invalid`, RFC 2606).
pub fn deleted_email(id: Uuid) -> String {
    format!("deleted-{}@deleted.invalid", id.simple())
}

/// Erases a user's personal data (address, name, password) and everything that could sign
/// them in again (sessions, access tokens, links e-mailed to them, links to external
/// providers), keeping the row and its id
/// for the records that name it. Idempotent: a deleted user stays as they are (`false`).
pub async fn delete_user(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<(UserRow, bool)> {
    let row = users::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    if row.deleted_at.is_some() {
        return Ok((row, false));
    }
    let now = Utc::now();
    let row = users::Entity::update(users::ActiveModel {
        id: Set(id),
        email: Set(deleted_email(id)),
        password_hash: Set(crate::domain::no_password_hash()),
        full_name: Set("Deleted user".into()),
        disabled_at: Set(Some(row.disabled_at.unwrap_or(now))),
        deleted_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec(db)
    .await?;
    // Pending e-mailed links, and the links to external providers (with the address they
    // gave): a later sign-in through the provider is a new user, as a new registration is.
    for sql in [
        "DELETE FROM email_verifications WHERE user_id = $1",
        "DELETE FROM external_identities WHERE user_id = $1",
    ] {
        db.execute(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [id.into()],
        ))
        .await?;
    }
    revoke_user_tokens(db, id).await?;
    Ok((row, true))
}

/// Retires the keys that a newer key replaced more than `grace` ago (their tokens have
/// expired): they leave the JWKS, and verifiers refuse what they signed. Returns how many.
pub async fn retire_replaced_keys(
    db: &impl ConnectionTrait,
    grace: chrono::TimeDelta,
) -> Result<u64, DbErr> {
    let result = db
        .execute(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL AND signs_from < \
             (SELECT max(signs_from) FROM signing_keys WHERE retired_at IS NULL AND signs_from <= $1)",
            [(Utc::now() - grace).into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// How long an e-mailed password-reset link works.
pub const RESET_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// Reset e-mails an address gets in an hour at most (nobody floods a mailbox through the bank).
pub const RESETS_PER_HOUR: i64 = 3;

/// A password-reset link's token for `user_id` (earlier unused ones stop working); `false`, and
/// nothing stored, when the address had `RESETS_PER_HOUR` links in the last hour.
pub async fn new_password_reset(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    token_hash: &[u8],
) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let recent: i64 = db
        .query_one(Statement::from_sql_and_values(
            backend,
            "SELECT count(*) AS n FROM email_verifications WHERE user_id = $1 \
             AND purpose = 'reset' AND created_at > now() - interval '1 hour'",
            [user_id.into()],
        ))
        .await?
        .map(|row| row.try_get("", "n"))
        .transpose()?
        .unwrap_or(0);
    if recent >= RESETS_PER_HOUR {
        return Ok(false);
    }
    db.execute(Statement::from_sql_and_values(
        backend,
        "UPDATE email_verifications SET used_at = now() \
         WHERE user_id = $1 AND used_at IS NULL AND purpose = 'reset'",
        [user_id.into()],
    ))
    .await?;
    db.execute(Statement::from_sql_and_values(
        backend,
        "INSERT INTO email_verifications (token_hash, user_id, expires_at, purpose) \
         VALUES ($1, $2, $3, 'reset')",
        [
            token_hash.to_vec().into(),
            user_id.into(),
            (Utc::now() + RESET_TTL).into(),
        ],
    ))
    .await?;
    Ok(true)
}

/// Uses a password-reset token: the user it belongs to, if it was unused and unexpired.
pub async fn use_password_reset(
    txn: &impl ConnectionTrait,
    token_hash: &[u8],
) -> Result<Option<UserRow>, DbErr> {
    let backend = txn.get_database_backend();
    let row = txn
        .query_one(Statement::from_sql_and_values(
            backend,
            "UPDATE email_verifications SET used_at = now() WHERE token_hash = $1 \
             AND used_at IS NULL AND expires_at > now() AND purpose = 'reset' RETURNING user_id",
            [token_hash.to_vec().into()],
        ))
        .await?;
    match row {
        Some(row) => find_user(txn, row.try_get("", "user_id")?).await,
        None => Ok(None),
    }
}

/// Sets a user's password hash.
pub async fn set_password(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    password_hash: String,
) -> Result<UserRow, DbErr> {
    users::Entity::update(users::ActiveModel {
        id: Set(user_id),
        password_hash: Set(password_hash),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await
}

/// Replaces a signing key's stored private half (encrypting one stored in plain text).
pub async fn replace_private_key(
    db: &impl ConnectionTrait,
    kid: &str,
    stored: &str,
) -> Result<(), DbErr> {
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE signing_keys SET private_key_pem = $2 WHERE kid = $1",
        [kid.into(), stored.into()],
    ))
    .await?;
    Ok(())
}

/// Every signing key (retired ones too) whose private half is not stored with `sealed_prefix`.
pub async fn plaintext_signing_keys(
    db: &impl ConnectionTrait,
    sealed_prefix: &str,
) -> Result<Vec<signing_keys::Model>, DbErr> {
    signing_keys::Entity::find()
        .filter(signing_keys::Column::PrivateKeyPem.not_like(format!("{sealed_prefix}%")))
        .all(db)
        .await
}

/// A sign-in under way at the external provider (see `oidc::external`).
#[derive(Debug, Clone)]
pub struct ExternalSignIn {
    /// The SHA-256 of the `state` sent to the provider.
    pub state_hash: Vec<u8>,
    /// The SHA-256 of the cookie that binds the sign-in to the browser that started it.
    pub browser_hash: Vec<u8>,
    pub pkce_verifier: String,
    pub nonce: String,
    /// The bank's own authorization request, answered when the provider comes back.
    pub request: serde_json::Value,
}

/// Stores a sign-in under way, and forgets those older than `ttl_secs`.
pub async fn begin_external_sign_in(
    db: &DatabaseConnection,
    sign_in: &ExternalSignIn,
    ttl_secs: i64,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    db.execute(Statement::from_sql_and_values(
        backend,
        "DELETE FROM external_sign_ins WHERE created_at < now() - make_interval(secs => $1)",
        [(ttl_secs as f64).into()],
    ))
    .await?;
    db.execute(Statement::from_sql_and_values(
        backend,
        "INSERT INTO external_sign_ins (state_hash, browser_hash, pkce_verifier, nonce, request) \
         VALUES ($1, $2, $3, $4, $5)",
        [
            sign_in.state_hash.clone().into(),
            sign_in.browser_hash.clone().into(),
            sign_in.pkce_verifier.clone().into(),
            sign_in.nonce.clone().into(),
            sign_in.request.clone().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Takes the sign-in with this state, once, if it is younger than `ttl_secs`.
pub async fn take_external_sign_in(
    db: &DatabaseConnection,
    state_hash: &[u8],
    ttl_secs: i64,
) -> Result<Option<ExternalSignIn>, DbErr> {
    let row = db
        .query_one(Statement::from_sql_and_values(
            db.get_database_backend(),
            "DELETE FROM external_sign_ins WHERE state_hash = $1 \
             RETURNING browser_hash, pkce_verifier, nonce, request, \
             created_at >= now() - make_interval(secs => $2) AS fresh",
            [state_hash.to_vec().into(), (ttl_secs as f64).into()],
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    if !row.try_get::<bool>("", "fresh")? {
        return Ok(None);
    }
    Ok(Some(ExternalSignIn {
        state_hash: state_hash.to_vec(),
        browser_hash: row.try_get("", "browser_hash")?,
        pkce_verifier: row.try_get("", "pkce_verifier")?,
        nonce: row.try_get("", "nonce")?,
        request: row.try_get("", "request")?,
    }))
}

/// How an external identity found its bank user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalLink {
    /// Linked at an earlier sign-in.
    Known,
    /// Linked now to the user with the same (provider-verified) address.
    ByEmail,
    /// A new customer, created now.
    Created,
}

/// The bank user of the provider's `subject`: the one linked before, else the user with the
/// address `email` (which the provider has verified), else a new customer; the link is stored.
/// A user found by address whose own registration was never confirmed has that registration's
/// password erased and its pending links dropped: whoever registered the address without its
/// mailbox keeps nothing. A new or newly confirmed user is announced (`bank.user.registered.v1`).
pub async fn link_external_identity(
    db: &DatabaseConnection,
    issuer: &str,
    subject: &str,
    email: &str,
    name: Option<&str>,
) -> ApiResult<(UserRow, ExternalLink)> {
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    let known = txn
        .query_one(Statement::from_sql_and_values(
            backend,
            "UPDATE external_identities SET last_sign_in_at = now() \
             WHERE issuer = $1 AND subject = $2 RETURNING user_id",
            [issuer.into(), subject.into()],
        ))
        .await?;
    if let Some(known) = known {
        let user_id: Uuid = known.try_get("", "user_id")?;
        let row = find_user(&txn, user_id)
            .await?
            .ok_or(ApiError::NotFound("user"))?;
        txn.commit().await?;
        return Ok((row, ExternalLink::Known));
    }
    let existing = users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .lock_exclusive()
        .one(&txn)
        .await?;
    let (row, how) = match existing {
        Some(row) if row.email_verified_at.is_some() => (row, ExternalLink::ByEmail),
        Some(row) => {
            let now = Utc::now();
            let row = users::Entity::update(users::ActiveModel {
                id: Set(row.id),
                password_hash: Set(crate::domain::no_password_hash()),
                email_verified_at: Set(Some(now)),
                updated_at: Set(now),
                ..Default::default()
            })
            .exec(&txn)
            .await?;
            txn.execute(Statement::from_sql_and_values(
                backend,
                "DELETE FROM email_verifications WHERE user_id = $1",
                [row.id.into()],
            ))
            .await?;
            bank_common::outbox::enqueue(&txn, SCHEMA, &crate::events::registered(&row)).await?;
            (row, ExternalLink::ByEmail)
        }
        None => {
            let fallback = email.split('@').next().unwrap_or(email);
            let full_name = name
                .and_then(|name| crate::domain::FullName::parse(name).ok())
                .map(|name| name.as_str().to_string())
                .unwrap_or_else(|| fallback.to_string());
            let row = insert_user(
                &txn,
                NewUser {
                    email,
                    password_hash: crate::domain::no_password_hash(),
                    full_name: &full_name,
                    roles: &[Role::Customer],
                    verified: true,
                },
            )
            .await?;
            bank_common::outbox::enqueue(&txn, SCHEMA, &crate::events::registered(&row)).await?;
            (row, ExternalLink::Created)
        }
    };
    txn.execute(Statement::from_sql_and_values(
        backend,
        "INSERT INTO external_identities (issuer, subject, user_id, email) VALUES ($1, $2, $3, $4)",
        [issuer.into(), subject.into(), row.id.into(), email.into()],
    ))
    .await?;
    txn.commit().await?;
    Ok((row, how))
}
