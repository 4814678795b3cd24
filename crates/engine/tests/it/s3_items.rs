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
