//! One sign-in per request. GraphQL lets a request ask for the same field many times under
//! aliases (`a: login(...) b: login(...)`), so one HTTP request, counted once by NGINX's rate
//! limits, could try thirty passwords. A request naming `login`, `register` or `refreshToken`
//! more than once, in any operation or fragment, is refused as a whole with `LIMIT_EXCEEDED`
//! before anything runs.

use std::sync::Arc;

use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
    Pos, ServerResult, Variables,
};

use bank_common::ApiError;

const SIGN_IN_FIELDS: [&str; 3] = ["login", "register", "refreshToken"];

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
        if sign_ins(&document) > 1 {
            let err: async_graphql::Error = ApiError::LimitExceeded(
                "one sign-in (login, register or refreshToken) per request".into(),
            )
            .into();
            return Err(err.into_server_error(Pos::default()));
        }
        Ok(document)
    }
}

/// How many sign-in fields the document's operations select, fragments included.
pub fn sign_ins(document: &ExecutableDocument) -> usize {
    document
        .operations
        .iter()
        .map(|(_, operation)| count(document, &operation.node.selection_set.node, 0))
        .sum()
}

fn count(document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> usize {
    // Fragments cannot nest deeper than the document is long; a cycle is invalid GraphQL and
    // fails validation later, so a small bound is enough here.
    if depth > 16 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(SIGN_IN_FIELDS.contains(&field.node.name.node.as_str()))
            }
            Selection::InlineFragment(fragment) => {
                count(document, &fragment.node.selection_set.node, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |fragment| {
                    count(document, &fragment.node.selection_set.node, depth + 1)
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
}
