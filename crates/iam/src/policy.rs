//! Grants per Task state, merged into statements, with explanations and warnings.
//!
//! Merge rule: grants of the same kind (hence the same actions) and the same conditions become one
//! statement whose resources are the union; a `"*"` resource absorbs the others. A statement whose
//! conditions are a subset of another's of the same kind, and whose resources cover the other's, absorbs
//! it (the grant is the same, written once). Conditions are never unioned: that would allow
//! combinations no state needs (task definition A in cluster B).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sfn_patterns::Pattern;

use crate::arn::{self, ClusterRef, TaskDefinitionRef};
use crate::error::OptionsError;
use crate::needs::{EcsTask, Field, Needs, NestedTask};
use crate::taskdef::TaskDefinitionRoles;

/// The account used when none is known; ARNs with it must be edited before use.
pub const PLACEHOLDER_ACCOUNT: &str = "123456789012";

/// Where the policy applies, and what is known about the task definitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// ARN partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// The state machine's region.
    pub region: String,
    /// The state machine's account.
    pub account: String,
    /// Roles of the task definitions the machine runs (`--task-definitions`), for `iam:PassRole`.
    pub task_definitions: Vec<TaskDefinitionRoles>,
    /// Grant `iam:PassRole` on `"*"` (for ECS tasks only) when a role override comes from the input;
    /// otherwise such a role is only a warning.
    pub allow_wildcard_passrole: bool,
    /// The state machine's own name, when known: a Distributed Map's map run starts child executions of
    /// it (`states:StartExecution` on it, DescribeExecution/StopExecution on `execution:NAME/*`).
    pub state_machine: Option<String>,
}

impl Default for Options {
    /// `aws`, `us-east-1` and the placeholder account [`PLACEHOLDER_ACCOUNT`].
    fn default() -> Options {
        Options::new("aws", "us-east-1", PLACEHOLDER_ACCOUNT)
    }
}

impl Options {
    /// Options for a partition, region and account, without task definitions.
    pub fn new(
        partition: impl Into<String>,
        region: impl Into<String>,
        account: impl Into<String>,
    ) -> Options {
        Options {
            partition: partition.into(),
            region: region.into(),
            account: account.into(),
            task_definitions: Vec::new(),
            allow_wildcard_passrole: false,
            state_machine: None,
        }
    }

    /// The same options for the state machine named `name` (its Distributed Maps' child executions are
    /// its own).
    pub fn with_state_machine(mut self, name: impl Into<String>) -> Options {
        self.state_machine = Some(name.into());
        self
    }

    /// The same options with these task definitions.
    pub fn with_task_definitions(mut self, task_definitions: Vec<TaskDefinitionRoles>) -> Options {
        self.task_definitions = task_definitions;
        self
    }

    /// The same options, allowing (or not) `iam:PassRole` on `"*"` for roles from the input.
    pub fn with_wildcard_passrole(mut self, allow: bool) -> Options {
        self.allow_wildcard_passrole = allow;
        self
    }

    /// The partition a region belongs to (`cn-north-1` → `aws-cn`, `us-gov-west-1` → `aws-us-gov`).
    pub fn partition_of(region: &str) -> &'static str {
        if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else if region.starts_with("us-isob-") {
            "aws-iso-b"
        } else if region.starts_with("us-iso-") {
            "aws-iso"
        } else {
            "aws"
        }
    }

    /// Checks that partition, region and account make well-formed ARNs.
    pub fn validate(&self) -> Result<(), OptionsError> {
        let lower = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase());
        let p = &self.partition;
        if !(p == "aws" || p.strip_prefix("aws-").is_some_and(|rest| rest.split('-').all(lower))) {
            return Err(OptionsError::Partition(p.clone()));
        }
        let parts: Vec<&str> = self.region.split('-').collect();
        let region_ok = parts.len() >= 3
            && parts[0].len() == 2
            && parts[..parts.len() - 1].iter().all(|s| lower(s))
            && parts.last().is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if !region_ok {
            return Err(OptionsError::Region(self.region.clone()));
        }
        if self.account.len() != 12 || !self.account.chars().all(|c| c.is_ascii_digit()) {
            return Err(OptionsError::Account(self.account.clone()));
        }
        Ok(())
    }
}

/// Which role a policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRole {
    /// The state machine's execution role (`sfn policy`).
    StateMachine,
    /// The ECS task role of `.waitForTaskToken` containers (`sfn policy --task-role`).
    Task,
}

/// One condition of a statement: `{"ArnEquals": {"ecs:cluster": [values]}}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Condition {
    /// The operator (`ArnEquals`, `StringEquals`).
    pub operator: String,
    /// The condition key (`ecs:cluster`, `iam:PassedToService`).
    pub key: String,
    /// The values, sorted (any of them matches).
    pub values: Vec<String>,
}

impl Condition {
    fn new(operator: &str, key: &str, value: impl Into<String>) -> Condition {
        Condition { operator: operator.to_owned(), key: key.to_owned(), values: vec![value.into()] }
    }
}

/// A state that needs a statement, and for what.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Need {
    /// The state's path: `Outer > branch 0 > Run` (Parallel branches by index, Map processors by the Map's name).
    pub state: String,
    /// What in the state needs it (`TaskDefinition "report"`, `task role of task definition report`, …).
    pub reason: String,
}

/// Why a statement is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// What the actions are for.
    pub purpose: String,
    /// Where that comes from (AWS documentation, user reports).
    pub source: String,
    /// The states that need it, sorted.
    pub needed_by: Vec<Need>,
}

