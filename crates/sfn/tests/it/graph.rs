//! `sfn::graph`: Mermaid text is stable and complete; DOT renders with Graphviz when it is installed.

use serde_json::json;

fn machine() -> sfn::asl::StateMachine {
    let def = json!({"StartAt": "Run job", "States": {
        "Run job": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {"Cluster": "c", "TaskDefinition": "t"},
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Failed"}], "Next": "Fan out"},
        "Fan out": {"Type": "Parallel", "Next": "Check", "Branches": [
            {"StartAt": "Notify", "States": {"Notify": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken",
                "Parameters": {"Overrides": {"ContainerOverrides": [{"Name": "n", "Environment": [{"Name": "T", "Value.$": "$$.Task.Token"}]}]}}, "End": true}}},
            {"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
                "ItemProcessor": {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": true}}}}}}]},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$[0].ok", "BooleanEquals": true, "Next": "Done"}], "Default": "Failed"},
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "JobFailed"}}});
    sfn::asl::validate_value(&def, Default::default()).into_result().unwrap()
}

#[test]
fn mermaid_shows_subgraphs_catch_edges_and_patterns() {
    let text = sfn::graph::mermaid(&machine());
    insta::assert_snapshot!("seedlike_mermaid", text);
    assert!(text.contains("ecs:runTask.sync"));
    assert!(text.contains("ecs:runTask.waitForTaskToken"));
    assert!(text.contains("subgraph Fan_out_"));
    assert!(text.contains("-. \"States.TaskFailed\" .->"), "catch edges are dashed");
    assert!(text.contains("|\"$[0].ok == true\"|"), "choice edges show their rule");
}

#[test]
fn dot_renders_with_graphviz() {
    let text = sfn::graph::dot(&machine());
    assert!(text.starts_with("digraph state_machine {"));
    assert!(text.contains("style=dashed"));
    let Ok(mut child) = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        // Without Graphviz (not a test prerequisite) the text checks above still ran.
        eprintln!("note: Graphviz `dot` not found; DOT rendering not checked");
        return;
    };
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "dot failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
}
