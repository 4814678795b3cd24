//! The awsJson1_0 protocol: `POST /`, the operation in `X-Amz-Target: AWSStepFunctions.<Operation>`, a JSON
//! object body (at most [`MAX_BODY_BYTES`]), JSON responses with request ids; and the request members with
//! AWS's model constraints.

use std::future::Future;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The content type of requests and responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Largest request body accepted (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The operation named by `X-Amz-Target: AWSStepFunctions.<Operation>`.
pub fn operation(headers: &HeaderMap) -> Result<String, ApiError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::client("UnknownOperationException", "Missing X-Amz-Target header"))?;
    target
        .strip_prefix("AWSStepFunctions.")
        .filter(|op| !op.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::client("UnknownOperationException", format!("Unknown operation {target}")))
}

fn too_large() -> ApiError {
    ApiError {
        status: 413,
        code: "RequestEntityTooLargeException".to_owned(),
        message: format!("Request body exceeds the limit of {MAX_BODY_BYTES} bytes"),
    }
}

/// Reads the body, refusing more than [`MAX_BODY_BYTES`] with HTTP 413 (before reading when
/// `Content-Length` says so).
pub(crate) async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let declared =
        headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
        Ok(read) => read.map_err(|_| too_large()),
        Err(_) => Err(ApiError {
            status: 408,
            code: "RequestTimeoutException".to_owned(),
            message: format!("The request body did not arrive within {} s", BODY_READ_TIMEOUT.as_secs()),
        }),
    }
}

/// Longest wait for a request's body once its head has arrived (the head itself: `conn`).
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Turns an operation's result into the response, with an `x-amzn-RequestId`.
pub(crate) async fn respond(f: impl Future<Output = Result<Value, ApiError>>) -> Response {
    let mut response = match f.await {
        Ok(v) => ok(&v),
        Err(e) => {
            if e.status >= 500 {
                tracing::error!("{e}");
            }
            e.into_response()
        }
    };
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    response
}

/// Parses an awsJson1_0 body (an empty body is `{}`).
pub fn body_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::client("SerializationException", format!("The request body is not valid JSON: {e}"))
    })?;
    if !v.is_object() {
        return Err(ApiError::client("SerializationException", "The request body must be a JSON object"));
    }
    Ok(v)
}

/// An error in AWS's wire shape: `{"__type", "message"}` with its status and `x-amzn-errortype`.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = json!({"__type": self.wire_type(), "message": self.message}).to_string();
        (status, [("content-type", CONTENT_TYPE), ("x-amzn-errortype", self.code.as_str())], body)
            .into_response()
    }
}

/// A 200 response with a JSON body.
pub(crate) fn ok(v: &Value) -> Response {
    (StatusCode::OK, [("content-type", CONTENT_TYPE)], v.to_string()).into_response()
}

/// Dates on the wire: epoch seconds with milliseconds as a fraction.
pub(crate) fn date(t: DateTime<Utc>) -> Value {
    Value::from(t.timestamp_millis() as f64 / 1000.0)
}

/// One request's members, with AWS's constraint checks.
pub(crate) struct Input<'a>(&'a Value);

fn serialization(field: &str, expected: &str) -> ApiError {
    ApiError::client("SerializationException", format!("'{field}' must be {expected}"))
}

impl<'a> Input<'a> {
    pub(crate) fn new(body: &'a Value) -> Self {
        Input(body)
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    /// An optional string member.
    pub(crate) fn opt_str(&self, field: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(serialization(field, "a string")),
        }
    }

