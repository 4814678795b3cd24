//! Mocks on the command line: `sfn mock init DEF` (a MockConfigFile skeleton), the flags `sfn run` and
//! `sfn serve` share (`--unmocked fail|echo`, `--virtual-time`), and the server's test cases from a mock
//! configuration file (`sfn serve --mock-config FILE`, `SFN_MOCK_CONFIG`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};

/// What a Task state with neither a mock nor an integration does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum UnmockedArg {
    /// It fails with `States.Runtime` naming its resource (the machine is accepted).
    Fail,
    /// It succeeds with its effective parameters as its result.
    Echo,
}

impl UnmockedArg {
    pub(crate) fn engine(arg: Option<UnmockedArg>) -> sfn::engine::Unmocked {
        match arg {
            None => sfn::engine::Unmocked::Refuse,
            Some(UnmockedArg::Fail) => sfn::engine::Unmocked::Fail,
            Some(UnmockedArg::Echo) => sfn::engine::Unmocked::Echo,
        }
    }
}

/// How `sfn run` treats Tasks without a mock and time.
#[derive(Debug, Args)]
pub(crate) struct RunModes {
    /// What a Task with no integration and no mock does (default: the machine is refused, naming it).
    #[arg(long, value_enum)]
    pub(crate) unmocked: Option<UnmockedArg>,
    /// Waits, Retry back-off and timeouts on a virtual clock (timestamps advance as on AWS, no real
    /// waiting). The default when every Task is mocked or runs on `--ecs sim`.
    #[arg(long, conflicts_with = "real_time")]
    pub(crate) virtual_time: bool,
    /// Real time even when every Task is mocked.
    #[arg(long)]
    pub(crate) real_time: bool,
}

/// Whether a run goes on the virtual clock, or why it cannot (an unmocked ECS Task runs a real container
/// or calls AWS: its timers cannot jump). `--virtual-time` is the default when no Task runs a real one.
pub(crate) fn virtual_time(
    modes: &RunModes,
    sim: bool,
    machine: &sfn::asl::StateMachine,
    mocked: &dyn Fn(&str) -> bool,
) -> Result<bool, String> {
    if modes.real_time {
        return Ok(false);
    }
    let real: Vec<&str> = machine
        .states
        .every()
        .into_iter()
        .filter(|s| match &s.kind {
            // ECS is the one integration here that takes real time (a container, a real ECS task); a
            // Task without integration fails or echoes at once (`--unmocked`).
            sfn::asl::StateKind::Task(t) => {
                !mocked(&s.name)
                    && matches!(sfn::patterns::Resource::parse(&t.resource),
                        Ok(sfn::patterns::Resource::Service(r)) if r.service == "ecs")
            }
            _ => false,
        })
        .map(|s| s.name.as_str())
        .collect();
    let all_virtual = sim || real.is_empty();
    if modes.virtual_time && !all_virtual {
        return Err(format!(
            "--virtual-time: the Task states {real:?} are not mocked and run real ECS tasks (mock them, or use --ecs sim)"
        ));
    }
    Ok(all_virtual)
}

/// The server's test cases: a mock configuration file.
#[derive(Debug)]
pub(crate) struct ConfigCases(pub(crate) sfn::mocks::MockConfig);

impl sfn_server::MockCases for ConfigCases {
    fn test_case(
        &self,
        machine: &str,
        case: &str,
        definition: &sfn::asl::StateMachine,
    ) -> Result<Arc<dyn sfn::engine::TaskMocks>, String> {
        match self.0.test_case_for(machine, case, definition) {
            Ok(tc) => Ok(Arc::new(tc)),
            Err(e) => Err(e.to_string()),
        }
    }

    fn problems(&self, machine: &str, definition: &sfn::asl::StateMachine) -> Vec<String> {
        let cases: Vec<&str> = self.0.test_cases(machine).collect();
        cases
            .into_iter()
            .filter_map(|c| self.0.test_case_for(machine, c, definition).err())
            .map(|e| e.to_string())
            .collect()
    }
}

/// Loads `--mock-config`, else `SFN_MOCK_CONFIG` (as Step Functions Local reads it); every unusable test
/// case is reported on stderr and the others stay usable.
pub(crate) fn server_cases(flag: Option<&PathBuf>) -> anyhow::Result<Option<ConfigCases>> {
    let path = match flag {
        Some(p) => p.clone(),
        None => match std::env::var_os("SFN_MOCK_CONFIG").filter(|v| !v.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => return Ok(None),
        },
    };
    let cfg = sfn::mocks::MockConfig::from_file(&path).map_err(|e| anyhow::anyhow!(e))?;
    for (m, c, why) in cfg.problems() {
        eprintln!("sfn serve: {}: test case '{c}' of '{m}' is unusable: {why}", path.display());
    }
    Ok(Some(ConfigCases(cfg)))
}

