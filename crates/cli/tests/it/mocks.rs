//! Mocks the Step Functions Local way: `sfn serve --mock-config` driven by boto3 and the AWS CLI (AWS's
//! MockConfigFile example adapted to a Lambda state and an ECS `.sync` state, `fixtures/mocks`), the
//! `sync-` host prefix, `sfn run --virtual-time`, `sfn mock init` and `sfn test`.
//!
//! Python (boto3) comes from `SFN_TEST_PYTHON` (`cargo xtask ci` exports its venv's), else `<workspace>/.venv`,
//! else `python3`; the AWS CLI is the `aws` beside that Python. Without them these tests fail loudly;
//! `SFN_SKIP_BOTO3=1` skips the boto3 and AWS CLI ones on purpose.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{root, sfn, temp_file};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SFN_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = root().join(".venv/bin/python");
    if venv.exists() { venv } else { PathBuf::from("python3") }
}

fn skip(test: &str) -> bool {
    let skip = std::env::var("SFN_SKIP_BOTO3").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("{test}: SKIPPED because SFN_SKIP_BOTO3=1");
    }
    skip
}

/// `sfn serve --ecs sim --mock-config fixtures/mocks/MockConfigFile.json` (or `config`) on an ephemeral
/// port; its stderr lines are kept.
struct Served {
    child: Child,
    url: String,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Served {
    fn start(extra_env: &[(&str, &str)]) -> Served {
        Self::start_with(extra_env, &root().join("fixtures/mocks/MockConfigFile.json"))
    }

    fn start_with(extra_env: &[(&str, &str)], config: &Path) -> Served {
        let mocks = root().join("fixtures/mocks");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sfn"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--ecs", "sim", "--task-definitions"])
            .arg(mocks.join("task-definitions"))
            .envs(extra_env.iter().copied())
            .stderr(Stdio::piped())
            .stdout(Stdio::null());
        if !extra_env.iter().any(|(k, _)| *k == "SFN_MOCK_CONFIG") {
            cmd.arg("--mock-config").arg(config);
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let url = loop {
            let line = lines.next().expect("sfn serve ended before listening").unwrap();
            if let Some(u) = line.strip_prefix("sfn serve: listening on ") {
                break u.trim().to_owned();
            }
            stderr.lock().unwrap().push(line);
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        let kept = stderr.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        Served { child, url, stderr }
    }

    /// One awsJson1_0 call: the HTTP status line and body.
    fn call(&self, op: &str, body: &str) -> String {
        use std::io::{Read as _, Write as _};
        let addr = self.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let head = format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AWSStepFunctions.{op}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    fn stderr_has(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if self.stderr.lock().unwrap().iter().any(|l| l.contains(needle)) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn serve_reports_unusable_test_cases_at_start_and_at_create_and_runs_the_others() {
    let config = temp_file(
        "mocks.json",
        r#"{"StateMachines": {"waiter": {"TestCases": {
              "BadRef": {"Job": "Dome"}, "Typo": {"Jobb": "Done"}, "Good": {"Job": "Done", "Hour": "Done"}}}},
            "MockedResponses": {"Done": {"0": {"Return": {"ok": true}}}}}"#,
    );
    let served = Served::start_with(&[], &config);
    // At start: the test case whose response is not in the file.
    assert!(served.stderr_has("no mocked response named 'Dome' in MockedResponses; did you mean 'Done'?"));
    let body = serde_json::json!({"name": "waiter", "definition": WAITER, "roleArn": "arn:aws:iam::123456789012:role/sfn"});
    let created = served.call("CreateStateMachine", &body.to_string());
    assert!(created.starts_with("HTTP/1.1 200"), "{created}");
    // At CreateStateMachine: the test case naming a state the machine does not have.
    assert!(
        served.stderr_has("the state machine has no state 'Jobb'; did you mean 'Job'?"),
        "{:?}",
        served.stderr.lock().unwrap()
    );
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:waiter";
    let typo = served
        .call("StartExecution", &serde_json::json!({"stateMachineArn": format!("{arn}#Typo")}).to_string());
    assert!(
        typo.starts_with("HTTP/1.1 400") && typo.contains("ValidationException") && typo.contains("'Jobb'"),
        "{typo}"
    );
    let good = served
        .call("StartExecution", &serde_json::json!({"stateMachineArn": format!("{arn}#Good")}).to_string());
    assert!(good.starts_with("HTTP/1.1 200"), "{good}");
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_mock_config_with_boto3_happy_retry_catch_hybrid_and_sync() {
    if skip("serve_mock_config_with_boto3") {
        return;
    }
    let served = Served::start(&[]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/serve_mocks.py");
    let out = Command::new(python())
        .arg(script)
        .arg(&served.url)
        .arg(root().join("fixtures/mocks/LambdaECS.asl.json"))
        .output()
        .expect("run python (set SFN_TEST_PYTHON, or SFN_SKIP_BOTO3=1)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "serve_mocks.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
}

/// `node_modules` holding `@aws-sdk/client-sfn`: `SFN_TEST_NODE_MODULES`, else `<workspace>/.node/node_modules`
/// (what `cargo xtask ci` installs with npm).
fn node_modules() -> PathBuf {
    std::env::var_os("SFN_TEST_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".node/node_modules"))
}

#[test]
fn serve_sync_execution_and_test_state_with_the_js_v3_sdk_and_disable_host_prefix() {
    if std::env::var("SFN_SKIP_NODE").is_ok_and(|v| v == "1") {
        eprintln!("js v3 sdk test: SKIPPED because SFN_SKIP_NODE=1");
        return;
    }
    let modules = node_modules();
    assert!(
        modules.join("@aws-sdk/client-sfn").is_dir(),
        "no @aws-sdk/client-sfn in {} (`npm install --prefix .node @aws-sdk/client-sfn`, as cargo xtask ci does; \
         or SFN_TEST_NODE_MODULES=DIR, or SFN_SKIP_NODE=1)",
        modules.display()
    );
    let served = Served::start(&[]);
    let out = Command::new("node")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/serve_mocks_js.cjs"))
        .arg(&served.url)
        .arg(root().join("fixtures/mocks/LambdaExpress.asl.json"))
        .env("NODE_PATH", &modules)
        .output()
        .expect("run node (Node.js 18+; or SFN_SKIP_NODE=1)");
    assert!(out.status.success(), "serve_mocks_js.cjs failed: {}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    // With the prefix the SDK calls sync-127.0.0.1, which does not resolve …
    let prefixed = seen["prefixedError"].as_str().unwrap_or_default();
    assert!(prefixed.contains("sync-127.0.0.1"), "{seen}");
    // … and with `disableHostPrefix: true` both prefixed operations reach the server.
    assert_eq!(seen["syncStatus"], "SUCCEEDED", "{seen}");
    let output: Value = serde_json::from_str(seen["syncOutput"].as_str().unwrap()).unwrap();
    assert_eq!(output["body"], "Hello from Lambda!");
    assert_eq!(seen["testStatus"], "SUCCEEDED", "{seen}");
    let test_output: Value = serde_json::from_str(seen["testOutput"].as_str().unwrap()).unwrap();
    assert_eq!(test_output, serde_json::json!({"sum": 42}));
}

/// The AWS CLI: `aws stepfunctions …` beside the test Python, with local credentials.
fn aws(url: &str, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let python = python();
    let aws = python.parent().map(|d| d.join("aws")).filter(|p| p.exists()).unwrap_or_else(|| "aws".into());
    Command::new(&aws)
        .args(["stepfunctions", "--endpoint-url", url, "--output", "json"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {} ({e}): add awscli to the venv, or SFN_SKIP_BOTO3=1", aws.display())
        })
}

fn aws_json(url: &str, env: &[(&str, &str)], args: &[&str]) -> Value {
    let o = aws(url, env, args);
    assert!(o.status.success(), "aws {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn aws_wait(url: &str, execution: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = aws_json(url, &[], &["describe-execution", "--execution-arn", execution]);
        if d["status"] != "RUNNING" || Instant::now() > deadline {
            return d;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_mock_config_from_sfn_mock_config_with_the_aws_cli_and_the_sync_prefix() {
    if skip("serve_mock_config_with_the_aws_cli") {
        return;
    }
    // SFN_MOCK_CONFIG, as Step Functions Local reads it.
    let config = root().join("fixtures/mocks/MockConfigFile.json");
    let served = Served::start(&[("SFN_MOCK_CONFIG", config.to_str().unwrap())]);
    let url = &served.url;
    let definition = format!("file://{}", root().join("fixtures/mocks/LambdaECS.asl.json").display());
    let role = "arn:aws:iam::123456789012:role/sfn";
    let created = aws_json(
        url,
        &[],
        &["create-state-machine", "--name", "LambdaECS", "--definition", &definition, "--role-arn", role],
    );
    let machine = created["stateMachineArn"].as_str().unwrap().to_owned();
    for (case, status, entered) in [
        ("HappyPath", "SUCCEEDED", vec!["LambdaState", "ECSState"]),
        ("RetryPath", "SUCCEEDED", vec!["LambdaState", "ECSState"]),
        ("CatchPath", "SUCCEEDED", vec!["LambdaState", "ECSState", "Recover"]),
    ] {
        let name = format!("cli-{case}");
        let started = aws_json(
            url,
            &[],
            &["start-execution", "--state-machine-arn", &format!("{machine}#{case}"), "--name", &name],
        );
        let execution = started["executionArn"].as_str().unwrap().to_owned();
        assert!(execution.ends_with(&format!(":execution:LambdaECS:{name}")), "{execution}");
        let d = aws_wait(url, &execution);
        assert_eq!(d["status"], status, "{case}: {d}");
        let h = aws_json(url, &[], &["get-execution-history", "--execution-arn", &execution]);
        let names: Vec<&str> = h["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["stateEnteredEventDetails"]["name"].as_str())
            .collect();
        assert_eq!(names, entered, "{case}");
        if case == "RetryPath" {
            let failed = h["events"].as_array().unwrap().iter().filter(|e| e["type"] == "TaskFailed").count();
            assert_eq!(failed, 3, "responses 0 and 1-2 throw, 3 returns");
        }
    }

    // StartSyncExecution carries the `sync-` host prefix: the AWS CLI calls sync-127.0.0.1 and fails …
    let express_def = format!("file://{}", root().join("fixtures/mocks/LambdaExpress.asl.json").display());
    let express = aws_json(
        url,
        &[],
        &[
            "create-state-machine",
            "--name",
            "LambdaExpress",
            "--definition",
            &express_def,
            "--role-arn",
            role,
            "--type",
            "EXPRESS",
        ],
    );
    let arn = format!("{}#HappyPath", express["stateMachineArn"].as_str().unwrap());
    let prefixed = aws(url, &[], &["start-sync-execution", "--state-machine-arn", &arn]);
    assert!(!prefixed.status.success());
    let err = String::from_utf8_lossy(&prefixed.stderr);
    assert!(err.contains("sync-127.0.0.1"), "{err}");
    // … unless host prefix injection is off (AWS SDK reference guide, "Host prefix injection").
    let r = aws_json(
        url,
        &[("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")],
        &["start-sync-execution", "--state-machine-arn", &arn],
    );
    assert_eq!(r["status"], "SUCCEEDED", "{r}");
    let output: Value = serde_json::from_str(r["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["body"], "Hello from Lambda!");
    // … or the shared config file says so (`disable_host_prefix_injection = true`).
    let config = temp_file("aws-config", "[default]\ndisable_host_prefix_injection = true\n");
    let r = aws_json(
        url,
        &[("AWS_CONFIG_FILE", config.to_str().unwrap())],
        &["start-sync-execution", "--state-machine-arn", &arn],
    );
    assert_eq!(r["status"], "SUCCEEDED", "{r}");
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const WAITER: &str = r#"{"StartAt": "Job", "States": {
  "Job": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "TimeoutSeconds": 60,
          "Parameters": {"Cluster": "jobs", "TaskDefinition": "report-job:3",
                         "Overrides": {"ContainerOverrides": [{"Name": "report", "Command": ["true"]}]}},
          "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 600, "MaxAttempts": 1}],
          "Next": "Hour"},
  "Hour": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#;

#[test]
fn mock_init_writes_ecs_shaped_responses_that_run_and_wait_3600_takes_no_time_on_the_virtual_clock() {
    let def = temp_file("waiter.asl.json", WAITER);
    let dir = def.parent().unwrap();
    let mocks = dir.join("mocks.json");
    let o = sfn(&["mock", "init", def.to_str().unwrap(), "--output", mocks.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let skeleton: Value = serde_json::from_slice(&std::fs::read(&mocks).unwrap()).unwrap();
    let cases = &skeleton["StateMachines"]["waiter"]["TestCases"];
    assert_eq!(cases["HappyPath"]["Job"], "Job Success");
    assert_eq!(cases["Job Fails"]["Job"], "Job Failure");
    // .sync: the stopped task as DescribeTasks describes it (FACTS.md, recorded), from the parameters.
    let ok = &skeleton["MockedResponses"]["Job Success"]["0"]["Return"];
    assert_eq!(ok["LastStatus"], "STOPPED");
    assert_eq!(ok["StopCode"], "EssentialContainerExited");
    assert_eq!(ok["Containers"][0]["Name"], "report");
    assert_eq!(ok["Containers"][0]["ExitCode"], 0);
    assert_eq!(ok["TaskDefinitionArn"], "arn:aws:ecs:us-east-1:123456789012:task-definition/report-job:3");
    assert_eq!(ok["ClusterArn"], "arn:aws:ecs:us-east-1:123456789012:cluster/jobs");
    // One response for every attempt the retrier allows (MaxAttempts 1: invocations 0 and 1).
    let fail = &skeleton["MockedResponses"]["Job Failure"]["0-1"]["Throw"];
    assert_eq!(fail["Error"], "States.TaskFailed");
    let cause: Value = serde_json::from_str(fail["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["Containers"][0]["ExitCode"], 1);

    // Every Task mocked: the virtual clock is the default; Wait 3600 finishes at once, and the history's
    // timestamps are an hour apart as AWS would record them.
    let t = Instant::now();
    let m = mocks.to_str().unwrap();
    let o = sfn(&[
        "run",
        def.to_str().unwrap(),
        "--mock-config",
        m,
        "--test-case",
        "HappyPath",
        "--history",
        "--format",
        "json",
    ]);
    let elapsed = t.elapsed();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(elapsed < Duration::from_secs(1), "Wait 3600 took {elapsed:?}");
    let run: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(run["status"], "SUCCEEDED");
    let events = run["history"].as_array().unwrap();
    let at = |ty: &str| events.iter().find(|e| e["type"] == ty).unwrap()["timestamp"].as_f64().unwrap();
    assert!((at("WaitStateExited") - at("WaitStateEntered") - 3600.0).abs() < 0.01, "{events:?}");

    // The failure case: retried after 600 virtual seconds, then the execution fails with ECS's cause.
    let t = Instant::now();
    let o = sfn(&[
        "run",
        def.to_str().unwrap(),
        "--mock-config",
        m,
        "--test-case",
        "Job Fails",
        "--format",
        "json",
        "--virtual-time",
    ]);
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(o.status.code(), Some(1));
    let run: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(run["error"], "States.TaskFailed");

    // --virtual-time with a Task that would run a real container is refused.
    let o = sfn(&["run", def.to_str().unwrap(), "--virtual-time"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--virtual-time"));
}

#[test]
fn a_test_case_naming_an_unknown_state_is_an_error_and_leaves_the_other_cases_usable() {
    let def = temp_file("waiter.asl.json", WAITER);
    let mocks = write(
        def.parent().unwrap(),
        "mocks.json",
        r#"{"StateMachines": {"waiter": {"TestCases": {
              "Typo": {"Jobb": "Done"}, "BadRef": {"Job": "Dome"}, "Good": {"Job": "Done"}}}},
            "MockedResponses": {"Done": {"0": {"Return": {"ok": true}}}}}"#,
    );
    let run = |case: &str| {
        sfn(&["run", def.to_str().unwrap(), "--mock-config", mocks.to_str().unwrap(), "--test-case", case])
    };
    let o = run("Typo");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no state 'Jobb'") && err.contains("did you mean 'Job'?"), "{err}");
    let o = run("BadRef");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no mocked response named 'Dome'") && err.contains("did you mean 'Done'?"), "{err}");
    let o = run("Goood");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("did you mean 'Good'?"), "{err}");
    let o = run("Good");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn unmocked_echo_and_fail_decide_what_a_task_without_integration_does() {
    let def = temp_file(
        "lambda.asl.json",
        r#"{"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload": {"x": 1}}, "End": true}}}"#,
    );
    let d = def.to_str().unwrap();
    let o = sfn(&["run", d, "--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "refused at load without --unmocked");
    let o = sfn(&["run", d, "--unmocked", "echo", "--format", "json"]);
    let run: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(run["output"], serde_json::json!({"FunctionName": "f", "Payload": {"x": 1}}));
    let o = sfn(&["run", d, "--unmocked", "fail", "--format", "json"]);
    let run: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(run["error"], "States.Runtime");
    assert!(run["cause"].as_str().unwrap().contains("No mock and no integration"), "{run}");
}

#[test]
fn sfn_test_on_the_seed_and_example_mock_files_reports_cases_junit_and_an_untaken_catch() {
    let out = std::env::temp_dir().join(format!("sfn-test-report-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let (junit, html) = (out.join("junit.xml"), out.join("coverage.html"));
    let r = root();
    let o = Command::new(env!("CARGO_BIN_EXE_sfn"))
        .current_dir(&r)
        .args(["test", "examples/mocks", "fixtures/seed", "fixtures/mocks", "--junit"])
        .arg(&junit)
        .arg("--coverage-html")
        .arg(&html)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    for case in
        ["run-job#ReportDone", "run-job#ReportCrashes", "callback#WorkerCallsBack", "LambdaECS#RetryPath"]
    {
        assert!(stdout.lines().any(|l| l.starts_with(case) && l.contains("pass")), "{case}:\n{stdout}");
    }
    assert!(stdout.contains("9 passed, 0 failed"), "{stdout}");
    assert!(stdout.contains("never taken: catch ECSState Catch #2 [States.ALL] → GiveUp"), "{stdout}");
    assert!(stdout.contains("LambdaECS: retries 1/1"), "{stdout}");
    let page = std::fs::read_to_string(&html).unwrap();
    // The graph is the laid-out SVG (`sfn::graph::svg`): entered states `succeeded`, the others `not-entered`.
    let class_of = |state: &str| {
        let at = page.find(&format!(" data-state=\"{state}\"")).unwrap_or_else(|| panic!("{state}: {page}"));
        let open = page[..at].rfind("<g ").unwrap();
        page[open..at].to_owned()
    };
    assert!(class_of("GiveUp").contains("class=\"state not-entered"), "{page}");
    assert!(class_of("ECSState").contains("class=\"state succeeded"), "{page}");
    assert!(!page.contains("https://"), "nothing fetched: {page}");

    // JUnit XML that a JUnit parser reads (Python's ElementTree, as junit tooling does).
    if !skip("sfn_test_junit_parse") {
        let script = "import sys, xml.etree.ElementTree as ET\n\
                      r = ET.parse(sys.argv[1]).getroot()\n\
                      print(r.get('tests'), r.get('failures'), sorted(s.get('name') for s in r.iter('testsuite')))";
        let p = Command::new(python()).args(["-c", script]).arg(&junit).output().unwrap();
        let parsed = String::from_utf8_lossy(&p.stdout);
        assert_eq!(parsed.trim(), "9 0 ['LambdaECS', 'LambdaExpress', 'callback', 'run-job']", "{parsed}");
    }

    // A failing expectation and --min-coverage both exit 1.
    let o = Command::new(env!("CARGO_BIN_EXE_sfn"))
        .current_dir(&r)
        .args(["test", "fixtures/mocks", "--min-coverage", "95"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("under --min-coverage 95"));
    let dir = out.join("failing");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(r.join("fixtures/mocks/LambdaExpress.asl.json"), dir.join("LambdaExpress.asl.json"))
        .unwrap();
    write(
        &dir,
        "mocks.json",
        r#"{"StateMachines": {"LambdaExpress": {"TestCases": {"Wrong": {"LambdaState": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": {"Payload": {"body": "other"}}}}}}"#,
    );
    write(
        &dir,
        "mocks.expect.json",
        r#"{"StateMachines": {"LambdaExpress": {"TestCases": {"Wrong": {"output": {"body": "expected"}}}}}}"#,
    );
    let o = sfn(&["test", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("LambdaExpress#Wrong") && stdout.contains("FAIL") && stdout.contains("expected"),
        "{stdout}"
    );
}

#[test]
fn sfn_test_coverage_counts_choice_rules_map_iterations_and_a_parallel_catch() {
    let def = temp_file(
        "flow.asl.json",
        r#"{"StartAt": "Pick", "States": {
          "Pick": {"Type": "Choice", "Choices": [
             {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
             {"Variable": "$.n", "NumericLessThan": 0, "Next": "Neg"}], "Default": "Each"},
          "Big": {"Type": "Succeed"},
          "Neg": {"Type": "Fail", "Error": "Neg"},
          "Each": {"Type": "Map", "ItemsPath": "$.items", "Next": "Both", "ItemProcessor": {"StartAt": "Work",
              "States": {"Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Done"},
                         "Done": {"Type": "Pass", "End": true}}}},
          "Both": {"Type": "Parallel", "Next": "After",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
              "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Task",
                  "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}]},
          "After": {"Type": "Succeed"},
          "Caught": {"Type": "Pass", "End": true}}}"#,
    );
    let dir = def.parent().unwrap();
    write(
        dir,
        "flow-mocks.json",
        r#"{"StateMachines": {"flow": {"TestCases": {"big": {}, "items": {"Work": "W", "A": "Boom"}}}},
            "MockedResponses": {"W": {"0-9": {"Return": {"ok": 1}}},
                                "Boom": {"0": {"Throw": {"Error": "E", "Cause": "c"}}}}}"#,
    );
    write(
        dir,
        "flow-mocks.expect.json",
        r#"{"StateMachines": {"flow": {"TestCases": {
              "big": {"input": {"n": 11}, "states": ["Pick", "Big"]},
              "items": {"input": {"n": 5, "items": [1, 2]}}}}}}"#,
    );
    let o = sfn(&["test", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    let never: Vec<&str> = stdout.lines().filter_map(|l| l.trim().strip_prefix("never taken: ")).collect();
    assert_eq!(
        never,
        // A failed (so its End was never taken) and the Parallel left through its Catch.
        [
            "state After",
            "state Neg",
            "transition A End",
            "transition Both Next → After",
            "transition Pick Choice → Neg"
        ],
        "{stdout}"
    );
    assert!(stdout.contains("flow: catches 1/1"), "{stdout}");
}

#[test]
fn an_activity_task_without_workers_is_refused_clearly_or_answered_by_a_mock() {
    let def = temp_file(
        "worker.asl.json",
        r#"{"StartAt": "Resize", "States": {"Resize": {"Type": "Task",
            "Resource": "arn:aws:states:us-east-1:123456789012:activity:resize", "End": true}}}"#,
    );
    let d = def.to_str().unwrap();
    // `sfn run` has no GetActivityTask endpoint: nothing could ever take the task.
    let o = sfn(&["run", d, "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Resize")
            && err.contains("is an activity")
            && err.contains("sfn serve")
            && err.contains("--mock-config"),
        "{err}"
    );
    let mocks = write(
        def.parent().unwrap(),
        "mocks.json",
        r#"{"StateMachines": {"worker": {"TestCases": {"Done": {"Resize": "Resized"}}}},
            "MockedResponses": {"Resized": {"0": {"Return": {"width": 640}}}}}"#,
    );
    let o =
        sfn(&["run", d, "--mock-config", mocks.to_str().unwrap(), "--test-case", "Done", "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(run["output"], serde_json::json!({"width": 640}));
}
