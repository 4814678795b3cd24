//! Distributed Map items from S3 and results to S3 through the engine's `ObjectStore` (an in-memory one
//! here): shapes from AWS's "ItemReader (Map)", "ItemBatcher (Map)" and "ResultWriter (Map)" pages.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sfn_engine::{
    Engine, ExecutionStatus, History, ObjectError, ObjectInfo, ObjectStore, Outcome, StartRequest,
};

/// Buckets of objects in memory.
#[derive(Default)]
struct Memory {
    objects: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    buckets: Vec<String>,
}

impl Memory {
    fn with(buckets: &[&str], objects: &[(&str, &str, &str)]) -> Arc<Memory> {
        let m = Memory { buckets: buckets.iter().map(|b| (*b).to_owned()).collect(), ..Default::default() };
        for (b, k, body) in objects {
            m.objects.lock().unwrap().insert(((*b).to_owned(), (*k).to_owned()), body.as_bytes().to_vec());
        }
        Arc::new(m)
    }

    fn json(&self, bucket: &str, key: &str) -> Value {
        let objects = self.objects.lock().unwrap();
        let body = objects.get(&(bucket.to_owned(), key.to_owned())).unwrap_or_else(|| panic!("no {key}"));
        serde_json::from_slice(body).unwrap()
    }
}

#[async_trait::async_trait]
impl ObjectStore for Memory {
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectError> {
        if !self.buckets.iter().any(|b| b == bucket) {
            return Err(ObjectError::NoSuchBucket);
        }
        let objects = self.objects.lock().unwrap();
        Ok(objects
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .map(|((_, k), body)| ObjectInfo {
                key: k.clone(),
                size: body.len() as u64,
                last_modified: chrono::DateTime::from_timestamp(1_668_699_881, 0).unwrap(),
                etag: format!("\"{:032x}\"", body.len()),
            })
            .collect())
    }

    async fn get(&self, bucket: &str, key: &str, limit: u64) -> Result<Vec<u8>, ObjectError> {
        if !self.buckets.iter().any(|b| b == bucket) {
            return Err(ObjectError::NoSuchBucket);
        }
        let objects = self.objects.lock().unwrap();
        let body = objects.get(&(bucket.to_owned(), key.to_owned())).ok_or(ObjectError::NoSuchKey)?;
        if body.len() as u64 > limit {
            return Err(ObjectError::TooLarge { size: body.len() as u64, limit });
        }
        Ok(body.clone())
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), ObjectError> {
        if !self.buckets.iter().any(|b| b == bucket) {
            return Err(ObjectError::NoSuchBucket);
        }
        self.objects.lock().unwrap().insert((bucket.to_owned(), key.to_owned()), body);
        Ok(())
    }
}

async fn run(store: Option<Arc<Memory>>, map: Value, input: Value) -> (Outcome, History) {
    let def = json!({"StartAt": "M", "States": {"M": map}});
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let mut builder = Engine::builder();
    if let Some(s) = store {
        builder = builder.object_store(s);
    }
    let engine = builder.build();
    let prepared = engine.prepare(machine, "m").unwrap();
    engine
        .run(&prepared, StartRequest { execution_name: "e".into(), input, role_arn: None, input_text: None })
        .await
}

/// A Distributed Map of `extra` whose iterations pass their input through.
fn dmap(extra: Value) -> Value {
    let mut m = json!({
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}
        },
        "End": true
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut m, extra) {
        m.extend(e);
    }
    m
}

fn types(h: &History) -> Vec<String> {
    h.events().iter().map(|e| e.event_type()).collect()
}

#[tokio::test]
async fn jsonl_items_batched_with_a_result_writer() {
    let jsonl: String = (0..250).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    let store = Memory::with(&["in", "out"], &[("in", "items.jsonl", &jsonl)]);
    let (o, h) = run(
        Some(store.clone()),
        dmap(json!({
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket": "in", "Key.$": "$.key"}},
            "ItemBatcher": {"MaxItemsPerBatch": 100, "BatchInput": {"job.$": "$.job"}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "out", "Prefix": "runs"}}
        })),
        json!({"key": "items.jsonl", "job": "j1"}),
    )
    .await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let out = o.output.unwrap();
    let map_run_arn = out["MapRunArn"].as_str().unwrap();
    assert!(map_run_arn.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:m/M:"), "{map_run_arn}");
    let run_id = map_run_arn.rsplit(':').next().unwrap();
    let manifest_key = format!("runs/{run_id}/manifest.json");
    assert_eq!(out["ResultWriterDetails"], json!({"Bucket": "out", "Key": manifest_key}));
    let manifest = store.json("out", &manifest_key);
    assert_eq!(manifest["DestinationBucket"], "out");
    assert_eq!(manifest["MapRunArn"], map_run_arn);
    assert_eq!(manifest["ResultFiles"]["FAILED"], json!([]));
    assert_eq!(manifest["ResultFiles"]["PENDING"], json!([]));
    let succeeded_key = format!("runs/{run_id}/SUCCEEDED_0.json");
    assert_eq!(manifest["ResultFiles"]["SUCCEEDED"][0]["Key"], succeeded_key);
    let results = store.json("out", &succeeded_key);
    let results = results.as_array().unwrap();
    // 250 items by 100: three child executions, the last with 50 items.
    assert_eq!(results.len(), 3);
    let sizes: Vec<usize> = results
        .iter()
        .map(|r| {
            let input: Value = serde_json::from_str(r["Input"].as_str().unwrap()).unwrap();
            assert_eq!(input["BatchInput"], json!({"job": "j1"}));
            assert_eq!(r["Output"], r["Input"], "the Pass state echoes its batch");
            assert_eq!(r["Status"], "SUCCEEDED");
            assert!(
                r["ExecutionArn"]
                    .as_str()
                    .unwrap()
                    .starts_with("arn:aws:states:us-east-1:123456789012:execution:m/M:")
            );
            input["Items"].as_array().unwrap().len()
        })
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    let first: Value = serde_json::from_str(results[0]["Input"].as_str().unwrap()).unwrap();
    assert_eq!(first["Items"][0], json!({"n": 0}));
    let t = types(&h);
    assert!(t.contains(&"MapRunStarted".to_owned()) && t.contains(&"MapRunSucceeded".to_owned()), "{t:?}");
    assert!(
        !t.iter().any(|e| e.starts_with("MapIteration")),
        "iterations are in the map run's own history: {t:?}"
    );
    assert_eq!(h.events()[2].to_json()["mapStateStartedEventDetails"]["length"], 3);
}

