//! `sfn-console`: a local web console for state machines and their executions — what AWS's console
//! shows, for `sfn serve` (`http://127.0.0.1:8083/` … its own port) and `sfn run --open`.
//!
//! Place in the workspace: above the facade `sfn` (the graph, [`sfn::graph::svg`], and the definition's
//! parser) and `sfn-server` (what it shows is what the server's API answers: [`sfn_server::Api`], called
//! in process, never a second store); below the CLI, which starts it. The server cannot draw graphs (it
//! does not depend on the facade), hence a crate of its own.
//!
//! Pages (HTML rendered on the server; the CSS and the one script are embedded with `include_str!`,
//! nothing is fetched from elsewhere, no build step):
//! - `/`: the state machines (name, type, created, last executions);
//! - `/state-machines/ARN?status=S`: a machine's executions (status, start, duration), filtered by status;
//! - `/executions/ARN?state=NAME`: an execution — the graph coloured by each state's status (read from the
//!   history, `timeline`), the event table (id, time since start, type, state, detail), and the side
//!   panel of the selected state (input, output, error, cause, retries; for an ECS task its ARN, its
//!   containers with their exit codes and their log lines from the CloudWatch Logs streams). A running
//!   execution's page updates itself (`…/live`, a long poll), and its Stop button calls StopExecution.
//!
//! Invariants: everything that comes from users (names, inputs, outputs, causes, log lines) is
//! HTML-escaped (`html::esc`); the console answers only requests the API would answer (the same `Host` and
//! `Origin` rules, [`sfn_server::HostPolicy`]), so a web page cannot drive it (StopExecution included).
//!
//! ```no_run
//! # async fn example(server: &sfn_server::Server) -> std::io::Result<()> {
//! let console = sfn_console::Console::new(std::sync::Arc::new(server.api()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8084").await?;
//! console.serve(listener, sfn_server::HostPolicy::loopback(), std::future::pending()).await
//! # }
//! ```

mod html;
mod pages;
mod source;
mod timeline;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::json;
use sfn_server::{ApiError, HostPolicy};

pub use source::{Finished, Source};

/// How long a live update waits for something to change before it answers anyway.
const LIVE_WAIT: Duration = Duration::from_secs(10);

const CSS: &str = include_str!("../assets/console.css");
const JS: &str = include_str!("../assets/console.js");

/// The console over one [`Source`].
#[derive(Clone)]
pub struct Console {
    source: Arc<dyn Source>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

/// The URL of an execution's page on a console at `base` (`http://127.0.0.1:8083`).
pub fn execution_url(base: &str, execution_arn: &str) -> String {
    format!("{}/executions/{}", base.trim_end_matches('/'), html::url(execution_arn))
}

type Params = Query<HashMap<String, String>>;

/// An API error as a page: 404 for what does not exist, else the error's status.
fn error_status(e: &ApiError) -> StatusCode {
    if e.code.ends_with("DoesNotExist") || e.code == "ResourceNotFound" {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

fn error_page(e: &ApiError) -> Response {
    let status = error_status(e);
    let body =
        format!("<p class=\"error\"><code>{}</code>: {}</p>", html::esc(&e.code), html::esc(&e.message));
    (status, Html(html::page("Not available", &[], &body))).into_response()
}

fn html_or_error(r: Result<String, ApiError>) -> Response {
    match r {
        Ok(text) => Html(text).into_response(),
        Err(e) => error_page(&e),
    }
}

async fn index(State(c): State<Console>) -> Response {
    html_or_error(pages::machines(c.source.as_ref()).await)
}

async fn machine(State(c): State<Console>, Path(arn): Path<String>, Query(q): Params) -> Response {
    let status = q.get("status").map(String::as_str).filter(|s| !s.is_empty());
    html_or_error(pages::machine(c.source.as_ref(), &arn, status).await)
}

fn state_param(q: &HashMap<String, String>) -> Option<&str> {
    q.get("state").map(String::as_str).filter(|s| !s.is_empty())
}

async fn execution(State(c): State<Console>, Path(arn): Path<String>, Query(q): Params) -> Response {
    html_or_error(pages::execution(c.source.as_ref(), &arn, state_param(&q)).await)
}

async fn panel(State(c): State<Console>, Path(arn): Path<String>, Query(q): Params) -> Response {
    match pages::ExecutionView::read(c.source.as_ref(), &arn).await {
        Ok(view) => Html(view.panel(c.source.as_ref(), state_param(&q))).into_response(),
        Err(e) => error_page(&e),
    }
}

async fn live(State(c): State<Console>, Path(arn): Path<String>, Query(q): Params) -> Response {
    let after = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    match pages::live(c.source.as_ref(), &arn, after, state_param(&q), LIVE_WAIT).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => {
            (error_status(&e), axum::Json(json!({"error": e.code, "message": e.message}))).into_response()
        }
    }
}

async fn stop(State(c): State<Console>, Path(arn): Path<String>) -> Response {
    let input = json!({"executionArn": arn, "cause": "Stopped from the sfn console"});
    match c.source.call("StopExecution", input).await {
        Ok(_) => Redirect::to(&execution_url("", &arn)).into_response(),
        Err(e) => error_page(&e),
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

impl Console {
    /// A console showing what `source` answers.
    pub fn new(source: Arc<dyn Source>) -> Console {
        Console { source }
    }

    /// The pages as a router, behind `hosts`' `Host`/`Origin` rules.
    pub fn router(&self, hosts: HostPolicy) -> Router {
        let app = Router::new()
            .route("/", get(index))
            .route("/state-machines/{arn}", get(machine))
            .route("/executions/{arn}", get(execution))
            .route("/executions/{arn}/panel", get(panel))
            .route("/executions/{arn}/live", get(live))
            .route("/executions/{arn}/stop", post(stop))
            .route("/static/console.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
            .route("/static/console.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
            .with_state(self.clone());
        sfn_server::guard_router(app, hosts)
    }

    /// Serves the pages on `listener` until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        hosts: HostPolicy,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        sfn_server::serve_router(listener, self.router(hosts), shutdown).await
    }
}
