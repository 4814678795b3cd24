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
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Adds `SdkHttpMetadata` (`AllHttpHeaders` with list values, `HttpHeaders`, `HttpStatusCode` 200) and
/// `SdkResponseMetadata` to an API response.
pub fn insert_sdk_metadata(response: &mut Map<String, Value>, http: &SdkHttp<'_>) {
    let date = chrono::DateTime::from_timestamp_millis(http.date_ms)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let length = http.content_length.to_string();
    let mut all = Map::new();
    let mut one = Map::new();
    let mut header = |name: &str, value: &str| {
        all.insert(name.to_owned(), json!([value]));
        one.insert(name.to_owned(), json!(value));
    };
    header("x-amzn-RequestId", http.request_id);
    if http.keep_alive {
        header("connection", "keep-alive");
    }
    header("Content-Length", &length);
    header("Date", &date);
    header("Content-Type", http.content_type);
    response.insert(
        "SdkHttpMetadata".into(),
        json!({"AllHttpHeaders": all, "HttpHeaders": one, "HttpStatusCode": 200}),
    );
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
        assert_eq!(m["SdkResponseMetadata"], json!({"RequestId": "r-1"}));
        let id = request_id();
        assert_eq!((id.len(), &id[14..15]), (36, "4"));
        assert_ne!(id, request_id());
    }
}
