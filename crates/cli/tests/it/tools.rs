//! `sfn graph` (Mermaid, DOT, SVG), `sfn test-state` and `sfn serve`'s refusals.

use serde_json::{Value, json};

use crate::{sfn, temp_file};

const DEF: &str = r#"{"StartAt":"Shape","States":{
  "Shape":{"Type":"Pass","InputPath":"$.order","Parameters":{"total.$":"States.MathAdd($.a, $.b)"},"ResultPath":"$.sum","Next":"Route"},
  "Route":{"Type":"Choice","Choices":[{"Variable":"$.sum.total","NumericGreaterThan":10,"Next":"Big"}],"Default":"Small"},
  "Big":{"Type":"Succeed"},"Small":{"Type":"Succeed"}}}"#;

#[test]
fn graph_prints_mermaid_dot_and_svg() {
    let def = temp_file("m.asl.json", DEF);
    let o = sfn(&["graph", def.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("flowchart TD"));
    assert!(text.contains("Route -->|\"$.sum.total > 10\"| Big"), "{text}");
    let o = sfn(&["graph", def.to_str().unwrap(), "--format", "dot"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("digraph"));
    let o = sfn(&["graph", def.to_str().unwrap(), "--format", "svg"]);
    assert_eq!(o.status.code(), Some(0));
    let svg = String::from_utf8_lossy(&o.stdout);
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"));
    for state in ["Shape", "Route", "Big", "Small"] {
        // No statuses from the CLI: every state is not entered.
        assert_eq!(svg.matches(&format!("data-state=\"{state}\"")).count(), 1, "{state}");
    }
    assert_eq!(svg.matches("class=\"state not-entered ").count(), 4);
}

#[test]
fn test_state_with_inspection() {
    let def = temp_file("m.asl.json", DEF);
    let input = temp_file("in.json", r#"{"order": {"a": 4, "b": 9}}"#);
    let o = sfn(&[
        "test-state",
        def.to_str().unwrap(),
        "--state",
        "Shape",
        "--input",
        input.to_str().unwrap(),
        "--inspect",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["nextState"], "Route");
    assert_eq!(v["inspectionData"]["afterInputPath"], json!({"a": 4, "b": 9}));
    assert_eq!(v["inspectionData"]["afterParameters"], json!({"total": 13}));
    assert_eq!(v["output"], json!({"order": {"a": 4, "b": 9}, "sum": {"total": 13}}));
    let o = sfn(&["test-state", def.to_str().unwrap(), "--state", "Missing"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `sfn serve --allow-remote --ecs local` would let anyone on the network run host commands: refused (exit
/// 2) unless `--allow-remote-commands` says so; loopback-only serving needs no such flag.
#[test]
fn serve_refuses_remote_host_commands_unless_asked() {
    let o = sfn(&["serve", "--listen", "0.0.0.0:0", "--allow-remote", "--ecs", "local"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--allow-remote-commands") && err.contains("run commands on this host"), "{err}");
    // The second flag needs the first.
    let o = sfn(&["serve", "--allow-remote-commands"]);
    assert_eq!(o.status.code(), Some(2));
}
