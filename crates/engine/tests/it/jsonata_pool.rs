//! JSONata evaluation runs off the async workers and a stopped execution does not wait for it
//! (issue 16, item 3: "one JSONata regex freezes the API … StopExecution cannot end it").
//!
//! The spinning expression runs about a second (debug build) before it reaches the memory bound
//! (`sfn_path::jsonata::MAX_EVALUATION_BYTES`); 200 of them queue on the pool's threads for far longer
//! than the test waits, unless stopped (queued evaluations are then skipped, running ones cancelled at
//! their next step). The assertions are on behaviour: a plain execution started while many spin
//! succeeds, and every spinning execution ends ABORTED — waited for with a bound far under the time
//! the queued evaluations take, so an engine that evaluated on its workers (or waited for the
//! evaluations when stopped) would fail the test instead of passing it late.

use std::time::Duration;

use serde_json::json;
use sfn_engine::{Engine, ExecutionStatus, StartRequest};

/// As many spinning executions as practical on a shared 2-core machine.
const SPINNING: usize = 200;

fn start(engine: &Engine, prepared: &sfn_engine::Prepared, name: String) -> sfn_engine::Execution {
    engine.start(
        prepared,
        StartRequest { execution_name: name, input: json!({}), role_arn: None, input_text: None },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_jsonata_leaves_the_engine_answering_and_stops_at_once() {
    let engine = Engine::builder().build();
    let spin = sfn_asl::parse(
        br#"{"QueryLanguage": "JSONata", "StartAt": "Spin", "States": {"Spin": {"Type": "Pass",
            "Output": "{% $count($filter([1..1000000], function($v) { $v % 7 = 3 and $v < 0 })) %}", "End": true}}}"#,
    )
    .unwrap();
    let spin = engine.prepare(spin, "spin").unwrap();
    let plain = sfn_asl::parse(
        br#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": true}, "End": true}}}"#,
    )
    .unwrap();
    let plain = engine.prepare(plain, "plain").unwrap();

    let spinning: Vec<_> = (0..SPINNING).map(|i| start(&engine, &spin, format!("spin-{i}"))).collect();
    // Let the spinning executions reach their evaluation.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(spinning.iter().all(|e| e.outcome().is_none()), "the spinning executions are still running");

    // The workers are free: a plain execution runs to its end meanwhile.
    let done =
        tokio::time::timeout(Duration::from_secs(5), start(&engine, &plain, "plain".into()).wait()).await;
    let done = done.expect("a plain execution finishes while JSONata spins");
    assert_eq!(done.status, ExecutionStatus::Succeeded);

    for e in &spinning {
        e.stop();
    }
    for e in &spinning {
        let outcome = tokio::time::timeout(Duration::from_secs(5), e.wait())
            .await
            .expect("a stopped execution ends without waiting for its evaluation's bound");
        assert_eq!(outcome.status, ExecutionStatus::Aborted, "{:?}", outcome.cause);
    }
}