/// One `Allow` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `Sid`: what and why, alphanumeric (IAM's rule), unique in the policy.
    pub sid: String,
    /// Actions (`service:Action`), sorted.
    pub actions: Vec<String>,
    /// Resources (ARNs or `"*"`), sorted.
    pub resources: Vec<String>,
    /// Conditions narrowing the grant, sorted.
    pub conditions: Vec<Condition>,
    /// The states that need it, and why.
    pub explanation: Explanation,
}

/// Kinds of findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum WarningKind {
    /// `TaskDefinition` comes from the input: RunTask on `"*"`.
    DynamicTaskDefinition,
    /// `Cluster` comes from the input: no `ecs:cluster` condition.
    DynamicCluster,
    /// A role override comes from the input: no PassRole (or `"*"` when allowed).
    DynamicRole,
    /// A RunTask state without `TaskDefinition`.
    MissingTaskDefinition,
    /// A value that cannot name what it should (a cluster ARN that is not one, …).
    InvalidValue,
    /// No task definitions given: their roles are unknown.
    NoTaskDefinitions,
    /// A family not among the task definitions given.
    UnknownTaskDefinition,
    /// A callback task whose task definition has no task role.
    NoTaskRole,
    /// A Task state of another service or action: no statement.
    OtherService,
    /// `StateMachineArn` of a nested execution comes from the input: StartExecution on every state machine.
    DynamicStateMachine,
    /// A Map state in DISTRIBUTED mode: child executions need permissions not generated here.
    DistributedMap,
    /// A state with `Credentials`: the calls are made with another role.
    Credentials,
    /// `--task-role` on a machine without `.waitForTaskToken` ECS states.
    NoCallback,
    /// A `.waitForTaskToken` state that does not hand the task token to its task: nothing can call back.
    NoTaskToken,
    /// The options hold the placeholder account.
    PlaceholderAccount,
}

/// A finding: something the policy cannot narrow, or does not cover.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// What kind of finding.
    pub kind: WarningKind,
    /// The states concerned (sorted; empty for the whole machine).
    pub states: Vec<String>,
    /// What it means for the policy, and what to do.
    pub message: String,
}

/// A generated policy: statements with explanations, and warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub(crate) role: PolicyRole,
    pub(crate) statements: Vec<Statement>,
    pub(crate) warnings: Vec<Warning>,
}

impl Policy {
    /// Which role the policy is for.
    pub fn role(&self) -> PolicyRole {
        self.role
    }

    /// The statements, in a fixed order (RunTask, `.sync` tracking, EventBridge rule, tagging, PassRole).
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The warnings, sorted.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// True when there is no statement (IAM refuses an empty policy: nothing to attach).
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Each statement's `Sid` with its explanation.
    pub fn explanations(&self) -> impl Iterator<Item = (&str, &Explanation)> {
        self.statements.iter().map(|s| (s.sid.as_str(), &s.explanation))
    }
}

/// Statement kinds, in output order; each has fixed actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Run,
    Sync,
    Events,
    Tag,
    PassRole,
    Callback,
    StartChild,
    SyncChild,
    ChildEvents,
    S3Read,
    S3List,
    S3Write,
    MapRunStart,
    MapRunTrack,
    MapRunRedrive,
}

