//! The seed fixtures (`fixtures/seed`): the `.sync` and callback machines with their task definitions read
//! from disk by `load_task_definitions`.

use std::path::{Path, PathBuf};

use sfn_iam::{LoadErrorKind, Options};

fn seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed")
}

fn load(name: &str) -> sfn_asl::StateMachine {
    sfn_asl::parse(&std::fs::read(seed().join(name)).unwrap()).unwrap()
}

fn options() -> Options {
    let tds = sfn_iam::load_task_definitions(&seed().join("task-definitions")).unwrap();
    Options::new("aws", "us-east-1", "123456789012").with_task_definitions(tds)
}

#[test]
fn task_definitions_load_in_file_order_with_their_roles() {
    let tds = options().task_definitions;
    let families: Vec<&str> = tds.iter().map(|t| t.family.as_str()).collect();
    assert_eq!(families, ["callback-worker", "report-job"]);
    assert_eq!(tds[1].task_role_arn.as_deref(), Some("arn:aws:iam::123456789012:role/report-job-task"));
    assert_eq!(tds[1].source.as_deref(), Some("report-job.json"));
}

#[test]
fn run_job_sync() {
    let p = sfn_iam::generate(&load("run-job.asl.json"), &options());
    insta::assert_snapshot!("seed_run_job_json", p.to_json());
    insta::assert_snapshot!("seed_run_job_explain", p.explain());
}

#[test]
fn callback() {
    let m = load("callback.asl.json");
    let p = sfn_iam::generate(&m, &options());
    insta::assert_snapshot!("seed_callback_json", p.to_json());
    let t = sfn_iam::task_role_policy(&m, &options());
    insta::assert_snapshot!("seed_callback_task_role_explain", t.explain());
    // Request-response and callback: no StopTask/DescribeTasks, no events rule.
    assert!(
        p.statements().iter().all(|s| s.actions.iter().all(|a| a == "ecs:RunTask" || a == "iam:PassRole"))
    );
}

#[test]
fn loader_errors_name_the_file() {
    let missing = sfn_iam::load_task_definitions(Path::new("/nonexistent/task-definitions")).unwrap_err();
    assert!(matches!(missing.kind(), LoadErrorKind::Io(_)));
    assert!(missing.to_string().starts_with("/nonexistent/task-definitions: cannot read"), "{missing}");

    let dir = std::env::temp_dir().join(format!("sfn-iam-loader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.json"), br#"{"family": "a"}"#).unwrap();
    std::fs::write(dir.join("b.json"), br#"{"containerDefinitions": []}"#).unwrap();
    std::fs::write(dir.join("notes.txt"), b"not json").unwrap();
    let err = sfn_iam::load_task_definitions(&dir).unwrap_err();
    assert!(matches!(err.kind(), LoadErrorKind::Json(_)));
    assert_eq!(err.path(), dir.join("b.json"));
    assert!(err.to_string().contains("family"), "{err}");
    std::fs::remove_file(dir.join("b.json")).unwrap();
    assert_eq!(sfn_iam::load_task_definitions(&dir).unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
