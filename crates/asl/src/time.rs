//! RFC 3339 timestamps as Step Functions accepts them (`2016-03-14T01:59:00Z`, offsets, fractions).

use chrono::{DateTime, FixedOffset};

/// Parses a timestamp; `None` unless it is RFC 3339 with an uppercase `T` and a `Z` or numeric offset.
///
/// ```
/// assert!(sfn_asl::parse_timestamp("2016-03-14T01:59:00Z").is_some());
/// assert!(sfn_asl::parse_timestamp("2016-03-14T01:59:00.123+02:00").is_some());
/// assert!(sfn_asl::parse_timestamp("2016-03-14 01:59:00Z").is_none());
/// assert!(sfn_asl::parse_timestamp("2016-03-14T01:59:00").is_none());
/// ```
pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let bytes = s.as_bytes();
    if bytes.len() < 20 || bytes.get(10) != Some(&b'T') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}
