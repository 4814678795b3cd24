//! The HTTP side: body limits, responses with request ids, the router, binding and serving.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse as _, Response};
use axum::routing::post;
use serde_json::Value;

use crate::error::{ApiError, ServerError};
use crate::protocol::{MAX_BODY_BYTES, body_json, ok, operation};
use crate::service::Service;

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
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| too_large())
}

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

async fn handle(State(service): State<Arc<Service>>, headers: HeaderMap, body: Body) -> Response {
    respond(async {
        let bytes = read_body(&headers, body).await?;
        let op = operation(&headers)?;
        let input = body_json(&bytes)?;
        service.call(&op, &input).await
    })
    .await
}

pub(crate) fn router(service: Arc<Service>, policy: Arc<crate::guard::HostPolicy>) -> Router {
    crate::guard::guarded(Router::new().route("/", post(handle)).with_state(service), policy)
}

/// Refuses a non-loopback `addr` unless `allow_remote`: the endpoint checks no credentials.
pub fn check_listen(addr: SocketAddr, allow_remote: bool) -> Result<(), ServerError> {
    if addr.ip().is_loopback() || allow_remote { Ok(()) } else { Err(ServerError::NotLoopback { addr }) }
}

/// Binds `addr` after [`check_listen`].
pub async fn bind(addr: SocketAddr, allow_remote: bool) -> Result<tokio::net::TcpListener, ServerError> {
    check_listen(addr, allow_remote)?;
    tokio::net::TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_unless_asked() {
        assert!(check_listen("127.0.0.1:8083".parse().unwrap(), false).is_ok());
        assert!(check_listen("[::1]:8083".parse().unwrap(), false).is_ok());
        let e = check_listen("0.0.0.0:8083".parse().unwrap(), false).unwrap_err();
        assert!(e.to_string().contains("--allow-remote"), "{e}");
        assert!(check_listen("0.0.0.0:8083".parse().unwrap(), true).is_ok());
    }
}
