//! Limits enforced where AWS enforces them.

use serde_json::{Value, json};
use sfn_engine::{Engine, EngineConfig, ExecutionStatus, StartRequest};

async fn run_with(
    config: EngineConfig,
    def: serde_json::Value,
    input: serde_json::Value,
) -> sfn_engine::Outcome {
    let engine = Engine::builder().config(config).build();
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "m").unwrap();
    engine
        .run(&prepared, StartRequest { execution_name: "e".into(), input, role_arn: None, input_text: None })
        .await
        .0
}

#[tokio::test(start_paused = true)]
async fn history_limit_fails_the_execution() {
    let def = json!({"StartAt": "Inc", "States": {
        "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Loop"},
        "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericLessThan": 1000, "Next": "Inc"}], "Default": "Done"},
        "Done": {"Type": "Succeed"}}});
    let cfg = EngineConfig { max_history_events: Some(100), ..EngineConfig::default() };
    let o = run_with(cfg, def.clone(), json!({"i": 0})).await;
    assert_eq!(o.status, ExecutionStatus::Failed);
    assert_eq!(o.error.as_deref(), Some("States.Runtime"));
    assert!(o.cause.unwrap().contains("maximum number of history events (100)"));
    let o = run_with(EngineConfig::default(), def, json!({"i": 0})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn payload_limit_is_data_limit_exceeded_and_not_caught_by_states_all() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
        "Branches": [{"StartAt": "Big", "States": {"Big": {"Type": "Pass", "Parameters": {"a.$": "States.ArrayRange(1, 1000, 1)", "b.$": "$.s"}, "End": true}}}]},
        "C": {"Type": "Succeed"}}});
    let cfg = EngineConfig { max_payload_bytes: 1000, ..EngineConfig::default() };
    let o = run_with(cfg, def, json!({"s": "x"})).await;
    assert_eq!(o.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(o.status, ExecutionStatus::Failed);
}

#[tokio::test(start_paused = true)]
async fn wait_states_use_the_virtual_clock() {
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "T"},
        "T": {"Type": "Wait", "TimestampPath": "$.t", "End": true}}});
    let real = std::time::Instant::now();
    let in_300_days = (chrono::Utc::now() + chrono::Duration::days(300)).to_rfc3339();
    let o = run_with(EngineConfig::default(), def, json!({"s": 86400, "t": in_300_days})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded);
    assert!(real.elapsed().as_secs() < 5);
}

#[tokio::test(start_paused = true)]
async fn wait_states_fail_as_aws_does() {
    // A delay beyond 2^31 - 1 seconds fails instead of hanging (LocalStack's AWS-validated
    // `base/test_wait.py::test_timestamp_too_far_in_future_boundary`: 24,855 days ahead is accepted,
    // 24,856 days is not); SecondsPath and TimestampPath failures in LocalStack's AWS wording; a bad
    // JSONata Timestamp is a States.QueryEvaluationError.
    let wait = |w: Value| json!({"StartAt": "W", "States": {"W": w}});
    let fails = |o: &sfn_engine::Outcome, error: &str, cause_ends: &str| {
        assert_eq!(o.status, ExecutionStatus::Failed, "{o:?}");
        assert_eq!(o.error.as_deref(), Some(error), "{o:?}");
        assert!(o.cause.as_deref().unwrap_or_default().ends_with(cause_ends), "{o:?}");
    };
    let days = |n: i64| (chrono::Utc::now() + chrono::Duration::days(n)).format("%Y-%m-%dT%H:%M:%S.000Z");
    let ts = wait(json!({"Type": "Wait", "TimestampPath": "$.t", "End": true}));
    let o = run_with(EngineConfig::default(), ts.clone(), json!({"t": days(24_856).to_string()})).await;
    fails(&o, "States.Runtime", "Wait state delay is too long");
    let by_path = wait(json!({"Type": "Wait", "SecondsPath": "$.s", "End": true}));
    let o = run_with(EngineConfig::default(), by_path.clone(), json!({"s": 2_147_483_648_u64})).await;
    fails(&o, "States.Runtime", "Wait state delay is too long");
    let by_path = wait(json!({"Type": "Wait", "SecondsPath": "$.s", "End": true}));
    let o = run_with(EngineConfig::default(), by_path.clone(), json!({"s": -1})).await;
    fails(&o, "States.Runtime", "The SecondsPath parameter references a negative value: $.s == -1");
    let o = run_with(EngineConfig::default(), by_path, json!({"s": "soon"})).await;
    fails(&o, "States.Runtime", "The SecondsPath parameter cannot be parsed as a long value: $.s == soon");
    let o = run_with(EngineConfig::default(), ts, json!({"t": "tomorrow"})).await;
    fails(
        &o,
        "States.Runtime",
        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.t == tomorrow",
    );
    let ata = json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": "{% $states.input.t %}", "End": true}}});
    let o = run_with(EngineConfig::default(), ata, json!({"t": "tomorrow"})).await;
    fails(&o, "States.QueryEvaluationError", "returned an invalid timestamp: tomorrow");
}

