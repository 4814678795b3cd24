//! The console over an in-process server (no ECS: Pass, Wait, Choice and Fail states): its pages show
//! what the API answers, escape what users wrote, refuse foreign hosts and origins, stop executions and
//! update a running one. The browser tests (headless Chromium, `--ecs local`) are the CLI's
//! (`crates/cli/tests/it/console.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use sfn_server::{HostPolicy, Server, ServerOptions};
use tower::ServiceExt as _;

struct Fixture {
    server: Server,
    app: axum::Router,
}

fn fixture() -> Fixture {
    let server = Server::open(sfn::engine::Engine::builder(), ServerOptions::default()).unwrap();
    let console = sfn_console::Console::new(Arc::new(server.api()));
    let app = console.router(HostPolicy::loopback());
    Fixture { server, app }
}

impl Fixture {
    async fn api(&self, op: &str, body: Value) -> Value {
        self.server.api().call(op, &body).await.unwrap_or_else(|e| panic!("{op}: {e:?}"))
    }

    async fn machine(&self, name: &str, definition: Value) -> String {
        let r = self
            .api(
                "CreateStateMachine",
                json!({"name": name, "definition": definition.to_string(),
                    "roleArn": "arn:aws:iam::123456789012:role/r"}),
            )
            .await;
        r["stateMachineArn"].as_str().unwrap().to_owned()
    }

    async fn start(&self, machine: &str, name: &str, input: Value) -> String {
        let r = self
            .api(
                "StartExecution",
                json!({"stateMachineArn": machine, "name": name, "input": input.to_string()}),
            )
            .await;
        r["executionArn"].as_str().unwrap().to_owned()
    }

    async fn wait_status(&self, arn: &str, want: &str) {
        for _ in 0..500 {
            let d = self.api("DescribeExecution", json!({"executionArn": arn})).await;
            if d["status"] == want {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{arn} never reached {want}");
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, String) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        self.send(Request::get(path).header("host", "127.0.0.1:8084").body(Body::empty()).unwrap()).await
    }
}

fn path_of(arn: &str) -> String {
    sfn_console::execution_url("", arn)
}

/// One `<h1>` first, and no heading more than one level below the one before it (h1 → h2 → h3).
fn assert_headings_in_order(page: &str) {
    let levels: Vec<u32> =
        page.match_indices("<h").filter_map(|(i, _)| page[i + 2..].chars().next()?.to_digit(10)).collect();
    assert_eq!(levels.first(), Some(&1), "{levels:?}");
    assert_eq!(levels.iter().filter(|l| **l == 1).count(), 1, "{levels:?}");
    assert!(levels.windows(2).all(|w| w[1] <= w[0] + 1), "a heading level skipped: {levels:?}");
}

const EVIL: &str = "<img src=x onerror=alert(1)>";

/// A machine whose failing path is a Choice then a Fail state, with a state name and an input that are
/// HTML: the execution page marks the Fail state failed, the Choice succeeded, the other branch not
/// entered, and escapes every user-written text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_execution_page_colours_states_from_the_history_and_escapes_user_text() {
    let f = fixture();
    let def = json!({"StartAt": "Pick", "States": {
        "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Fine"}],
            "Default": EVIL},
        "Fine": {"Type": "Pass", "End": true},
        EVIL: {"Type": "Fail", "Error": "Bad.Thing", "Cause": "the <b>cause</b>"}}});
    let machine = f.machine("evil", def).await;
    let arn =
        f.start(&machine, "run-1", json!({"ok": false, "note": "</pre><script>alert(2)</script>"})).await;
    f.wait_status(&arn, "FAILED").await;

    let (status, page) = f.get(&path_of(&arn)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<html lang=\"en\">"));
    assert!(!page.contains(EVIL), "a state name reached the page unescaped");
    assert!(!page.contains("<script>alert(2)"), "an input reached the page unescaped");
    assert!(!page.contains("<b>cause</b>"), "a cause reached the page unescaped");
    let escaped = "&lt;img src=x onerror=alert(1)&gt;";
    assert!(status_in(&page, escaped) == Some("failed"), "{page}");
    assert!(status_in(&page, "Pick") == Some("succeeded"), "{page}");
    assert!(status_in(&page, "Fine") == Some("not-entered"), "{page}");
    // The failed state is the panel's default, with its error and cause.
    assert!(page.contains(&format!("<h2 id=\"panel-h\">State: {escaped}</h2>")), "{page}");
    assert!(page.contains("<code>Bad.Thing</code>"), "{page}");
    // The event table: one row per event of the history, with its state.
    let history = f.api("GetExecutionHistory", json!({"executionArn": arn})).await;
    let rows = page.matches("<tr data-event=").count();
    assert_eq!(rows, history["events"].as_array().unwrap().len());
    assert!(page.contains("<td>ChoiceStateEntered</td><td>Pick</td>"), "{page}");
    assert!(page.contains("<td>ExecutionFailed</td><td></td>"), "{page}");
    assert_headings_in_order(&page);

    // Another state's panel, as the script asks for it.
    let (status, panel) = f.get(&format!("{}/panel?state=Pick", path_of(&arn))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(panel.starts_with("<aside id=\"panel\""), "{panel}");
    assert!(panel.contains("State: Pick") && panel.contains("badge-succeeded"), "{panel}");
    assert!(panel.contains("&lt;/pre&gt;&lt;script&gt;"), "the input, escaped: {panel}");
}