    /// An optional string member with length bounds (in characters), checked like AWS's model.
    pub(crate) fn opt_str_len(
        &self,
        field: &str,
        min: usize,
        max: usize,
    ) -> Result<Option<&'a str>, ApiError> {
        let Some(s) = self.opt_str(field)? else { return Ok(None) };
        check_len(field, s, min, max)?;
        Ok(Some(s))
    }

    /// A required string member with length bounds.
    pub(crate) fn str_len(&self, field: &str, min: usize, max: usize) -> Result<&'a str, ApiError> {
        self.opt_str_len(field, min, max)?.ok_or_else(|| ApiError::missing(field))
    }

    /// An optional sensitive string (its value is never echoed) of at most `max_bytes` UTF-8 bytes.
    pub(crate) fn opt_sensitive(&self, field: &str, max_bytes: usize) -> Result<Option<&'a str>, ApiError> {
        let Some(s) = self.opt_str(field)? else { return Ok(None) };
        if s.len() > max_bytes {
            return Err(ApiError::validation(format_args!(
                "Value at '{field}' failed to satisfy constraint: Member must have size less than or equal to {max_bytes} bytes in UTF-8 encoding"
            )));
        }
        Ok(Some(s))
    }

    /// An optional sensitive string (its value is never echoed) of at most `max` characters.
    pub(crate) fn opt_sensitive_chars(&self, field: &str, max: usize) -> Result<Option<&'a str>, ApiError> {
        let Some(s) = self.opt_str(field)? else { return Ok(None) };
        if s.chars().count() > max {
            return Err(ApiError::validation(format_args!(
                "Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            )));
        }
        Ok(Some(s))
    }

    /// An optional boolean member.
    pub(crate) fn opt_bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(serialization(field, "a boolean")),
        }
    }

    /// An optional integer member within `0..=max`.
    pub(crate) fn opt_int(&self, field: &str, max: i64) -> Result<Option<i64>, ApiError> {
        let Some(v) = self.get(field) else { return Ok(None) };
        let Some(n) = v.as_i64() else { return Err(serialization(field, "an integer")) };
        if n < 0 {
            return Err(ApiError::validation(format_args!(
                "Value '{n}' at '{field}' failed to satisfy constraint: Member must have value greater than or equal to 0"
            )));
        }
        if n > max {
            return Err(ApiError::validation(format_args!(
                "Value '{n}' at '{field}' failed to satisfy constraint: Member must have value less than or equal to {max}"
            )));
        }
        Ok(Some(n))
    }

    /// `maxResults` (0..=1000, 0 or absent meaning `default`).
    pub(crate) fn max_results(&self, default: usize) -> Result<usize, ApiError> {
        Ok(match self.opt_int("maxResults", 1000)? {
            None | Some(0) => default,
            Some(n) => usize::try_from(n).unwrap_or(default),
        })
    }

    /// An optional enum member.
    pub(crate) fn opt_enum(&self, field: &str, allowed: &[&str]) -> Result<Option<&'a str>, ApiError> {
        let Some(s) = self.opt_str(field)? else { return Ok(None) };
        if !allowed.contains(&s) {
            return Err(ApiError::validation(format_args!(
                "Value '{s}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            )));
        }
        Ok(Some(s))
    }

    /// An optional JSON object member.
    pub(crate) fn opt_object(&self, field: &str) -> Result<Option<&'a Map<String, Value>>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(serialization(field, "an object")),
        }
    }

    /// An optional JSON array member.
    pub(crate) fn opt_array(&self, field: &str) -> Result<Option<&'a Vec<Value>>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(serialization(field, "an array")),
        }
    }
}

/// Checks a string's length in characters against the model's bounds.
pub(crate) fn check_len(field: &str, s: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = s.chars().count();
    if n < min {
        return Err(ApiError::validation(format_args!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
        )));
    }
    if n > max {
        return Err(ApiError::validation(format_args!(
            "Value '{s}' at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use serde_json::json;

    use super::*;

    #[test]
    fn targets_and_bodies() {
        let mut h = HeaderMap::new();
        assert_eq!(operation(&h).unwrap_err().code, "UnknownOperationException");
        h.insert("x-amz-target", HeaderValue::from_static("AWSStepFunctions.ListStateMachines"));
        assert_eq!(operation(&h).unwrap(), "ListStateMachines");
        h.insert("x-amz-target", HeaderValue::from_static("DynamoDB_20120810.ListTables"));
        assert_eq!(operation(&h).unwrap_err().code, "UnknownOperationException");
        assert_eq!(body_json(b"").unwrap(), json!({}));
        assert_eq!(body_json(b"[1]").unwrap_err().code, "SerializationException");
        assert_eq!(body_json(b"{").unwrap_err().code, "SerializationException");
    }

    #[test]
    fn constraints() {
        let body = json!({"name": "x".repeat(81), "n": -1, "m": 1001, "s": "bad", "b": 1});
        let i = Input::new(&body);
        assert_eq!(
            i.str_len("name", 1, 80).unwrap_err().message,
            format!(
                "1 validation error detected: Value '{}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80",
                "x".repeat(81)
            )
        );
        assert_eq!(
            i.str_len("missing", 1, 5).unwrap_err().message,
            "1 validation error detected: Value null at 'missing' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(i.opt_int("n", 1000).unwrap_err().code, "ValidationException");
        assert!(i.opt_int("m", 1000).unwrap_err().message.contains("less than or equal to 1000"));
        assert!(i.opt_enum("s", &["A", "B"]).unwrap_err().message.ends_with("enum value set: [A, B]"));
        assert_eq!(i.opt_bool("b").unwrap_err().code, "SerializationException");
    }
}