#[tokio::test]
async fn csv_with_a_header_row_gives_strings() {
    let csv = "id,name,qty\n1,\"Smith, J\",5\n2,Doe,7\n3,Roe,9\n";
    let store = Memory::with(&["b"], &[("b", "data.csv", csv)]);
    let (o, _) = run(
        Some(store),
        dmap(json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 2},
            "Parameters": {"Bucket": "b", "Key": "data.csv"}}})),
        json!({}),
    )
    .await;
    assert_eq!(
        o.output,
        Some(json!([{"id": "1", "name": "Smith, J", "qty": "5"}, {"id": "2", "name": "Doe", "qty": "7"}]))
    );
}

#[tokio::test]
async fn csv_with_given_headers_and_a_pipe_delimiter() {
    let store = Memory::with(&["b"], &[("b", "d.psv", "1|a\n2|b\n")]);
    let (o, _) = run(
        Some(store),
        dmap(json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["k", "v"],
                "CSVDelimiter": "PIPE", "MaxItemsPath": "$.max"},
            "Parameters": {"Bucket": "b", "Key": "d.psv"}}})),
        json!({"max": 5}),
    )
    .await;
    assert_eq!(o.output, Some(json!([{"k": "1", "v": "a"}, {"k": "2", "v": "b"}])));
}

#[tokio::test]
async fn list_objects_v2_items_as_aws_gives_them() {
    let store =
        Memory::with(&["b"], &[("b", "img/a.jpg", "aaaa"), ("b", "img/b.jpg", "bb"), ("b", "other", "x")]);
    let (o, _) = run(
        Some(store),
        dmap(json!({"ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
            "Parameters": {"Bucket": "b", "Prefix": "img/"}}})),
        json!({}),
    )
    .await;
    assert_eq!(
        o.output,
        Some(json!([
            {"Etag": format!("\"{:032x}\"", 4), "Key": "img/a.jpg", "LastModified": 1_668_699_881, "Size": 4, "StorageClass": "STANDARD"},
            {"Etag": format!("\"{:032x}\"", 2), "Key": "img/b.jpg", "LastModified": 1_668_699_881, "Size": 2, "StorageClass": "STANDARD"},
        ]))
    );
}

#[tokio::test]
async fn json_array_items_with_item_selector() {
    let store = Memory::with(&["b"], &[("b", "a.json", "[{\"x\":1},{\"x\":2}]")]);
    let (o, _) = run(
        Some(store),
        dmap(json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
            "Parameters": {"Bucket": "b", "Key": "a.json"}},
            "ItemSelector": {"v.$": "$$.Map.Item.Value.x", "i.$": "$$.Map.Item.Index"}})),
        json!({}),
    )
    .await;
    assert_eq!(o.output, Some(json!([{"v": 1, "i": 0}, {"v": 2, "i": 1}])));
}

async fn reader_failure(store: Option<Arc<Memory>>, reader: Value) -> (String, String) {
    let (o, _) = run(store, dmap(json!({"ItemReader": reader})), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Failed);
    (o.error.unwrap_or_default(), o.cause.unwrap_or_default())
}