impl Kind {
    fn actions(self) -> &'static [&'static str] {
        match self {
            Kind::Run => &["ecs:RunTask"],
            Kind::Sync => &["ecs:DescribeTasks", "ecs:StopTask"],
            Kind::Events => &["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            Kind::Tag => &["ecs:TagResource"],
            Kind::PassRole => &["iam:PassRole"],
            Kind::Callback => {
                &["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"]
            }
            Kind::StartChild => &["states:StartExecution"],
            Kind::SyncChild => &["states:DescribeExecution", "states:StopExecution"],
            Kind::ChildEvents => &["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            Kind::S3Read => &["s3:GetObject"],
            Kind::S3List => &["s3:ListBucket"],
            Kind::S3Write => {
                &["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"]
            }
            Kind::MapRunStart => &["states:StartExecution"],
            Kind::MapRunTrack => &["states:DescribeExecution", "states:StopExecution"],
            Kind::MapRunRedrive => &["states:RedriveExecution"],
        }
    }

    fn base_sid(self) -> &'static str {
        match self {
            Kind::Run => "RunEcsTasks",
            Kind::Sync => "PollAndStopSyncEcsTasks",
            Kind::Events => "ManageSyncEcsTaskEventsRule",
            Kind::Tag => "TagEcsTasksAtLaunch",
            Kind::PassRole => "PassTaskRolesToEcs",
            Kind::Callback => "SendTaskTokenResults",
            Kind::StartChild => "StartChildExecutions",
            Kind::SyncChild => "DescribeAndStopSyncChildExecutions",
            Kind::ChildEvents => "ManageSyncChildExecutionEventsRule",
            Kind::S3Read => "ReadDistributedMapItems",
            Kind::S3List => "ListDistributedMapItems",
            Kind::S3Write => "WriteDistributedMapResults",
            Kind::MapRunStart => "StartMapRunChildExecutions",
            Kind::MapRunTrack => "DescribeAndStopMapRunChildExecutions",
            Kind::MapRunRedrive => "RedriveMapRunChildExecutions",
        }
    }

    /// Kinds whose Sid names the cluster of their `ecs:cluster` condition.
    fn per_cluster(self) -> bool {
        matches!(self, Kind::Run | Kind::Sync)
    }

    fn purpose(self) -> &'static str {
        match self {
            Kind::Run => {
                "Step Functions starts the task with ecs:RunTask, authorized against the task definition revision; \
                 narrowed to the cluster with the ecs:cluster condition when the state names it"
            }
            Kind::Sync => {
                ".sync polls the task with ecs:DescribeTasks until it stops, and stops it with ecs:StopTask on timeout \
                 or when the execution stops; the task id is unknown until RunTask returns, so the resource is \"*\" \
                 (Step Functions can only stop tasks it started), narrowed here with ecs:cluster. Request-response and \
                 .waitForTaskToken states never need these"
            }
            Kind::Events => {
                ".sync learns that the task stopped through the EventBridge rule StepFunctionsGetEventsForECSTaskRule, \
                 which Step Functions creates and updates with the state machine's role; without these actions \
                 creating the state machine fails (\"not authorized to create managed-rule\")"
            }
            Kind::Tag => {
                "the state tags the task at launch (Tags, PropagateTags or EnableECSManagedTags), so ECS also authorizes \
                 ecs:TagResource and RunTask fails with AccessDenied without it; limited to tagging at creation by the \
                 ecs:CreateAction condition and to the tasks of the state's cluster. AWS's template misses this"
            }
            Kind::PassRole => {
                "RunTask hands the task role and the task execution role to ECS, which requires iam:PassRole on each \
                 (task definition roles and role overrides); limited to ECS tasks with iam:PassedToService. AWS's \
                 template lists it in prose only"
            }
            Kind::Callback => {
                "the container reports its result with the task token (SendTaskSuccess or SendTaskFailure) and, with \
                 HeartbeatSeconds, that it is alive (SendTaskHeartbeat). These actions support no resource-level \
                 permission, so the resource must be \"*\"; the task token itself is the capability: only its holder \
                 can complete the task"
            }
            Kind::StartChild => {
                "the state starts an execution of the child state machine with states:StartExecution (every pattern); \
                 the state machine's ARN when the state names it, the account's state machines when it comes from the \
                 input"
            }
            Kind::SyncChild => {
                ".sync and .sync:2 follow the child execution with states:DescribeExecution and stop it with \
                 states:StopExecution when the state times out or the parent stops; on the child machine's executions"
            }
            Kind::ChildEvents => {
                ".sync and .sync:2 learn that the child ended through the EventBridge rule \
                 StepFunctionsGetEventsForStepFunctionsExecutionRule, which Step Functions manages with the state \
                 machine's role"
            }

            Kind::S3Read => {
                "a Distributed Map's ItemReader reads its items object with s3:GetObject (a PARQUET object too: \
                 HeadObject for its size and ranged GetObject, both authorized by s3:GetObject)"
            }
            Kind::S3List => {
                "a Distributed Map's ItemReader lists the objects under its Prefix with s3:ListBucket, narrowed to \
                 that prefix with the s3:prefix condition"
            }
            Kind::S3Write => {
                "a Distributed Map's ResultWriter writes manifest.json and the SUCCEEDED/FAILED files under its \
                 Prefix (multipart uploads for large files)"
            }
            Kind::MapRunStart => {
                "a Distributed Map's map run starts its child workflow executions as executions of this state \
                 machine with states:StartExecution"
            }
            Kind::MapRunTrack => {
                "a Distributed Map's map run follows its child executions (execution:NAME/LABEL:ID, \
                 express:NAME/LABEL:ID:ID for EXPRESS children) with states:DescribeExecution and stops them with \
                 states:StopExecution when it fails or is stopped"
            }
            Kind::MapRunRedrive => {
                "a redriven execution redrives its Distributed Map's map run: the unsuccessful STANDARD child \
                 executions (execution:NAME/LABEL:ID) are redriven with states:RedriveExecution"
            }
        }
    }

    fn source(self) -> &'static str {
        match self {
            Kind::Run => {
                "Step Functions Developer Guide, \"IAM policies for Amazon ECS/AWS Fargate\"; revision required since \
                 October 2024 (aws/aws-cdk#31714); ecs:cluster: Service Authorization Reference, Amazon ECS"
            }
            Kind::Sync => {
                "Step Functions Developer Guide, \"IAM policies for Amazon ECS/AWS Fargate\"; ecs:cluster: Service \
                 Authorization Reference, Amazon ECS"
            }
            Kind::Events => {
                "Step Functions Developer Guide, \"IAM policies for Amazon ECS/AWS Fargate\"; \
                 terraform-aws-modules/terraform-aws-step-functions#11"
            }
            Kind::Tag => {
                "serverless-operations/serverless-step-functions#656; condition as in the AWS managed policy \
                 AmazonEC2ContainerServiceEventsRole"
            }
            Kind::PassRole => {
                "Step Functions Developer Guide, \"IAM policies for Amazon ECS/AWS Fargate\" (iam:PassRole for each task \
                 execution role, task role and task role override); Service Authorization Reference, Amazon ECS (RunTask: \
                 iam:PassRole with iam:PassedToService ecs-tasks.amazonaws.com)"
            }
            Kind::Callback => {
                "Service Authorization Reference, AWS Step Functions (no resource type for SendTaskSuccess, \
                 SendTaskFailure, SendTaskHeartbeat; IAM policy simulator in aws/aws-cdk#8486)"
            }
            Kind::StartChild | Kind::SyncChild | Kind::ChildEvents => {
                "Step Functions Developer Guide, \"IAM policies for AWS Step Functions\" (StartExecution: synchronous \
                 and asynchronous templates, static and dynamic state machine ARNs)"
            }

            Kind::S3Read | Kind::S3List => {
                "Step Functions Developer Guide, \"ItemReader (Map)\", IAM policies for datasets"
            }
            Kind::S3Write => {
                "Step Functions Developer Guide, \"ResultWriter (Map)\", IAM policies for ResultWriter"
            }
            Kind::MapRunStart | Kind::MapRunTrack => {
                "Step Functions Developer Guide, \"IAM policies for using Distributed Map states\" (example of IAM \
                 policy for running a Distributed Map state)"
            }
            Kind::MapRunRedrive => {
                "Step Functions Developer Guide, \"Redriving Map Runs\" (IAM permission to redrive a Map Run: \
                 states:RedriveExecution on execution:NAME/LABEL:*)"
            }
        }
    }
}