/// The list pages: every machine with its last executions; a machine's executions filtered by status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_show_machines_and_executions_filtered_by_status() {
    let f = fixture();
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Yes"}], "Default": "No"},
        "Yes": {"Type": "Succeed"}, "No": {"Type": "Fail", "Error": "E"}}});
    let machine = f.machine("judge", def).await;
    let good = f.start(&machine, "good-one", json!({"ok": true})).await;
    let bad = f.start(&machine, "bad-one", json!({"ok": false})).await;
    f.wait_status(&good, "SUCCEEDED").await;
    f.wait_status(&bad, "FAILED").await;

    let (status, index) = f.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(index.contains(">judge</a>") && index.contains("STANDARD"), "{index}");
    assert!(index.contains(">good-one</a>") && index.contains(">bad-one</a>"), "{index}");

    let machine_path = format!("/state-machines/{machine}");
    let (_, all) = f.get(&machine_path).await;
    assert!(all.contains(">good-one</a>") && all.contains(">bad-one</a>"), "{all}");
    assert!(all.contains("<label for=\"status\">Status</label>"), "the filter is labelled: {all}");
    let (_, failed) = f.get(&format!("{machine_path}?status=FAILED")).await;
    assert!(failed.contains(">bad-one</a>") && !failed.contains(">good-one</a>"), "{failed}");
    assert!(failed.contains("<option value=\"FAILED\" selected>"), "{failed}");

    // An EXPRESS machine's page: no listing to show (ListExecutions does not list them), not an error.
    let express = f
        .api(
            "CreateStateMachine",
            json!({"name": "quick", "type": "EXPRESS", "roleArn": "arn:aws:iam::123456789012:role/r",
                "definition": json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string()}),
        )
        .await;
    let (status, page) =
        f.get(&format!("/state-machines/{}", express["stateMachineArn"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("EXPRESS executions are not recorded"), "{page}");

    let (status, missing) = f.get(&path_of(&good.replace("good-one", "nope"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    assert!(missing.contains("ExecutionDoesNotExist"), "{missing}");
}

/// The guard of the API: a foreign `Host` (DNS rebinding) and a cross-origin POST are refused before
/// anything runs; the same-origin Stop button stops the execution (ABORTED), and the page of a running
/// execution has the button.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_pages_cannot_stop_executions_the_console_can() {
    let f = fixture();
    let def = json!({"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 600, "End": true}}});
    let machine = f.machine("sleepy", def).await;
    let arn = f.start(&machine, "long", json!({})).await;
    let stop = format!("{}/stop", path_of(&arn));

    // Until the execution is in its Wait state.
    let mut page = String::new();
    for _ in 0..500 {
        let (status, p) = f.get(&path_of(&arn)).await;
        assert_eq!(status, StatusCode::OK);
        page = p;
        if page.contains("WaitStateEntered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(page.contains("<button type=\"submit\" id=\"stop\">Stop execution</button>"), "{page}");
    assert!(page.contains("data-status=\"RUNNING\""), "{page}");
    assert!(status_in(&page, "Nap") == Some("running"), "{page}");

    let rebinding = Request::get("/").header("host", "attacker.example").body(Body::empty()).unwrap();
    assert_eq!(f.send(rebinding).await.0, StatusCode::FORBIDDEN);
    let cross = Request::post(&stop)
        .header("host", "127.0.0.1:8084")
        .header("origin", "https://attacker.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(f.send(cross).await.0, StatusCode::FORBIDDEN);
    let d = f.api("DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(d["status"], "RUNNING", "a refused request stopped nothing");

    let same = Request::post(&stop)
        .header("host", "127.0.0.1:8084")
        .header("origin", "http://127.0.0.1:8084")
        .body(Body::empty())
        .unwrap();
    assert_eq!(f.send(same).await.0, StatusCode::SEE_OTHER);
    f.wait_status(&arn, "ABORTED").await;
    let (_, page) = f.get(&path_of(&arn)).await;
    assert!(status_in(&page, "Nap") == Some("aborted"), "{page}");
    assert!(!page.contains("id=\"stop\""), "no Stop button once it ended: {page}");
}

/// The live update answers as soon as the history grows past what the page has, with the new status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_update_answers_when_the_execution_moves_on() {
    let f = fixture();
    let def = json!({"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
        "Done": {"Type": "Pass", "End": true}}});
    let machine = f.machine("short", def).await;
    let arn = f.start(&machine, "brief", json!({})).await;
    let (_, page) = f.get(&path_of(&arn)).await;
    let last: u64 =
        page.split("data-last-event=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
    let started = std::time::Instant::now();
    let mut status = String::new();
    let mut after = last;
    // Each answer carries the page's new parts; follow them until the end, as the script does.
    while status != "SUCCEEDED" {
        let (code, body) = f.get(&format!("{}/live?after={after}", path_of(&arn))).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        status = v["status"].as_str().unwrap().to_owned();
        let next = v["lastEvent"].as_u64().unwrap();
        assert!(next > after || status != "RUNNING", "an answer without news: {v}");
        after = next;
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "no end in sight");
        if status == "SUCCEEDED" {
            assert!(status_in(v["graph"].as_str().unwrap(), "Done") == Some("succeeded"), "{v}");
            assert!(v["summary"].as_str().unwrap().contains("badge-succeeded"), "{v}");
        }
    }
}

/// `sfn run --open`'s source: one finished run answered in the API's shapes.
#[tokio::test]
async fn a_finished_run_is_shown_like_a_served_one() {
    let arn = "arn:aws:states:us-east-1:123456789012:execution:job:r1";
    let describe = json!({"executionArn": arn, "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:job",
        "name": "r1", "status": "SUCCEEDED", "startDate": 1000.0, "stopDate": 1001.5, "input": "{}", "output": "{}"});
    let events = vec![
        json!({"id": 1, "previousEventId": 0, "type": "ExecutionStarted", "timestamp": 1000.0, "executionStartedEventDetails": {"input": "{}"}}),
        json!({"id": 2, "previousEventId": 1, "type": "PassStateEntered", "timestamp": 1000.1, "stateEnteredEventDetails": {"name": "P", "input": "{}"}}),
        json!({"id": 3, "previousEventId": 2, "type": "PassStateExited", "timestamp": 1000.2, "stateExitedEventDetails": {"name": "P", "output": "{\"x\":1}"}}),
        json!({"id": 4, "previousEventId": 3, "type": "ExecutionSucceeded", "timestamp": 1001.5, "executionSucceededEventDetails": {"output": "{}"}}),
    ];
    let logs = Arc::new(sfn_server::LogStore::new("us-east-1", "123456789012"));
    let def = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;
    let finished = sfn_console::Finished::new(describe, def, events, logs);
    let app = sfn_console::Console::new(Arc::new(finished)).router(HostPolicy::loopback());
    let get = |path: String| {
        let app = app.clone();
        async move {
            let r = app.oneshot(Request::get(&path).body(Body::empty()).unwrap()).await.unwrap();
            let status = r.status();
            let b = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
            (status, String::from_utf8(b.to_vec()).unwrap())
        }
    };
    let (status, page) = get(path_of(arn)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(status_in(&page, "P") == Some("succeeded"), "{page}");
    assert_eq!(page.matches("<tr data-event=").count(), 4);
    assert!(page.contains("<td>1.5 s</td><td>ExecutionSucceeded</td>"), "{page}");
    let (_, index) = get("/".to_owned()).await;
    assert!(index.contains(">job</a>") && index.contains(">r1</a>"), "{index}");
    let (status, _) = get(path_of("arn:aws:states:us-east-1:123456789012:execution:job:other")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Bad addresses are located errors, never a panic: an ARN that is not one (400 `InvalidArn`, escaped), a
/// machine that does not exist (404), a panel for a state the machine does not have, a nonsense `after`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_addresses_answer_clear_errors() {
    let f = fixture();
    let (status, page) = f.get("/executions/%3Cscript%3Enot-an-arn").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("InvalidArn") && !page.contains("<script>not"), "{page}");
    let (status, page) =
        f.get("/state-machines/arn:aws:states:us-east-1:123456789012:stateMachine:missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
    assert!(page.contains("StateMachineDoesNotExist"), "{page}");

    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let machine = f.machine("tiny", def).await;
    let arn = f.start(&machine, "t1", json!({})).await;
    f.wait_status(&arn, "SUCCEEDED").await;
    let (status, panel) = f.get(&format!("{}/panel?state=Nowhere", path_of(&arn))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(panel.contains("State: Nowhere") && panel.contains("Not entered."), "{panel}");
    let (status, live) = f.get(&format!("{}/live?after=lots", path_of(&arn))).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(serde_json::from_str::<Value>(&live).unwrap()["status"], "SUCCEEDED");
    let (status, _) =
        f.get("/executions/arn:aws:states:us-east-1:123456789012:execution:tiny:nope/live").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "ExecutionDoesNotExist, as the pages answer it");
}

/// The status class of state `name`'s node in an SVG graph (`<g class="state STATUS TYPE…" data-state="NAME"`,
/// `sfn::graph::svg`'s contract), `name` as it appears in the attribute (escaped).
fn status_in<'a>(page: &'a str, name: &str) -> Option<&'a str> {
    let at = page.find(&format!(" data-state=\"{name}\""))?;
    let open = page[..at].rfind("<g ")?;
    let class = page[open..at].split("class=\"").nth(1)?.split('"').next()?;
    let mut words = class.split_whitespace();
    (words.next() == Some("state")).then(|| words.next()).flatten()
}