#[tokio::test(start_paused = true)]
async fn wait_states_wait_past_a_year_as_aws_does() {
    // AWS waits 800 days (LocalStack's recording `base/test_wait.py::test_timestamp_too_far_in_future_fails`
    // ends at `WaitStateEntered`, the execution still running) and accepts 24,855 days
    // (`test_timestamp_too_far_in_future_boundary`); the largest `Seconds` a definition may give,
    // 99,999,999, is waited too. On the virtual clock all of them end.
    let days = |n: i64| (chrono::Utc::now() + chrono::Duration::days(n)).format("%Y-%m-%dT%H:%M:%S.000Z");
    let ts = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.t", "End": true}}});
    for n in [800, 24_855] {
        let o = run_with(EngineConfig::default(), ts.clone(), json!({"t": days(n).to_string()})).await;
        assert_eq!(o.status, ExecutionStatus::Succeeded, "{n} days: {o:?}");
    }
    let secs = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 99_999_999, "End": true}}});
    let o = run_with(EngineConfig::default(), secs, json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
}

#[tokio::test(start_paused = true)]
async fn map_over_many_items_is_bounded() {
    // 50,000 items with MaxConcurrency 0: iterations start in bounded waves.
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 0, "End": true,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let items: Vec<u32> = (0..50_000).collect();
    let cfg =
        EngineConfig { max_history_events: None, max_payload_bytes: usize::MAX, ..EngineConfig::default() };
    let o = run_with(cfg, def, json!(items)).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded);
    assert_eq!(o.output.unwrap().as_array().map(Vec::len), Some(50_000));
}

#[tokio::test(start_paused = true)]
async fn bad_paths_and_intrinsics_name_the_state() {
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Pass", "Parameters": {"r.$": "States.ArrayRange(0, 1000000000, 1)"}, "End": true}}});
    let o = run_with(EngineConfig::default(), def, json!({})).await;
    assert_eq!(o.error.as_deref(), Some("States.Runtime"));
    let cause = o.cause.unwrap();
    assert!(
        cause.starts_with("An error occurred while executing the state 'S' (entered at the event id #2)."),
        "{cause}"
    );
    assert!(cause.contains("at most 1000"), "{cause}");
}

/// AWS's own figure, with the default configuration: a state output over 256 KiB fails the execution with
/// `States.DataLimitExceeded`; just under it passes.
#[tokio::test(start_paused = true)]
async fn payload_over_256_kib_is_data_limit_exceeded_by_default() {
    let def = json!({"StartAt": "Double", "States": {
        "Double": {"Type": "Pass", "Parameters": {"a.$": "$.s", "b.$": "$.s"}, "End": true}}});
    // Two copies of 131,072 bytes and the JSON around them: just over 262,144 bytes.
    let o = run_with(EngineConfig::default(), def.clone(), json!({"s": "x".repeat(131_072)})).await;
    assert_eq!(o.status, ExecutionStatus::Failed);
    assert_eq!(o.error.as_deref(), Some("States.DataLimitExceeded"));
    let o = run_with(EngineConfig::default(), def, json!({"s": "x".repeat(131_000)})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
}

/// AWS's own figure, with the default configuration: the execution fails once its history would exceed
/// 25,000 events, and the history holds no more than that.
#[tokio::test(start_paused = true)]
async fn history_over_25000_events_fails_the_execution_by_default() {
    let def = json!({"StartAt": "Inc", "States": {
        "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Loop"},
        "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericLessThan": 100000, "Next": "Inc"}], "Default": "Done"},
        "Done": {"Type": "Succeed"}}});
    let engine = Engine::builder().build();
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "m").unwrap();
    let (o, h) = engine
        .run(
            &prepared,
            StartRequest {
                execution_name: "e".into(),
                input: json!({"i": 0}),
                role_arn: None,
                input_text: None,
            },
        )
        .await;
    assert_eq!(o.status, ExecutionStatus::Failed);
    assert_eq!(o.error.as_deref(), Some("States.Runtime"));
    assert!(o.cause.unwrap().contains("maximum number of history events (25000)"));
    assert_eq!(h.len(), 25_000, "the failure is the 25,000th event");
    assert_eq!(h.events().last().unwrap().event_type(), "ExecutionFailed");
}

