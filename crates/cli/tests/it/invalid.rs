//! Every definition in fixtures/invalid fails validation with the expected diagnostics, and every one in
//! fixtures/warnings is valid (AWS accepts it) with the expected warnings, failing only with `--strict`
//! (insta snapshots of `sfn validate --format json`).

use crate::{root, sfn};

fn validate(path: &std::path::Path, strict: bool) -> (Option<i32>, serde_json::Value) {
    let tds = root().join("fixtures/seed/task-definitions");
    let mut args = vec![
        "validate",
        path.to_str().unwrap(),
        "--format",
        "json",
        "--task-definitions",
        tds.to_str().unwrap(),
    ];
    if strict {
        args.push("--strict");
    }
    let o = sfn(&args);
    (o.status.code(), serde_json::from_slice(&o.stdout).unwrap())
}

#[test]
fn invalid_fixtures_snapshot() {
    insta::glob!("../../../../fixtures/invalid", "*.asl.json", |path| {
        let (code, v) = validate(path, false);
        assert_eq!(code, Some(1), "{} must be invalid", path.display());
        assert_eq!(v["valid"], false);
        insta::assert_json_snapshot!(v);
    });
}

#[test]
fn warning_fixtures_snapshot() {
    insta::glob!("../../../../fixtures/warnings", "*.asl.json", |path| {
        let (code, v) = validate(path, false);
        assert_eq!(code, Some(0), "{} is valid: AWS accepts it", path.display());
        assert_eq!(v["valid"], true);
        assert!(v["diagnostics"].as_array().unwrap().iter().all(|d| d["severity"] == "warning"), "{v}");
        insta::assert_json_snapshot!(v);
        assert_eq!(validate(path, true).0, Some(1), "{} fails with --strict", path.display());
    });
}