struct Grant {
    kind: Kind,
    resource: String,
    conditions: Vec<Condition>,
    need: Need,
}

/// Findings, grouped: the same finding for several states is one warning naming them all.
#[derive(Default)]
struct Warnings(BTreeMap<(WarningKind, String), BTreeSet<String>>);

impl Warnings {
    fn add(&mut self, kind: WarningKind, state: Option<&str>, message: impl Into<String>) {
        let states = self.0.entry((kind, message.into())).or_default();
        states.extend(state.map(str::to_owned));
    }

    fn into_vec(self) -> Vec<Warning> {
        self.0
            .into_iter()
            .map(|((kind, message), states)| Warning { kind, states: states.into_iter().collect(), message })
            .collect()
    }
}

fn passed_to_ecs() -> Condition {
    Condition::new("StringEquals", "iam:PassedToService", "ecs-tasks.amazonaws.com")
}

/// A static string field, or a warning and `Err` for any other static value.
fn static_str<'a>(
    field: &'a Field,
    name: &str,
    state: &str,
    w: &mut Warnings,
) -> Result<Option<&'a str>, ()> {
    match field {
        Field::Static(Value::String(s)) => Ok(Some(s)),
        Field::Static(other) => {
            w.add(
                WarningKind::InvalidValue,
                Some(state),
                format!("{name} is {other}, not a string: RunTask would fail; no statement for this state"),
            );
            Err(())
        }
        Field::Absent | Field::Dynamic => Ok(None),
    }
}

/// The grants of one ECS RunTask state.
fn ecs_grants(t: &EcsTask, o: &Options, g: &mut Vec<Grant>, w: &mut Warnings) {
    let state = t.state.as_str();
    let need = |reason: String| Need { state: state.to_owned(), reason };
    let Ok(td_text) = static_str(&t.task_definition, "TaskDefinition", state, w) else { return };
    let td = match (td_text, &t.task_definition) {
        (Some(s), _) => match arn::task_definition(s, o) {
            Ok(td) => Some(td),
            Err(e) => {
                w.add(
                    WarningKind::InvalidValue,
                    Some(state),
                    format!("TaskDefinition {e}: RunTask would fail; no statement for this state"),
                );
                return;
            }
        },
        (None, Field::Absent) => {
            w.add(
                WarningKind::MissingTaskDefinition,
                Some(state),
                "no TaskDefinition: ECS RunTask requires one; no statement for this state",
            );
            return;
        }
        (None, _) => None,
    };
    let Ok(cluster_text) = static_str(&t.cluster, "Cluster", state, w) else { return };
    let cluster: Option<ClusterRef> = match (cluster_text, &t.cluster) {
        (_, Field::Dynamic) => {
            w.add(
                WarningKind::DynamicCluster,
                Some(state),
                "Cluster comes from the input: the ecs:cluster condition cannot narrow ecs:RunTask (nor, for .sync, \
                 ecs:StopTask and ecs:DescribeTasks); write the cluster in the definition to narrow them",
            );
            None
        }
        (c, _) => match arn::cluster(c, o) {
            Ok(c) => Some(c),
            Err(e) => {
                w.add(
                    WarningKind::InvalidValue,
                    Some(state),
                    format!("Cluster {e}: RunTask would fail; no statement for this state"),
                );
                return;
            }
        },
    };
    let in_cluster = match (&cluster, cluster_text) {
        (Some(c), Some(_)) => format!("in cluster {}", c.name),
        (Some(c), None) => format!("in cluster {} (no Cluster: ECS uses default)", c.name),
        (None, _) => "in a cluster from the input".to_owned(),
    };
    let cluster_condition: Vec<Condition> =
        cluster.iter().map(|c| Condition::new("ArnEquals", "ecs:cluster", c.arn.clone())).collect();

    let (resource, what) = match (&td, td_text) {
        (Some(d), Some(s)) => {
            let what = match d.revision {
                Some(_) => format!("TaskDefinition \"{s}\""),
                None => format!("TaskDefinition \"{s}\" (no revision: every revision of {})", d.family),
            };
            (d.arn.clone(), what)
        }
        _ => {
            w.add(
                WarningKind::DynamicTaskDefinition,
                Some(state),
                "TaskDefinition comes from the input: ecs:RunTask is granted on every task definition (\"*\", as in \
                 AWS's template for dynamic resources); write it in the definition to narrow it",
            );
            ("*".to_owned(), "TaskDefinition from the input".to_owned())
        }
    };
    g.push(Grant {
        kind: Kind::Run,
        resource,
        conditions: cluster_condition.clone(),
        need: need(format!("{} {what} {in_cluster}", pattern_name(t.pattern))),
    });

    if t.pattern.is_sync() {
        g.push(Grant {
            kind: Kind::Sync,
            resource: "*".to_owned(),
            conditions: cluster_condition,
            need: need(format!(".sync waits for its task {in_cluster}")),
        });
        g.push(Grant {
            kind: Kind::Events,
            resource: arn::sync_rule(o),
            conditions: Vec::new(),
            need: need(".sync learns when its task stops".to_owned()),
        });
    }

    if !t.tagging.is_empty() {
        let resource = match &cluster {
            Some(c) => c.tasks(),
            None => format!("arn:{}:ecs:{}:{}:task/*", o.partition, o.region, o.account),
        };
        g.push(Grant {
            kind: Kind::Tag,
            resource,
            conditions: vec![Condition::new("StringEquals", "ecs:CreateAction", "RunTask")],
            need: need(format!("sets {} {in_cluster}", t.tagging.join(", "))),
        });
    }

    pass_roles(t, td.as_ref(), o, g, w);

    if t.credentials {
        w.add(
            WarningKind::Credentials,
            Some(state),
            "Credentials: Step Functions calls ECS with Credentials.RoleArn for this state; its ECS and PassRole \
             statements belong to that role, and the execution role needs sts:AssumeRole on it (not generated)",
        );
    }
}