/// Arguments of `sfn mock`.
#[derive(Debug, Args)]
pub(crate) struct MockArgs {
    #[command(subcommand)]
    command: MockCommand,
}

#[derive(Debug, Subcommand)]
enum MockCommand {
    /// Write a MockConfigFile skeleton for a machine: a success test case, one failure test case per Task.
    Init(InitArgs),
}

/// Arguments of `sfn mock init`.
#[derive(Debug, Args)]
struct InitArgs {
    /// The state machine definition.
    definition: PathBuf,
    /// The `StateMachines` name (default: the definition file's stem, as `sfn run` and `sfn test` pair them).
    #[arg(long)]
    state_machine: Option<String>,
    /// Write here instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Region and account of the ARNs in the responses.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value = "123456789012")]
    account: String,
}

/// Runs `sfn mock …`.
pub(crate) fn run(args: &MockArgs) -> anyhow::Result<i32> {
    match &args.command {
        MockCommand::Init(a) => init(a),
    }
}

fn init(args: &InitArgs) -> anyhow::Result<i32> {
    if let Err(code) =
        crate::load_definition(&args.definition, crate::Load { mocked: true, ..Default::default() })
    {
        return Ok(code);
    }
    let text = std::fs::read(&args.definition)?;
    let raw: Value = serde_json::from_slice(&text)?;
    let name = args.state_machine.clone().unwrap_or_else(|| crate::run::state_machine_name(&args.definition));
    let skeleton = skeleton(&raw, &name, &args.region, &args.account);
    let out = serde_json::to_string_pretty(&skeleton)?;
    match &args.output {
        Some(p) => {
            std::fs::write(p, format!("{out}\n"))?;
            eprintln!("sfn mock init: wrote {}", p.display());
        }
        None => outln!("{out}"),
    }
    Ok(0)
}

/// Every Task state of a raw definition (nested ones included): its name and its fields.
fn raw_tasks<'a>(states: &'a Value, out: &mut Vec<(&'a str, &'a Map<String, Value>)>) {
    let Some(states) = states.as_object() else { return };
    for (name, s) in states {
        let Some(o) = s.as_object() else { continue };
        match o.get("Type").and_then(Value::as_str) {
            Some("Task") => out.push((name, o)),
            Some("Parallel") => {
                for b in o.get("Branches").and_then(Value::as_array).into_iter().flatten() {
                    raw_tasks(&b["States"], out);
                }
            }
            Some("Map") => {
                let p = o.get("ItemProcessor").or_else(|| o.get("Iterator"));
                if let Some(p) = p {
                    raw_tasks(&p["States"], out);
                }
            }
            _ => {}
        }
    }
}

/// The MockConfigFile skeleton of a raw definition.
pub(crate) fn skeleton(raw: &Value, name: &str, region: &str, account: &str) -> Value {
    let mut tasks = Vec::new();
    raw_tasks(&raw["States"], &mut tasks);
    let mut responses = Map::new();
    let mut happy = Map::new();
    for (state, t) in &tasks {
        let resource = t.get("Resource").and_then(Value::as_str).unwrap_or_default();
        let (ok, fail) = responses_for(resource, t, region, account);
        responses.insert(format!("{state} Success"), json!({"0": {"Return": ok}}));
        // The failure answers every attempt its retriers allow, so the failure case ends failed.
        let retries: u64 = t
            .get("Retry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| r.get("MaxAttempts").and_then(Value::as_u64).unwrap_or(3))
            .sum();
        let key = if retries == 0 { "0".to_owned() } else { format!("0-{retries}") };
        responses.insert(format!("{state} Failure"), json!({key: {"Throw": fail}}));
        happy.insert((*state).to_owned(), json!(format!("{state} Success")));
    }
    let mut cases = Map::new();
    cases.insert("HappyPath".to_owned(), Value::Object(happy.clone()));
    for (state, _) in &tasks {
        let mut c = happy.clone();
        c.insert((*state).to_owned(), json!(format!("{state} Failure")));
        cases.insert(format!("{state} Fails"), Value::Object(c));
    }
    json!({
        "StateMachines": {name: {"TestCases": cases}},
        "MockedResponses": responses,
    })
}

/// A static string parameter (`None` when it comes from a path, `Key.$`).
fn param<'a>(t: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    t.get("Parameters").or_else(|| t.get("Arguments"))?.get(key)?.as_str().filter(|s| !s.starts_with("{%"))
}

