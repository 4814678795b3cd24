//! The console in a real browser: `sfn serve --ecs local` runs the README's seed `.sync` machine
//! (`fixtures/seed/run-job.asl.json`, the report-job task definition logging to awslogs) and headless
//! Chromium opens its pages (`--dump-dom`, `--screenshot`, and for keys and clicks the DevTools protocol
//! over a hand-written WebSocket client; every browser killed after [`BROWSER_TIMEOUT`] or a 20 s read).
//!
//! Chromium is `SFN_TEST_CHROMIUM`, else `chromium`, `chromium-browser` or `google-chrome` on `PATH`
//! (`cargo xtask ci` installs Debian's `chromium` when missing). Without one these tests fail;
//! `SFN_SKIP_CHROMIUM=1` skips them on purpose (a machine without a browser). The screenshot of the
//! failed run's page is kept under `target/console-artifacts/`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{root, unique};

/// The longest one Chromium run may take before it is killed and the test fails.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

const RUN_STATE: &str = "Run an ECS Task and wait for it to complete";

/// The browser, or `None` when `SFN_SKIP_CHROMIUM=1` says to skip (a missing browser otherwise fails).
fn chromium(test: &str) -> Option<PathBuf> {
    if std::env::var("SFN_SKIP_CHROMIUM").is_ok_and(|v| v == "1") {
        eprintln!("{test}: SKIPPED because SFN_SKIP_CHROMIUM=1");
        return None;
    }
    if let Some(p) = std::env::var_os("SFN_TEST_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()));
    assert!(
        found.is_some(),
        "{test}: no Chromium (`apt-get install -y chromium`; `cargo xtask ci` installs it); set SFN_TEST_CHROMIUM=PATH, \
         or SFN_SKIP_CHROMIUM=1 to skip the browser tests"
    );
    found
}

/// Runs Chromium headless with `args` and `url`; its stdout. Killed (and the test failed) after
/// [`BROWSER_TIMEOUT`].
fn browse(chromium: &Path, args: &[&str], url: &str) -> String {
    let profile = std::env::temp_dir().join(format!("sfn-chromium-{}-{}", std::process::id(), unique()));
    let out_file = profile.with_extension("out");
    let mut child = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_file).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Chromium did not finish within {BROWSER_TIMEOUT:?} on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "Chromium failed ({status}) on {url}");
    let out = std::fs::read_to_string(&out_file).unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_file(&out_file);
    out
}

/// `sfn serve --ecs local` with the seed task definitions, on ephemeral ports (the API's and the
/// console's); stderr drained.
struct Served {
    child: Child,
    api: String,
    console: String,
}

impl Served {
    fn start() -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sfn"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--task-definitions",
                "fixtures/seed/task-definitions",
            ])
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let (mut api, mut console) = (None, None);
        while api.is_none() || console.is_none() {
            let line = lines.next().expect("sfn serve ended before serving").unwrap();
            if let Some(u) = line.strip_prefix("sfn serve: listening on ") {
                api = Some(u.trim().to_owned());
            }
            if let Some(u) = line.strip_prefix("sfn serve: console on ") {
                console = Some(u.trim().trim_end_matches('/').to_owned());
            }
        }
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Served { child, api: api.unwrap(), console: console.unwrap() }
    }

    /// One Step Functions call; its JSON answer (a non-200 fails the test).
    fn call(&self, op: &str, body: &Value) -> Value {
        let (head, body) = request(
            &self.api,
            "POST",
            "/",
            &[("X-Amz-Target", &format!("AWSStepFunctions.{op}"))],
            &body.to_string(),
        );
        assert!(head.starts_with("HTTP/1.1 200"), "{op}: {head}\n{body}");
        serde_json::from_str(&body).unwrap()
    }

    fn create_seed(&self) -> String {
        let definition = std::fs::read_to_string(root().join("fixtures/seed/run-job.asl.json")).unwrap();
        let created = self.call(
            "CreateStateMachine",
            &json!({"name": "run-job", "definition": definition, "roleArn": "arn:aws:iam::123456789012:role/sfn"}),
        );
        created["stateMachineArn"].as_str().unwrap().to_owned()
    }

    fn start_execution(&self, machine: &str, name: &str, script: &str) -> String {
        let input = json!({"commands": ["sh", "-c", script]}).to_string();
        let started =
            self.call("StartExecution", &json!({"stateMachineArn": machine, "name": name, "input": input}));
        started["executionArn"].as_str().unwrap().to_owned()
    }

    fn status(&self, arn: &str) -> String {
        self.call("DescribeExecution", &json!({"executionArn": arn}))["status"].as_str().unwrap().to_owned()
    }

    fn wait_until_done(&self, arn: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.status(arn);
            if s != "RUNNING" {
                return s;
            }
            assert!(Instant::now() < deadline, "{arn} still RUNNING after 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request to `base` (`http://host:port`): the status line and headers, and the body.
fn request(base: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (String, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    // The head, then the body: `Content-Length` bytes when it says (DevTools' server keeps the connection
    // open), else up to the end.
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).unwrap() == 0 {
            break;
        }
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).trim_end().to_owned();
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
    });
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            s.read_exact(&mut body).unwrap();
        }
        None => {
            s.read_to_end(&mut body).unwrap();
        }
    }
    (head, String::from_utf8(body).unwrap())
}

