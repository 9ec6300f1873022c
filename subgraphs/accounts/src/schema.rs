//! The accounts subgraph's GraphQL API: `Account @key(id)`, `User.accounts`, opening and
//! freezing accounts.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    dataloader::{DataLoader, Loader},
    Context, EmptySubscription, InputObject, Object, Schema, ID,
};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use bank_common::{auth::ContextAuth, money::Currency, ApiError, ApiResult};

use crate::{
    domain::{parse_freeze_reason, AccountKind, AccountNumber, AccountStatus, Nickname},
    store::{self, AccountRow},
};

pub type AccountsSchema = Schema<Query, Mutation, EmptySubscription>;

/// What resolvers share.
pub struct AccountsContext {
    pub db: DatabaseConnection,
    pub ledger: crate::ledger::LedgerClient,
}

/// A bank account.
#[derive(Clone)]
pub struct Account(Arc<AccountRow>);

#[Object(name = "Account")]
impl Account {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// IBAN-form number with check digits, e.g. `XB12 0001 2345 6789 01` (without spaces).
    async fn number(&self) -> &str {
        &self.0.number
    }

    async fn kind(&self) -> AccountKind {
        AccountKind::from_db(&self.0.kind)
    }

    /// ISO 4217 code.
    async fn currency(&self) -> &str {
        &self.0.currency
    }

    async fn status(&self) -> AccountStatus {
        AccountStatus::from_db(&self.0.status)
    }

    async fn nickname(&self) -> Option<&str> {
        self.0.nickname.as_deref()
    }

    /// Why the account is frozen (visible to the owner and staff).
    async fn freeze_reason(&self) -> Option<&str> {
        self.0.freeze_reason.as_deref()
    }

    async fn owner(&self) -> UserRef {
        UserRef {
            id: self.0.owner_id,
        }
    }

    async fn opened_at(&self) -> DateTime<Utc> {
        self.0.opened_at
    }

    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
}

impl From<AccountRow> for Account {
    fn from(row: AccountRow) -> Self {
        Account(Arc::new(row))
    }
}

/// The users service's `User`, extended here with the user's accounts.
pub struct UserRef {
    id: Uuid,
}

#[Object(name = "User")]
impl UserRef {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The user's accounts, oldest first (closed ones included). Their own, or any for staff.
    async fn accounts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Account>> {
        let principal = ctx.principal()?;
        if !principal.can_access(self.id) {
            return Err(ApiError::forbidden().into());
        }
        let loader = ctx.data_unchecked::<DataLoader<AccountsByOwnerLoader>>();
        let rows = loader.load_one(self.id).await.map_err(loader_error)?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(Account::from)
            .collect())
    }
}

#[derive(InputObject)]
pub struct OpenAccountInput {
    pub kind: AccountKind,
    /// ISO 4217 code, e.g. "EUR".
    pub currency: String,
    pub nickname: Option<String>,
}

