//! `sfn run --s3 DIR`: a Distributed Map over S3 items served from a local folder (`DIR/BUCKET/KEY`),
//! results written back there by its ResultWriter (AWS: "ItemReader (Map)", "ResultWriter (Map)").

use serde_json::{Value, json};

use crate::{root, sfn, temp_file, unique};

fn folder() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sfn-cli-s3-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(dir.join("in")).unwrap();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    dir
}

/// One `.sync` ECS task per batch of `$.Items` (the batch size is the container's command).
fn batch_machine(key: &str) -> Value {
    json!({"StartAt": "Each batch", "States": {"Each batch": {
        "Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"},
            "Parameters": {"Bucket": "in", "Key": key}},
        "ItemBatcher": {"MaxItemsPerBatch": 100, "BatchInput": {"run.$": "$.run"}},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Run", "States": {"Run": {
                "Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
                "Parameters": {"Cluster": "jobs", "TaskDefinition": "report-job", "LaunchType": "FARGATE",
                    "Overrides": {"ContainerOverrides": [{"Name": "report",
                        "Command.$": "States.Array(States.Format('{}', States.ArrayLength($.Items)), $.BatchInput.run)"}]}},
                "ResultSelector": {"task.$": "$.TaskArn", "command.$": "$.Overrides.ContainerOverrides[0].Command"},
                "End": true}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix": "results"}},
        "End": true}}})
}

fn run_batches(dir: &std::path::Path, key: &str) -> std::process::Output {
    let def = temp_file("batches.asl.json", &batch_machine(key).to_string());
    let tds = root().join("fixtures/seed/task-definitions");
    sfn(&[
        "run",
        def.to_str().unwrap(),
        "--input",
        r#"{"run": "r1"}"#,
        "--ecs",
        "sim",
        "--task-definitions",
        tds.to_str().unwrap(),
        "--s3",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "--history",
    ])
}

