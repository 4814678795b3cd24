//! `sfn-ecs`: Amazon ECS for Step Functions — `arn:aws:states:::ecs:runTask` (request-response),
//! `runTask.sync` (run a job) and `runTask.waitForTaskToken` (callback), on three backends.
//!
//! Place in the workspace: above `sfn-patterns` (it implements [`sfn_patterns::ServiceIntegration`]),
//! below the CLI, the server and the facade; the engine never sees it directly.
//!
//! - [`params`]: the complete RunTask request in PascalCase, checked against the ECS API model — statically
//!   (unknown fields with did-you-mean, literal types) and at run time.
//! - [`EcsTask`]'s life cycle (`lifecycle.rs`), written once for the local and sim backends: the
//!   transitions PROVISIONING → PENDING → RUNNING → DEACTIVATING → STOPPED with the timestamps and `Version`
//!   ECS sets at each, and [`LastStatus`] / [`DesiredStatus`] / [`StopCode`] as ECS's strings.
//! - [`LocalBackend`]: each container a host process (argv, never a shell), ECS life cycle, exit codes,
//!   stop codes and container reasons, finite EC2-style cluster capacity (real `RESOURCE:CPU`/`RESOURCE:MEMORY`
//!   failures; FARGATE tasks take none, as on ECS), captured logs, extra environment for callbacks; a
//!   task's processes are one unit (sfn a child subreaper, descendants tracked from `/proc`): background,
//!   double-forked and `setsid` children all go when the task stops, SIGTERM then SIGKILL after the grace.
//!   With a state directory ([`LocalBackend::with_state_dir`]) each task runs under a supervisor process
//!   ([`supervise`], a hidden mode of the `sfn` binary) that records its status, exit codes and output in
//!   `STATE_DIR/tasks/<task-id>/`, so a task survives the server and a restarted server adopts it.
//! - [`SimBackend`]: in-memory and scripted per family, on tokio's clock, with API call counters.
//! - `AwsBackend` (feature `aws`): Amazon ECS through aws-sdk-ecs and the aws-config default chain — the
//!   PascalCase request mapped field by field onto the SDK, every RunTask with a `ClientToken`, the SDK's
//!   standard retries (bounded attempts, back-off), responses mapped back into the same model, so outputs
//!   have one shape whichever backend ran; SDK errors become `ECS.<ErrorCode>` (service errors, with the
//!   Java SDK's cause text), `ECS.ClientExecutionTimeoutException` or `ECS.SdkClientException`
//!   (connection, credentials).
//! - [`EcsIntegration`]: the Failures rule (`AmazonECS.Unknown` for `.sync` and callbacks), `StartedBy:
//!   "AWS Step Functions"` for `.sync`, one shared poller (one DescribeTasks per ≤ 100 ARNs per cluster per
//!   round, back-off), the `.sync` outcome rule (any container with a non-zero or missing exit code, or a
//!   task that failed to start → `States.TaskFailed` with the task as cause), StopTask on timeout/abort.
//!
//! Lint codes (`sfn validate`; all warnings — AWS checks an optimized integration's parameters only when
//! the task runs, so none of them changes AWS's verdict): `ECS_UNKNOWN_FIELD`, `ECS_INVALID_PARAMETER`,
//! `ECS_LAUNCH_TYPE_AND_CAPACITY_PROVIDER`, `ECS_COUNT_RANGE`, `ECS_TOKEN_NOT_PASSED`, `ECS_NO_TIMEOUT`,
//! `ECS_NO_HEARTBEAT`, `ECS_NON_ESSENTIAL_SYNC`; with task definitions given, `ECS_UNKNOWN_TASK_DEFINITION`
//! (a literal family or revision not among them) and `ECS_UNKNOWN_CONTAINER` (an override `Name` that is
//! not a container of the task definition), each naming the known ones.
//!
//! Invariants: the only crate that may name `aws-sdk-*` types; no printing; ECS API errors surface as
//! `ECS.<Exception>` task failures that Retry/Catch match.
//!
//! ```
//! use std::sync::Arc;
//! use sfn_ecs::{EcsIntegration, SimBackend, SimScript};
//! let ecs = EcsIntegration::new(Arc::new(SimBackend::new(SimScript::default())));
//! let engine = sfn_engine::Engine::builder().integration(Arc::new(ecs)).build();
//! # let _ = engine;
//! ```

#[cfg(feature = "aws")]
mod aws;
mod backend;
mod containers;
mod error;
mod integration;
mod lifecycle;
mod local;
mod model;
mod output;
pub mod params;
mod poller;
mod procs;
mod sim;
mod supervisor;
mod taskdef;
mod taskdir;

#[cfg(feature = "aws")]
pub use aws::AwsBackend;
pub use backend::{EcsBackend, RunTaskRequest, cluster_arn, cluster_name};
pub use error::{EcsError, SimConfigError, TaskDefinitionError};
pub use integration::{EcsIntegration, STARTED_BY, load_task_definitions};
pub use lifecycle::{DesiredStatus, LastStatus, StopCode};
pub use local::{Capacity, FARGATE_QUOTA_REASON, LocalBackend, STOPPED_TASK_RETENTION, SupervisorCommand};
pub use model::{
    DescribeOutput, EcsContainer, EcsFailure, EcsTask, Overrides, RunTaskOutput, render_overrides,
    run_task_response,
};
pub use output::{
    ContainerLog, LogStream, MAX_LINE_BYTES, OUTPUT_BUFFER_BYTES, OutputBuffer, OutputLine, OutputSink,
    OutputSource, OutputStream, read_lines,
};
pub use poller::{DESCRIBE_BATCH, PollIntervals};
pub use sim::{SimBackend, SimCounters, SimScript};
pub use supervisor::{SuperviseError, Supervised, supervise};
pub use taskdef::{
    ContainerDefinition, EnvVar, LogConfiguration, TaskDefinition, TaskDefinitions, cpu_units, memory_mib,
};
pub use taskdir::{MIN_STORED_OUTPUT_BYTES, STORED_OUTPUT_BYTES};

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
