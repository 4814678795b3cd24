//! 1,000 concurrent executions on one server: each runs a 3-second `.sync` ECS task on the simulator,
//! so all of them are running at once; every one succeeds, with one task each, and none is left running.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Semaphore;

use crate::{TestServer, ok};

const EXECUTIONS: usize = 1000;
/// Requests in flight at once (each on its own connection).
const CLIENTS: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_thousand_concurrent_executions() {
    let s = TestServer::start().await;
    let def = json!({"StartAt": "Run", "States": {"Run": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {"Cluster": "default", "TaskDefinition": "slow"}, "ResultSelector": {"exit.$": "$.Containers[0].ExitCode"}, "End": true}}});
    let machine = s.create("concurrent", &def).await;
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(CLIENTS));
    let mut starts = Vec::new();
    for i in 0..EXECUTIONS {
        let (gate, addr, machine) = (gate.clone(), s.addr, machine.clone());
        starts.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let body = json!({"stateMachineArn": machine, "name": format!("e{i}"), "input": format!("{{\"i\": {i}}}")});
            ok(addr, "StartExecution", body).await["executionArn"].as_str().unwrap().to_owned()
        }));
    }
    let mut arns = Vec::new();
    for h in starts {
        arns.push(h.await.unwrap());
    }
    let start_s = started.elapsed().as_secs_f64();
    let peak = s.sim.running_tasks().len();
    assert!(peak >= EXECUTIONS / 2, "only {peak} tasks were running at once");

    let mut waits = Vec::new();
    for arn in &arns {
        let (gate, addr, arn) = (gate.clone(), s.addr, arn.clone());
        waits.push(tokio::spawn(async move {
            loop {
                let d = {
                    let _permit = gate.acquire().await.unwrap();
                    ok(addr, "DescribeExecution", json!({"executionArn": arn})).await
                };
                if d["status"] != "RUNNING" {
                    return d;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }));
    }
    for h in waits {
        let d = h.await.unwrap();
        assert_eq!(
            (d["status"].as_str(), d["output"].as_str()),
            (Some("SUCCEEDED"), Some("{\"exit\":0}")),
            "{d}"
        );
    }
    let total_s = started.elapsed().as_secs_f64();
    assert_eq!(arns.iter().collect::<std::collections::HashSet<_>>().len(), EXECUTIONS);
    assert_eq!(s.sim.counters.run_task.load(Ordering::Relaxed), EXECUTIONS as u64, "one RunTask each");
    assert!(s.sim.running_tasks().is_empty(), "orphaned tasks");
    let listed = ok(
        s.addr,
        "ListExecutions",
        json!({"stateMachineArn": machine, "statusFilter": "SUCCEEDED", "maxResults": 1000}),
    )
    .await;
    assert_eq!(listed["executions"].as_array().unwrap().len(), EXECUTIONS);
    let c = &s.sim.counters;
    println!(
        "concurrency: {EXECUTIONS} executions started in {start_s:.2} s, all SUCCEEDED after {total_s:.2} s \
         (3 s tasks); peak {peak} tasks running; {} DescribeTasks calls, at most {} ARNs each",
        c.describe_tasks.load(Ordering::Relaxed),
        c.max_arns_per_call.load(Ordering::Relaxed)
    );
    s.stop().await;
}
