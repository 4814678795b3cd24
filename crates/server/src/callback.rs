//! SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat over the Step Functions protocol (awsJson1_0).
//! `sfn run` serves this on an ephemeral loopback port and points containers at it with
//! `AWS_ENDPOINT_URL_SFN`; the full server mounts the same handlers.

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use sfn_patterns::{MAX_CAUSE_CHARS, MAX_ERROR_CHARS, SendTaskError, TokenRegistry};

/// Largest request body accepted (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// An API error in AWS's shape: `{"__type": code, "message": …}` with an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status (400 for client errors).
    pub status: u16,
    /// The error code (`InvalidToken`, `ValidationException`, …).
    pub code: String,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// A 400 error.
    pub fn client(code: &str, message: impl Into<String>) -> Self {
        ApiError { status: 400, code: code.to_owned(), message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = json!({"__type": self.code, "message": self.message}).to_string();
        (status, [("content-type", "application/x-amz-json-1.0")], body).into_response()
    }
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, [("content-type", "application/x-amz-json-1.0")], v.to_string()).into_response()
}

impl From<SendTaskError> for ApiError {
    fn from(e: SendTaskError) -> Self {
        ApiError::client(e.code(), e.to_string())
    }
}

fn field<'a>(body: &'a Value, name: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::client("ValidationException", format!("'{name}' must be a string"))),
    }
}

fn required<'a>(body: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    field(body, name)?.ok_or_else(|| {
        ApiError::client("ValidationException", format!("1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"))
    })
}

/// Runs one of the three callback operations.
pub fn send_task(tokens: &TokenRegistry, operation: &str, body: &Value) -> Result<Value, ApiError> {
    let token = required(body, "taskToken")?;
    match operation {
        "SendTaskSuccess" => {
            let output = required(body, "output")?;
            tokens.send_success(token, output)?;
        }
        "SendTaskFailure" => {
            let error = field(body, "error")?;
            let cause = field(body, "cause")?;
            if error.is_some_and(|e| e.chars().count() > MAX_ERROR_CHARS) {
                return Err(ApiError::client(
                    "ValidationException",
                    format!("error must be at most {MAX_ERROR_CHARS} characters"),
                ));
            }
            if cause.is_some_and(|c| c.chars().count() > MAX_CAUSE_CHARS) {
                return Err(ApiError::client(
                    "ValidationException",
                    format!("cause must be at most {MAX_CAUSE_CHARS} characters"),
                ));
            }
            tokens.send_failure(token, error.map(str::to_owned), cause.map(str::to_owned))?;
        }
        "SendTaskHeartbeat" => tokens.send_heartbeat(token)?,
        other => {
            return Err(ApiError::client("UnknownOperationException", format!("unknown operation {other}")));
        }
    }
    Ok(json!({}))
}

/// The operation named by `X-Amz-Target: AWSStepFunctions.<Operation>`.
pub fn operation(headers: &HeaderMap) -> Result<String, ApiError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::client("UnknownOperationException", "missing X-Amz-Target header"))?;
    target
        .strip_prefix("AWSStepFunctions.")
        .map(str::to_owned)
        .ok_or_else(|| ApiError::client("UnknownOperationException", format!("unknown target {target}")))
}

/// Parses an awsJson1_0 body.
pub fn body_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::client("SerializationException", format!("the request body is not valid JSON: {e}"))
    })
}

async fn handle(
    State(tokens): State<TokenRegistry>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let result = operation(&headers).and_then(|op| send_task(&tokens, &op, &body_json(&body)?));
    match result {
        Ok(v) => ok(v),
        Err(e) => e.into_response(),
    }
}

/// A router answering SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat for these tokens.
pub fn callback_router(tokens: TokenRegistry) -> Router {
    Router::new().route("/", post(handle)).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(tokens)
}

/// Serves the callback operations on `addr` (use port 0 for an ephemeral port); returns the bound address.
pub async fn serve_callbacks(
    addr: std::net::SocketAddr,
    tokens: TokenRegistry,
) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = callback_router(tokens);
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("callback endpoint stopped: {e}");
        }
    });
    Ok((bound, handle))
}

#[cfg(test)]
mod tests {
    use sfn_patterns::TokenOwner;

    use super::*;

    #[test]
    fn operations_and_errors() {
        let tokens = TokenRegistry::new();
        let rx = tokens.mint(TokenOwner { execution_arn: "e".into(), state_name: "s".into() });
        let t = rx.token().to_owned();
        assert_eq!(send_task(&tokens, "SendTaskHeartbeat", &json!({"taskToken": t})).unwrap(), json!({}));
        let e = send_task(&tokens, "SendTaskSuccess", &json!({"taskToken": t, "output": "{"})).unwrap_err();
        assert_eq!(e.code, "InvalidOutput");
        let e = send_task(&tokens, "SendTaskSuccess", &json!({"taskToken": t})).unwrap_err();
        assert_eq!(e.code, "ValidationException");
        let e = send_task(&tokens, "SendTaskFailure", &json!({"taskToken": "garbage token"})).unwrap_err();
        assert_eq!(e.code, "InvalidToken");
        let e = send_task(&tokens, "SendTaskFailure", &json!({"taskToken": t, "error": "x".repeat(300)}))
            .unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert_eq!(
            send_task(&tokens, "SendTaskSuccess", &json!({"taskToken": t, "output": "1"})).unwrap(),
            json!({})
        );
        let e = send_task(&tokens, "SendTaskSuccess", &json!({"taskToken": t, "output": "1"})).unwrap_err();
        assert_eq!(e.code, "TaskDoesNotExist");
    }
}
