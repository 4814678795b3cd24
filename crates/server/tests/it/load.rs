//! A bounded load test on loopback: N clients (Rust SDK) × M (StartExecution + DescribeExecution), in memory
//! and journaled; no errors allowed, figures printed. Small by default (CI); `SFN_LOAD_CLIENTS` and
//! `SFN_LOAD_REQUESTS` scale it (run with `--release --nocapture` for figures worth quoting).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::sdk::client;
use crate::{ROLE, TestServer, pass_machine, temp_dir};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn load(label: &str, s: &TestServer) {
    let clients = env_or("SFN_LOAD_CLIENTS", 4);
    let per_client = env_or("SFN_LOAD_REQUESTS", 50);
    let setup = client(&s.url());
    let arn = setup
        .create_state_machine()
        .name("load")
        .definition(pass_machine().to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_owned();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let sdk = client(&s.url());
        let arn = arn.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let t = Instant::now();
                let e = sdk
                    .start_execution()
                    .state_machine_arn(&arn)
                    .name(format!("c{c}-{i}"))
                    .input("{\"n\": 1}")
                    .send()
                    .await
                    .expect("StartExecution");
                let d =
                    sdk.describe_execution().execution_arn(e.execution_arn()).send().await.expect("Describe");
                assert_eq!(d.name(), Some(format!("c{c}-{i}").as_str()));
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let pairs = latencies.len();
    eprintln!(
        "load ({label}): {clients} clients x {per_client} = {pairs} StartExecution+DescribeExecution in {:.0} ms: {:.0} pairs/s, p50 {:.2} ms, p99 {:.2} ms, 0 errors",
        elapsed.as_secs_f64() * 1000.0,
        pairs as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
    );
    // Every execution is listed.
    let mut listed = 0;
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"stateMachineArn": arn, "maxResults": 1000});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = s.ok("ListExecutions", body).await;
        listed += page["executions"].as_array().unwrap().len();
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(listed, pairs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_in_memory() {
    let s = TestServer::start().await;
    load("in memory", &s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_journaled() {
    let dir = temp_dir("load");
    let s = TestServer::start_with(Some(dir.clone())).await;
    load("journaled", &s).await;
    s.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
