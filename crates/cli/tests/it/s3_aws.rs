//! `sfn run --s3 aws` and `sfn serve --s3 aws` end to end against `moto_server` (S3 on an ephemeral
//! port, through `AWS_ENDPOINT_URL_S3`): a Distributed Map reads a JSONL object and a listed prefix (more
//! than one ListObjectsV2 page) and its ResultWriter writes the manifest and results back to the bucket.
//! Skipped without moto (`SFN_TEST_PYTHON`, else `.venv`, else `python3`); `SFN_REQUIRE_MOTO=1` (CI)
//! fails instead.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{root, temp_file};

/// Python that can import `moto.server` and `boto3`, or `None` (skipped) unless `SFN_REQUIRE_MOTO=1`.
fn moto_python() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("SFN_TEST_PYTHON").map(std::path::PathBuf::from).unwrap_or_else(|| {
        let venv = root().join(".venv/bin/python");
        if venv.exists() { venv } else { "python3".into() }
    });
    let ok = Command::new(&python)
        .args(["-c", "import moto, moto.server, boto3"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var("SFN_REQUIRE_MOTO").as_deref() != Ok("1"),
        "{} cannot import moto.server and boto3: `pip install 'moto[server]>=5.2.5'`",
        python.display()
    );
    eprintln!("s3_aws_end_to_end: SKIPPED ({} has no moto.server)", python.display());
    None
}

/// `moto_server` on an ephemeral port, killed when dropped.
struct Moto(std::process::Child, u16);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto(python: &std::path::Path) -> Moto {
    start_moto_with(python, &[])
}

/// `moto_server` with these environment variables (e.g. `INITIAL_NO_AUTH_ACTION_COUNT`, after which it
/// checks every request's credentials and IAM policies).
fn start_moto_with(python: &std::path::Path, env: &[(&str, &str)]) -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(python)
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto(child, port);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

/// The environment that points the AWS SDK (sfn's and boto3's) at moto.
fn aws_env(cmd: &mut Command, port: u16) -> &mut Command {
    cmd.env("AWS_ENDPOINT_URL_S3", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_SESSION_TOKEN")
}

/// Runs a boto3 script (its `s3` client is moto's); returns what it printed.
fn boto3(python: &std::path::Path, port: u16, script: &str) -> String {
    let prelude = "import boto3, json, os\n\
                   s3 = boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL_S3'])\n";
    let o = aws_env(Command::new(python).args(["-c", &format!("{prelude}{script}")]), port).output().unwrap();
    assert!(o.status.success(), "boto3: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn run_aws(port: u16, machine: &Value) -> (Option<i32>, Value) {
    run_aws_as(port, machine, None)
}

/// [`run_aws`] with these credentials (access key id, secret) instead of moto's defaults.
fn run_aws_as(port: u16, machine: &Value, keys: Option<(&str, &str)>) -> (Option<i32>, Value) {
    let def = temp_file("s3aws.asl.json", &machine.to_string());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sfn"));
    aws_env(&mut cmd, port);
    if let Some((id, secret)) = keys {
        cmd.env("AWS_ACCESS_KEY_ID", id).env("AWS_SECRET_ACCESS_KEY", secret);
    }
    let o = cmd.args(["run", def.to_str().unwrap(), "--s3", "aws", "--format", "json"]).output().unwrap();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("no JSON: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code(), v)
}

fn dmap(reader: Value) -> Value {
    json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map",
        "ItemReader": reader,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": true}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix": "results"}},
        "End": true}}})
}

