//! History of Pass / Choice / Map / Parallel runs: AWS's event types in AWS's order, with ids and
//! previous ids (snapshots taken on a fixed virtual clock, so they are stable).

use serde_json::{Value, json};
use sfn_engine::{Clock, Engine, StartRequest};

async fn history(def: Value, input: Value) -> Vec<Value> {
    let start =
        chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
    let engine = Engine::builder().clock(Clock::starting_at(start)).build();
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "machine").unwrap();
    let (_, h) = engine
        .run(
            &prepared,
            StartRequest { execution_name: "exec".into(), input, role_arn: None, input_text: None },
        )
        .await;
    h.events().iter().map(sfn_engine::Event::to_json).collect()
}

fn shape(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| format!("{} {} <- {}", e["id"], e["type"].as_str().unwrap(), e["previousEventId"]))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn pass_and_choice() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Result": {"x": 1}, "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "S"}]},
        "S": {"Type": "Succeed"}}});
    let ev = history(def, json!({})).await;
    insta::assert_json_snapshot!("pass_choice_events", ev);
}

#[tokio::test(start_paused = true)]
async fn map_and_parallel_order() {
    let def = json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "MaxConcurrency": 1, "Next": "P",
              "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}},
        "P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}]}}});
    let ev = history(def, json!([1, 2])).await;
    insta::assert_snapshot!("map_parallel_shape", shape(&ev).join("\n"));
    // Wall-clock independent: the ExecutionStarted timestamp is the fixed clock's start.
    assert_eq!(ev[0]["timestamp"], json!(1704067200.0));
}

#[tokio::test(start_paused = true)]
async fn failing_state_ends_with_execution_failed() {
    let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}});
    let ev = history(def, json!({})).await;
    // The first state follows the root, as ExecutionStarted does (AWS: every recorded history, e.g.
    // `assign/test_assign_reference_variables__test_reference_assign__BASE_REFERENCE_IN_FAIL`).
    assert_eq!(shape(&ev), ["1 ExecutionStarted <- 0", "2 FailStateEntered <- 0", "3 ExecutionFailed <- 2"]);
    assert_eq!(ev[2]["executionFailedEventDetails"], json!({"error": "E", "cause": "C"}));
}

