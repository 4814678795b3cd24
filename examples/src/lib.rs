//! Examples of `sfn` used as a library (the workspace's `examples/`):
//!
//! - `tests/seed.rs`: snapshot tests of the seed state machines (`fixtures/seed`) — with mocked ECS
//!   responses in AWS Step Functions Local's mock-file format (`mocks/seed.json`), and on the embedded ECS
//!   simulator — the way a user tests their own definitions.
//! - [`check_folder`] and the `check-folder` binary: the xtask-style script that validates every definition
//!   in a folder and generates each one's least-privilege IAM policy, e.g. as a CI step:
//!   `cargo run -p sfn-examples --bin check-folder -- fixtures/seed out/policies`.
//!
//! ```
//! let report = sfn_examples::check_folder(
//!     std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/seed")),
//!     "us-east-1",
//!     "123456789012",
//! )
//! .unwrap();
//! assert!(report.iter().all(|d| d.errors.is_empty()));
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use sfn::asl::{Severity, ValidateOptions};

/// What [`check_folder`] found for one definition.
#[derive(Debug)]
pub struct Checked {
    /// The definition file.
    pub file: PathBuf,
    /// Validation errors, as `pointer: [CODE] message`.
    pub errors: Vec<String>,
    /// Validation warnings, same form.
    pub warnings: Vec<String>,
    /// The execution role's policy document (valid definitions only).
    pub policy: Option<String>,
    /// Why parts of the policy could not be tightened.
    pub policy_warnings: Vec<String>,
}

/// Validates every `*.asl.json` in `dir` (sorted by name) and generates each valid one's execution-role
/// policy, using the task definitions in `dir/task-definitions` when that folder exists.
pub fn check_folder(dir: &Path, region: &str, account: &str) -> anyhow::Result<Vec<Checked>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".asl.json")))
        .collect();
    files.sort();
    let tds_dir = dir.join("task-definitions");
    let task_definitions =
        if tds_dir.is_dir() { sfn::iam::load_task_definitions(&tds_dir)? } else { Vec::new() };
    let iam_options = sfn::iam::Options::new(sfn::iam::Options::partition_of(region), region, account)
        .with_task_definitions(task_definitions);
    // The ECS lints (`sfn validate`'s): unknown RunTask fields, task definitions that do not exist, …
    let ecs_tds =
        if tds_dir.is_dir() { sfn::ecs::load_task_definitions(&tds_dir)? } else { Default::default() };
    let mut integrations = sfn::patterns::Integrations::new();
    integrations
        .register(Arc::new(sfn::ecs::EcsIntegration::new(Arc::new(sfn::ecs::LocalBackend::new(ecs_tds)))));
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let text = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        // The one validation `sfn validate` and the server use: AWS's verdict, the ECS lints as warnings.
        let validation =
            sfn::patterns::validate_definition(&text, ValidateOptions::default(), &integrations, &|_| false);
        let line = |d: &sfn::asl::Diagnostic| format!("{}: [{}] {}", d.pointer, d.code, d.message);
        let errors: Vec<String> =
            validation.diagnostics.iter().filter(|d| d.severity == Severity::Error).map(line).collect();
        let warnings: Vec<String> =
            validation.diagnostics.iter().filter(|d| d.severity != Severity::Error).map(line).collect();
        let (policy, policy_warnings) = match (&validation.machine, errors.is_empty()) {
            (Some(machine), true) => {
                let p = sfn::iam::generate(machine, &iam_options);
                (Some(p.to_json()), p.warnings().iter().map(|w| w.message.clone()).collect())
            }
            _ => (None, Vec::new()),
        };
        out.push(Checked { file, errors, warnings, policy, policy_warnings });
    }
    Ok(out)
}