/// A success and a failure for a Task resource: for `ecs:runTask*`, ECS's shapes (the RunTask response
/// for request-response, the stopped task as DescribeTasks describes it for `.sync`, and the stopped
/// task with a non-zero exit code as the cause of `States.TaskFailed`, as AWS records them).
fn responses_for(resource: &str, t: &Map<String, Value>, region: &str, account: &str) -> (Value, Value) {
    let parsed = sfn::patterns::Resource::parse(resource);
    let service = match &parsed {
        Ok(sfn::patterns::Resource::Service(r)) => Some(r),
        _ => None,
    };
    match service {
        Some(r) if r.service == "ecs" && r.action == "runTask" && !r.sdk => {
            let task = ecs_task(t, region, account);
            let stopped = |exit: i64| {
                let mut s = task.clone();
                s.insert("LastStatus".into(), json!("STOPPED"));
                s.insert("DesiredStatus".into(), json!("STOPPED"));
                s.insert("StopCode".into(), json!("EssentialContainerExited"));
                s.insert("StoppedReason".into(), json!("Essential container in task exited"));
                s.insert("StartedBy".into(), json!("AWS Step Functions"));
                s.insert("Version".into(), json!(5));
                if let Some(Value::Array(cs)) = s.get_mut("Containers") {
                    for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                        c.insert("LastStatus".into(), json!("STOPPED"));
                        c.insert("ExitCode".into(), json!(exit));
                    }
                }
                Value::Object(s)
            };
            let ok = match r.pattern {
                sfn::patterns::Pattern::RequestResponse => json!({
                    "Failures": [],
                    "SdkHttpMetadata": {"HttpStatusCode": 200},
                    "SdkResponseMetadata": {"RequestId": "00000000-0000-0000-0000-000000000000"},
                    "Tasks": [Value::Object(task.clone())],
                }),
                sfn::patterns::Pattern::WaitForTaskToken => json!({}),
                _ => stopped(0),
            };
            (ok, json!({"Error": "States.TaskFailed", "Cause": stopped(1).to_string()}))
        }
        Some(r) if r.service == "lambda" && r.action == "invoke" => (
            json!({"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": {}}),
            json!({"Error": "Lambda.ServiceException", "Cause": "a mocked failure"}),
        ),
        _ => (json!({}), json!({"Error": "States.TaskFailed", "Cause": "a mocked failure"})),
    }
}

/// A RunTask response's task for these parameters (static `Cluster`, `TaskDefinition`, `LaunchType` and
/// container override names; placeholders otherwise), as it is right after RunTask (PROVISIONING).
fn ecs_task(t: &Map<String, Value>, region: &str, account: &str) -> Map<String, Value> {
    let cluster = param(t, "Cluster").unwrap_or("default");
    let cluster_name = cluster.rsplit('/').next().unwrap_or(cluster);
    let cluster_arn = if cluster.starts_with("arn:") {
        cluster.to_owned()
    } else {
        format!("arn:aws:ecs:{region}:{account}:cluster/{cluster_name}")
    };
    let td = param(t, "TaskDefinition").unwrap_or("task-family");
    let td_arn = if td.starts_with("arn:") {
        td.to_owned()
    } else if td.contains(':') {
        format!("arn:aws:ecs:{region}:{account}:task-definition/{td}")
    } else {
        format!("arn:aws:ecs:{region}:{account}:task-definition/{td}:1")
    };
    let family = td_arn.rsplit('/').next().unwrap_or(td).split(':').next().unwrap_or(td);
    let task_arn =
        format!("arn:aws:ecs:{region}:{account}:task/{cluster_name}/0123456789abcdef0123456789abcdef");
    let overrides = t
        .get("Parameters")
        .or_else(|| t.get("Arguments"))
        .and_then(|p| p.get("Overrides"))
        .cloned()
        .unwrap_or_else(|| json!({"ContainerOverrides": []}));
    let mut names: Vec<String> = overrides["ContainerOverrides"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["Name"].as_str().map(str::to_owned))
        .collect();
    if names.is_empty() {
        names.push("app".to_owned());
    }
    let containers: Vec<Value> = names
        .iter()
        .map(|n| {
            json!({
                "ContainerArn": format!("arn:aws:ecs:{region}:{account}:container/{cluster_name}/0123456789abcdef0123456789abcdef/{n}"),
                "Name": n,
                "LastStatus": "PENDING",
                "TaskArn": task_arn,
            })
        })
        .collect();
    let mut m = Map::new();
    m.insert("ClusterArn".into(), json!(cluster_arn));
    m.insert("Containers".into(), json!(containers));
    m.insert("DesiredStatus".into(), json!("RUNNING"));
    m.insert("Group".into(), json!(format!("family:{family}")));
    m.insert("LastStatus".into(), json!("PROVISIONING"));
    m.insert("LaunchType".into(), json!(param(t, "LaunchType").unwrap_or("FARGATE")));
    m.insert("Overrides".into(), overrides);
    m.insert("TaskArn".into(), json!(task_arn));
    m.insert("TaskDefinitionArn".into(), json!(td_arn));
    m.insert("Version".into(), json!(1));
    m
}

/// The definition a mock file's machine pairs with: `NAME.asl.json` (or `NAME.json`) in `dir`.
pub(crate) fn definition_for(dir: &Path, machine: &str) -> Option<PathBuf> {
    [format!("{machine}.asl.json"), format!("{machine}.json")]
        .into_iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
}