/// Every `…StateEntered` input and `…StateExited` output text of a history, by state name.
fn texts(events: &[Value]) -> Vec<(String, String, String)> {
    events
        .iter()
        .filter_map(|e| {
            let (d, field) = match (&e["stateEnteredEventDetails"], &e["stateExitedEventDetails"]) {
                (Value::Object(_), _) => (&e["stateEnteredEventDetails"], "input"),
                (_, Value::Object(_)) => (&e["stateExitedEventDetails"], "output"),
                _ => return None,
            };
            Some((d["name"].as_str()?.to_owned(), field.to_owned(), d[field].as_str()?.to_owned()))
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn states_that_pass_their_input_through_show_it_as_entered_and_exited() {
    // The caller's text goes on verbatim while states pass the value through unchanged (Choice, Wait,
    // Pass with ResultPath null), as AWS keeps `[[1, 2, 3], [4, 5, 6]]` through a Pass state in
    // `scenarios/test_base_scenarios__test_parallel_state_nested`; a state that builds its output (P), or
    // selects its input (Q), shows the engine's compact JSON of the value.
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$[0]", "NumericEquals": 1, "Next": "W"}]},
        "W": {"Type": "Wait", "Seconds": 1, "Next": "N"},
        "N": {"Type": "Pass", "Parameters": {"ignored.$": "$[1]"}, "ResultPath": null, "Next": "P"},
        "P": {"Type": "Pass", "Parameters": {"a.$": "$[1]", "b": "x y"}, "Next": "Q"},
        "Q": {"Type": "Pass", "InputPath": "$.b", "ResultPath": null, "End": true}}});
    let start =
        chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
    let engine = Engine::builder().clock(Clock::starting_at(start)).build();
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "machine").unwrap();
    let request = StartRequest {
        execution_name: "exec".into(),
        input: json!([1, {"k": "v"}]),
        role_arn: None,
        input_text: Some("[1, {\"k\": \"v\"}]".into()),
    };
    let (_, h) = engine.run(&prepared, request).await;
    let ev: Vec<Value> = h.events().iter().map(sfn_engine::Event::to_json).collect();
    let t = |name: &str, field: &str, text: &str| (name.to_owned(), field.to_owned(), text.to_owned());
    let array = r#"[1, {"k": "v"}]"#;
    // The template's constant first, then its `.$` field, as AWS builds it (sfn-path's `java_order`).
    let object = r#"{"b":"x y","a":{"k":"v"}}"#;
    assert_eq!(
        texts(&ev),
        [
            t("C", "input", array),
            t("C", "output", array),
            t("W", "input", array),
            t("W", "output", array),
            t("N", "input", array),
            t("N", "output", array),
            t("P", "input", array),
            t("P", "output", object),
            t("Q", "input", object),
            t("Q", "output", object),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn parallel_branches_keep_the_callers_text_as_aws_records() {
    // `scenarios/test_base_scenarios__test_parallel_state_nested` (AWS's recording): the caller's
    // `[[1, 2, 3], [4, 5, 6]]` is every branch's input and a Pass state's output, spaces and all, and each
    // Parallel's output is the array of its branches' texts, up to `ExecutionSucceeded`.
    let branch = |states: Value, start: &str| json!({"StartAt": start, "States": states});
    let inner = branch(json!({"BranchL2": {"Type": "Pass", "End": true}}), "BranchL2");
    let l2 = json!({"ParallelStateL2": {"Type": "Parallel", "End": true, "Branches": [inner]}});
    let def = json!({"StartAt": "ParallelStateL1", "States": {"ParallelStateL1": {"Type": "Parallel",
        "End": true, "Branches": [branch(l2, "ParallelStateL2")]}}});
    let caller = "[[1, 2, 3], [4, 5, 6]]";
    let ev = run_text(def, caller).await;
    let t = |name: &str, field: &str, text: &str| (name.to_owned(), field.to_owned(), text.to_owned());
    assert_eq!(
        texts(&ev),
        [
            t("ParallelStateL1", "input", caller),
            t("ParallelStateL2", "input", caller),
            t("BranchL2", "input", caller),
            t("BranchL2", "output", caller),
            t("ParallelStateL2", "output", "[[[1, 2, 3], [4, 5, 6]]]"),
            t("ParallelStateL1", "output", "[[[[1, 2, 3], [4, 5, 6]]]]"),
        ]
    );
    let last = ev.last().unwrap();
    assert_eq!(last["type"], "ExecutionSucceeded");
    assert_eq!(last["executionSucceededEventDetails"]["output"], "[[[[1, 2, 3], [4, 5, 6]]]]");

    // What selects or builds a value shows the engine's JSON of it: Parameters (a branch's input),
    // ResultSelector and ResultPath (the Parallel's output).
    let two = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Next": "S",
        "Branches": [branch(json!({"A": {"Type": "Pass", "End": true}}), "A"),
                     branch(json!({"B": {"Type": "Pass", "Result": [1,  2], "End": true}}), "B")]},
        "S": {"Type": "Parallel", "Parameters": {"v.$": "$[0]"}, "ResultPath": "$[1]", "End": true,
        "Branches": [branch(json!({"C": {"Type": "Pass", "End": true}}), "C")]}}});
    let ev = run_text(two, "[1, 2]").await;
    // The branches run concurrently: their events in any order.
    let mut got = texts(&ev);
    got[1..5].sort();
    assert_eq!(
        got,
        [
            t("P", "input", "[1, 2]"),
            t("A", "input", "[1, 2]"),
            t("A", "output", "[1, 2]"),
            t("B", "input", "[1, 2]"),
            t("B", "output", "[1,2]"),
            t("P", "output", "[[1, 2],[1,2]]"),
            t("S", "input", "[[1, 2],[1,2]]"),
            t("C", "input", r#"{"v":[1,2]}"#),
            t("C", "output", r#"{"v":[1,2]}"#),
            t("S", "output", r#"[[1,2],[{"v":[1,2]}]]"#),
        ]
    );
}

/// The history of one run of `def` on `text`, the caller's input text.
async fn run_text(def: Value, text: &str) -> Vec<Value> {
    let engine = Engine::builder().build();
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "machine").unwrap();
    let input: Value = serde_json::from_str(text).unwrap();
    let request =
        StartRequest { execution_name: "exec".into(), input, role_arn: None, input_text: Some(text.into()) };
    let (outcome, h) = engine.run(&prepared, request).await;
    assert_eq!(outcome.status, sfn_engine::ExecutionStatus::Succeeded, "{outcome:?}");
    h.events().iter().map(sfn_engine::Event::to_json).collect()
}

/// A Pass state whose ResultPath and OutputPath are the same `$.x` outputs its result (the input is not
/// rebuilt around it): on an object, with an assignment that sees the result, and on null (which ResultPath
/// makes an object); on an array the merge fails as before (`States.ResultPathMatchFailure`); another
/// OutputPath still selects from the merged input.
#[tokio::test(start_paused = true)]
async fn a_pass_whose_result_path_is_its_output_path_outputs_its_result() {
    let assigning = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"v.$": "$.a", "k": 1}, "ResultPath": "$.x", "OutputPath": "$.x",
              "Assign": {"got.$": "$.v"}, "Next": "S"},
        "S": {"Type": "Pass", "Parameters": {"got.$": "$got"}, "ResultPath": "$.seen", "End": true}}});
    let pass = |output_path: &str| {
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"k": 1},
            "ResultPath": "$.x", "OutputPath": output_path, "End": true}}})
    };
    let output = |ev: &[Value]| ev.last().unwrap()["executionSucceededEventDetails"]["output"].clone();
    let ev = history(assigning, json!({"a": [1, 2], "b": true})).await;
    assert_eq!(output(&ev), json!(r#"{"k":1,"v":[1,2],"seen":{"got":[1,2]}}"#));
    let ev = history(pass("$.x"), Value::Null).await;
    assert_eq!(output(&ev), json!(r#"{"k":1}"#), "{ev:?}");
    let ev = history(pass("$.x"), json!({"x": {"old": true}, "y": 2})).await;
    assert_eq!(output(&ev), json!(r#"{"k":1}"#));
    let ev = history(pass("$.x"), json!([1])).await;
    let failed = &ev.last().unwrap()["executionFailedEventDetails"];
    assert_eq!(failed["error"], json!("States.ResultPathMatchFailure"), "{ev:?}");
    let ev = history(pass("$"), json!({"a": 3})).await;
    assert_eq!(output(&ev), json!(r#"{"a":3,"x":{"k":1}}"#));
    let ev = history(pass("$.x.k"), json!({"a": 3})).await;
    assert_eq!(output(&ev), json!("1"));
}

/// A Task that nothing serves still evaluates its Arguments first, as AWS does before it calls the
/// resource: an `Arguments` field that returns nothing fails the state with `States.QueryEvaluationError`
/// (an `EvaluationFailed` event, no Task event), not with the "no integration" `States.Runtime`.
// LocalStack's AWS-validated test_assign_reference_variables.py::test_undefined_reference[BASE_UNDEFINED_ARGUMENTS_FIELD]
#[tokio::test(start_paused = true)]
async fn an_unserved_task_evaluates_its_arguments_before_it_fails() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
              "Arguments": {"QueueUrl": "q", "MessageBody": "{% $states.input.missing %}"}, "End": true}}});
    let engine = Engine::builder().unmocked(sfn_engine::Unmocked::Fail).build();
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "machine").unwrap();
    let request =
        |input| StartRequest { execution_name: "exec".into(), input, role_arn: None, input_text: None };
    let (_, h) = engine.run(&prepared, request(json!({}))).await;
    let ev: Vec<Value> = h.events().iter().map(sfn_engine::Event::to_json).collect();
    assert_eq!(
        shape(&ev),
        [
            "1 ExecutionStarted <- 0",
            "2 TaskStateEntered <- 0",
            "3 EvaluationFailed <- 0",
            "4 ExecutionFailed <- 3"
        ]
    );
    let cause = "An error occurred while executing the state 'T' (entered at the event id #2). The JSONata \
                 expression '$states.input.missing' specified for the field 'Arguments/MessageBody' returned \
                 nothing (undefined).";
    assert_eq!(ev[2]["evaluationFailedEventDetails"]["location"], json!("Arguments/MessageBody"));
    assert_eq!(
        ev[3]["executionFailedEventDetails"],
        json!({"error": "States.QueryEvaluationError", "cause": cause})
    );

    // Arguments that evaluate: the state fails naming the resource nothing serves.
    let (_, h) = engine.run(&prepared, request(json!({"missing": "m"}))).await;
    let ev: Vec<Value> = h.events().iter().map(sfn_engine::Event::to_json).collect();
    assert_eq!(shape(&ev), ["1 ExecutionStarted <- 0", "2 TaskStateEntered <- 0", "3 ExecutionFailed <- 2"]);
    assert_eq!(ev[2]["executionFailedEventDetails"]["error"], json!("States.Runtime"));
}

/// A Task whose `Resource` is a Lambda function ARN is recorded with AWS's `LambdaFunction…` events
/// (input, resource and `TimeoutSeconds` on `LambdaFunctionScheduled`), not the `Task…` events of an
/// integration; here the function is answered by `--unmocked echo` (its input back, as an identity function).
// LocalStack's AWS-validated test_comments.py::test_comments_as_per_docs (and
// test_arguments.py::test_base_cases[BASE_LAMBDA_*]).
#[tokio::test(start_paused = true)]
async fn a_task_on_a_lambda_function_arn_records_lambda_function_events() {
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:echo";
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": arn, "TimeoutSeconds": 30, "Parameters": {"v.$": "$.v"}, "End": true}}});
    let engine = Engine::builder().unmocked(sfn_engine::Unmocked::Echo).build();
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "machine").unwrap();
    let request = StartRequest {
        execution_name: "exec".into(),
        input: json!({"v": 7}),
        role_arn: None,
        input_text: None,
    };
    let (_, h) = engine.run(&prepared, request).await;
    let ev: Vec<Value> = h.events().iter().map(sfn_engine::Event::to_json).collect();
    assert_eq!(
        shape(&ev),
        [
            "1 ExecutionStarted <- 0",
            "2 TaskStateEntered <- 0",
            "3 LambdaFunctionScheduled <- 2",
            "4 LambdaFunctionStarted <- 3",
            "5 LambdaFunctionSucceeded <- 4",
            "6 TaskStateExited <- 5",
            "7 ExecutionSucceeded <- 6"
        ]
    );
    assert_eq!(
        ev[2]["lambdaFunctionScheduledEventDetails"],
        json!({"resource": arn, "input": "{\"v\":7}", "inputDetails": {"truncated": false}, "timeoutInSeconds": 30})
    );
    assert!(ev[3].get("lambdaFunctionStartedEventDetails").is_none());
    assert_eq!(
        ev[4]["lambdaFunctionSucceededEventDetails"],
        json!({"output": "{\"v\":7}", "outputDetails": {"truncated": false}})
    );
    // Every event reads back from its JSON as it was.
    for e in h.events() {
        assert_eq!(sfn_engine::Event::from_json(&e.to_stored_json()).unwrap().to_json(), e.to_json());
    }
}

