//! Every definition that ran on AWS validates without error.

use serde_json::Value;

use crate::{fixtures, json_files};

fn check_dir(dir: &str) -> usize {
    let mut failures = Vec::new();
    let files = json_files(&fixtures().join(dir));
    for f in &files {
        let case: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let def = serde_json::to_vec(&case["definition"]).unwrap();
        let v = sfn_asl::validate(&def, Default::default());
        let errors: Vec<String> =
            v.diagnostics.iter().filter(|d| d.is_error()).map(ToString::to_string).collect();
        if !errors.is_empty() || v.machine.is_none() {
            failures.push(format!("{}: {errors:?}", case["id"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} definitions rejected:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    files.len()
}

#[test]
fn every_aws_recorded_jsonpath_definition_is_valid() {
    assert_eq!(check_dir("conformance"), 559);
}

#[test]
fn every_aws_recorded_jsonata_definition_is_valid() {
    assert_eq!(check_dir("conformance-jsonata"), 74);
}
