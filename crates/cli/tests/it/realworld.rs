//! AWS's verdict on definitions from deployed public projects (`../shared/realworld`, read in place: its
//! files belong to their projects): `sfn validate` exits 0 on every definition AWS accepted and 1 on the
//! one it refuses, with or without task definitions; `sfn run` refuses exactly the same ones; `sfn policy`
//! and `sfn graph` succeed on every valid ECS definition. Without the corpus each test says so and passes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::root;

struct Def {
    file: String,
    path: PathBuf,
    valid: bool,
    ecs: bool,
}

fn corpus() -> Option<Vec<Def>> {
    let dir = root().join("../shared/realworld");
    let Ok(sources) = std::fs::read_to_string(dir.join("SOURCES.tsv")) else {
        eprintln!("skipped: {} is absent", dir.display());
        return None;
    };
    let mut lines = sources.lines();
    let header: Vec<&str> = lines.next().unwrap().trim_end_matches('\r').split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (file, ecs, verdict) = (col("file"), col("uses_ecs"), col("aws_verdict"));
    let defs: Vec<Def> = lines
        .map(|l| l.trim_end_matches('\r').split('\t').collect::<Vec<_>>())
        .filter(|c| c.len() == header.len())
        .map(|c| Def {
            file: c[file].to_owned(),
            path: dir.join("defs").join(c[file]),
            valid: c[verdict] == "valid",
            ecs: c[ecs] == "yes",
        })
        .collect();
    assert!(defs.len() >= 200, "the corpus has {} definitions", defs.len());
    Some(defs)
}

/// Runs `sfn` in `cwd` (a directory with no `task-definitions`), killing it after `limit`.
fn sfn_in(cwd: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

fn empty_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("sfn-realworld-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Diagnostics with severity error that a command printed (`file:pointer: error[CODE] message`).
fn errors(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .chain(String::from_utf8_lossy(&o.stdout).lines())
        .filter(|l| l.contains(": error["))
        .map(str::to_owned)
        .collect()
}

#[test]
fn validate_gives_aws_verdict_with_and_without_task_definitions() {
    let Some(defs) = corpus() else { return };
    let cwd = empty_dir();
    let seed_tds = root().join("fixtures/seed/task-definitions");
    let mut wrong = Vec::new();
    for d in &defs {
        let p = d.path.to_str().unwrap();
        for args in
            [vec!["validate", p], vec!["validate", p, "--task-definitions", seed_tds.to_str().unwrap()]]
        {
            let o = sfn_in(&cwd, &args, Duration::from_secs(60));
            let want = if d.valid { 0 } else { 1 };
            if o.status.code() != Some(want) {
                wrong.push(format!("{args:?}: exit {:?}, want {want}: {:?}", o.status.code(), errors(&o)));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} verdicts differ from AWS's:\n{}",
        wrong.len(),
        defs.len() * 2,
        wrong.join("\n")
    );
}

#[test]
fn run_refuses_exactly_what_validate_refuses() {
    let Some(defs) = corpus() else { return };
    let cwd = empty_dir();
    let mut wrong = Vec::new();
    for d in &defs {
        // The simulator runs on a virtual clock; a definition that starts is past the verdict, whatever
        // happens next (a Lambda state cannot run here without a mock, a callback is never answered).
        let o = sfn_in(&cwd, &["run", d.path.to_str().unwrap(), "--ecs", "sim"], Duration::from_secs(20));
        let refused = !errors(&o).is_empty();
        if refused == d.valid || (refused && o.status.code() != Some(2)) {
            wrong.push(format!("{}: exit {:?}, errors {:?}", d.file, o.status.code(), errors(&o)));
        }
    }
    assert!(wrong.is_empty(), "{} verdicts of sfn run differ from AWS's:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn policy_and_graph_succeed_on_every_valid_ecs_definition() {
    let Some(defs) = corpus() else { return };
    let cwd = empty_dir();
    let mut wrong = Vec::new();
    let mut ecs = 0;
    for d in defs.iter().filter(|d| d.valid && d.ecs) {
        ecs += 1;
        let p = d.path.to_str().unwrap();
        let policy = sfn_in(
            &cwd,
            &["policy", p, "--region", "us-east-1", "--account", "123456789012"],
            Duration::from_secs(60),
        );
        let doc: serde_json::Value = serde_json::from_slice(&policy.stdout).unwrap_or_default();
        if policy.status.code() != Some(0) || doc["Version"] != "2012-10-17" {
            wrong.push(format!(
                "policy {}: {:?} {}",
                d.file,
                policy.status.code(),
                String::from_utf8_lossy(&policy.stderr)
            ));
        }
        let graph = sfn_in(&cwd, &["graph", p], Duration::from_secs(60));
        if graph.status.code() != Some(0) || !String::from_utf8_lossy(&graph.stdout).starts_with("flowchart")
        {
            wrong.push(format!(
                "graph {}: {:?} {}",
                d.file,
                graph.status.code(),
                String::from_utf8_lossy(&graph.stderr)
            ));
        }
    }
    assert!(ecs >= 25, "only {ecs} valid ECS definitions");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
