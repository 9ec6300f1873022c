//! Maps the router's JWT rejections onto the bank's public error contract.
//!
//! Hive Router rejects an expired, tampered, wrong-issuer, wrong-audience or `alg: none` token
//! before planning, which is what we want, but it reports that with its own codes
//! (`INVALID_JWT`, `JWT_NOT_SUPPORTED`, ...) and `403`. Clients of the bank are promised a single
//! stable code for "your credentials are not acceptable": `UNAUTHENTICATED` (see docs/API). This
//! plugin rewrites those errors to `UNAUTHENTICATED` with HTTP 401 and keeps the router's own code
//! in `extensions.reason`, so operators still see why.

use hive_router::{
    executor::plugins::{
        hooks::{
            on_graphql_error::{OnGraphQLErrorHookPayload, OnGraphQLErrorHookResult},
            on_plugin_init::{OnPluginInitPayload, OnPluginInitResult},
        },
        plugin_trait::RouterPlugin,
    },
    http::StatusCode,
    sonic_rs,
};

/// The codes Hive Router 0.2 uses for a request whose token it refused.
const JWT_REJECTION_CODES: &[&str] = &[
    "INVALID_JWT",
    "MISSING_JWT",
    "INVALID_JWT_HEADER",
    "JWT_NOT_SUPPORTED",
    "JWK_ALGORITHM_NOT_SUPPORTED",
    "JWT_LOOKUP_FAILED",
];

pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";

#[derive(Default)]
pub struct AuthErrors;

/// Returns the public code for a router error code, if it is a token rejection.
pub fn public_code(router_code: &str) -> Option<&'static str> {
    JWT_REJECTION_CODES
        .contains(&router_code)
        .then_some(UNAUTHENTICATED)
}

#[hive_router::async_trait]
impl RouterPlugin for AuthErrors {
    type Config = ();

    fn plugin_name() -> &'static str {
        "auth_errors"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        payload.initialize_plugin_with_defaults()
    }

    fn on_graphql_error<'req>(
        &'req self,
        mut payload: OnGraphQLErrorHookPayload<'req>,
    ) -> OnGraphQLErrorHookResult<'req> {
        let code = payload.error.extensions.code.clone();
        if let Some(public) = code.as_deref().and_then(public_code) {
            payload.error.extensions.extensions.insert(
                "reason".to_string(),
                sonic_rs::Value::from(code.as_deref().unwrap_or_default()),
            );
            payload.error.extensions.code = Some(public.to_string());
            payload.status_code = StatusCode::UNAUTHORIZED;
        }
        payload.proceed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jwt_rejection_becomes_unauthenticated() {
        for code in JWT_REJECTION_CODES {
            assert_eq!(public_code(code), Some(UNAUTHENTICATED));
        }
    }

    #[test]
    fn other_router_errors_keep_their_code() {
        assert_eq!(public_code("GRAPHQL_VALIDATION_FAILED"), None);
        assert_eq!(public_code("SUBGRAPH_REQUEST_FAILURE"), None);
    }
}
