//! Makes the router's JWT check match the bank's contract: a request either carries no token
//! (anonymous: `register`, `login`, ... work, and subgraphs decide per field) or a valid token.
//! A request with a token that is not valid is refused here, before planning, with the public
//! code `UNAUTHENTICATED`, and never reaches a subgraph.
//!
//! Hive Router 0.2 lacks exactly this combination. With `require_authentication: false` it
//! treats an expired, tampered, wrong-issuer, wrong-audience or `alg: none` token like no token
//! at all, and header propagation would then pass the bad token on to the subgraphs; with
//! `require_authentication: true` it refuses anonymous requests too. When it does refuse a
//! token, it reports its own codes (`INVALID_JWT`, `JWT_NOT_SUPPORTED`, ...) with status 403.
//!
//! So this plugin (1) ends any request that presented an `Authorization` header which the
//! router's JWT check did not accept, and (2) rewrites the router's own JWT error codes to
//! `UNAUTHENTICATED` with status 401, keeping the router's code in `extensions.reason`.

use hive_router::{
    executor::{
        execution::{
            client_request_details::JwtRequestDetails,
            plan::{FailedExecutionResult, PlanExecutionOutput},
        },
        plugins::{
            hooks::{
                on_graphql_analysis::{OnGraphqlAnalysisHookPayload, OnGraphqlAnalysisHookResult},
                on_graphql_error::{OnGraphQLErrorHookPayload, OnGraphQLErrorHookResult},
                on_plugin_init::{OnPluginInitPayload, OnPluginInitResult},
            },
            plugin_trait::RouterPlugin,
        },
    },
    http::StatusCode,
    sonic_rs, GraphQLError,
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

/// Whether a request must be refused: it presented credentials that did not authenticate.
pub fn must_refuse(presented_token: bool, authenticated: bool) -> bool {
    presented_token && !authenticated
}

fn unauthenticated_response() -> PlanExecutionOutput {
    let error = GraphQLError::from_message_and_code(
        "the access token is invalid or expired",
        UNAUTHENTICATED,
    );
    PlanExecutionOutput {
        body: FailedExecutionResult {
            errors: vec![error],
        }
        .serialize(),
        error_count: 1,
        status_code: StatusCode::UNAUTHORIZED,
    }
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

    /// Runs after the router's JWT check and before query planning.
    async fn on_graphql_analysis<'exec>(
        &'exec self,
        payload: &mut OnGraphqlAnalysisHookPayload<'exec>,
    ) -> OnGraphqlAnalysisHookResult {
        let presented = payload
            .router_http_request
            .headers
            .contains_key("authorization");
        let authenticated = matches!(
            *payload.client_request_details.jwt,
            JwtRequestDetails::Authenticated { .. }
        );
        if must_refuse(presented, authenticated) {
            return OnGraphqlAnalysisHookResult::EndWithResponse(unauthenticated_response());
        }
        OnGraphqlAnalysisHookResult::Proceed
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

    #[test]
    fn only_a_presented_token_that_failed_is_refused() {
        assert!(must_refuse(true, false));
        assert!(!must_refuse(true, true));
        assert!(!must_refuse(false, false));
    }

    #[test]
    fn the_refusal_carries_the_public_code() {
        let response = unauthenticated_response();
        assert_eq!(response.status_code, StatusCode::UNAUTHORIZED);
        let body = String::from_utf8(response.body).unwrap();
        assert!(body.contains("\"code\":\"UNAUTHENTICATED\""), "{body}");
    }
}
