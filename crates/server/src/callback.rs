//! SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat: the one implementation every endpoint uses.
//!
//! `sfn run` serves [`callback_router`] on an ephemeral loopback port ([`serve_callbacks`]) and points
//! containers at it with `AWS_ENDPOINT_URL_SFN`; the full server ([`crate::Server`]) answers the same three
//! operations with [`send_task`] too.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use sfn_patterns::{
    MAX_CAUSE_CHARS, MAX_ERROR_CHARS, MAX_OUTPUT_BYTES, MAX_TOKEN_LEN, SendTaskError, TokenRegistry,
};

use crate::error::ApiError;
use crate::protocol::Input;

impl From<SendTaskError> for ApiError {
    fn from(e: SendTaskError) -> Self {
        let message = match &e {
            SendTaskError::InvalidToken(_) => e.to_string(),
            SendTaskError::TaskDoesNotExist => {
                "Task Does Not Exist: 'Provided task does not exist anymore'".to_owned()
            }
            SendTaskError::TaskTimedOut(_) => {
                "Task Timed Out: 'Provided task does not exist anymore'".to_owned()
            }
            SendTaskError::InvalidOutput(detail) => format!("Invalid Output: '{detail}'"),
            _ => e.to_string(),
        };
        ApiError::client(e.code(), message)
    }
}

/// Runs one of the three callback operations against `tokens` (other operations:
/// `UnknownOperationException`). Checks the members like the API model does: the token 1–2048 characters,
/// `output` at most 256 KiB, `error` at most 256 and `cause` at most 32,768 characters.
pub fn send_task(tokens: &TokenRegistry, operation: &str, body: &Value) -> Result<Value, ApiError> {
    let i = Input::new(body);
    match operation {
        "SendTaskSuccess" => {
            let token = i.str_len("taskToken", 1, MAX_TOKEN_LEN)?;
            let output =
                i.opt_sensitive("output", MAX_OUTPUT_BYTES)?.ok_or_else(|| ApiError::missing("output"))?;
            tokens.send_success(token, output)?;
        }
        "SendTaskFailure" => {
            let token = i.str_len("taskToken", 1, MAX_TOKEN_LEN)?;
            let error = i.opt_sensitive_chars("error", MAX_ERROR_CHARS)?;
            let cause = i.opt_sensitive_chars("cause", MAX_CAUSE_CHARS)?;
            tokens.send_failure(token, error.map(str::to_owned), cause.map(str::to_owned))?;
        }
        "SendTaskHeartbeat" => {
            let token = i.str_len("taskToken", 1, MAX_TOKEN_LEN)?;
            tokens.send_heartbeat(token)?;
        }
        other => {
            return Err(ApiError::client(
                "UnknownOperationException",
                format!("The operation {other} is not supported by this endpoint"),
            ));
        }
    }
    Ok(json!({}))
}

async fn handle(State(tokens): State<TokenRegistry>, headers: HeaderMap, body: axum::body::Body) -> Response {
    crate::protocol::respond(async {
        let bytes = crate::protocol::read_body(&headers, body).await?;
        let op = crate::protocol::operation(&headers)?;
        let input = crate::protocol::body_json(&bytes)?;
        send_task(&tokens, &op, &input)
    })
    .await
}

/// A router answering SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat for these tokens on `POST /`,
/// for loopback `Host` names and no browser `Origin` ([`crate::HostPolicy::loopback`]).
pub fn callback_router(tokens: TokenRegistry) -> Router {
    let router = Router::new().route("/", post(handle)).with_state(tokens);
    crate::guard::guarded(router, std::sync::Arc::new(crate::guard::HostPolicy::loopback()))
}

/// Serves the callback operations on `addr` (port 0 for an ephemeral port); returns the bound address and
/// the serving task. The caller chooses the address: `sfn run` passes loopback.
pub async fn serve_callbacks(
    addr: std::net::SocketAddr,
    tokens: TokenRegistry,
) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = callback_router(tokens);
    let handle = tokio::spawn(async move {
        if let Err(e) = crate::conn::serve(listener, app, std::future::pending()).await {
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
        // Tokens up to 2,048 characters are tokens (unknown ones InvalidToken); longer ones break the API's
        // length constraint.
        let long = "A".repeat(2048);
        let e = send_task(&tokens, "SendTaskHeartbeat", &json!({"taskToken": long})).unwrap_err();
        assert_eq!(e.code, "InvalidToken");
        let e = send_task(&tokens, "SendTaskHeartbeat", &json!({"taskToken": "A".repeat(2049)})).unwrap_err();
        assert_eq!(e.code, "ValidationException");
        let e = send_task(&tokens, "SendTaskFailure", &json!({"taskToken": t, "error": "x".repeat(300)}))
            .unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert_eq!(
            e.message,
            "1 validation error detected: Value at 'error' failed to satisfy constraint: Member must have length less than or equal to 256"
        );
        let big = format!("\"{}\"", "a".repeat(MAX_OUTPUT_BYTES));
        let e = send_task(&tokens, "SendTaskSuccess", &json!({"taskToken": t, "output": big})).unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert_eq!(
            send_task(&tokens, "SendTaskSuccess", &json!({"taskToken": t, "output": "1"})).unwrap(),
            json!({})
        );
        let e = send_task(&tokens, "SendTaskSuccess", &json!({"taskToken": t, "output": "1"})).unwrap_err();
        assert_eq!(e.code, "TaskDoesNotExist");
        let e = send_task(&tokens, "StartExecution", &json!({})).unwrap_err();
        assert_eq!(e.code, "UnknownOperationException");
    }
}
