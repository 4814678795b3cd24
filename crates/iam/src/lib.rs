//! `sfn-iam`: least-privilege IAM policies for state machines that run Amazon ECS / Fargate tasks — the
//! execution role's policy ([`generate`]) and the callback containers' task role policy
//! ([`task_role_policy`]), each statement explained, never wider than AWS's own templates.
//!
//! **Why**: `AccessDeniedException` and `iam:PassRole` errors are what users of the ECS integration
//! lose days to. AWS's console templates and CDK's `EcsRunTask` miss `ecs:TagResource` and scoped
//! `iam:PassRole`, and CDK grants `ecs:StopTask`/`ecs:DescribeTasks` on `*` even without `.sync`.
//!
//! **Place in the workspace**: reads the typed definition of `sfn-asl` (payload templates parsed by
//! `sfn-path`) and resource ARNs through `sfn-patterns`; used by the CLI (`sfn policy`) and the `sfn`
//! facade.
//!
//! **What it grants**, per `arn:…:states:::ecs:runTask[.sync|.waitForTaskToken]` state, Parallel branches
//! and Map processors included (Step Functions Developer Guide, "IAM policies for Amazon ECS/AWS Fargate",
//! then tightened):
//! - `ecs:RunTask` on `task-definition/{family}:*` (`family:N` as written, an ARN as written but never a
//!   bare family ARN), or `*` with a warning when `TaskDefinition` comes from the input; narrowed with
//!   `ArnEquals ecs:cluster` when the cluster is written (`default` when absent);
//! - `.sync` only: `ecs:StopTask` and `ecs:DescribeTasks` on `*` narrowed with `ecs:cluster`, and
//!   `events:PutTargets`/`PutRule`/`DescribeRule` on the rule `StepFunctionsGetEventsForECSTaskRule`;
//! - `ecs:TagResource` on the cluster's tasks, at creation only, when the state tags the task;
//! - `iam:PassRole` for `ecs-tasks.amazonaws.com` on the task and execution roles of the task definitions
//!   given ([`Options::task_definitions`]) and on role overrides written in the state; a role from the
//!   input gets `*` only when [`Options::allow_wildcard_passrole`] is set, a warning otherwise;
//! - other services: no statement, one [`Warning`] per resource.
//!
//! JSONPath `Parameters` and JSONata `Arguments` are read alike: a `.$` key or a `{% … %}` string is
//! dynamic.
//!
//! **Merging**: grants of the same kind (hence the same actions) with the same conditions become one
//! statement whose resources are the union (`*` absorbs the rest); a statement of the same kind whose
//! conditions are a subset of another's and whose resources cover it absorbs it. Conditions are never
//! unioned (that would allow task definition A in cluster B). Statements come in a fixed order (RunTask,
//! `.sync` tracking, EventBridge rule, tagging, PassRole), then by `Sid`; `Sid`s say what and why
//! (`RunEcsTasksInClusterJobs`, `PollAndStopSyncEcsTasksInClusterJobs`, `PassTaskRolesToEcs`).
//!
//! **Invariants**:
//! - Never wider than AWS: every (action, resource) granted is in AWS's documented template for the
//!   pattern, except `ecs:TagResource` and `iam:PassRole`, which that template misses; conditions only
//!   narrow. `ecs:StopTask`/`ecs:DescribeTasks` appear only for `.sync`. (Tests check all three.)
//! - Deterministic: the same definition and options give byte-identical output, whatever the order of the
//!   states in the file.
//! - No IO except [`load_task_definitions`]; no printing; no panics on any definition.
//!
//! ```
//! let machine = sfn_asl::parse(br#"{"StartAt": "Run", "States": {"Run": {"Type": "Task",
//!     "Resource": "arn:aws:states:::ecs:runTask.sync",
//!     "Parameters": {"Cluster": "jobs", "TaskDefinition": "report"}, "End": true}}}"#).unwrap();
//! let options = sfn_iam::Options::new("aws", "eu-west-1", "111122223333");
//! let policy = sfn_iam::generate(&machine, &options);
//! let sids: Vec<&str> = policy.statements().iter().map(|s| s.sid.as_str()).collect();
//! assert_eq!(sids, ["RunEcsTasksInClusterJobs", "PollAndStopSyncEcsTasksInClusterJobs", "ManageSyncEcsTaskEventsRule"]);
//! let doc = policy.document();
//! assert_eq!(doc["Statement"][0]["Resource"][0], "arn:aws:ecs:eu-west-1:111122223333:task-definition/report:*");
//! assert_eq!(doc["Statement"][0]["Condition"]["ArnEquals"]["ecs:cluster"], "arn:aws:ecs:eu-west-1:111122223333:cluster/jobs");
//! // No task definitions were given: their roles are unknown, hence no iam:PassRole, and a warning says so.
//! assert!(policy.warnings().iter().any(|w| w.kind == sfn_iam::WarningKind::NoTaskDefinitions));
//! ```

mod arn;
mod error;
mod needs;
mod policy;
mod render;
mod taskdef;

pub use error::{LoadError, LoadErrorKind, OptionsError};
pub use policy::{
    Condition, Explanation, Need, Options, PLACEHOLDER_ACCOUNT, Policy, PolicyRole, Statement, Warning,
    WarningKind,
};
pub use render::{CloudFormationFormat, TerraformStyle};
pub use taskdef::{TaskDefinitionRoles, load_task_definitions};

/// The execution role's policy for a state machine: what its ECS Task states need, explained, with
/// warnings for what cannot be narrowed or is not covered.
pub fn generate(machine: &sfn_asl::StateMachine, options: &Options) -> Policy {
    policy::state_machine(&needs::collect(machine), options)
}

/// The task role's policy for the containers of `.waitForTaskToken` states: `states:SendTaskSuccess`,
/// `SendTaskFailure` and `SendTaskHeartbeat` on `*` (these actions support no resource-level permission:
/// Service Authorization Reference, AWS Step Functions). Empty, with a warning, when the machine has no
/// callback state.
///
/// ```
/// let machine = sfn_asl::parse(br#"{"StartAt": "Run", "States": {"Run": {"Type": "Task",
///     "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken",
///     "Parameters": {"TaskDefinition": "worker", "Overrides": {"ContainerOverrides": [{"Name": "w",
///         "Environment": [{"Name": "TOKEN", "Value.$": "$$.Task.Token"}]}]}}, "End": true}}}"#).unwrap();
/// let policy = sfn_iam::task_role_policy(&machine, &Default::default());
/// assert_eq!(policy.statements()[0].actions, ["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"]);
/// assert_eq!(policy.statements()[0].resources, ["*"]);
/// ```
pub fn task_role_policy(machine: &sfn_asl::StateMachine, options: &Options) -> Policy {
    policy::task_role(&needs::collect(machine), options)
}

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