/// A Distributed Map that reads items (`ItemReader`) or writes results (`ResultWriter`) on an engine with
/// no object store fails with `States.ItemReaderFailed` / `States.ResultWriterFailed` saying so, instead
/// of running inline over the state input, which would be silently wrong; `ItemBatcher` batches the
/// input's items; an inline Map with those fields fails with `States.Runtime` naming them.
#[tokio::test(start_paused = true)]
async fn distributed_map_fields_without_an_object_store() {
    let processor = json!({"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let reader = json!({"Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
        "Parameters": {"Bucket": "b", "Key": "k.csv"}});
    let writer =
        json!({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "out"}});
    for (error, extra) in [
        ("States.ItemReaderFailed", json!({"ItemReader": reader})),
        ("States.ResultWriterFailed", json!({"ResultWriter": writer})),
        ("States.ItemReaderFailed", json!({"ItemReader": reader, "ResultWriter": writer})),
    ] {
        let mut map = json!({"Type": "Map", "ItemProcessor": processor, "End": true});
        map.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let def = json!({"StartAt": "M", "States": {"M": map}});
        let o = run_with(EngineConfig::default(), def, json!([1, 2, 3])).await;
        assert_eq!(o.status, ExecutionStatus::Failed, "{extra}");
        assert_eq!(o.error.as_deref(), Some(error), "{extra}");
        let cause = o.cause.unwrap();
        assert!(cause.contains("no object store") && cause.contains("--s3 DIR"), "{cause}");
    }
    let batched = json!({"Type": "Map", "ItemProcessor": processor, "End": true,
        "ItemBatcher": {"MaxItemsPerBatch": 2}});
    let o = run_with(
        EngineConfig::default(),
        json!({"StartAt": "M", "States": {"M": batched}}),
        json!([1, 2, 3]),
    )
    .await;
    assert_eq!(o.output, Some(json!([{"Items": [1, 2]}, {"Items": [3]}])));
    let mut inline = json!({"Type": "Map", "ItemProcessor": processor, "End": true, "ItemReader": reader});
    inline["ItemProcessor"]["ProcessorConfig"]["Mode"] = json!("INLINE");
    let o =
        run_with(EngineConfig::default(), json!({"StartAt": "M", "States": {"M": inline}}), json!([1])).await;
    assert_eq!(o.error.as_deref(), Some("States.Runtime"));
    assert!(o.cause.unwrap().contains("uses ItemReader (Distributed Map)"));
    // A distributed Map over the state input runs.
    let def =
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": processor, "End": true}}});
    let o = run_with(EngineConfig::default(), def, json!([1, 2, 3])).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded);
    assert_eq!(o.output, Some(json!([1, 2, 3])));
}

#[tokio::test]
async fn runaway_jsonata_fails_with_query_evaluation_error() {
    // A regular expression that needs the backtracking engine and backtracks exponentially (it runs out
    // of its step budget), and a string of a billion characters (refused before jsonata-rs starts):
    // both `States.QueryEvaluationError` in AWS's wording.
    for (expr, why) in [
        ("$match($states.input.s, /(a+)+\\1$/)", "exceeded its backtracking budget"),
        ("$pad('', 1e9)", "at most 1048576 are allowed in one string"),
    ] {
        let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "Output": format!("{{% {expr} %}}"), "End": true}}});
        let start = std::time::Instant::now();
        let o = run_with(EngineConfig::default(), def, json!({"s": format!("{}!", "a".repeat(5000))})).await;
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "{expr}: {:?}", start.elapsed());
        assert_eq!(o.status, ExecutionStatus::Failed, "{expr}");
        assert_eq!(o.error.as_deref(), Some("States.QueryEvaluationError"), "{expr}");
        let cause = o.cause.unwrap();
        let prefix = format!(
            "The JSONata expression '{expr}' specified for the field 'Output' threw an error during evaluation."
        );
        assert!(cause.contains(&prefix) && cause.contains(why), "{cause}");
    }
    // Without the back-reference the pattern runs on the linear-time engine: it answers (issue 16's freeze).
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": "{% $count($match($states.input.s, /(a+)+$/)) %}", "End": true}}});
    let o = run_with(EngineConfig::default(), def, json!({"s": format!("{}!", "a".repeat(5000))})).await;
    assert_eq!((o.status, o.output), (ExecutionStatus::Succeeded, Some(json!(0))));
}
