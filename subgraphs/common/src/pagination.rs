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

/// One page of a connection read newest first by a sequence number: its size and where the
/// `after` cursor left off. Read rows with `seq < before()`, at most `fetch()` of them (one more
/// than the page, to know whether another follows), then `finish` them.
#[derive(Debug, Clone, Copy)]
pub struct SeqPage {
    prefix: &'static str,
    limit: u64,
    after: Option<i64>,
}

impl SeqPage {
    /// Checks `first` and reads `after` (a cursor of this connection, named `prefix`).
    pub fn new(prefix: &'static str, first: i32, after: Option<&str>) -> Result<Self, ApiError> {
        Ok(Self {
            prefix,
            limit: page_size(first)?,
            after: after
                .map(|cursor| decode_cursor(prefix, cursor))
                .transpose()?,
        })
    }

    /// Rows with a sequence number below this are on the page or later ones.
    pub fn before(&self) -> i64 {
        self.after.unwrap_or(i64::MAX)
    }

    /// How many rows to read.
    pub fn fetch(&self) -> u64 {
        self.limit + 1
    }

    /// The page's rows with their cursors, and its page info, from rows read as above.
    pub fn finish<R>(
        &self,
        mut rows: Vec<R>,
        seq: impl Fn(&R) -> i64,
    ) -> (Vec<(String, R)>, PageInfo) {
        let has_next_page = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        let edges: Vec<(String, R)> = rows
            .into_iter()
            .map(|row| (encode_cursor(self.prefix, seq(&row)), row))
            .collect();
        let page_info = PageInfo {
            has_next_page,
            has_previous_page: self.after.is_some(),
            start_cursor: edges.first().map(|(cursor, _)| cursor.clone()),
            end_cursor: edges.last().map(|(cursor, _)| cursor.clone()),
        };
        (edges, page_info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seq_page_reads_one_more_row_to_know_whether_another_page_follows() {
        let first = SeqPage::new("d", 2, None).unwrap();
        assert_eq!((first.before(), first.fetch()), (i64::MAX, 3));
        let (edges, info) = first.finish(vec![9, 8, 7], |n| *n);
        assert_eq!(edges.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [9, 8]);
        assert!(info.has_next_page && !info.has_previous_page);
        assert_eq!(
            info.end_cursor.as_deref(),
            Some(encode_cursor("d", 8).as_str())
        );

        let next = SeqPage::new("d", 2, info.end_cursor.as_deref()).unwrap();
        assert_eq!(next.before(), 8);
        let (edges, info) = next.finish(vec![7], |n| *n);
        assert_eq!(edges.len(), 1);
        assert!(!info.has_next_page && info.has_previous_page);
        assert!(
            SeqPage::new("p", 2, info.end_cursor.as_deref()).is_err(),
            "another connection's cursor"
        );
        assert!(SeqPage::new("d", 0, None).is_err());
    }

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