/// The `class` of the graph node of `state` in a DOM (`state failed selected`).
fn node_class<'a>(dom: &'a str, state: &str) -> &'a str {
    let marker = format!("data-state=\"{state}\"");
    let at = dom.find(&marker).unwrap_or_else(|| panic!("no graph node for {state}"));
    let start = dom[..at].rfind("<g ").unwrap_or_else(|| panic!("{state}'s node is not a <g>"));
    let tag = &dom[start..dom[start..].find('>').map_or(dom.len(), |e| start + e)];
    tag.split("class=\"").nth(1).and_then(|c| c.split('"').next()).unwrap_or_default()
}

/// The URL-encoded state name, as the page's script writes it.
fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// a11y basics of a dumped page: `lang`, one `<h1>` and headings in order, every form control labelled,
/// graph nodes focusable.
fn assert_accessible(dom: &str) {
    assert!(dom.contains("<html lang=\"en\">"), "no lang attribute");
    let levels: Vec<u32> =
        dom.match_indices("<h").filter_map(|(i, _)| dom[i + 2..].chars().next()?.to_digit(10)).collect();
    assert_eq!(levels.first(), Some(&1), "{levels:?}");
    assert!(levels.windows(2).all(|w| w[1] <= w[0] + 1), "a heading level skipped: {levels:?}");
    for (i, _) in dom.match_indices("<select") {
        let id =
            dom[i..].split("id=\"").nth(1).and_then(|r| r.split('"').next()).expect("a select without id");
        assert!(dom.contains(&format!("<label for=\"{id}\">")), "select #{id} has no label");
    }
    for (i, _) in dom.match_indices("<button") {
        let end = dom[i..].find("</button>").map_or(dom.len(), |e| i + e);
        let text = dom[i..end].split_once('>').map_or("", |(_, t)| t.trim());
        assert!(!text.is_empty() || dom[i..end].contains("aria-label="), "a button without a name");
    }
    for (i, _) in dom.match_indices("<g class=\"state") {
        let tag = &dom[i..dom[i..].find('>').map_or(dom.len(), |e| i + e)];
        assert!(tag.contains("tabindex=\"0\""), "a graph node that keyboard users cannot reach: {tag}");
    }
}

