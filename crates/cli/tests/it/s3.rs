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