// LocalStack's AWS-validated outputdecl/test_output.py::test_output_in_choice[CONDITION_FALSE] and
// assign/test_assign_base.py::test_assign_in_choice: a JSONata Choice that takes its Default applies the
// state's own Output and Assign; the rule that matches applies its own instead.
#[tokio::test(start_paused = true)]
async fn a_jsonata_choice_applies_the_output_and_assign_of_the_branch_it_takes() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Pick", "States": {
        "Pick": {"Type": "Choice", "Default": "No",
                 "Output": "{% 'fallback for ' & $states.input.who %}", "Assign": {"taken": "default"},
                 "Choices": [{"Condition": "{% $states.input.go %}", "Next": "Yes",
                              "Output": {"rule": true}, "Assign": {"taken": "rule"}}]},
        "Yes": {"Type": "Succeed"},
        "No": {"Type": "Fail", "Cause": "{% $taken %}"}}});
    let ev = history(def.clone(), json!({"go": false, "who": "me"})).await;
    assert_eq!(
        shape(&ev),
        [
            "1 ExecutionStarted <- 0",
            "2 ChoiceStateEntered <- 0",
            "3 ChoiceStateExited <- 2",
            "4 FailStateEntered <- 3",
            "5 ExecutionFailed <- 4"
        ]
    );
    let exited = &ev[2]["stateExitedEventDetails"];
    assert_eq!(exited["output"], json!("\"fallback for me\""));
    assert_eq!(exited["assignedVariables"], json!({"taken": "\"default\""}));
    assert_eq!(ev[3]["stateEnteredEventDetails"]["input"], json!("\"fallback for me\""));
    assert_eq!(ev[4]["executionFailedEventDetails"], json!({"cause": "default"}));

    let ev = history(def, json!({"go": true})).await;
    let exited = &ev[2]["stateExitedEventDetails"];
    assert_eq!(exited["output"], json!("{\"rule\":true}"));
    assert_eq!(exited["assignedVariables"], json!({"taken": "\"rule\""}));
    assert_eq!(ev.last().unwrap()["type"], json!("ExecutionSucceeded"));
}