fn pattern_name(p: Pattern) -> &'static str {
    match p {
        Pattern::RequestResponse => "runTask",
        Pattern::Sync | Pattern::Sync2 => "runTask.sync",
        Pattern::WaitForTaskToken => "runTask.waitForTaskToken",
    }
}

fn role_grant(value: &str, origin: String, state: &str, o: &Options, g: &mut Vec<Grant>, w: &mut Warnings) {
    match arn::role(value, o) {
        Ok(role) => g.push(Grant {
            kind: Kind::PassRole,
            resource: role,
            conditions: vec![passed_to_ecs()],
            need: Need { state: state.to_owned(), reason: origin },
        }),
        Err(e) => {
            w.add(WarningKind::InvalidValue, Some(state), format!("{origin}: {e}; no iam:PassRole for it"))
        }
    }
}

/// The task definitions a state may run: its family (and revision, when both sides know it), or all of
/// them when the task definition comes from the input.
fn candidates<'a>(td: Option<&TaskDefinitionRef>, o: &'a Options) -> Vec<&'a TaskDefinitionRoles> {
    o.task_definitions
        .iter()
        .filter(|d| match td {
            Some(td) => {
                d.family == td.family
                    && (td.revision.is_none() || d.revision.is_none() || d.revision == td.revision)
            }
            None => true,
        })
        .collect()
}

/// `iam:PassRole` on every role the task can receive.
fn pass_roles(
    t: &EcsTask,
    td: Option<&TaskDefinitionRef>,
    o: &Options,
    g: &mut Vec<Grant>,
    w: &mut Warnings,
) {
    let state = t.state.as_str();
    let mut dynamic = Vec::new();
    for (field, name) in [
        (&t.task_role_override, "Overrides.TaskRoleArn"),
        (&t.execution_role_override, "Overrides.ExecutionRoleArn"),
    ] {
        match field {
            Field::Static(Value::String(s)) => role_grant(s, format!("{name} \"{s}\""), state, o, g, w),
            Field::Static(other) => w.add(
                WarningKind::InvalidValue,
                Some(state),
                format!("{name} is {other}, not a role ARN; no iam:PassRole for it"),
            ),
            Field::Dynamic => dynamic.push(name),
            Field::Absent => {}
        }
    }
    // A static override replaces the task definition's role: that one is not passed.
    let task_overridden = matches!(t.task_role_override, Field::Static(_));
    let execution_overridden = matches!(t.execution_role_override, Field::Static(_));
    let defs = candidates(td, o);
    match td {
        _ if o.task_definitions.is_empty() => w.add(
            WarningKind::NoTaskDefinitions,
            Some(state),
            match td {
                Some(td) => format!(
                    "no task definitions given: the task and execution roles of {} are unknown, so no iam:PassRole \
                     for them (give the task definitions: --task-definitions DIR)",
                    td.family
                ),
                None => "no task definitions given: the roles of the task definitions this state may run are \
                         unknown, so no iam:PassRole for them (give the task definitions: --task-definitions DIR)"
                    .to_owned(),
            },
        ),
        Some(td) if defs.is_empty() => w.add(
            WarningKind::UnknownTaskDefinition,
            Some(state),
            format!(
                "task definition {} is not among the task definitions given: no iam:PassRole for its roles",
                td.family
            ),
        ),
        None => w.add(
            WarningKind::DynamicTaskDefinition,
            Some(state),
            "TaskDefinition comes from the input: iam:PassRole covers the roles of the task definitions given only",
        ),
        Some(_) => {}
    }
    let may = if td.is_none() { ", which TaskDefinition from the input may name" } else { "" };
    for d in defs {
        let from = d.source.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
        if let (false, Some(r)) = (task_overridden, &d.task_role_arn) {
            role_grant(r, format!("task role of task definition {}{from}{may}", d.family), state, o, g, w);
        }
        if let (false, Some(r)) = (execution_overridden, &d.execution_role_arn) {
            role_grant(
                r,
                format!("execution role of task definition {}{from}{may}", d.family),
                state,
                o,
                g,
                w,
            );
        }
    }
    if !dynamic.is_empty() {
        let what = dynamic.join(" and ");
        if o.allow_wildcard_passrole {
            w.add(
                WarningKind::DynamicRole,
                Some(state),
                format!(
                    "{what} from the input: iam:PassRole is granted on every role (\"*\"), for ECS tasks only, \
                     because wildcard PassRole is allowed"
                ),
            );
            g.push(Grant {
                kind: Kind::PassRole,
                resource: "*".to_owned(),
                conditions: vec![passed_to_ecs()],
                need: Need {
                    state: state.to_owned(),
                    reason: format!("{what} from the input (wildcard allowed)"),
                },
            });
        } else {
            w.add(
                WarningKind::DynamicRole,
                Some(state),
                format!(
                    "{what} from the input: no iam:PassRole for it, so RunTask is denied when it names a role not \
                     listed here; write the role in the definition, or allow wildcard PassRole \
                     (--allow-wildcard-passrole)"
                ),
            );
        }
    }
}