/// The issue's done-when: 10,000 JSONL items, batched by 100, each batch a `.sync` ECS task on
/// `--ecs sim`, with a ResultWriter: 100 tasks, a manifest in the folder, `MapRunSucceeded` in the history.
#[test]
fn ten_thousand_jsonl_items_in_batches_of_100_as_ecs_tasks() {
    let dir = folder();
    let lines: String = (0..10_000).map(|i| format!("{{\"id\":{i},\"file\":\"f{i}.csv\"}}\n")).collect();
    std::fs::write(dir.join("in/items.jsonl"), lines).unwrap();
    let o = run_batches(&dir, "items.jsonl");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], "SUCCEEDED");
    let details = &v["output"]["ResultWriterDetails"];
    assert_eq!(details["Bucket"], "out");
    let manifest_key = details["Key"].as_str().unwrap();
    assert!(
        manifest_key.starts_with("results/") && manifest_key.ends_with("/manifest.json"),
        "{manifest_key}"
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("out").join(manifest_key)).unwrap()).unwrap();
    assert_eq!(manifest["MapRunArn"], v["output"]["MapRunArn"]);
    let file = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"].as_str().unwrap();
    let written = std::fs::read(dir.join("out").join(file)).unwrap();
    assert_eq!(manifest["ResultFiles"]["SUCCEEDED"][0]["Size"], written.len());
    let results: Vec<Value> = serde_json::from_slice(&written).unwrap();
    assert_eq!(results.len(), 100, "one child execution per batch");
    let mut tasks = std::collections::BTreeSet::new();
    for r in &results {
        let out: Value = serde_json::from_str(r["Output"].as_str().unwrap()).unwrap();
        assert_eq!(out["command"], json!(["100", "r1"]));
        tasks.insert(out["task"].as_str().unwrap().to_owned());
    }
    assert_eq!(tasks.len(), 100, "100 distinct ECS tasks");
    let types: Vec<&str> =
        v["history"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"MapRunStarted") && types.contains(&"MapRunSucceeded"), "{types:?}");
    assert!(!types.contains(&"TaskScheduled"), "the tasks are in the map run's history: {types:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_object_fails_with_item_reader_failed() {
    let dir = folder();
    let o = run_batches(&dir, "nothing-here.jsonl");
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"], "States.ItemReaderFailed");
    assert!(v["cause"].as_str().unwrap().contains("NoSuchKey"), "{v}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The buckets `--s3 DIR` does not have, as S3 answers them: the ResultWriter's bucket missing fails the
/// Map with `States.ResultWriterFailed` once its children ran, the reader's with `States.ItemReaderFailed`,
/// each cause with S3's `NoSuchBucket` (404).
#[test]
fn a_missing_bucket_fails_the_reader_or_the_writer() {
    let dir = folder();
    std::fs::write(dir.join("in/items.jsonl"), "{\"a\": 1}\n{\"a\": 2}\n").unwrap();
    std::fs::remove_dir_all(dir.join("out")).unwrap();
    let o = run_batches(&dir, "items.jsonl");
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"], "States.ResultWriterFailed", "{v}");
    let cause = v["cause"].as_str().unwrap();
    assert!(cause.contains("Status Code: 404, Error Code: NoSuchBucket"), "{cause}");
    let types: Vec<&str> =
        v["history"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"MapRunFailed"), "{types:?}");

    std::fs::remove_dir_all(dir.join("in")).unwrap();
    let o = run_batches(&dir, "items.jsonl");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"], "States.ItemReaderFailed", "{v}");
    assert!(v["cause"].as_str().unwrap().contains("Error Code: NoSuchBucket"), "{v}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `WriterConfig` with `sfn run --s3 DIR` (AWS: "ResultWriter (Map)",
/// docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html): with `Resource` and
/// `Parameters`, `FLATTEN` + `JSONL` writes the children's array outputs spliced, one a line, in
/// `SUCCEEDED_0.jsonl` in the folder; `WriterConfig` alone writes nothing and gives them as the output.
#[test]
fn result_writer_map_page_writer_config_in_a_folder() {
    let dir = folder();
    std::fs::write(dir.join("in/items.json"), r#"[{"out":[1,2]},{"out":{"a":1}},{"out":[[3]]}]"#).unwrap();
    let machine = |writer: Value| {
        json!({"StartAt": "M", "States": {"M": {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket": "in", "Key": "items.json"}},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": "$.out", "End": true}}},
            "ResultWriter": writer,
            "End": true}}})
    };
    let run = |m: Value| {
        let def = temp_file("writer-config.asl.json", &m.to_string());
        let o = sfn(&["run", def.to_str().unwrap(), "--s3", dir.to_str().unwrap(), "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let v = run(machine(json!({"Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": "out", "Prefix": "flat"},
        "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSONL"}})));
    let key = v["output"]["ResultWriterDetails"]["Key"].as_str().unwrap();
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("out").join(key)).unwrap()).unwrap();
    let file = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"].as_str().unwrap();
    assert!(file.starts_with("flat/") && file.ends_with("/SUCCEEDED_0.jsonl"), "{file}");
    let text = std::fs::read_to_string(dir.join("out").join(file)).unwrap();
    assert_eq!(text, "1\n2\n{\"a\":1}\n[3]\n");
    let before = std::fs::read_dir(dir.join("out/flat")).unwrap().count();
    let v = run(machine(json!({"WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSON"}})));
    assert_eq!(v["output"], json!([[1, 2], {"a": 1}, [[3]]]));
    assert_eq!(std::fs::read_dir(dir.join("out/flat")).unwrap().count(), before, "nothing written");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn s3_must_be_a_folder() {
    let def = temp_file("m.asl.json", &batch_machine("k").to_string());
    let o = sfn(&[
        "run",
        def.to_str().unwrap(),
        "--ecs",
        "sim",
        "--s3",
        "/nonexistent/sfn-s3",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--s3 /nonexistent/sfn-s3: not a directory"));
}

fn python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("SFN_TEST_PYTHON") {
        return p.into();
    }
    let venv = root().join(".venv/bin/python");
    if venv.exists() { venv } else { "python3".into() }
}

/// `sfn serve --ecs sim --s3 DIR --state-dir SD` on an ephemeral port (killed when dropped).
struct Serve {
    child: std::process::Child,
    url: String,
}

impl Serve {
    fn start(dir: &std::path::Path, state: &std::path::Path) -> Serve {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sfn"))
            .args(["serve", "--listen", "127.0.0.1:0", "--ecs", "sim", "--task-definitions"])
            .arg(root().join("fixtures/seed/task-definitions"))
            .arg("--s3")
            .arg(dir)
            .arg("--state-dir")
            .arg(state)
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("sfn serve ended before listening").unwrap();
            if let Some(u) = line.strip_prefix("sfn serve: listening on ") {
                break u.trim().to_owned();
            }
        };
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Serve { child, url }
    }

    /// Stops it the way Ctrl-C does (the journal is closed), and waits.
    fn stop(mut self) {
        let _ = std::process::Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The issue's done-when, through the API: boto3 against `sfn serve --s3 DIR --ecs sim` sees the map
/// run (DescribeMapRun counts, ListMapRuns, UpdateMapRun), its 10 child executions (ListExecutions
/// `--map-run-arn`, their own histories with their ECS tasks) and AWS's errors, and sees them again
/// after a restart on the same `--state-dir` (`serve_maprun.py`).
#[test]
fn serve_map_runs_with_boto3_and_after_a_restart() {
    if std::env::var("SFN_SKIP_BOTO3").is_ok_and(|v| v == "1") {
        eprintln!("serve_map_runs_with_boto3: SKIPPED because SFN_SKIP_BOTO3=1");
        return;
    }
    let dir = folder();
    let state = dir.join("state");
    let lines: String = (0..1_000).map(|i| format!("{{\"id\":{i}}}\n")).collect();
    std::fs::write(dir.join("in/items.jsonl"), lines).unwrap();
    let mut machine = batch_machine("items.jsonl");
    let map = &mut machine["States"]["Each batch"];
    map["Label"] = json!("Batches");
    map["MaxConcurrency"] = json!(3);
    let def = temp_file("batches.asl.json", &machine.to_string());
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/serve_maprun.py");
    let saved = dir.join("saved.json");
    let run = |url: &str, phase: &str| {
        let o = std::process::Command::new(python())
            .arg(&script)
            .arg(url)
            .arg(&def)
            .arg(phase)
            .arg(&saved)
            .output()
            .expect("run python (set SFN_TEST_PYTHON, or SFN_SKIP_BOTO3=1)");
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "serve_maprun.py {phase}:\n{stdout}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
    };
    let served = Serve::start(&dir, &state);
    run(&served.url, "run");
    served.stop();
    let served = Serve::start(&dir, &state);
    run(&served.url, "restarted");
    served.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `sfn policy --state-machine-name NAME`: the Distributed Map's S3 grants and AWS's template for its child
/// executions ("IAM policies for using Distributed Map states"); one definition only.
#[test]
fn policy_for_a_distributed_map_with_its_state_machine_name() {
    let def = temp_file("batches.asl.json", &batch_machine("items.jsonl").to_string());
    let d = def.to_str().unwrap();
    let o = sfn(&[
        "policy",
        d,
        "--region",
        "eu-west-1",
        "--account",
        "111122223333",
        "--state-machine-name",
        "batches",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    let statements = p["Statement"].as_array().unwrap();
    let by_sid =
        |sid: &str| statements.iter().find(|s| s["Sid"] == sid).unwrap_or_else(|| panic!("{sid}: {p}"));
    let as_list = |v: &Value| match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    assert_eq!(
        as_list(&by_sid("StartMapRunChildExecutions")["Resource"]),
        [json!("arn:aws:states:eu-west-1:111122223333:stateMachine:batches")]
    );
    assert_eq!(
        as_list(&by_sid("DescribeAndStopMapRunChildExecutions")["Resource"]),
        [json!("arn:aws:states:eu-west-1:111122223333:execution:batches/*")]
    );
    assert_eq!(
        as_list(&by_sid("ReadDistributedMapItems")["Resource"]),
        [json!("arn:aws:s3:::in/items.jsonl")]
    );
    let o = sfn(&["policy", d, d, "--state-machine-name", "batches"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("give one definition"));
}