// LocalStack's AWS-validated assign/test_assign_reference_variables.py::test_reference_assign[BASE_REFERENCE_IN_WAIT]
// and ::test_reference_in_map_state[MAP_STATE_REFERENCE_IN_TOLERATED_FAILURE_PATH]: JSONPath `…Path` fields
// of Wait and Map read variables (`$name`); the history shows only the states' own events.
#[tokio::test(start_paused = true)]
async fn wait_and_map_paths_read_variables() {
    let def = json!({"StartAt": "Set", "States": {
        "Set": {"Type": "Pass", "Assign": {"secs": 2, "until": "2024-01-01T00:00:05Z", "tolerated": 1},
                "Result": {"xs": ["a", "b"]}, "Next": "Sleep"},
        "Sleep": {"Type": "Wait", "SecondsPath": "$secs", "Next": "Until"},
        "Until": {"Type": "Wait", "TimestampPath": "$until", "Next": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$.xs", "ToleratedFailureCountPath": "$tolerated",
                 "MaxConcurrency": 1, "End": true,
                 "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}}});
    let ev = history(def, json!({})).await;
    let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        &types[..8],
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "MapStateEntered"
        ]
    );
    // The first Wait slept its variable's 2 seconds; the second until its variable's instant.
    assert_eq!(ev[4]["timestamp"], json!(1704067202.0));
    assert_eq!(ev[6]["timestamp"], json!(1704067205.0));
    assert_eq!(ev[8]["mapStateStartedEventDetails"], json!({"length": 2}));
    assert_eq!(ev.last().unwrap()["executionSucceededEventDetails"]["output"], json!("[\"a\",\"b\"]"));
}

/// A `ToleratedFailurePercentagePath` value that is no number, or out of 0–100, fails the execution with
/// AWS's cause (LocalStack `test_base_scenarios.py::test_map_state_tolerated_failure_percentage_path`,
/// `[NoNumber]`, `[-1]`, `[-1.1]`); a negative count keeps its own message.
#[tokio::test(start_paused = true)]
async fn tolerated_failure_percentage_path_out_of_range_or_not_a_number() {
    let def = |field: &str| {
        json!({"StartAt": "Fan", "States": {"Fan": {"Type": "Map", "ItemsPath": "$.xs", "End": true,
            format!("{field}Path"): "$.t",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Do", "States": {"Do": {"Type": "Pass", "End": true}}}}}})
    };
    let pre = "An error occurred while executing the state 'Fan' (entered at the event id #2). ";
    let cases = [
        ("ToleratedFailurePercentage", json!(150), "ToleratedFailurePercentage must be between 0 and 100.".to_owned()),
        ("ToleratedFailurePercentage", json!(-0.5), "ToleratedFailurePercentage must be between 0 and 100.".to_owned()),
        (
            "ToleratedFailurePercentage",
            json!("many"),
            "The ToleratedFailurePercentagePath field refers to value \"many\" which is not a valid float: $.t".to_owned(),
        ),
        ("ToleratedFailureCount", json!(-2), "ToleratedFailureCount cannot be negative.".to_owned()),
    ];
    for (field, t, cause) in cases {
        let ev = history(def(field), json!({"xs": [7], "t": t})).await;
        assert_eq!(
            shape(&ev),
            [
                "1 ExecutionStarted <- 0",
                "2 MapStateEntered <- 0",
                "3 MapStateStarted <- 2",
                "4 ExecutionFailed <- 3"
            ],
            "{field} {t}"
        );
        assert_eq!(
            ev[3]["executionFailedEventDetails"],
            json!({"error": "States.Runtime", "cause": format!("{pre}{cause}")}),
            "{field} {t}"
        );
    }
}
