//! Every definition in fixtures/invalid fails validation with the expected diagnostics (insta snapshots of
//! `sfn validate --format json`).

use crate::{root, sfn};

#[test]
fn invalid_fixtures_snapshot() {
    let tds = root().join("fixtures/seed/task-definitions");
    insta::glob!("../../../../fixtures/invalid", "*.asl.json", |path| {
        let o = sfn(&[
            "validate",
            path.to_str().unwrap(),
            "--format",
            "json",
            "--task-definitions",
            tds.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{} must be invalid", path.display());
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["valid"], false);
        insta::assert_json_snapshot!(v);
    });
}
