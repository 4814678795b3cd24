//! The folder checker on the seed fixtures (all valid, each with a policy) and on `fixtures/invalid`.
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected values")]

use std::path::PathBuf;

fn fixtures(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(dir)
}

#[test]
fn seed_definitions_are_valid_and_get_least_privilege_policies() {
    let report = sfn_examples::check_folder(&fixtures("seed"), "eu-west-1", "111122223333").unwrap();
    let names: Vec<_> =
        report.iter().map(|c| c.file.file_name().unwrap().to_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["callback.asl.json", "run-job.asl.json", "run-job.jsonata.asl.json"]);
    for c in &report {
        assert!(c.errors.is_empty(), "{c:?}");
        let policy: serde_json::Value = serde_json::from_str(c.policy.as_deref().unwrap()).unwrap();
        let text = policy.to_string();
        assert!(text.contains("ecs:RunTask") && text.contains("iam:PassRole"), "{text}");
        // Only the .sync machines poll and stop tasks.
        let sync = c.file.to_str().unwrap().contains("run-job");
        assert_eq!(text.contains("ecs:StopTask"), sync, "{text}");
    }
}

#[test]
fn invalid_definitions_are_reported_with_their_location() {
    let report = sfn_examples::check_folder(&fixtures("invalid"), "us-east-1", "123456789012").unwrap();
    assert!(!report.is_empty());
    for c in &report {
        assert!(!c.errors.is_empty(), "{} should be invalid", c.file.display());
        assert!(c.policy.is_none());
        assert!(c.errors.iter().all(|e| e.starts_with('/')), "{:?}", c.errors);
    }
}
