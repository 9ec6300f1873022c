//! The error type of every subgraph. Its `code()` is what clients see in
//! `errors[].extensions.code`, a public contract listed in docs/api.md.
//!
//! Internal failures (database, bugs) are logged with their details and reach the client only
//! as `INTERNAL` with a generic message.

use async_graphql::ErrorExtensions;

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug)]
pub enum ApiError {
    /// No valid access token, or wrong credentials.
    Unauthenticated(String),
    /// Authenticated, but the role does not allow the operation.
    Forbidden(String),
    /// The object does not exist, or belongs to someone else (the two are not told apart).
    NotFound(&'static str),
    /// Input failed validation; `field` names the offending input field.
    BadUserInput {
        field: Option<&'static str>,
        message: String,
    },
    InsufficientFunds,
    AccountNotActive(String),
    CurrencyMismatch(String),
    IdempotencyKeyReused,
    LimitExceeded(String),
    /// Four eyes: the request is recorded, and a second member of staff must make the same one
    /// before anything happens.
    SecondApprovalRequired(String),
    /// Anything unexpected. Logged in full, shown as a generic message.
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::BadUserInput { .. } => "BAD_USER_INPUT",
            ApiError::InsufficientFunds => "INSUFFICIENT_FUNDS",
            ApiError::AccountNotActive(_) => "ACCOUNT_NOT_ACTIVE",
            ApiError::CurrencyMismatch(_) => "CURRENCY_MISMATCH",
            ApiError::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            ApiError::LimitExceeded(_) => "LIMIT_EXCEEDED",
            ApiError::SecondApprovalRequired(_) => "SECOND_APPROVAL_REQUIRED",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    /// What the client reads in `errors[].message`.
    ///
    /// `ApiError` deliberately has no `Display`: async-graphql converts anything displayable into
    /// an error without a code, and every error the bank returns must carry one.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated(message)
            | ApiError::Forbidden(message)
            | ApiError::AccountNotActive(message)
            | ApiError::CurrencyMismatch(message)
            | ApiError::LimitExceeded(message)
            | ApiError::SecondApprovalRequired(message) => message.clone(),
            ApiError::NotFound(what) => format!("{what} not found"),
            ApiError::BadUserInput { message, .. } => message.clone(),
            ApiError::InsufficientFunds => "insufficient funds".into(),
            ApiError::IdempotencyKeyReused => {
                "this idempotency key was already used with a different request".into()
            }
            ApiError::Internal(_) => "internal error".into(),
        }
    }

    pub fn unauthenticated() -> Self {
        ApiError::Unauthenticated("a valid access token is required".into())
    }

    pub fn forbidden() -> Self {
        ApiError::Forbidden("your role does not allow this operation".into())
    }

    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadUserInput {
            field: Some(field),
            message: message.into(),
        }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    /// An internal error described by a message (a broken invariant, bad stored data).
    pub fn internal_msg(message: impl std::fmt::Display) -> Self {
        ApiError::Internal(anyhow::anyhow!("{message}"))
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError::Internal(err.into())
    }
}

impl From<sea_orm::TransactionError<ApiError>> for ApiError {
    fn from(err: sea_orm::TransactionError<ApiError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(api) => api,
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        if let ApiError::Internal(source) = &err {
            // The request id is on the current span (see server.rs).
            tracing::error!(error = ?source, "internal error");
        }
        let code = err.code();
        let field = match &err {
            ApiError::BadUserInput { field, .. } => *field,
            _ => None,
        };
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(field) = field {
                ext.set("field", field);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(err: ApiError) -> String {
        let gql: async_graphql::Error = err.into();
        gql.extensions
            .and_then(|ext| ext.get("code").cloned())
            .map(|v| v.to_string().trim_matches('"').to_string())
            .unwrap_or_default()
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let err = ApiError::internal(anyhow::anyhow!("password authentication failed for db"));
        let gql: async_graphql::Error = err.into();
        assert_eq!(gql.message, "internal error");
    }

    #[test]
    fn every_error_carries_its_stable_code() {
        assert_eq!(code_of(ApiError::NotFound("account")), "NOT_FOUND");
        assert_eq!(code_of(ApiError::unauthenticated()), "UNAUTHENTICATED");
        assert_eq!(
            code_of(ApiError::bad_input("email", "bad")),
            "BAD_USER_INPUT"
        );
        assert_eq!(code_of(ApiError::InsufficientFunds), "INSUFFICIENT_FUNDS");
    }
}