fn common_warnings(needs: &Needs, o: &Options, w: &mut Warnings) {
    for (resource, state) in &needs.other {
        w.add(
            WarningKind::OtherService,
            Some(state),
            format!(
                "{resource}: sfn policy generates statements for the optimized ECS RunTask integration only; add the \
                 permissions of this integration yourself (Step Functions Developer Guide, \"How Step Functions \
                 generates IAM policies for integrated services\")"
            ),
        );
    }
    if o.state_machine.is_none() {
        for state in &needs.distributed_maps {
            w.add(
                WarningKind::DistributedMap,
                Some(state),
                "distributed Map: its child workflow executions need states:StartExecution (and DescribeExecution, \
                 StopExecution) on this state machine; not generated without its name (sfn policy \
                 --state-machine-name NAME)",
            );
        }
    }
    for state in &needs.athena_manifests {
        w.add(
            WarningKind::DistributedMap,
            Some(state),
            "distributed Map: its ItemReader reads an Athena manifest (ManifestType ATHENA_DATA) and then every data \
             file the manifest lists (s3:GetObject on each s3:// URI in it); those files are known only when the \
             manifest is read, so no permission is generated for them: grant s3:GetObject on the UNLOAD location",
        );
    }
    for a in &needs.s3 {
        if !matches!(a.bucket, Field::Static(Value::String(_))) {
            w.add(
                WarningKind::DistributedMap,
                Some(&a.state),
                "distributed Map: its ItemReader or ResultWriter names its bucket from the input, so no S3 \
                 permission is generated for it; write the Bucket in the definition",
            );
        }
    }
    if o.account == PLACEHOLDER_ACCOUNT {
        w.add(
            WarningKind::PlaceholderAccount,
            None,
            format!(
                "account {PLACEHOLDER_ACCOUNT} is a placeholder: replace it (or pass the account) before use"
            ),
        );
    }
}

/// The grants of one `states:startExecution` state (AWS's templates: StartExecution on the child machine;
/// `.sync` and `.sync:2` also DescribeExecution/StopExecution on its executions and the events rule).
fn nested_grants(t: &NestedTask, o: &Options, g: &mut Vec<Grant>, w: &mut Warnings) {
    let state = t.state.as_str();
    let Ok(machine) = static_str(&t.machine, "StateMachineArn", state, w) else { return };
    let prefix = format!("arn:{}:states:{}:{}:", o.partition, o.region, o.account);
    // `arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME[:VERSION|:ALIAS]`.
    let (machine_arn, executions, reason) = match machine {
        None => (
            format!("{prefix}stateMachine:*"),
            format!("{prefix}execution:*"),
            "StateMachineArn comes from the input".to_owned(),
        ),
        Some(arn) => {
            let parts: Vec<&str> = arn.split(':').collect();
            if parts.len() < 7 || parts.len() > 8 || parts[2] != "states" || parts[5] != "stateMachine" {
                w.add(
                    WarningKind::InvalidValue,
                    Some(state),
                    format!("StateMachineArn \"{arn}\" is not a state machine ARN: StartExecution would fail; no statement for this state"),
                );
                return;
            }
            let base = parts[..7].join(":");
            let executions = format!("{}:execution:{}:*", parts[..5].join(":"), parts[6]);
            (base, executions, format!("StateMachineArn \"{arn}\""))
        }
    };
    if machine.is_none() {
        w.add(
            WarningKind::DynamicStateMachine,
            Some(state),
            "StateMachineArn comes from the input: states:StartExecution is granted on every state machine of the \
             account (as AWS's dynamic template); write the ARN in the definition to narrow it",
        );
    }
    let need = |reason: &str| Need { state: state.to_owned(), reason: reason.to_owned() };
    g.push(Grant {
        kind: Kind::StartChild,
        resource: machine_arn,
        conditions: Vec::new(),
        need: need(&reason),
    });
    if t.pattern.is_sync() {
        g.push(Grant {
            kind: Kind::SyncChild,
            resource: executions,
            conditions: Vec::new(),
            need: need(&reason),
        });
        g.push(Grant {
            kind: Kind::ChildEvents,
            resource: format!(
                "arn:{}:events:{}:{}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule",
                o.partition, o.region, o.account
            ),
            conditions: Vec::new(),
            need: need(&format!("{} waits for the child execution", t.pattern)),
        });
    }
}

/// The S3 grants of a Distributed Map's reader or writer whose bucket is written in the definition
/// (AWS's templates: `arn:aws:s3:::BUCKET/KEY` to read, `arn:aws:s3:::BUCKET` with `s3:prefix` to list,
/// `arn:aws:s3:::BUCKET/PREFIX/*` to write; a key or prefix from the input widens to the bucket's objects).
fn s3_grants(a: &crate::needs::S3Access, grants: &mut Vec<Grant>) {
    use crate::needs::S3Op;
    let Field::Static(Value::String(bucket)) = &a.bucket else { return };
    let path = match &a.path {
        Field::Static(Value::String(p)) => Some(p.as_str()),
        Field::Absent => Some(""),
        _ => None,
    };
    let under = |p: Option<&str>| match p.map(|p| p.trim_end_matches('/')) {
        Some("") | None => format!("arn:aws:s3:::{bucket}/*"),
        Some(p) => format!("arn:aws:s3:::{bucket}/{p}/*"),
    };
    let (kind, resource, conditions, reason) = match a.op {
        S3Op::Read => {
            let resource = match path {
                Some(k) if !k.is_empty() => format!("arn:aws:s3:::{bucket}/{k}"),
                _ => format!("arn:aws:s3:::{bucket}/*"),
            };
            (Kind::S3Read, resource, Vec::new(), "ItemReader s3:getObject")
        }
        S3Op::List => {
            let conditions = match path {
                Some(p) if !p.is_empty() => vec![Condition::new("StringLike", "s3:prefix", format!("{p}*"))],
                _ => Vec::new(),
            };
            (Kind::S3List, format!("arn:aws:s3:::{bucket}"), conditions, "ItemReader s3:listObjectsV2")
        }
        S3Op::Write => (Kind::S3Write, under(path), Vec::new(), "ResultWriter"),
    };
    grants.push(Grant {
        kind,
        resource,
        conditions,
        need: Need { state: a.state.clone(), reason: reason.to_owned() },
    });
}

