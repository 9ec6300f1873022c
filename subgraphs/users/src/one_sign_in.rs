//! One sign-in per request. GraphQL lets a request ask for the same field many times under
//! aliases (`a: login(...) b: login(...)`), so one HTTP request, counted once by NGINX's rate
//! limits, could try thirty passwords. A request naming `login`, `register`, `refreshToken` or
//! `verifyEmail` more than once, in any operation or fragment, is refused as a whole with
//! `LIMIT_EXCEEDED` before anything runs.
//!
//! And no password with a token. NGINX's strict login limit counts requests without an
//! `Authorization` header per client address; any valid token (of one's own account) would
//! escape it. So `login`, `register` and `verifyEmail`, the operations that try a password, are
//! refused with `FORBIDDEN` when the request carries a token, before any password is checked:
//! every password guess passes NGINX's anonymous limit. (`refreshToken` takes no password.)

use std::sync::Arc;

use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
    Pos, ServerResult, Variables,
};

use bank_common::ApiError;

const SIGN_IN_FIELDS: [&str; 7] = [
    "login",
    "register",
    "refreshToken",
    "verifyEmail",
    "changePassword",
    "requestPasswordReset",
    "resetPassword",
];
/// The sign-ins that try a password: only without a token.
const PASSWORD_FIELDS: [&str; 3] = ["login", "register", "verifyEmail"];

pub struct OneSignInPerRequest;

impl ExtensionFactory for OneSignInPerRequest {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OneSignInPerRequest)
    }
}

#[async_trait::async_trait]
impl Extension for OneSignInPerRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if ctx.data_opt::<bank_common::auth::Principal>().is_some()
            && counted(&document, &PASSWORD_FIELDS) > 0
        {
            let err: async_graphql::Error = ApiError::Forbidden(
                "login, register and verifyEmail are sent without a token: sign out first".into(),
            )
            .into();
            return Err(err.into_server_error(Pos::default()));
        }
        if sign_ins(&document) > 1 {
            let err: async_graphql::Error = ApiError::LimitExceeded(
                "one sign-in (login, register, refreshToken, verifyEmail or a password change or reset) per request".into(),
            )
            .into();
            return Err(err.into_server_error(Pos::default()));
        }
        Ok(document)
    }
}

/// How many sign-in fields the document's operations select, fragments included.
pub fn sign_ins(document: &ExecutableDocument) -> usize {
    counted(document, &SIGN_IN_FIELDS)
}

/// How many of `fields` the document's operations select, fragments included.
fn counted(document: &ExecutableDocument, fields: &[&str]) -> usize {
    document
        .operations
        .iter()
        .map(|(_, operation)| count(document, fields, &operation.node.selection_set.node, 0))
        .sum()
}

fn count(
    document: &ExecutableDocument,
    fields: &[&str],
    set: &SelectionSet,
    depth: usize,
) -> usize {
    // Fragments cannot nest deeper than the document is long; a cycle is invalid GraphQL and
    // fails validation later, so a small bound is enough here.
    if depth > 16 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => usize::from(fields.contains(&field.node.name.node.as_str())),
            Selection::InlineFragment(fragment) => count(
                document,
                fields,
                &fragment.node.selection_set.node,
                depth + 1,
            ),
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |fragment| {
                    count(
                        document,
                        fields,
                        &fragment.node.selection_set.node,
                        depth + 1,
                    )
                }),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(query: &str) -> usize {
        sign_ins(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn sign_ins_are_counted_under_aliases_and_in_fragments() {
        assert_eq!(n("mutation { login(input: {}) { accessToken } }"), 1);
        assert_eq!(
            n("mutation { a: login(input: {}) { accessToken } b: login(input: {}) { accessToken } }"),
            2
        );
        assert_eq!(
            n(
                "mutation { ...F ... on Mutation { register(input: {}) { accessToken } } } \
               fragment F on Mutation { refreshToken(refreshToken: \"x\") { accessToken } }"
            ),
            2
        );
        assert_eq!(n("{ me { id } }"), 0);
    }

    #[test]
    fn password_sign_ins_are_told_from_refresh() {
        let doc = |q: &str| async_graphql::parser::parse_query(q).unwrap();
        let refresh = doc("mutation { refreshToken(refreshToken: \"x\") { accessToken } }");
        assert_eq!(counted(&refresh, &PASSWORD_FIELDS), 0);
        let login = doc("mutation { ... on Mutation { login(input: {}) { accessToken } } }");
        assert_eq!(counted(&login, &PASSWORD_FIELDS), 1);
    }
}