#[test]
fn s3_aws_end_to_end() {
    let Some(python) = moto_python() else { return };
    let moto = start_moto(&python);
    let port = moto.1;
    boto3(
        &python,
        port,
        "s3.create_bucket(Bucket='items'); s3.create_bucket(Bucket='out')\n\
         body = ''.join(json.dumps({'id': i}) + '\\n' for i in range(25))\n\
         s3.put_object(Bucket='items', Key='items.jsonl', Body=body.encode())\n\
         for i in range(1005): s3.put_object(Bucket='items', Key='many/%04d' % i, Body=b'x' * (i % 7))\n",
    );

    // JSONL through GetObject; the ResultWriter's manifest and results back in the bucket.
    let (code, v) = run_aws(
        port,
        &dmap(json!({"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "items", "Key": "items.jsonl"}})),
    );
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let details = &v["output"]["ResultWriterDetails"];
    assert_eq!(details["Bucket"], "out");
    let manifest_key = details["Key"].as_str().unwrap();
    assert!(
        manifest_key.starts_with("results/") && manifest_key.ends_with("/manifest.json"),
        "{manifest_key}"
    );
    let manifest: Value = serde_json::from_str(&boto3(
        &python,
        port,
        &format!("print(s3.get_object(Bucket='out', Key='{manifest_key}')['Body'].read().decode())"),
    ))
    .unwrap();
    assert_eq!(manifest["MapRunArn"], v["output"]["MapRunArn"]);
    let file = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"].as_str().unwrap();
    assert!(file.ends_with("/SUCCEEDED_0.json"), "{file}");
    let results: Vec<Value> = serde_json::from_str(&boto3(
        &python,
        port,
        &format!("print(s3.get_object(Bucket='out', Key='{file}')['Body'].read().decode())"),
    ))
    .unwrap();
    assert_eq!(results.len(), 25, "one child execution per item");
    let mut ids: Vec<i64> = results
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(r["Output"].as_str().unwrap()).unwrap()["id"].as_i64().unwrap()
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..25).collect::<Vec<_>>());

    // ListObjectsV2 over a prefix of 1005 objects: two pages, every object once, as S3 lists them.
    let (code, v) = run_aws(
        port,
        &dmap(json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
            "Parameters": {"Bucket": "items", "Prefix": "many/"}})),
    );
    assert_eq!(code, Some(0), "{v}");
    let manifest: Value = serde_json::from_str(&boto3(
        &python,
        port,
        &format!(
            "print(s3.get_object(Bucket='out', Key='{}')['Body'].read().decode())",
            v["output"]["ResultWriterDetails"]["Key"].as_str().unwrap()
        ),
    ))
    .unwrap();
    let file = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"].as_str().unwrap();
    let results: Vec<Value> = serde_json::from_str(&boto3(
        &python,
        port,
        &format!("print(s3.get_object(Bucket='out', Key='{file}')['Body'].read().decode())"),
    ))
    .unwrap();
    assert_eq!(results.len(), 1005);
    let items: Vec<Value> =
        results.iter().map(|r| serde_json::from_str(r["Input"].as_str().unwrap()).unwrap()).collect();
    let mut keys: Vec<&str> = items.iter().map(|i| i["Key"].as_str().unwrap()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 1005);
    let third = items.iter().find(|i| i["Key"] == "many/0003").unwrap();
    assert_eq!(third["Size"], 3);
    assert_eq!(third["StorageClass"], "STANDARD");
    // "\"md5\"", as S3 gives a single-part object's ETag.
    assert_eq!(third["Etag"], "\"f561aaf6ef0bf14d4208bb46a4ccb3ad\"", "{third}");

    // What S3 refuses: a missing key, a missing bucket.
    let missing = |bucket: &str| {
        dmap(json!({"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": bucket, "Key": "nothing.jsonl"}}))
    };
    let (code, v) = run_aws(port, &missing("items"));
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["error"], "States.ItemReaderFailed");
    assert!(v["cause"].as_str().unwrap().contains("Error Code: NoSuchKey"), "{v}");
    let (_, v) = run_aws(port, &missing("no-such-bucket"));
    assert_eq!(v["error"], "States.ItemReaderFailed");
    assert!(v["cause"].as_str().unwrap().contains("Error Code: NoSuchBucket"), "{v}");

    // `sfn serve --s3 aws`: the same map through the API (boto3's Step Functions client).
    let mut serve = aws_env(
        Command::new(env!("CARGO_BIN_EXE_sfn")).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-console",
            "--s3",
            "aws",
        ]),
        port,
    )
    .stderr(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    let url = {
        use std::io::BufRead as _;
        let mut lines = std::io::BufReader::new(serve.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("sfn serve ended before listening").unwrap();
            if let Some(u) = line.strip_prefix("sfn serve: listening on ") {
                break u.trim().to_owned();
            }
        };
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        url
    };
    let definition = dmap(json!({"Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "items", "Key": "items.jsonl"}}));
    let script = format!(
        "import time\n\
         sfn = boto3.client('stepfunctions', endpoint_url='{url}', region_name='us-east-1')\n\
         arn = sfn.create_state_machine(name='s3aws', definition={definition:?}, \
             roleArn='arn:aws:iam::123456789012:role/sfn')['stateMachineArn']\n\
         e = sfn.start_execution(stateMachineArn=arn, input='{{}}')['executionArn']\n\
         for _ in range(300):\n    d = sfn.describe_execution(executionArn=e)\n    \
             if d['status'] != 'RUNNING': break\n    time.sleep(0.1)\n\
         print(json.dumps({{'status': d['status'], 'output': json.loads(d.get('output', 'null'))}}))",
        definition = definition.to_string()
    );
    let served: Value = serde_json::from_str(&boto3(&python, port, &script)).unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(served["status"], "SUCCEEDED", "{served}");
    let key = served["output"]["ResultWriterDetails"]["Key"].as_str().unwrap();
    let manifest: Value = serde_json::from_str(&boto3(
        &python,
        port,
        &format!("print(s3.get_object(Bucket='out', Key='{key}')['Body'].read().decode())"),
    ))
    .unwrap();
    assert_eq!(
        manifest["ResultFiles"]["SUCCEEDED"][0]["Key"].as_str().map(|k| k.ends_with("SUCCEEDED_0.json")),
        Some(true)
    );
    drop(moto);
}

/// What S3 refuses for want of permission, as the execution sees it: a reader whose role may not read
/// fails the Map with `States.ItemReaderFailed`, a writer that may not write with
/// `States.ResultWriterFailed`, each with S3's `AccessDenied` (403) in the cause; credentials S3 does not
/// know fail the reader with S3's own code (`InvalidAccessKeyId`, 403). moto checks IAM once its first
/// unauthenticated requests (the set-up) are spent (`INITIAL_NO_AUTH_ACTION_COUNT`).
#[test]
fn s3_aws_access_denied() {
    let Some(python) = moto_python() else { return };
    let moto = start_moto_with(&python, &[("INITIAL_NO_AUTH_ACTION_COUNT", "6")]);
    let port = moto.1;
    // Six requests: the buckets, the object, a user allowed only s3:GetObject on `locked/*`, its keys.
    let keys: Value = serde_json::from_str(&boto3(
        &python,
        port,
        "iam = boto3.client('iam', endpoint_url=os.environ['AWS_ENDPOINT_URL_S3'], region_name='us-east-1')\n\
         s3.create_bucket(Bucket='locked'); s3.create_bucket(Bucket='out')\n\
         s3.put_object(Bucket='locked', Key='items.jsonl', Body=b'{\"a\": 1}\\n')\n\
         iam.create_user(UserName='reader')\n\
         iam.put_user_policy(UserName='reader', PolicyName='read', PolicyDocument=json.dumps({'Version': \
             '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:GetObject', \
             'Resource': 'arn:aws:s3:::locked/*'}]}))\n\
         k = iam.create_access_key(UserName='reader')['AccessKey']\n\
         print(json.dumps([k['AccessKeyId'], k['SecretAccessKey']]))",
    ))
    .unwrap();
    let keys = Some((keys[0].as_str().unwrap(), keys[1].as_str().unwrap()));
    let jsonl = json!({"Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "locked", "Key": "items.jsonl"}});
    let listed = json!({"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "locked"}});

    // Listing is not allowed: the reader fails.
    let (code, v) = run_aws_as(port, &dmap(listed), keys);
    assert_eq!((code, v["error"].as_str()), (Some(1), Some("States.ItemReaderFailed")), "{v}");
    let cause = v["cause"].as_str().unwrap();
    assert!(cause.contains("Status Code: 403, Error Code: AccessDenied"), "{cause}");
    // Reading is; writing the results is not: the writer fails.
    let (code, v) = run_aws_as(port, &dmap(jsonl.clone()), keys);
    assert_eq!((code, v["error"].as_str()), (Some(1), Some("States.ResultWriterFailed")), "{v}");
    let cause = v["cause"].as_str().unwrap();
    assert!(cause.contains("Status Code: 403, Error Code: AccessDenied"), "{cause}");
    // Credentials S3 does not know.
    let (_, v) = run_aws_as(port, &dmap(jsonl), Some(("AKIAUNKNOWN0000000000", "nope")));
    assert_eq!(v["error"], "States.ItemReaderFailed", "{v}");
    let cause = v["cause"].as_str().unwrap();
    assert!(cause.contains("Status Code: 403, Error Code: InvalidAccessKeyId"), "{cause}");
    drop(moto);
}

/// `InputType: PARQUET` on `--s3 aws` reads the object by ranges (HeadObject, then ranged GetObject; AWS:
/// "ItemReader (Map)"): every row an item, `MaxItems` honoured; a missing Parquet key keeps S3's
/// `NoSuchKey` though HeadObject's 404 names none. `items.parquet`: 3 row groups of 4 rows (`id` 0..12,
/// `name` `item-ID` on even ids, `score` id + 0.5, `ok`, `at`), written with the `parquet` crate.
#[test]
fn s3_aws_parquet_by_ranged_reads() {
    let Some(python) = moto_python() else { return };
    let moto = start_moto(&python);
    let port = moto.1;
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/items.parquet");
    boto3(
        &python,
        port,
        &format!(
            "s3.create_bucket(Bucket='items'); s3.create_bucket(Bucket='out')\n\
             s3.put_object(Bucket='items', Key='t/items.parquet', Body=open('{}', 'rb').read())\n",
            fixture.display()
        ),
    );
    let reader = |key: &str| {
        let mut m = dmap(json!({"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "PARQUET", "MaxItems": 6}, "Parameters": {"Bucket": "items", "Key": key}}));
        m["States"]["Each"]["ResultWriter"] =
            json!({"WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSON"}});
        m
    };
    let (code, v) = run_aws(port, &reader("t/items.parquet"));
    assert_eq!(code, Some(0), "{v}");
    let out = v["output"].as_array().unwrap_or_else(|| panic!("{v}"));
    let ids: Vec<i64> = out.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4, 5]);
    assert_eq!(out[2]["name"], "item-2");
    assert_eq!(out[3]["name"], Value::Null);
    assert_eq!(out[3]["score"], 3.5);
    let (code, v) = run_aws(port, &reader("t/missing.parquet"));
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["error"], "States.ItemReaderFailed");
    assert!(v["cause"].as_str().unwrap().contains("Error Code: NoSuchKey"), "{v}");
}