#[tokio::test]
async fn bad_objects_fail_with_item_reader_failed() {
    let store =
        Memory::with(&["b"], &[("b", "bad.jsonl", "{\"a\":1}\n{oops\n"), ("b", "obj.json", "{\"a\":1}")]);
    let get = |key: &str, t: &str| {
        json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": t},
            "Parameters": {"Bucket": "b", "Key": key}})
    };
    let (e, c) = reader_failure(Some(store.clone()), get("missing.json", "JSON")).await;
    assert_eq!(e, "States.ItemReaderFailed");
    assert!(c.contains("Error Code: NoSuchKey"), "{c}");
    let (e, c) = reader_failure(Some(store.clone()), get("bad.jsonl", "JSONL")).await;
    assert_eq!(e, "States.ItemReaderFailed");
    assert!(c.contains("line 2"), "{c}");
    let (e, _) = reader_failure(Some(store.clone()), get("obj.json", "JSON")).await;
    assert_eq!(e, "States.ItemReaderFailed");
    let (e, c) = reader_failure(
        Some(store.clone()),
        json!({"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "nope"}}),
    )
    .await;
    assert_eq!(e, "States.ItemReaderFailed");
    assert!(c.contains("NoSuchBucket"), "{c}");
    let (e, c) = reader_failure(None, get("a.json", "JSON")).await;
    assert_eq!(e, "States.ItemReaderFailed");
    assert!(c.contains("--s3"), "{c}");
}

#[tokio::test]
async fn failed_children_go_to_failed_0_json() {
    let store = Memory::with(&["b"], &[("b", "i.json", "[{\"ok\":true},{\"ok\":false},{\"ok\":true}]")]);
    let mut map = dmap(json!({
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b", "Key": "i.json"}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b"}},
        "ToleratedFailurePercentage": 50
    }));
    map["ItemProcessor"]["StartAt"] = json!("C");
    map["ItemProcessor"]["States"] = json!({
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "P"}], "Default": "F"},
        "P": {"Type": "Pass", "End": true},
        "F": {"Type": "Fail", "Error": "Bad", "Cause": "not ok"}
    });
    let (o, _) = run(Some(store.clone()), map, json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let key = o.output.unwrap()["ResultWriterDetails"]["Key"].as_str().unwrap().to_owned();
    let manifest = store.json("b", &key);
    let failed_key = manifest["ResultFiles"]["FAILED"][0]["Key"].as_str().unwrap();
    assert!(failed_key.ends_with("/FAILED_0.json") && !failed_key.starts_with('/'), "{failed_key}");
    let failed = store.json("b", failed_key);
    assert_eq!(failed.as_array().unwrap().len(), 1);
    assert_eq!(failed[0]["Error"], "Bad");
    assert_eq!(failed[0]["Cause"], "not ok");
    assert_eq!(failed[0]["Status"], "FAILED");
    assert_eq!(failed[0]["Input"], "{\"ok\":false}");
    let ok = store.json("b", manifest["ResultFiles"]["SUCCEEDED"][0]["Key"].as_str().unwrap());
    assert_eq!(ok.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_result_writer_to_a_missing_bucket_fails_with_result_writer_failed() {
    let store = Memory::with(&["b"], &[]);
    let (o, _) = run(
        Some(store),
        dmap(json!({"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "gone", "Prefix": "p"}}})),
        json!([1, 2]),
    )
    .await;
    assert_eq!(o.error.as_deref(), Some("States.ResultWriterFailed"));
    assert!(o.cause.unwrap_or_default().contains("NoSuchBucket"));
}

/// `MaxInputBytesPerBatch` closes a batch before its JSON text passes the bound (AWS: "ItemBatcher (Map)");
/// an item that cannot fit in any batch fails the Map instead of being sent over the bound.
#[tokio::test]
async fn batches_are_bounded_by_bytes() {
    let items: Vec<Value> = (0..10).map(|i| json!({"pad": "x".repeat(40), "i": i})).collect();
    let batcher = |bytes: u64| json!({"ItemBatcher": {"MaxInputBytesPerBatch": bytes}});
    let (o, _) = run(None, dmap(batcher(200)), Value::Array(items.clone())).await;
    let batches = o.output.unwrap();
    let batches = batches.as_array().unwrap();
    assert!(batches.len() > 1, "{batches:?}");
    let mut seen = Vec::new();
    for b in batches {
        assert!(serde_json::to_vec(b).unwrap().len() <= 200, "{b}");
        seen.extend(b["Items"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(seen, items, "every item once, in order");
    let (o, _) = run(None, dmap(batcher(30)), Value::Array(items)).await;
    assert_eq!(o.status, ExecutionStatus::Failed);
    assert!(o.cause.unwrap_or_default().contains("MaxInputBytesPerBatch"));
}

/// An object whose first `head` bytes read, and whose next read fails: what is read past the items a
/// reader needs shows as a failure.
struct HeadOnly {
    head: &'static str,
}

struct HeadReader {
    head: Option<&'static [u8]>,
}

impl std::io::Read for HeadReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.head.take() {
            Some(h) => {
                let n = h.len().min(buf.len());
                buf[..n].copy_from_slice(&h[..n]);
                self.head = Some(&h[n..]).filter(|rest| !rest.is_empty());
                Ok(n)
            }
            None => Err(std::io::Error::other("read past the head of the object")),
        }
    }
}

#[async_trait::async_trait]
impl ObjectStore for HeadOnly {
    async fn list(&self, _: &str, _: &str) -> Result<Vec<ObjectInfo>, ObjectError> {
        Ok(Vec::new())
    }

    async fn get(&self, _: &str, _: &str, _: u64) -> Result<Vec<u8>, ObjectError> {
        Err(ObjectError::Other("the whole object was asked for".into()))
    }

    async fn open(&self, _: &str, _: &str) -> Result<sfn_engine::ObjectReader, ObjectError> {
        Ok(Box::new(HeadReader { head: Some(self.head.as_bytes()) }))
    }

    async fn put(&self, _: &str, _: &str, _: Vec<u8>) -> Result<(), ObjectError> {
        Ok(())
    }
}

async fn head_only(head: &'static str, input_type: &str, max: Option<u64>) -> Outcome {
    let mut config = json!({"InputType": input_type});
    if let Some(n) = max {
        config["MaxItems"] = json!(n);
    }
    let map = dmap(json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": config, "Parameters": {"Bucket": "b", "Key": "k"}}}));
    let def = json!({"StartAt": "M", "States": {"M": map}});
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let engine = Engine::builder().object_store(Arc::new(HeadOnly { head })).build();
    let prepared = engine.prepare(machine, "m").unwrap();
    let req = StartRequest { execution_name: "e".into(), input: json!({}), role_arn: None, input_text: None };
    engine.run(&prepared, req).await.0
}

/// AWS ("ItemReader (Map)", `ReaderConfig.MaxItems`): the reader stops at MaxItems. Streamed, it reads no
/// further than the items it takes: the object's unread rest (here a failing read) is never touched.
#[tokio::test]
async fn max_items_stops_reading_the_object() {
    let o = head_only("{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n", "JSONL", Some(2)).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(o.output, Some(json!([{"n": 1}, {"n": 2}])));
    let o = head_only("[{\"n\":1}, {\"n\":2}, {\"n\"", "JSON", Some(2)).await;
    assert_eq!(o.output, Some(json!([{"n": 1}, {"n": 2}])), "{o:?}");
    let o = head_only("a,b\n1,2\n3,4\n", "CSV", Some(1)).await;
    assert_eq!(o.output, Some(json!([{"a": "1", "b": "2"}])), "{o:?}");
    // Without MaxItems the reader reads to the end: the failing read fails the Map, as S3 would.
    let o = head_only("{\"n\":1}\n", "JSONL", None).await;
    assert_eq!(o.error.as_deref(), Some("States.ItemReaderFailed"));
    assert!(o.cause.unwrap_or_default().contains("read past the head"));
    // The whole array parsed as it is read (and its end checked).
    let o = head_only("[1, 2] trailing", "JSON", None).await;
    assert_eq!(o.error.as_deref(), Some("States.ItemReaderFailed"));
}

/// What an observer of map runs sees (a server answers DescribeMapRun, ListExecutions --map-run-arn and
/// each child's history from it).
#[derive(Default)]
struct Seen {
    runs: Mutex<Vec<Arc<sfn_engine::MapRun>>>,
    children: Mutex<Vec<(sfn_engine::Execution, String)>>,
    ended: Mutex<Vec<sfn_engine::MapRunState>>,
}

impl sfn_engine::MapRunObserver for Seen {
    fn map_run_started(&self, run: &Arc<sfn_engine::MapRun>) {
        self.runs.lock().unwrap().push(run.clone());
    }

    fn child_started(
        &self,
        _: &Arc<sfn_engine::MapRun>,
        child: sfn_engine::Execution,
        input: &str,
        _: usize,
    ) {
        self.children.lock().unwrap().push((child, input.to_owned()));
    }

    fn map_run_ended(&self, run: &Arc<sfn_engine::MapRun>) {
        self.ended.lock().unwrap().push(run.state());
    }
}

/// AWS (API reference: DescribeMapRun, MapRunExecutionCounts, MapRunItemCounts; LocalStack's
/// AWS-validated `test_sfn_api_map_run`): a map run's ARN is `…:mapRun:MACHINE/LABEL:ID`, its children
/// `…:execution:MACHINE/LABEL:ID` with histories of their own, and it counts items and child executions.
#[tokio::test]
async fn map_run_children_are_executions_with_histories_and_counts() {
    let jsonl: String = (0..250).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    let store = Memory::with(&["in", "out"], &[("in", "items.jsonl", &jsonl)]);
    let map = dmap(json!({
        "Label": "Batches",
        "MaxConcurrency": 2,
        "ToleratedFailureCount": 5,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "in", "Key": "items.jsonl"}},
        "ItemBatcher": {"MaxItemsPerBatch": 100},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix": "res"}}
    }));
    let def = json!({"StartAt": "M", "States": {"M": map}});
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let seen = Arc::new(Seen::default());
    let engine = Engine::builder().object_store(store.clone()).map_runs(seen.clone()).build();
    let prepared = engine.prepare(machine, "mach").unwrap();
    let req = StartRequest { execution_name: "e".into(), input: json!({}), role_arn: None, input_text: None };
    let (o, h) = engine.run(&prepared, req).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let runs = seen.runs.lock().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let head = "arn:aws:states:us-east-1:123456789012";
    assert!(run.arn.starts_with(&format!("{head}:mapRun:mach/Batches:")), "{}", run.arn);
    assert_eq!(run.execution_arn, format!("{head}:execution:mach:e"));
    assert_eq!(run.state_machine_arn, format!("{head}:stateMachine:mach/Batches"));
    assert_eq!(o.output.as_ref().unwrap()["MapRunArn"], json!(run.arn));
    // The parent's history names the map run; no iteration event is in it.
    let started = h.events().iter().find(|e| e.event_type() == "MapRunStarted").unwrap().to_json();
    assert_eq!(started["mapRunStartedEventDetails"]["mapRunArn"], json!(run.arn));
    assert!(!types(&h).iter().any(|t| t.starts_with("MapIteration")), "{:?}", types(&h));
    let s = run.state();
    assert_eq!(s.status, sfn_engine::MapRunStatus::Succeeded);
    assert!(s.stop_date.is_some());
    assert_eq!((s.max_concurrency, s.tolerated_failure_count), (2, Some(5.0)));
    let c = sfn_engine::MapRunCounts { succeeded: 3, total: 3, results_written: 3, ..Default::default() };
    assert_eq!(s.executions, c);
    let c =
        sfn_engine::MapRunCounts { succeeded: 250, total: 250, results_written: 250, ..Default::default() };
    assert_eq!(s.items, c);
    assert_eq!(seen.ended.lock().unwrap().len(), 1);
    // Three children, each a finished execution with its own history.
    let children = seen.children.lock().unwrap();
    assert_eq!(children.len(), 3);
    let mut written: Vec<String> = store
        .json("out", &format!("res/{}/SUCCEEDED_0.json", run.arn.rsplit(':').next().unwrap()))
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ExecutionArn"].as_str().unwrap().to_owned())
        .collect();
    written.sort();
    let mut arns: Vec<String> = children.iter().map(|(c, _)| c.arn.clone()).collect();
    arns.sort();
    assert_eq!(written, arns, "the ResultWriter names the children as they ran");
    for (child, input) in children.iter() {
        assert!(child.arn.starts_with(&format!("{head}:execution:mach/Batches:")), "{}", child.arn);
        let out = child.outcome().expect("finished");
        assert_eq!(out.status, ExecutionStatus::Succeeded);
        let events = child.history().events();
        let t: Vec<String> = events.iter().map(|e| e.event_type()).collect();
        assert_eq!(t, ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]);
        let first = events[0].to_json();
        assert_eq!(first["executionStartedEventDetails"]["input"], json!(input));
        assert!(serde_json::from_str::<Value>(input).unwrap()["Items"].is_array());
    }
}

/// A failed child execution is a failed item: with no tolerated failures it fails the map run (AWS:
/// "Setting failure thresholds for Distributed Map states").
#[tokio::test]
async fn a_failing_child_fails_the_map_run_and_counts_as_failed() {
    let map = json!({
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "no"}}
        },
        "End": true
    });
    let def = json!({"StartAt": "M", "States": {"M": map}});
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let seen = Arc::new(Seen::default());
    let engine = Engine::builder().map_runs(seen.clone()).build();
    let prepared = engine.prepare(machine, "mach").unwrap();
    let req =
        StartRequest { execution_name: "e".into(), input: json!([1]), role_arn: None, input_text: None };
    let (o, h) = engine.run(&prepared, req).await;
    assert_eq!(o.error.as_deref(), Some("States.ExceedToleratedFailureThreshold"));
    assert!(types(&h).contains(&"MapRunFailed".to_owned()));
    let run = seen.runs.lock().unwrap()[0].clone();
    assert!(run.express);
    let s = run.state();
    assert_eq!(s.status, sfn_engine::MapRunStatus::Failed);
    assert_eq!((s.executions.failed, s.items.failed, s.executions.results_written), (1, 1, 0));
    let children = seen.children.lock().unwrap();
    // EXPRESS children: `…:express:MACHINE/LABEL:NAME:ID`.
    assert!(children[0].0.arn.contains(":express:mach/M:"), "{}", children[0].0.arn);
    let out = children[0].0.outcome().unwrap();
    assert_eq!((out.status, out.error.as_deref()), (ExecutionStatus::Failed, Some("Boom")));
}

/// `bytes` gzip-compressed, as S3 Inventory writes its CSV files.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// An S3 Inventory `manifest.json` (shape from the Amazon S3 User Guide, "Locating your inventory
/// list"), listing `files` in bucket `inv`.
fn inventory_manifest(format: &str, files: &[&str]) -> String {
    let files: Vec<Value> = files
        .iter()
        .map(|k| json!({"key": k, "size": 100, "MD5checksum": "f11166069f1990abeb9c97ace9cdfabc"}))
        .collect();
    json!({
        "sourceBucket": "src",
        "destinationBucket": "arn:aws:s3:::inv",
        "version": "2016-11-30",
        "creationTimestamp": "1514944800000",
        "fileFormat": format,
        "fileSchema": "Bucket, Key, Size, LastModifiedDate",
        "files": files,
    })
    .to_string()
}

/// A store with bucket `inv` holding `manifest.json` of `format` and the (binary) data `files`.
fn inventory(format: &str, listed: &[&str], files: &[(&str, Vec<u8>)]) -> Arc<Memory> {
    let store = Memory::with(&["inv"], &[("inv", "manifest.json", &inventory_manifest(format, listed))]);
    for (k, body) in files {
        store.objects.lock().unwrap().insert(("inv".to_owned(), (*k).to_owned()), body.clone());
    }
    store
}

fn manifest_reader(max: Option<u64>) -> Value {
    let mut cfg = json!({"InputType": "MANIFEST"});
    if let Some(m) = max {
        cfg["MaxItems"] = json!(m);
    }
    json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": cfg,
        "Parameters": {"Bucket": "inv", "Key": "manifest.json"}})
}