/// A Distributed Map's map run, when the machine's name is known (AWS's template: StartExecution on the
/// state machine, DescribeExecution and StopExecution on its map runs' child executions).
fn map_run_grants(needs: &Needs, o: &Options, grants: &mut Vec<Grant>) {
    let Some(name) = &o.state_machine else { return };
    let prefix = format!("arn:{}:states:{}:{}:", o.partition, o.region, o.account);
    let maps = needs.distributed_maps.iter().zip(&needs.map_run_labels).zip(&needs.map_run_express);
    for ((state, label), express) in maps {
        let need = || Need { state: state.clone(), reason: "distributed Map".to_owned() };
        if *express {
            // EXPRESS children (`express:NAME/LABEL:NAME:ID`) are followed and stopped like STANDARD
            // ones; a redriven map run starts them again (StartExecution), never RedriveExecution
            // (AWS: "Redriving Map Runs": only STANDARD child workflow executions are redriven).
            grants.push(Grant {
                kind: Kind::MapRunTrack,
                resource: format!("{prefix}express:{name}/{label}:*"),
                conditions: Vec::new(),
                need: need(),
            });
        } else {
            grants.push(Grant {
                kind: Kind::MapRunRedrive,
                resource: format!("{prefix}execution:{name}/{label}:*"),
                conditions: Vec::new(),
                need: need(),
            });
        }
        grants.push(Grant {
            kind: Kind::MapRunStart,
            resource: format!("{prefix}stateMachine:{name}"),
            conditions: Vec::new(),
            need: need(),
        });
        grants.push(Grant {
            kind: Kind::MapRunTrack,
            resource: format!("{prefix}execution:{name}/*"),
            conditions: Vec::new(),
            need: need(),
        });
    }
}

/// The execution role's policy.
pub(crate) fn state_machine(needs: &Needs, o: &Options) -> Policy {
    let mut grants = Vec::new();
    let mut w = Warnings::default();
    for t in &needs.ecs {
        ecs_grants(t, o, &mut grants, &mut w);
    }
    for t in &needs.nested {
        nested_grants(t, o, &mut grants, &mut w);
    }

    for a in &needs.s3 {
        s3_grants(a, &mut grants);
    }
    map_run_grants(needs, o, &mut grants);
    common_warnings(needs, o, &mut w);
    assemble(PolicyRole::StateMachine, grants, w)
}

/// The task role's policy for `.waitForTaskToken` containers.
pub(crate) fn task_role(needs: &Needs, o: &Options) -> Policy {
    let mut grants = Vec::new();
    let mut w = Warnings::default();
    // Callback states, and `.sync` states that hand over the token (heartbeats are optional there: Step
    // Functions API reference, SendTaskHeartbeat).
    let calls_back =
        |t: &&EcsTask| t.pattern == Pattern::WaitForTaskToken || (t.pattern.is_sync() && t.passes_token);
    for t in needs.ecs.iter().filter(calls_back) {
        let state = t.state.as_str();
        if !t.passes_token {
            w.add(
                WarningKind::NoTaskToken,
                Some(state),
                "runTask.waitForTaskToken without $$.Task.Token in its parameters: the container cannot call back, \
                 so the state waits until it times out; pass the token (e.g. in a container environment variable)",
            );
        }
        let td = match &t.task_definition {
            Field::Static(Value::String(s)) => arn::task_definition(s, o).ok(),
            _ => None,
        };
        let runs_as = match (&t.task_role_override, &td) {
            (Field::Static(Value::String(r)), _) => format!("Overrides.TaskRoleArn \"{r}\""),
            (Field::Dynamic, _) => "the task role override from the input".to_owned(),
            (_, Some(td)) => {
                let known: BTreeSet<&str> =
                    candidates(Some(td), o).iter().filter_map(|d| d.task_role_arn.as_deref()).collect();
                match known.into_iter().collect::<Vec<_>>() {
                    roles if !roles.is_empty() => {
                        format!("task role {} of task definition {}", roles.join(", "), td.family)
                    }
                    _ if candidates(Some(td), o).is_empty() => {
                        format!("the task role of task definition {}", td.family)
                    }
                    _ => {
                        w.add(
                            WarningKind::NoTaskRole,
                            Some(state),
                            format!(
                                "task definition {} has no taskRoleArn: its containers have no credentials to call \
                                 SendTaskSuccess; give it a task role and attach this policy to it",
                                td.family
                            ),
                        );
                        format!("the task role of task definition {} (it has none yet)", td.family)
                    }
                }
            }
            (_, None) => "the task role of the task definitions it runs".to_owned(),
        };
        grants.push(Grant {
            kind: Kind::Callback,
            resource: "*".to_owned(),
            conditions: Vec::new(),
            need: Need {
                state: state.to_owned(),
                reason: if t.pattern.is_sync() {
                    format!("its container gets the task token (optional heartbeats for .sync); attach to {runs_as}")
                } else {
                    format!("its container calls back with the task token; attach to {runs_as}")
                },
            },
        });
    }
    if grants.is_empty() {
        w.add(
            WarningKind::NoCallback,
            None,
            "no runTask.waitForTaskToken state (nor .sync state passing the task token): the containers need no \
             Step Functions permission",
        );
    }
    assemble(PolicyRole::Task, grants, w)
}

