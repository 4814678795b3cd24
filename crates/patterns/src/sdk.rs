//! The SDK metadata Step Functions adds to an optimized integration's API response (`SdkHttpMetadata`,
//! `SdkResponseMetadata`), one rule for every service: AWS's recorded ECS RunTask and Step Functions
//! StartExecution responses (`../shared/recorded/ecs_task_service.history.json`, `callback.history.json`).

use rand::RngCore as _;
use serde_json::{Map, Value, json};

/// What the HTTP response of one API call said.
#[derive(Debug, Clone, Copy)]
pub struct SdkHttp<'a> {
    /// `x-amzn-RequestId` (the service's own when a real service answered).
    pub request_id: &'a str,
    /// When the service answered, in milliseconds since the epoch (the `Date` header).
    pub date_ms: i64,
    /// `Content-Type` (`application/x-amz-json-1.1` for ECS, `…-1.0` for Step Functions).
    pub content_type: &'a str,
    /// The length of the response body the service sent.
    pub content_length: usize,
    /// Whether the response names `connection: keep-alive` (AWS's Step Functions responses do; ECS's
    /// do not).
    pub keep_alive: bool,
}

/// A fresh request id in the UUID form AWS's request ids have.
pub fn request_id() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push(char::from(HEX[usize::from(x >> 4)]));
        id.push(char::from(HEX[usize::from(x & 0x0f)]));
    }
    id
}

/// An HTTP `Date` header (`Sun, 01 Dec 2024 00:00:00 GMT`, chrono's `%a, %d %b %Y %H:%M:%S GMT`),
/// written field by field.
fn http_date(date_ms: i64) -> String {
    use chrono::{Datelike as _, Timelike as _};
    use std::fmt::Write as _;
    let t = chrono::DateTime::from_timestamp_millis(date_ms).unwrap_or_default();
    if !(0..=9999).contains(&t.year()) {
        return t.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    }
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut out = String::with_capacity(29);
    let weekday = DAYS[t.weekday().num_days_from_monday() as usize];
    let month = MONTHS[t.month0() as usize];
    let _ = write!(
        out,
        "{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    );
    out
}

/// Adds `SdkHttpMetadata` (`AllHttpHeaders` with list values, `HttpHeaders`, `HttpStatusCode` 200) and
/// `SdkResponseMetadata` to an API response.
pub fn insert_sdk_metadata(response: &mut Map<String, Value>, http: &SdkHttp<'_>) {
    let date = http_date(http.date_ms);
    let length = http.content_length.to_string();
    let mut all = Map::with_capacity(5);
    let mut one = Map::with_capacity(5);
    let mut header = |name: &str, value: &str| {
        all.insert(name.to_owned(), Value::Array(vec![Value::String(value.to_owned())]));
        one.insert(name.to_owned(), Value::String(value.to_owned()));
    };
    header("x-amzn-RequestId", http.request_id);
    if http.keep_alive {
        header("connection", "keep-alive");
    }
    header("Content-Length", &length);
    header("Date", &date);
    header("Content-Type", http.content_type);
    // AWS lists `AllHttpHeaders` in a Java `HashMap`'s order (as put above) and `HttpHeaders` by name,
    // ignoring case, as a `TreeMap(CASE_INSENSITIVE_ORDER)` does (`../shared/recorded/callback.history.json`,
    // `test_sync_with_task_token`).
    let mut sorted: Vec<(String, Value)> = one.into_iter().collect();
    sorted.sort_by_cached_key(|(name, _)| name.to_ascii_lowercase());
    let one: Map<String, Value> = sorted.into_iter().collect();
    // Moved in, not copied (as `json!` would copy them).
    let mut meta = Map::with_capacity(3);
    meta.insert("AllHttpHeaders".into(), Value::Object(all));
    meta.insert("HttpHeaders".into(), Value::Object(one));
    meta.insert("HttpStatusCode".into(), Value::from(200));
    response.insert("SdkHttpMetadata".into(), Value::Object(meta));
    response.insert("SdkResponseMetadata".into(), json!({"RequestId": http.request_id}));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_as_aws_records_it() {
        let mut m = Map::new();
        let http = SdkHttp {
            request_id: "r-1",
            date_ms: 1_733_011_200_000,
            content_type: "application/x-amz-json-1.0",
            content_length: 161,
            keep_alive: true,
        };
        insert_sdk_metadata(&mut m, &http);
        let meta = &m["SdkHttpMetadata"];
        assert_eq!(meta["AllHttpHeaders"]["connection"], json!(["keep-alive"]));
        assert_eq!(meta["HttpHeaders"]["Content-Length"], "161");
        assert_eq!(meta["HttpHeaders"]["Date"], "Sun, 01 Dec 2024 00:00:00 GMT");
        assert_eq!(meta["HttpStatusCode"], 200);
        let names = |o: &Value| o.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            names(&meta["AllHttpHeaders"]),
            ["x-amzn-RequestId", "connection", "Content-Length", "Date", "Content-Type"]
        );
        assert_eq!(
            names(&meta["HttpHeaders"]),
            ["connection", "Content-Length", "Content-Type", "Date", "x-amzn-RequestId"]
        );
        assert_eq!(m["SdkResponseMetadata"], json!({"RequestId": "r-1"}));
        let id = request_id();
        assert_eq!((id.len(), &id[14..15]), (36, "4"));
        assert_ne!(id, request_id());
        assert!(id.bytes().enumerate().all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) {
            b == b'-'
        } else {
            b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
        }));
    }

    #[test]
    fn http_dates_are_those_chrono_formats() {
        for ms in [0, 1_733_011_200_000, 1_709_251_199_999, 951_782_400_000, 4_102_444_799_000, -86_400_000] {
            let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            assert_eq!(http_date(ms), t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(), "{ms}");
        }
        assert_eq!(http_date(1_733_011_200_000), "Sun, 01 Dec 2024 00:00:00 GMT");
    }
}