const ROWS_A: &str = "\"src\",\"csvDataset/\",\"0\",\"2022-11-16T00:27:19.000Z\"\n\
                      \"src\",\"csvDataset/titles.csv\",\"3399671\",\"2022-11-16T00:29:32.000Z\"\n";
const ROWS_B: &str = "\"src\",\"imageDataset/n02085620_10074.jpg\",\"27034\",\"2022-11-16T00:32:24.000Z\"\n";

/// AWS ("ItemReader (Map)", S3 inventory manifest, docs.aws.amazon.com/step-functions/latest/dg/
/// input-output-itemreader.html): each inventory row is an item named by the manifest's `fileSchema`,
/// every value a string, the data files read in the manifest's order.
#[tokio::test]
async fn manifest_items_are_inventory_rows_named_by_file_schema() {
    let store = inventory(
        "CSV",
        &["data/a.csv.gz", "data/b.csv.gz"],
        &[("data/a.csv.gz", gzip(ROWS_A.as_bytes())), ("data/b.csv.gz", gzip(ROWS_B.as_bytes()))],
    );
    let (o, _) = run(Some(store), dmap(json!({"ItemReader": manifest_reader(None)})), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(
        o.output,
        Some(json!([
            {"Bucket": "src", "Key": "csvDataset/", "Size": "0", "LastModifiedDate": "2022-11-16T00:27:19.000Z"},
            {"Bucket": "src", "Key": "csvDataset/titles.csv", "Size": "3399671", "LastModifiedDate": "2022-11-16T00:29:32.000Z"},
            {"Bucket": "src", "Key": "imageDataset/n02085620_10074.jpg", "Size": "27034", "LastModifiedDate": "2022-11-16T00:32:24.000Z"},
        ]))
    );
}

/// `MaxItems` counts across the inventory's files, and a file after the last item needed is not opened
/// (here it is missing: reading it would fail the Map). One more item and it is read, and its absence is
/// a located `States.ItemReaderFailed`: the file, the manifest that lists it, S3's error code.
#[tokio::test]
async fn manifest_max_items_stops_before_the_next_file() {
    let store = inventory(
        "CSV",
        &["data/a.csv.gz", "data/gone.csv.gz"],
        &[("data/a.csv.gz", gzip(ROWS_A.as_bytes()))],
    );
    let (o, _) =
        run(Some(store.clone()), dmap(json!({"ItemReader": manifest_reader(Some(2))})), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(o.output.as_ref().map(|v| v.as_array().map(Vec::len)), Some(Some(2)));
    let (e, c) = reader_failure(Some(store), manifest_reader(Some(3))).await;
    assert_eq!(e, "States.ItemReaderFailed");
    assert!(c.contains("s3://inv/data/gone.csv.gz") && c.contains("s3://inv/manifest.json"), "{c}");
    assert!(c.contains("Error Code: NoSuchKey"), "{c}");
}

/// Bad inventories fail the reader with a cause naming the object and what is wrong with it: a manifest
/// that is missing, not JSON, not CSV (AWS: Step Functions reads CSV inventories only), without files; a
/// data file whose gzip stream is cut short; a gzip bomb of one endless line (refused at the line bound,
/// not inflated whole).
#[tokio::test]
async fn bad_inventories_fail_with_located_causes() {
    let full = gzip(ROWS_A.repeat(200).as_bytes());
    let cut = full.get(..full.len() / 2).unwrap().to_vec();
    let bomb = gzip(&vec![b'a'; 4 * 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024, "the bomb is small compressed");
    let cases: Vec<(Arc<Memory>, &[&str])> = vec![
        (Memory::with(&["inv"], &[]), &["s3://inv/manifest.json", "NoSuchKey"]),
        (
            Memory::with(&["inv"], &[("inv", "manifest.json", "{not json")]),
            &["s3://inv/manifest.json", "not valid JSON"],
        ),
        (
            inventory("ORC", &["data/a.orc"], &[]),
            &["s3://inv/manifest.json", "fileFormat is ORC", "CSV format only"],
        ),
        (
            Memory::with(
                &["inv"],
                &[("inv", "manifest.json", r#"{"fileFormat":"CSV","fileSchema":"Bucket, Key"}"#)],
            ),
            &["s3://inv/manifest.json", "no files array"],
        ),
        (
            inventory("CSV", &["data/cut.csv.gz"], &[("data/cut.csv.gz", cut)]),
            &["s3://inv/data/cut.csv.gz", "not valid"],
        ),
        (
            inventory("CSV", &["data/bomb.csv.gz"], &[("data/bomb.csv.gz", bomb)]),
            &["s3://inv/data/bomb.csv.gz", "longer than 1048576 bytes"],
        ),
    ];
    for (store, wanted) in cases {
        let (e, c) = reader_failure(Some(store), manifest_reader(None)).await;
        assert_eq!(e, "States.ItemReaderFailed", "{c}");
        for w in wanted {
            assert!(c.contains(w), "{w:?} not in {c}");
        }
    }
}

/// A Parquet file written with the `parquet` crate's own writer: columns `id` (int64), `name` (an
/// optional UTF-8 string, null on odd ids), `score` (double), `ok` (boolean) and `at` (a UTC timestamp
/// in milliseconds), `groups` row groups of `per_group` rows, compressed with `codec`.
fn parquet_file(groups: usize, per_group: usize, codec: parquet::basic::Compression) -> Vec<u8> {
    use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    let schema = parquet::schema::parser::parse_message_type(
        "message item { required int64 id; optional binary name (STRING); required double score;
         required boolean ok; required int64 at (TIMESTAMP(MILLIS,true)); }",
    )
    .unwrap();
    let props = WriterProperties::builder().set_compression(codec).build();
    let mut buf = Vec::new();
    let mut w = SerializedFileWriter::new(&mut buf, Arc::new(schema), Arc::new(props)).unwrap();
    for g in 0..groups {
        let ids: Vec<i64> = (0..per_group).map(|i| (g * per_group + i) as i64).collect();
        let mut rg = w.next_row_group().unwrap();
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<Int64Type>().write_batch(&ids, None, None).unwrap();
        col.close().unwrap();
        let names: Vec<ByteArray> = ids
            .iter()
            .filter(|i| *i % 2 == 0)
            .map(|i| ByteArray::from(format!("item-{i}").as_str()))
            .collect();
        let defs: Vec<i16> = ids.iter().map(|i| i16::from(*i % 2 == 0)).collect();
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<ByteArrayType>().write_batch(&names, Some(&defs), None).unwrap();
        col.close().unwrap();
        let scores: Vec<f64> = ids.iter().map(|i| *i as f64 + 0.5).collect();
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<DoubleType>().write_batch(&scores, None, None).unwrap();
        col.close().unwrap();
        let oks: Vec<bool> = ids.iter().map(|i| *i % 3 == 0).collect();
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<BoolType>().write_batch(&oks, None, None).unwrap();
        col.close().unwrap();
        let ats: Vec<i64> = ids.iter().map(|i| 1_700_000_000_000 + *i).collect();
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<Int64Type>().write_batch(&ats, None, None).unwrap();
        col.close().unwrap();
        rg.close().unwrap();
    }
    w.close().unwrap();
    buf
}

/// The item [`parquet_file`] writes for `id`.
fn parquet_item(id: i64) -> Value {
    let name = if id % 2 == 0 { json!(format!("item-{id}")) } else { Value::Null };
    json!({"id": id, "name": name, "score": id as f64 + 0.5, "ok": id % 3 == 0, "at": 1_700_000_000_000_i64 + id})
}

fn store_with(bucket: &str, objects: &[(&str, Vec<u8>)]) -> Arc<Memory> {
    let store = Memory::with(&[bucket], &[]);
    for (k, body) in objects {
        store.objects.lock().unwrap().insert((bucket.to_owned(), (*k).to_owned()), body.clone());
    }
    store
}

fn parquet_reader(key: &str, max: Option<u64>) -> Value {
    let mut cfg = json!({"InputType": "PARQUET"});
    if let Some(m) = max {
        cfg["MaxItems"] = json!(m);
    }
    json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": cfg,
        "Parameters": {"Bucket": "b", "Key": key}})
}

/// AWS ("ItemReader (Map)", `InputType: PARQUET`): each row of the file is an item, keyed by column name;
/// values keep their JSON kind (numbers, booleans, strings, null; a timestamp as epoch milliseconds),
/// every row group read in order, whichever codec AWS's writers use (Snappy, GZIP, ZSTD).
#[tokio::test]
async fn parquet_rows_are_items_with_their_types() {
    use parquet::basic::{Compression, GzipLevel, ZstdLevel};
    for codec in [
        Compression::SNAPPY,
        Compression::GZIP(GzipLevel::default()),
        Compression::ZSTD(ZstdLevel::default()),
        Compression::UNCOMPRESSED,
    ] {
        let store = store_with("b", &[("rows.parquet", parquet_file(2, 3, codec))]);
        let (o, _) =
            run(Some(store), dmap(json!({"ItemReader": parquet_reader("rows.parquet", None)})), json!({}))
                .await;
        assert_eq!(o.status, ExecutionStatus::Succeeded, "{codec:?}: {o:?}");
        let want: Vec<Value> = (0..6).map(parquet_item).collect();
        assert_eq!(o.output.unwrap(), Value::Array(want), "{codec:?}");
    }
}

/// An object read only by ranges (no whole `get`), counting the bytes read.
struct RangesOnly {
    body: Arc<Vec<u8>>,
    read: Arc<std::sync::atomic::AtomicU64>,
}

struct Counted {
    body: Arc<Vec<u8>>,
    read: Arc<std::sync::atomic::AtomicU64>,
}

impl sfn_engine::RangedObject for Counted {
    fn size(&self) -> u64 {
        self.body.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.body.as_slice().read_at(offset, buf)?;
        self.read.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// `read_at` over a slice, as `Vec<u8>`'s `RangedObject` does it.
trait SliceAt {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize>;
}

impl SliceAt for &[u8] {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = self.get(offset as usize..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
}

#[async_trait::async_trait]
impl ObjectStore for RangesOnly {
    async fn list(&self, _: &str, _: &str) -> Result<Vec<ObjectInfo>, ObjectError> {
        Ok(Vec::new())
    }

    async fn get(&self, _: &str, _: &str, _: u64) -> Result<Vec<u8>, ObjectError> {
        Err(ObjectError::Other("read whole".into()))
    }

    async fn open_ranged(&self, _: &str, _: &str) -> Result<Arc<dyn sfn_engine::RangedObject>, ObjectError> {
        Ok(Arc::new(Counted { body: self.body.clone(), read: self.read.clone() }))
    }

    async fn put(&self, _: &str, _: &str, _: Vec<u8>) -> Result<(), ObjectError> {
        Ok(())
    }
}

/// A Parquet object is read by ranges, row group by row group, and no further than `MaxItems`: the
/// first of eight large row groups is read, not the file.
#[tokio::test]
async fn parquet_is_read_row_group_by_row_group_up_to_max_items() {
    let body = Arc::new(parquet_file(8, 20_000, parquet::basic::Compression::UNCOMPRESSED));
    let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let store = Arc::new(RangesOnly { body: body.clone(), read: read.clone() });
    let def = json!({"StartAt": "M", "States": {"M": dmap(json!({"ItemReader": parquet_reader("big.parquet", Some(3))}))}});
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let engine = Engine::builder().object_store(store).build();
    let prepared = engine.prepare(machine, "m").unwrap();
    let (o, _) = engine
        .run(
            &prepared,
            StartRequest { execution_name: "e".into(), input: json!({}), role_arn: None, input_text: None },
        )
        .await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(o.output.unwrap(), json!([parquet_item(0), parquet_item(1), parquet_item(2)]));
    let read = read.load(std::sync::atomic::Ordering::Relaxed);
    assert!(read < body.len() as u64 / 4, "read {read} of {} bytes", body.len());
}

/// What is not a readable Parquet file fails the reader with `States.ItemReaderFailed` and a cause, never
/// a panic: not Parquet, a truncated file, a missing key.
#[tokio::test]
async fn bad_parquet_fails_with_item_reader_failed() {
    let good = parquet_file(1, 10, parquet::basic::Compression::SNAPPY);
    let mut torn = good.clone();
    torn.drain(8..40);
    let store = store_with(
        "b",
        &[
            ("magic.parquet", b"PAR1".to_vec()),
            ("text.parquet", b"id,name\n1,a\n".to_vec()),
            ("cut.parquet", good[..good.len() - 12].to_vec()),
            ("torn.parquet", torn),
        ],
    );
    for key in ["magic.parquet", "text.parquet", "cut.parquet", "torn.parquet"] {
        let (e, c) = reader_failure(Some(store.clone()), parquet_reader(key, None)).await;
        assert_eq!(e, "States.ItemReaderFailed", "{key}");
        assert!(c.starts_with("The Parquet object is not valid: "), "{key}: {c}");
    }
    let (e, c) = reader_failure(Some(store), parquet_reader("missing.parquet", None)).await;
    assert_eq!(e, "States.ItemReaderFailed");
    assert!(c.contains("Error Code: NoSuchKey"), "{c}");
}

/// AWS ("ItemReader (Map)", `ManifestType: ATHENA_DATA`): an Athena `UNLOAD` manifest lists the data
/// files, one S3 URI a line; their rows are the items, read with the reader's `InputType` (PARQUET,
/// CSV, JSONL), file after file, no further than `MaxItems`.
#[tokio::test]
async fn athena_manifests_read_their_data_files() {
    let codec = parquet::basic::Compression::SNAPPY;
    let store = store_with(
        "b",
        &[
            ("unload/manifest.csv", b"s3://b/unload/f1.parquet\ns3://b/unload/f2.parquet\n".to_vec()),
            ("unload/f1.parquet", parquet_file(1, 2, codec)),
            ("unload/f2.parquet", parquet_file(1, 2, codec)),
            ("csv/manifest.csv", b"s3://b/csv/a.csv\n\ns3://b/csv/b.csv\n".to_vec()),
            ("csv/a.csv", b"1,x\n2,y\n".to_vec()),
            ("csv/b.csv", b"3,z\n".to_vec()),
            ("bad/manifest.csv", b"s3://b/csv/a.csv\nhttps://example.invalid/x\n".to_vec()),
        ],
    );
    let reader = |key: &str, cfg: Value| {
        json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": cfg,
            "Parameters": {"Bucket": "b", "Key": key}})
    };
    let athena = json!({"ManifestType": "ATHENA_DATA", "InputType": "PARQUET"});
    let (o, _) = run(
        Some(store.clone()),
        dmap(json!({"ItemReader": reader("unload/manifest.csv", athena)})),
        json!({}),
    )
    .await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(
        o.output.unwrap(),
        json!([parquet_item(0), parquet_item(1), parquet_item(0), parquet_item(1)])
    );

    let csv = json!({"ManifestType": "ATHENA_DATA", "InputType": "CSV", "CSVHeaderLocation": "GIVEN",
        "CSVHeaders": ["n", "s"], "MaxItems": 2});
    let (o, _) = run(
        Some(store.clone()),
        dmap(json!({"ItemReader": reader("csv/manifest.csv", csv.clone())})),
        json!({}),
    )
    .await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(o.output.unwrap(), json!([{"n": "1", "s": "x"}, {"n": "2", "s": "y"}]));

    // Past MaxItems a manifest is not read further: the bad line is reached without it.
    let mut whole = csv;
    whole.as_object_mut().unwrap().remove("MaxItems");
    let (e, c) = reader_failure(Some(store.clone()), reader("bad/manifest.csv", whole)).await;
    assert_eq!(e, "States.ItemReaderFailed");
    assert!(c.contains("s3://b/bad/manifest.csv line 2") && c.contains("https://example.invalid/x"), "{c}");
    let (e, c) = reader_failure(
        Some(store),
        reader("unload/manifest.csv", json!({"ManifestType": "ATHENA_DATA", "InputType": "MANIFEST"})),
    )
    .await;
    assert_eq!(e, "States.ItemReaderFailed");
    assert!(c.contains("ATHENA_DATA needs InputType CSV, JSONL or PARQUET"), "{c}");
}

/// Four children for the `WriterConfig` tests: outputs `[1,2]`, `{"a":1}`, a failure, `[[3]]`.
fn writer_config_map(writer: Value) -> (Arc<Memory>, Value) {
    let items = r#"[{"ok":true,"out":[1,2]},{"ok":true,"out":{"a":1}},{"ok":false},{"ok":true,"out":[[3]]}]"#;
    let store = Memory::with(&["b"], &[("b", "i.json", items)]);
    let mut map = dmap(json!({
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b", "Key": "i.json"}},
        "ResultWriter": writer,
        "ToleratedFailureCount": 1
    }));
    map["ItemProcessor"]["StartAt"] = json!("C");
    map["ItemProcessor"]["States"] = json!({
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "P"}], "Default": "F"},
        "P": {"Type": "Pass", "OutputPath": "$.out", "End": true},
        "F": {"Type": "Fail", "Error": "Bad", "Cause": "not ok"}
    });
    (store, map)
}