fn artifacts() -> PathBuf {
    // `target/debug/sfn` → `target/console-artifacts`.
    let bin = Path::new(env!("CARGO_BIN_EXE_sfn"));
    let dir = bin.parent().and_then(Path::parent).unwrap_or(bin).join("console-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The done-when test of the console: the seed `.sync` machine whose container fails (exit 3, a line on
/// stdout and one on stderr) — Chromium shows the Run state marked failed and, in the panel, the exit
/// code and the container's log line; the execution appears in the lists; the page passes the a11y
/// basics, and its screenshot is kept.
#[test]
fn chromium_shows_the_failed_seed_run_with_its_exit_code_and_log_line() {
    let Some(chromium) = chromium("chromium_shows_the_failed_seed_run") else { return };
    let served = Served::start();
    let machine = served.create_seed();
    let arn = served.start_execution(
        &machine,
        "nightly-report",
        "echo generating the report for $REPORT_DATE; echo 'cannot write the report: disk full' >&2; exit 3",
    );
    assert_eq!(served.wait_until_done(&arn), "FAILED");

    let page =
        format!("{}?state={}", sfn_console::execution_url(&served.console, &arn), query_value(RUN_STATE));
    let dom = browse(&chromium, &["--dump-dom", "--virtual-time-budget=3000"], &page);
    let class = node_class(&dom, RUN_STATE);
    assert!(class.split(' ').any(|c| c == "failed"), "the Run state is not marked failed: {class}");
    assert!(class.split(' ').any(|c| c == "selected"), "the script marks the panel's state: {class}");
    let panel = &dom[dom.find("<aside id=\"panel\"").expect("no panel")..];
    let panel = &panel[..panel.find("</aside>").unwrap()];
    assert!(panel.contains(&format!("State: {RUN_STATE}")), "{panel}");
    assert!(panel.contains("<td class=\"exit-code\">3</td>"), "no exit code 3 in the panel: {panel}");
    assert!(panel.contains("EssentialContainerExited"), "{panel}");
    let logs = &panel[panel.find("<pre class=\"logs\"").expect("no container logs in the panel")..];
    assert!(logs.contains("cannot write the report: disk full"), "{logs}");
    assert!(logs.contains("generating the report for 2026-11-25"), "{logs}");
    assert!(dom.contains("<td>TaskFailed</td>"), "the event table has the TaskFailed event");
    assert_accessible(&dom);
    assert!(dom.contains("role=\"button\""), "the script gives the graph nodes a role");

    // The lists: the execution is on the index and on its machine's page, FAILED.
    let index = browse(&chromium, &["--dump-dom"], &format!("{}/", served.console));
    assert!(index.contains(">nightly-report</a>") && index.contains("badge-failed"), "{index}");
    assert_accessible(&index);
    let failed = browse(
        &chromium,
        &["--dump-dom"],
        &format!("{}/state-machines/{machine}?status=FAILED", served.console),
    );
    assert!(failed.contains(">nightly-report</a>"), "{failed}");
    assert_accessible(&failed);

    let shot = artifacts().join("execution-failed.png");
    let _ = std::fs::remove_file(&shot);
    browse(
        &chromium,
        &["--hide-scrollbars", "--window-size=1280,900", &format!("--screenshot={}", shot.display())],
        &page,
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", shot.display()));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "{} bytes", png.len());
}

/// A running execution's page updates itself: Chromium opens it while the container sleeps, and after
/// the virtual time budget (the page's long poll holds the browser's clock until the server answers) the
/// DOM shows SUCCEEDED, with no reload. Keyboard: the graph nodes are focusable buttons.
#[test]
fn a_running_executions_page_updates_when_it_finishes() {
    let Some(chromium) = chromium("a_running_executions_page_updates_when_it_finishes") else { return };
    let served = Served::start();
    let machine = served.create_seed();
    let arn = served.start_execution(&machine, "slow-report", "echo started; sleep 3; echo finished");
    let page = sfn_console::execution_url(&served.console, &arn);
    // The page as served now: RUNNING, with a Stop button.
    let (head, html) = request(&served.console, "GET", &page[served.console.len()..], &[], "");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(html.contains("data-status=\"RUNNING\""), "not running when the browser opens it: {html}");
    assert!(html.contains("id=\"stop\""), "{html}");

    let dom = browse(&chromium, &["--dump-dom", "--virtual-time-budget=30000"], &page);
    assert_eq!(served.status(&arn), "SUCCEEDED");
    assert!(dom.contains("data-status=\"SUCCEEDED\""), "the page did not update: {dom}");
    assert!(dom.contains("badge-succeeded"), "{dom}");
    let class = node_class(&dom, RUN_STATE);
    assert!(class.split(' ').any(|c| c == "succeeded"), "{class}");
    assert!(dom.contains("<td>ExecutionSucceeded</td>"), "the event table updated too");
    assert!(!dom.contains("id=\"stop\""), "no Stop button once it ended");
    assert_accessible(&dom);
}

/// The Stop button's request, as the page sends it (same origin), stops a running execution; the same
/// request from another origin is refused and stops nothing.
#[test]
fn the_stop_button_stops_and_foreign_pages_cannot() {
    let served = Served::start();
    let machine = served.create_seed();
    let arn = served.start_execution(&machine, "endless", "echo waiting; sleep 60");
    let path = format!("{}/stop", &sfn_console::execution_url(&served.console, &arn)[served.console.len()..]);
    let (head, _) = request(&served.console, "POST", &path, &[("Origin", "https://attacker.example")], "");
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert_eq!(served.status(&arn), "RUNNING");
    let own = served.console.clone();
    let (head, _) = request(&served.console, "POST", &path, &[("Origin", &own)], "");
    assert!(head.starts_with("HTTP/1.1 303"), "{head}");
    assert_eq!(served.wait_until_done(&arn), "ABORTED");
}

/// `sfn run --open`: after the run it prints the console's URL first and serves that run until Ctrl-C
/// (no browser with `SFN_NO_BROWSER=1`); the page shows the failed state and the container's exit code
/// and log line; the run's exit code is kept.
#[test]
fn run_open_serves_the_finished_run() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(["run", "fixtures/seed/run-job.asl.json", "--quiet", "--open", "--input"])
        .arg(json!({"commands": ["sh", "-c", "echo opened-run-line; exit 4"]}).to_string())
        .current_dir(root())
        .env("SFN_NO_BROWSER", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("sfn run --open ended before printing its console").unwrap();
        if let Some(u) = line.strip_prefix("console: ") {
            break u.trim().to_owned();
        }
    };
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    let base = url.split("/executions/").next().unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{url}");
    let (head, page) = request(&base, "GET", &url[base.len()..], &[], "");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(node_class(&page, RUN_STATE).contains("failed"), "{page}");
    assert!(page.contains("<td class=\"exit-code\">4</td>"), "{page}");
    assert!(page.contains("opened-run-line"), "{page}");
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    assert_eq!(child.wait().unwrap().code(), Some(1), "the run's exit code (FAILED)");
}

/// `--no-console` serves no console; `--console-port` picks its port; the two together are a usage error.
#[test]
fn serve_console_flags() {
    let o = crate::sfn(&["serve", "--no-console", "--console-port", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    for (flags, console) in [(&["--no-console"][..], false), (&["--console-port", "0"][..], true)] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sfn"))
            .args(["serve", "--listen", "127.0.0.1:0", "--ecs", "sim"])
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        // Up to the backend line, which follows the console's.
        for line in lines.by_ref().map_while(Result::ok) {
            let done = line.contains("ECS backend");
            seen.push(line);
            if done {
                break;
            }
        }
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let _ = child.wait();
        let has = seen.iter().any(|l| l.starts_with("sfn serve: console on http://127.0.0.1:"));
        assert_eq!(has, console, "{flags:?}: {seen:?}");
    }
}

/// A page driven over the DevTools protocol: Chromium with `--remote-debugging-port=0`, one WebSocket
/// (client frames masked, RFC 6455), `Runtime.evaluate` and `Input.dispatchKeyEvent`. Killed on drop;
/// every read times out, so a hung browser fails the test.
struct DevTools {
    child: Child,
    socket: std::net::TcpStream,
    next_id: u64,
    profile: PathBuf,
}

impl DevTools {
    fn open(chromium: &Path) -> DevTools {
        let profile = std::env::temp_dir().join(format!("sfn-devtools-{}-{}", std::process::id(), unique()));
        let mut child = Command::new(chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"])
            .args(["--remote-debugging-port=0", "--remote-allow-origins=*", "--window-size=1280,900"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("ws://") {
                    let _ = tx.send(line[at..].trim().to_owned());
                }
            }
        });
        let Ok(browser) = rx.recv_timeout(BROWSER_TIMEOUT) else {
            let _ = child.kill();
            panic!("Chromium printed no DevTools address within {BROWSER_TIMEOUT:?}");
        };
        let base = browser.trim_start_matches("ws://").split('/').next().unwrap().to_owned();
        // The about:blank page's own socket.
        let (_, list) = request(&format!("http://{base}"), "GET", "/json/list", &[], "");
        let targets: Value = serde_json::from_str(&list).unwrap();
        let page = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("no page target")
            .to_owned();
        let path = &page[page.find(&base).unwrap() + base.len()..];
        let mut socket = std::net::TcpStream::connect(&base).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let upgrade = format!(
            "GET {path} HTTP/1.1\r\nHost: {base}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        socket.write_all(upgrade.as_bytes()).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            socket.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
        DevTools { child, socket, next_id: 1, profile }
    }

    fn send_frame(&mut self, text: &str) {
        let mask = [0x5a, 0x13, 0xc4, 0x7e];
        let mut frame = vec![0x81u8];
        let n = text.len();
        if n < 126 {
            frame.push(0x80 | n as u8);
        } else if n <= 0xffff {
            frame.push(0x80 | 126);
            frame.extend((n as u16).to_be_bytes());
        } else {
            frame.push(0x80 | 127);
            frame.extend((n as u64).to_be_bytes());
        }
        frame.extend(mask);
        frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.socket.write_all(&frame).unwrap();
    }

    /// One whole message (continuation frames joined).
    fn read_message(&mut self) -> String {
        let mut out = Vec::new();
        loop {
            let mut h = [0u8; 2];
            self.socket.read_exact(&mut h).unwrap();
            let mut n = u64::from(h[1] & 0x7f);
            if n == 126 {
                let mut b = [0u8; 2];
                self.socket.read_exact(&mut b).unwrap();
                n = u64::from(u16::from_be_bytes(b));
            } else if n == 127 {
                let mut b = [0u8; 8];
                self.socket.read_exact(&mut b).unwrap();
                n = u64::from_be_bytes(b);
            }
            let mut payload = vec![0u8; usize::try_from(n).unwrap()];
            self.socket.read_exact(&mut payload).unwrap();
            out.extend(payload);
            if h[0] & 0x80 != 0 {
                return String::from_utf8(out).unwrap();
            }
        }
    }

    /// Sends one command and waits for its answer (events in between are skipped).
    fn command(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send_frame(&json!({"id": id, "method": method, "params": params}).to_string());
        loop {
            let message: Value = serde_json::from_str(&self.read_message()).unwrap();
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
        }
    }

    /// Evaluates `expression` in the page (promises awaited); its value.
    fn eval(&mut self, expression: &str) -> Value {
        let r = self.command(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        r["result"]["value"].clone()
    }

    /// Waits (up to 20 s) until `expression` is true in the page.
    fn wait_for(&mut self, expression: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.eval(expression) != json!(true) {
            assert!(Instant::now() < deadline, "never true: {expression}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn key(&mut self, key: &str, code: u32) {
        for kind in ["keyDown", "keyUp"] {
            let text = if key == "Enter" && kind == "keyDown" { "\r" } else { "" };
            self.command(
                "Input.dispatchKeyEvent",
                json!({"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code, "text": text}),
            );
        }
    }
}

impl Drop for DevTools {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Keyboard only: Tab reaches the graph's states, Enter on one shows its panel (the script fetches it and
/// keeps it in the address as `?state=`), and the node says it is the selected one — in Chromium, with
/// real key events over the DevTools protocol.
#[test]
fn keyboard_users_select_a_state_with_tab_and_enter() {
    let Some(chromium) = chromium("keyboard_users_select_a_state_with_tab_and_enter") else { return };
    let served = Served::start();
    let def = json!({"StartAt": "First", "States": {"First": {"Type": "Pass", "Result": {"from": "first"}, "Next": "Second"},
        "Second": {"Type": "Pass", "Result": {"from": "second"}, "End": true}}});
    let machine = served.call(
        "CreateStateMachine",
        &json!({"name": "two-steps", "definition": def.to_string(), "roleArn": "arn:aws:iam::123456789012:role/sfn"}),
    )["stateMachineArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let arn =
        served.call("StartExecution", &json!({"stateMachineArn": machine, "name": "keys"}))["executionArn"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(served.wait_until_done(&arn), "SUCCEEDED");

    let mut page = DevTools::open(&chromium);
    page.command("Page.navigate", json!({"url": sfn_console::execution_url(&served.console, &arn)}));
    page.wait_for(
        "document.readyState === 'complete' && !!document.querySelector('#graph g.state[role=button]')",
    );
    assert_eq!(
        page.eval("document.getElementById('panel').dataset.state || null"),
        Value::Null,
        "nothing selected yet"
    );
    // Tab from the top of the page until a state of the graph has the focus.
    let mut focused = Value::Null;
    for _ in 0..40 {
        page.key("Tab", 9);
        focused = page.eval(
            "(document.activeElement.closest('#graph g.state') || {dataset: {}}).dataset.state || null",
        );
        if focused == "Second" {
            break;
        }
    }
    assert_eq!(focused, "Second", "Tab never reached the state Second");
    page.key("Enter", 13);
    page.wait_for("document.getElementById('panel').dataset.state === 'Second'");
    let output = page.eval("document.getElementById('panel-output').textContent");
    assert!(output.as_str().unwrap().contains("\"from\": \"second\""), "{output}");
    assert_eq!(page.eval("location.search"), "?state=Second");
    assert_eq!(
        page.eval("document.querySelector('#graph g.state[data-state=Second]').getAttribute('aria-pressed')"),
        "true"
    );
    assert_eq!(
        page.eval("document.querySelector('#graph g.state[data-state=First]').getAttribute('aria-pressed')"),
        "false"
    );
}

/// The Stop button in Chromium: the page's own (same-origin) request is accepted, the execution ends
/// ABORTED with the console's cause, and the page follows it there without a reload.
#[test]
fn the_stop_button_in_chromium_aborts_the_execution_and_the_page_follows() {
    let Some(chromium) = chromium("the_stop_button_in_chromium_aborts_the_execution") else { return };
    let served = Served::start();
    let machine = served.create_seed();
    let arn = served.start_execution(&machine, "to-stop", "echo waiting; sleep 60");
    let mut page = DevTools::open(&chromium);
    page.command("Page.navigate", json!({"url": sfn_console::execution_url(&served.console, &arn)}));
    page.wait_for("document.readyState === 'complete' && !!document.getElementById('stop')");
    assert_eq!(page.eval("document.getElementById('execution').dataset.status"), "RUNNING");
    page.eval("document.getElementById('stop').click()");
    page.wait_for("document.getElementById('execution').dataset.status === 'ABORTED'");
    assert_eq!(served.status(&arn), "ABORTED");
    assert_eq!(page.eval("!!document.getElementById('stop')"), false, "the button is gone once it ended");
    let class = page.eval(&format!(
        "document.querySelector('#graph g.state[data-state=\"{RUN_STATE}\"]').getAttribute('class')"
    ));
    assert!(class.as_str().unwrap().contains("aborted"), "{class}");
    let history = served.call("GetExecutionHistory", &json!({"executionArn": arn, "maxResults": 1000}));
    let cause = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "ExecutionAborted")
        .map(|e| e["executionAbortedEventDetails"]["cause"].clone());
    assert_eq!(cause, Some(json!("Stopped from the sfn console")));
}