/// Batches account lookups by id (entity references, `account(id)`).
pub struct AccountLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for AccountLoader {
    type Value = AccountRow;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, AccountRow>, Self::Error> {
        let rows = store::find_by_ids(&self.db, keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// Batches `User.accounts` for many users into one query.
pub struct AccountsByOwnerLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for AccountsByOwnerLoader {
    type Value = Vec<AccountRow>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<AccountRow>>, Self::Error> {
        let rows = store::find_by_owners(&self.db, keys)
            .await
            .map_err(Arc::new)?;
        let mut by_owner: HashMap<Uuid, Vec<AccountRow>> = HashMap::new();
        for row in rows {
            by_owner.entry(row.owner_id).or_default().push(row);
        }
        Ok(by_owner)
    }
}

fn loader_error(err: Arc<DbErr>) -> ApiError {
    ApiError::internal(anyhow::anyhow!(err))
}

/// An id that is not a UUID cannot name an account: `NOT_FOUND`, like any unknown id.
fn parse_account_id(id: &ID) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound("account"))
}

/// Loads an account the caller may see; someone else's account is `NOT_FOUND`, so ids of other
/// customers' accounts cannot be probed.
async fn visible_account(ctx: &Context<'_>, id: Uuid) -> ApiResult<AccountRow> {
    let principal = ctx.principal()?;
    let loader = ctx.data_unchecked::<DataLoader<AccountLoader>>();
    match loader.load_one(id).await.map_err(loader_error)? {
        Some(row) if principal.can_access(row.owner_id) => Ok(row),
        _ => Err(ApiError::NotFound("account")),
    }
}

pub struct Query;

#[Object(name = "Query")]
impl Query {
    /// One of the caller's accounts (any account for staff); `NOT_FOUND` otherwise.
    async fn account(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Account>> {
        let id = parse_account_id(&id)?;
        Ok(Some(visible_account(ctx, id).await?.into()))
    }

    /// Looks an account up by its number (spaces allowed). Customers find only their own.
    async fn account_by_number(
        &self,
        ctx: &Context<'_>,
        number: String,
    ) -> async_graphql::Result<Option<Account>> {
        let principal = ctx.principal()?;
        let number =
            AccountNumber::parse(&number).map_err(|msg| ApiError::bad_input("number", msg))?;
        let accounts = ctx.data_unchecked::<AccountsContext>();
        match store::find_by_number(&accounts.db, number.as_str())
            .await
            .map_err(ApiError::from)?
        {
            Some(row) if principal.can_access(row.owner_id) => Ok(Some(row.into())),
            _ => Err(ApiError::NotFound("account").into()),
        }
    }

    /// `AuditLog` references: this subgraph contributes its own trail.
    #[graphql(entity)]
    async fn find_audit_log_by_id(&self, id: async_graphql::ID) -> AuditLogRef {
        AuditLogRef { id }
    }

    /// Resolves `Account` references from other subgraphs; others' accounts resolve to null.
    #[graphql(entity)]
    async fn find_account_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Account>> {
        let Ok(id) = parse_account_id(&id) else {
            return Ok(None);
        };
        match visible_account(ctx, id).await {
            Ok(row) => Ok(Some(row.into())),
            Err(ApiError::NotFound(_)) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// `User` references: the accounts subgraph contributes `User.accounts`.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> async_graphql::Result<UserRef> {
        let id = Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound("user"))?;
        Ok(UserRef { id })
    }
}

pub struct Mutation;

#[Object(name = "Mutation")]
impl Mutation {
    /// Opens an account for the caller. At most 10 open accounts per customer.
    async fn open_account(
        &self,
        ctx: &Context<'_>,
        input: OpenAccountInput,
    ) -> async_graphql::Result<Account> {
        let principal = ctx.principal()?;
        let currency =
            Currency::parse(&input.currency).map_err(|msg| ApiError::bad_input("currency", msg))?;
        let nickname = Nickname::parse(input.nickname.as_deref())?;
        let accounts = ctx.data_unchecked::<AccountsContext>();
        let row = store::open_account(
            &accounts.db,
            store::NewAccount {
                owner_id: principal.user_id,
                kind: input.kind,
                currency,
                nickname: nickname.into_inner(),
            },
        )
        .await?;
        tracing::info!(account_id = %row.id, owner_id = %row.owner_id, "account opened");
        Ok(row.into())
    }

    /// Stops all money movement on an account (staff only). Freezing a frozen account is a no-op.
    async fn freeze_account(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<Account> {
        let principal = ctx.principal()?;
        let id = parse_account_id(&id)?;
        let reason = parse_freeze_reason(&reason)?;
        let accounts = ctx.data_unchecked::<AccountsContext>();
        let check = |row: &AccountRow| staff_only(principal, row);
        let row =
            store::change_status(&accounts.db, id, check, AccountStatus::freeze, Some(reason))
                .await?;
        tracing::info!(account_id = %id, by = %principal.user_id, "account frozen");
        Ok(row.into())
    }

    /// Closes one of the caller's accounts (staff: any). The ledger must agree: the balance is
    /// zero and no hold is open; a frozen account is closed by staff only. Closing a closed
    /// account returns it unchanged.
    async fn close_account(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Account> {
        let principal = ctx.principal()?;
        let id = parse_account_id(&id)?;
        let token = bank_common::server::BearerToken::of(ctx)?;
        let accounts = ctx.data_unchecked::<AccountsContext>();
        let check = |row: &AccountRow| {
            if principal.can_access(row.owner_id) {
                Ok(())
            } else {
                Err(ApiError::NotFound("account"))
            }
        };
        let ledger = accounts.ledger.clone();
        let row = store::close_account(&accounts.db, id, check, |id| async move {
            ledger.close(&token, id).await
        })
        .await?;
        tracing::info!(account_id = %id, by = %principal.user_id, "account closed");
        Ok(row.into())
    }

    /// Lets money move again (staff only). Unfreezing an active account is a no-op.
    async fn unfreeze_account(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Account> {
        let principal = ctx.principal()?;
        let id = parse_account_id(&id)?;
        let accounts = ctx.data_unchecked::<AccountsContext>();
        let check = |row: &AccountRow| staff_only(principal, row);
        let row =
            store::change_status(&accounts.db, id, check, AccountStatus::unfreeze, None).await?;
        tracing::info!(account_id = %id, by = %principal.user_id, "account unfrozen");
        Ok(row.into())
    }
}

/// A customer asking to freeze their own account gets `FORBIDDEN`; anyone else's, `NOT_FOUND`.
fn staff_only(principal: &bank_common::auth::Principal, row: &AccountRow) -> ApiResult<()> {
    if principal.is_staff() {
        Ok(())
    } else if principal.user_id == row.owner_id {
        Err(ApiError::forbidden())
    } else {
        Err(ApiError::NotFound("account"))
    }
}

bank_common::audit_log_part!(accounts, "accounts", AccountsContext);