/// A NONE record of a child: the execution record AWS's "ResultWriter (Map)" page shows.
fn assert_full_record(r: &Value, status: &str) {
    for f in ["ExecutionArn", "Input", "InputDetails", "Name", "RedriveCount", "RedriveStatus", "StartDate"] {
        assert!(r.get(f).is_some(), "{f} in {r}");
    }
    for f in ["StateMachineArn", "StopDate"] {
        assert!(r.get(f).is_some(), "{f} in {r}");
    }
    assert_eq!(r["Status"], status, "{r}");
    match status {
        "SUCCEEDED" => {
            assert!(r["Output"].is_string() && r["OutputDetails"] == json!({"Included": true}), "{r}");
            assert_eq!(r["RedriveStatus"], "NOT_REDRIVABLE");
            assert_eq!(r["RedriveStatusReason"], "Execution is SUCCEEDED and cannot be redriven");
        }
        _ => {
            assert_eq!((&r["Error"], &r["Cause"]), (&json!("Bad"), &json!("not ok")), "{r}");
            assert_eq!(r["Input"], "{\"ok\":false}");
            assert!(r.get("Output").is_none(), "{r}");
        }
    }
}

/// What each `WriterConfig.Transformation` makes of the children's results (AWS: "ResultWriter (Map)",
/// docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html): NONE the execution
/// records, COMPACT the outputs, FLATTEN the outputs with arrays spliced in one level; a failed child
/// stays its execution record under each. `WriterConfig` alone ("Only WriterConfig") gives them as the
/// Map's output and writes nothing.
#[tokio::test]
async fn result_writer_map_page_writer_config_alone_shapes_the_output() {
    for output_type in ["JSON", "JSONL"] {
        for t in ["NONE", "COMPACT", "FLATTEN"] {
            let (store, map) =
                writer_config_map(json!({"WriterConfig": {"Transformation": t, "OutputType": output_type}}));
            let (o, _) = run(Some(store.clone()), map, json!({})).await;
            assert_eq!(o.status, ExecutionStatus::Succeeded, "{t}: {o:?}");
            let out = o.output.unwrap();
            let out = out.as_array().unwrap_or_else(|| panic!("{t} {output_type}: {out}"));
            match t {
                "NONE" => {
                    assert_eq!(out.len(), 4);
                    for (i, r) in out.iter().enumerate() {
                        assert_full_record(r, if i == 2 { "FAILED" } else { "SUCCEEDED" });
                    }
                    assert_eq!(out[0]["Output"], "[1,2]");
                }
                "COMPACT" => {
                    assert_eq!(out.len(), 4);
                    assert_eq!(
                        (&out[0], &out[1], &out[3]),
                        (&json!([1, 2]), &json!({"a": 1}), &json!([[3]]))
                    );
                    assert_full_record(&out[2], "FAILED");
                }
                _ => {
                    assert_eq!(out.len(), 5, "{out:?}");
                    assert_eq!(out[..3], [json!(1), json!(2), json!({"a": 1})]);
                    assert_full_record(&out[3], "FAILED");
                    assert_eq!(out[4], json!([3]), "one level is flattened");
                }
            }
            assert_eq!(store.objects.lock().unwrap().len(), 1, "nothing written: {t} {output_type}");
        }
    }
}

