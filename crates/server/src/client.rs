//! A small client of this endpoint (`sfn logs`): one awsJson POST over HTTP/1.1 with hyper, to a loopback
//! `sfn serve` (no TLS, no signing: the server checks none).

use axum::body::Body;
use serde_json::Value;

use crate::error::ApiError;

/// What a call can end with: the server's API error, or no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an error.
    #[error("{}: {}", .0.code, .0.message)]
    Api(ApiError),
    /// No usable answer (connection, HTTP, not JSON).
    #[error("{0}")]
    Transport(String),
}

/// POSTs `body` with `X-Amz-Target: target` (`AWSStepFunctions.GetExecutionHistory`,
/// `Logs_20140328.GetLogEvents`, …) to `endpoint` (`http://127.0.0.1:8083`) and returns the answer.
pub async fn call(endpoint: &str, target: &str, body: &Value) -> Result<Value, ClientError> {
    let t = |e: &dyn std::fmt::Display| ClientError::Transport(format!("{endpoint}: {e}"));
    let authority =
        endpoint.strip_prefix("http://").ok_or_else(|| t(&"only http:// endpoints are supported"))?;
    let authority = authority.trim_end_matches('/');
    let stream = tokio::net::TcpStream::connect(authority).await.map_err(|e| t(&e))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| t(&e))?;
    tokio::spawn(conn);
    let content_type = if target.starts_with(crate::logs::TARGET_PREFIX) {
        "application/x-amz-json-1.1"
    } else {
        crate::protocol::CONTENT_TYPE
    };
    let request = axum::http::Request::post("/")
        .header("host", authority)
        .header("content-type", content_type)
        .header("x-amz-target", target)
        .body(Body::from(body.to_string()))
        .map_err(|e| t(&e))?;
    let response = sender.send_request(request).await.map_err(|e| t(&e))?;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX).await.map_err(|e| t(&e))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| t(&e))?;
    if status == 200 {
        return Ok(v);
    }
    let code = v.get("__type").and_then(Value::as_str).unwrap_or("UnknownError");
    let code = code.rsplit('#').next().unwrap_or(code).to_owned();
    let message = v.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
    Err(ClientError::Api(ApiError { status, code, message }))
}