struct Group {
    kind: Kind,
    conditions: Vec<Condition>,
    resources: BTreeSet<String>,
    needs: BTreeSet<Need>,
}

impl Group {
    /// True when `self` grants everything `other` grants (same kind, fewer or equal conditions, resources covered).
    fn subsumes(&self, other: &Group) -> bool {
        self.kind == other.kind
            && self.conditions.iter().all(|c| other.conditions.contains(c))
            && (self.resources.contains("*") || other.resources.is_subset(&self.resources))
    }
}

fn assemble(role: PolicyRole, grants: Vec<Grant>, w: Warnings) -> Policy {
    let mut by_key: BTreeMap<(Kind, Vec<Condition>), Group> = BTreeMap::new();
    for g in grants {
        let mut conditions = g.conditions;
        conditions.sort();
        let group = by_key.entry((g.kind, conditions.clone())).or_insert_with(|| Group {
            kind: g.kind,
            conditions,
            resources: BTreeSet::new(),
            needs: BTreeSet::new(),
        });
        group.resources.insert(g.resource);
        group.needs.insert(g.need);
    }
    let mut groups: Vec<Option<Group>> = by_key
        .into_values()
        .map(|mut g| {
            if g.resources.contains("*") {
                g.resources = BTreeSet::from(["*".to_owned()]);
            }
            Some(g)
        })
        .collect();
    for i in 0..groups.len() {
        for j in 0..groups.len() {
            if i == j {
                continue;
            }
            let absorb = match (&groups[i], &groups[j]) {
                (Some(a), Some(b)) => a.subsumes(b),
                _ => false,
            };
            if absorb {
                if let Some(b) = groups[j].take() {
                    if let Some(a) = groups[i].as_mut() {
                        a.needs.extend(b.needs);
                    }
                }
            }
        }
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut statements: Vec<(Kind, Statement)> = groups
        .into_iter()
        .flatten()
        .map(|g| {
            let mut sid = g.kind.base_sid().to_owned();
            if g.kind.per_cluster() {
                let cluster = g
                    .conditions
                    .iter()
                    .find(|c| c.key == "ecs:cluster")
                    .and_then(|c| c.values.first())
                    .map(|arn| arn.rsplit_once("cluster/").map_or(arn.as_str(), |(_, n)| n));
                match cluster {
                    Some(name) => {
                        sid.push_str("InCluster");
                        sid.push_str(&arn::pascal(name));
                    }
                    None => sid.push_str("InAnyCluster"),
                }
            }
            let n = seen.entry(sid.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                sid.push_str(&n.to_string());
            }
            let statement = Statement {
                sid,
                actions: g.kind.actions().iter().map(|a| (*a).to_owned()).collect(),
                resources: g.resources.into_iter().collect(),
                conditions: g.conditions,
                explanation: Explanation {
                    purpose: g.kind.purpose().to_owned(),
                    source: g.kind.source().to_owned(),
                    needed_by: g.needs.into_iter().collect(),
                },
            };
            (g.kind, statement)
        })
        .collect();
    statements.sort_by(|(ka, a), (kb, b)| (ka, &a.sid).cmp(&(kb, &b.sid)));
    Policy { role, statements: statements.into_iter().map(|(_, s)| s).collect(), warnings: w.into_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_validate_what_makes_arns() {
        assert_eq!(Options::default().validate(), Ok(()));
        assert_eq!(Options::new("aws-cn", "cn-north-1", "111122223333").validate(), Ok(()));
        assert_eq!(Options::new("aws-us-gov", "us-gov-west-1", "111122223333").validate(), Ok(()));
        assert!(matches!(
            Options::new("azure", "us-east-1", "111122223333").validate(),
            Err(OptionsError::Partition(_))
        ));
        assert!(matches!(
            Options::new("aws", "useast1", "111122223333").validate(),
            Err(OptionsError::Region(_))
        ));
        assert!(matches!(Options::new("aws", "us-east-1", "1234").validate(), Err(OptionsError::Account(_))));
    }

    #[test]
    fn partitions_follow_regions() {
        assert_eq!(Options::partition_of("cn-northwest-1"), "aws-cn");
        assert_eq!(Options::partition_of("us-gov-east-1"), "aws-us-gov");
        assert_eq!(Options::partition_of("eu-west-3"), "aws");
    }

    #[test]
    fn a_wider_statement_of_the_same_kind_absorbs_a_narrower_one() {
        let wide = Group {
            kind: Kind::Sync,
            conditions: vec![],
            resources: BTreeSet::from(["*".to_owned()]),
            needs: BTreeSet::new(),
        };
        let narrow = Group {
            kind: Kind::Sync,
            conditions: vec![Condition::new("ArnEquals", "ecs:cluster", "arn:aws:ecs:r:a:cluster/x")],
            resources: BTreeSet::from(["*".to_owned()]),
            needs: BTreeSet::new(),
        };
        assert!(wide.subsumes(&narrow));
        assert!(!narrow.subsumes(&wide));
    }
}