/// With `Resource`, `Parameters` and `WriterConfig` ("All three fields"), the files hold the transformed
/// results: `OutputType: JSON` one array in `SUCCEEDED_0.json` / `FAILED_0.json`, `JSONL` one result a
/// line in `SUCCEEDED_0.jsonl` / `FAILED_0.jsonl`; the manifest names them with their sizes and the Map's
/// output names the manifest (AWS: "ResultWriter (Map)").
#[tokio::test]
async fn result_writer_map_page_writer_config_shapes_the_exported_files() {
    for output_type in ["JSON", "JSONL"] {
        for t in ["NONE", "COMPACT", "FLATTEN"] {
            let (store, map) = writer_config_map(json!({
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "b", "Prefix": "out"},
                "WriterConfig": {"Transformation": t, "OutputType": output_type}
            }));
            let (o, _) = run(Some(store.clone()), map, json!({})).await;
            assert_eq!(o.status, ExecutionStatus::Succeeded, "{t}: {o:?}");
            let out = o.output.unwrap();
            let key = out["ResultWriterDetails"]["Key"].as_str().unwrap().to_owned();
            assert!(key.starts_with("out/") && key.ends_with("/manifest.json"), "{key}");
            let manifest = store.json("b", &key);
            let ext = output_type.to_lowercase();
            let read = |status: &str| -> Vec<Value> {
                let f = &manifest["ResultFiles"][status][0];
                let file = f["Key"].as_str().unwrap();
                assert!(file.ends_with(&format!("/{status}_0.{ext}")), "{file}");
                let objects = store.objects.lock().unwrap();
                let body = objects.get(&("b".to_owned(), file.to_owned())).unwrap();
                assert_eq!(f["Size"], body.len(), "{file}");
                match output_type {
                    "JSON" => serde_json::from_slice::<Vec<Value>>(body).unwrap(),
                    _ => {
                        let text = std::str::from_utf8(body).unwrap();
                        assert!(text.ends_with('\n') && !text.contains("\n\n"), "{text}");
                        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
                    }
                }
            };
            let (ok, failed) = (read("SUCCEEDED"), read("FAILED"));
            assert_eq!(failed.len(), 1);
            assert_full_record(&failed[0], "FAILED");
            match t {
                "NONE" => {
                    assert_eq!(ok.len(), 3);
                    ok.iter().for_each(|r| assert_full_record(r, "SUCCEEDED"));
                }
                "COMPACT" => assert_eq!(ok, [json!([1, 2]), json!({"a": 1}), json!([[3]])]),
                _ => assert_eq!(ok, [json!(1), json!(2), json!({"a": 1}), json!([3])]),
            }
        }
    }
}

/// A ResultWriter without a WriterConfig exports NONE records as a JSON array (AWS: "ResultWriter
/// (Map)": NONE is the default when exporting and WriterConfig is not specified); a WriterConfig that
/// names only one of its fields takes the other's default.
#[tokio::test]
async fn result_writer_map_page_defaults() {
    let (store, map) = writer_config_map(json!({
        "Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b"}
    }));
    let (o, _) = run(Some(store.clone()), map, json!({})).await;
    let key = o.output.unwrap()["ResultWriterDetails"]["Key"].as_str().unwrap().to_owned();
    let manifest = store.json("b", &key);
    let ok = store.json("b", manifest["ResultFiles"]["SUCCEEDED"][0]["Key"].as_str().unwrap());
    ok.as_array().unwrap().iter().for_each(|r| assert_full_record(r, "SUCCEEDED"));
    let (store, map) = writer_config_map(json!({"WriterConfig": {"OutputType": "JSON"}}));
    let (o, _) = run(Some(store), map, json!({})).await;
    assert_eq!(o.output.unwrap()[0], json!([1, 2]), "COMPACT when nothing is exported");
}
