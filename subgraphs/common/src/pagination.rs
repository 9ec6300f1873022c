//! Relay-style pagination shared by every connection in the supergraph.

use async_graphql::SimpleObject;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

use crate::ApiError;

/// Pages hold at most this many items.
pub const MAX_PAGE: i32 = 100;

/// Relay page information (the same type in every subgraph, hence shareable).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(shareable)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// Checks a page size: 1 to [`MAX_PAGE`].
pub fn page_size(first: i32) -> Result<u64, ApiError> {
    if (1..=MAX_PAGE).contains(&first) {
        Ok(first as u64)
    } else {
        Err(ApiError::bad_input(
            "first",
            format!("first must be between 1 and {MAX_PAGE}"),
        ))
    }
}

/// An opaque cursor for a position `n` in a sequence named `prefix`.
pub fn encode_cursor(prefix: &str, n: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{prefix}:{n}"))
}

/// Reads a cursor made by [`encode_cursor`] with the same prefix.
pub fn decode_cursor(prefix: &str, cursor: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            text.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix(':'))
                .and_then(|n| n.parse().ok())
        })
        .ok_or_else(|| ApiError::bad_input("after", "not a cursor from this connection"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let cursor = encode_cursor("p", 42);
        assert_eq!(decode_cursor("p", &cursor).unwrap(), 42);
        assert!(decode_cursor("n", &cursor).is_err());
        assert!(decode_cursor("p", "bogus").is_err());
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert!(page_size(0).is_err());
        assert!(page_size(101).is_err());
        assert_eq!(page_size(100).unwrap(), 100);
    }
}
