//! The Amazon States Language as typed values. Every path, template and intrinsic call is held parsed.

use std::collections::HashMap;

use serde_json::Value;
use sfn_path::{Expr, Path, ReferencePath, Template};

use crate::jsonata::{JsonataExpr, JsonataPayload};
use crate::schema::StateType;

/// `QueryLanguage`: how a state's dynamic fields are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QueryLanguage {
    /// JSONPath (the default): InputPath, Parameters, ResultSelector, ResultPath, OutputPath, `.$` keys.
    #[default]
    JsonPath,
    /// JSONata: Arguments, Output, Assign and `{% %}` expressions.
    Jsonata,
}

impl QueryLanguage {
    /// The name as written in definitions.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryLanguage::JsonPath => "JSONPath",
            QueryLanguage::Jsonata => "JSONata",
        }
    }
}

/// A whole state machine definition.
#[derive(Debug, Clone)]
pub struct StateMachine {
    /// `Comment`.
    pub comment: Option<String>,
    /// `StartAt`.
    pub start_at: String,
    /// `States`.
    pub states: States,
    /// `TimeoutSeconds` of the whole execution.
    pub timeout_seconds: Option<u64>,
    /// `Version`.
    pub version: Option<String>,
    /// Top-level `QueryLanguage` (default JSONPath).
    pub query_language: QueryLanguage,
}

/// A `States` object: states in definition order, addressable by name.
#[derive(Debug, Clone, Default)]
pub struct States {
    list: Vec<State>,
    index: HashMap<String, usize>,
}

impl States {
    pub(crate) fn push(&mut self, state: State) {
        self.index.insert(state.name.clone(), self.list.len());
        self.list.push(state);
    }

    /// The state with this name (a few states are compared one by one, the last of a repeated name as the
    /// index keeps it: cheaper than hashing the name,
    /// and the interpreter looks a state up at every transition).
    pub fn get(&self, name: &str) -> Option<&State> {
        if self.list.len() <= 8 {
            return self.list.iter().rev().find(|s| s.name == name);
        }
        self.index.get(name).map(|&i| &self.list[i])
    }

    /// Position of a state in definition order.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The state at a position.
    pub fn at(&self, i: usize) -> Option<&State> {
        self.list.get(i)
    }

    /// States in definition order.
    pub fn iter(&self) -> std::slice::Iter<'_, State> {
        self.list.iter()
    }

    /// Number of states.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when there are no states.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every state, nested ones included (a Parallel's branches and a Map's processor after the state
    /// that holds them), in definition order.
    pub fn every(&self) -> Vec<&State> {
        fn walk<'a>(states: &'a States, out: &mut Vec<&'a State>) {
            for s in states {
                out.push(s);
                match &s.kind {
                    StateKind::Parallel(p) => p.branches.iter().for_each(|b| walk(&b.states, out)),
                    StateKind::Map(m) => walk(&m.processor.states, out),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }
}

impl<'a> IntoIterator for &'a States {
    type Item = &'a State;
    type IntoIter = std::slice::Iter<'a, State>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// `InputPath` / `OutputPath`: absent (`$`), `null` (empty object) or a path.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum IoPath {
    /// Not given: `$`, the whole value.
    #[default]
    Whole,
    /// `null`: `{}` for InputPath, `{}` for OutputPath.
    Null,
    /// A path.
    Path(Path),
}

/// `ResultPath`: absent (`$`: the result replaces the input), `null` (discard the result) or a reference path.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ResultPath {
    /// Not given: `$`.
    #[default]
    Whole,
    /// `null`: keep the input, discard the result.
    Discard,
    /// Where to put the result.
    Path(ReferencePath),
}

/// A template-valued field in either query language (Parameters/Arguments, ItemSelector, Assign, Output, …).
#[derive(Debug, Clone)]
pub enum Payload {
    /// A JSONPath payload template (`.$` keys).
    JsonPath(Template),
    /// A JSONata template (`{% %}` strings).
    Jsonata(JsonataPayload),
}

impl Payload {
    /// True when the payload reads the context's `Task` object — the task token: `$$.Task.Token` (JSONPath),
    /// `$states.context.Task.Token` (JSONata) — or the whole context object (`$$`, `$states.context`), so it
    /// may hand the token to the task.
    pub fn passes_task_token(&self) -> bool {
        fn in_jsonata(t: &crate::jsonata::JsonataTemplate) -> bool {
            use crate::jsonata::JsonataTemplate as T;
            match t {
                T::Literal(_) => false,
                T::Object(m) => m.iter().any(|(_, v)| in_jsonata(v)),
                T::Array(a) => a.iter().any(in_jsonata),
                T::Expr(e) => reads_context_task(e.source()),
            }
        }
        /// `$states.context.Task…`, or `$states.context` not followed by a member name (the whole object, or
        /// a member chosen some other way).
        fn reads_context_task(source: &str) -> bool {
            const CONTEXT: &str = "$states.context";
            source.match_indices(CONTEXT).any(|(at, _)| {
                let rest = &source[at + CONTEXT.len()..];
                match rest.strip_prefix('.') {
                    Some(member) => {
                        let name = member.trim_start();
                        name.starts_with("Task")
                            || !name.starts_with(|c: char| c.is_alphanumeric() || c == '_')
                    }
                    None => !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_'),
                }
            })
        }
        match self {
            Payload::JsonPath(t) => {
                let mut found = false;
                t.for_each_path(&mut |p| found |= matches!(p.context_head(), Some(Some("Task") | None)));
                found
            }
            Payload::Jsonata(j) => in_jsonata(j.template()),
        }
    }
}

/// A number that may come from a path (`*Path` fields) or a JSONata expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic<T> {
    /// Written in the definition.
    Value(T),
    /// Read from the input with a reference path (`TimeoutSecondsPath`, `MaxConcurrencyPath`, …).
    Path(Path),
    /// Computed by a JSONata expression.
    Jsonata(JsonataExpr),
}

/// One state.
#[derive(Debug, Clone)]
pub struct State {
    /// The state's name.
    pub name: String,
    /// `Comment`.
    pub comment: Option<String>,
    /// The query language in force for this state (its own, else the state machine's).
    pub query_language: QueryLanguage,
    /// `InputPath` (JSONPath).
    pub input_path: IoPath,
    /// `OutputPath` (JSONPath).
    pub output_path: IoPath,
    /// `Assign`: variables to set after the state.
    pub assign: Option<Payload>,
    /// `Output` (JSONata).
    pub output: Option<Payload>,
    /// `Next`, when given.
    pub next: Option<String>,
    /// `End: true`.
    pub end: bool,
    /// What kind of state, with its own fields.
    pub kind: StateKind,
}

impl State {
    /// The state type.
    pub fn state_type(&self) -> StateType {
        self.kind.state_type()
    }

    /// The `Type` name (`Task`, `Pass`, …).
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }

    /// Retry, Catch, ResultSelector and ResultPath of a Task, Parallel or Map.
    pub fn recovery(&self) -> Option<&Recovery> {
        self.kind.recovery()
    }
}

/// The state types and their own fields.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum StateKind {
    Pass(Pass),
    Task(Box<Task>),
    Choice(Choice),
    Wait(Wait),
    Succeed,
    Fail(Fail),
    Parallel(Box<Parallel>),
    Map(Box<Map>),
}

impl StateKind {
    /// The state type.
    pub fn state_type(&self) -> StateType {
        match self {
            StateKind::Pass(_) => StateType::Pass,
            StateKind::Task(_) => StateType::Task,
            StateKind::Choice(_) => StateType::Choice,
            StateKind::Wait(_) => StateType::Wait,
            StateKind::Succeed => StateType::Succeed,
            StateKind::Fail(_) => StateType::Fail,
            StateKind::Parallel(_) => StateType::Parallel,
            StateKind::Map(_) => StateType::Map,
        }
    }

    /// The `Type` name.
    pub fn type_name(&self) -> &'static str {
        self.state_type().as_str()
    }

    /// Retry, Catch, ResultSelector and ResultPath of a Task, Parallel or Map; `None` for the other types.
    pub fn recovery(&self) -> Option<&Recovery> {
        match self {
            StateKind::Task(t) => Some(&t.recovery),
            StateKind::Parallel(p) => Some(&p.recovery),
            StateKind::Map(m) => Some(&m.recovery),
            _ => None,
        }
    }
}

/// A Pass state.
#[derive(Debug, Clone, Default)]
pub struct Pass {
    /// `Result`: a fixed result (never evaluated).
    pub result: Option<Value>,
    /// `Parameters` (JSONPath).
    pub parameters: Option<Payload>,
    /// `ResultPath`.
    pub result_path: ResultPath,
}

/// A Task state.
#[derive(Debug, Clone)]
pub struct Task {
    /// `Resource` as written; service integrations parse it (`sfn-patterns`).
    pub resource: String,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata).
    pub parameters: Option<Payload>,
    /// `TimeoutSeconds` / `TimeoutSecondsPath`.
    pub timeout_seconds: Option<Dynamic<u64>>,
    /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
    pub heartbeat_seconds: Option<Dynamic<u64>>,
    /// `Credentials` (`RoleArn` to assume).
    pub credentials: Option<Payload>,
    /// `ResultSelector`, `ResultPath`, `Retry`, `Catch`.
    pub recovery: Recovery,
}

/// A Choice state.
#[derive(Debug, Clone)]
pub struct Choice {
    /// `Choices`, in order.
    pub choices: Vec<ChoiceRule>,
    /// `Default`.
    pub default: Option<String>,
}

/// One top-level Choice rule.
#[derive(Debug, Clone)]
pub struct ChoiceRule {
    /// The test.
    pub condition: Condition,
    /// `Next`.
    pub next: String,
    /// `Assign` when this rule matches.
    pub assign: Option<Payload>,
    /// `Output` when this rule matches (JSONata).
    pub output: Option<Payload>,
    /// `Comment`.
    pub comment: Option<String>,
    /// Its position in the definition's `Choices` (a rule that cannot be read is left out of
    /// [`Choice::choices`], so positions there can differ).
    pub index: usize,
}

/// A Boolean expression of a Choice rule.
#[derive(Debug, Clone)]
pub enum Condition {
    /// `And`.
    And(Vec<Condition>),
    /// `Or`.
    Or(Vec<Condition>),
    /// `Not`.
    Not(Box<Condition>),
    /// `Variable` with one comparison operator.
    Test {
        /// `Variable`.
        variable: Path,
        /// The operator and its operand.
        test: Test,
    },
    /// JSONata `Condition`.
    Jsonata(JsonataExpr),
}

/// Comparison families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum CompareKind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum CompareOp {
    Equals,
    LessThan,
    LessThanEquals,
    GreaterThan,
    GreaterThanEquals,
}

/// The value a comparison compares against.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// Written in the rule (`StringEquals: "x"`).
    Value(Value),
    /// Read from the input (`StringEqualsPath: "$.x"`).
    Path(Path),
}

/// The type tests of a Choice rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum TypeTest {
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

/// One operator of a Choice rule with its operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `StringEquals`, `NumericLessThanPath`, …
    Compare {
        /// String, Numeric, Boolean or Timestamp.
        kind: CompareKind,
        /// The comparison.
        op: CompareOp,
        /// Literal or path.
        operand: Operand,
    },
    /// `StringMatches` with `*` wildcards (`\*` and `\\` escapes).
    StringMatches(String),
    /// `IsNull`, `IsPresent`, … with the expected Boolean.
    Type(TypeTest, bool),
}

/// A Wait state.
#[derive(Debug, Clone)]
pub enum Wait {
    /// `Seconds` / `SecondsPath` / JSONata `Seconds`.
    Seconds(Dynamic<u64>),
    /// `Timestamp` (validated RFC 3339) / `TimestampPath` / JSONata `Timestamp`.
    Timestamp(Dynamic<String>),
}

/// A Fail state.
#[derive(Debug, Clone, Default)]
pub struct Fail {
    /// `Error` or `ErrorPath`.
    pub error: Option<Text>,
    /// `Cause` or `CausePath`.
    pub cause: Option<Text>,
}

/// A string given literally, by a path or intrinsic (`ErrorPath`), or by JSONata.
#[derive(Debug, Clone)]
pub enum Text {
    /// Literal.
    Value(String),
    /// `ErrorPath` / `CausePath`: a path or intrinsic call.
    Expr(Expr),
    /// JSONata expression.
    Jsonata(JsonataExpr),
}

/// A Parallel state.
#[derive(Debug, Clone)]
pub struct Parallel {
    /// `Branches`.
    pub branches: Vec<Branch>,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata).
    pub parameters: Option<Payload>,
    /// `ResultSelector`, `ResultPath`, `Retry`, `Catch`.
    pub recovery: Recovery,
}

/// A nested state machine: a Parallel branch or a Map's ItemProcessor/Iterator.
#[derive(Debug, Clone)]
pub struct Branch {
    /// `StartAt`.
    pub start_at: String,
    /// `States`.
    pub states: States,
    /// `Comment`.
    pub comment: Option<String>,
}

/// `ProcessorConfig.Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcessorMode {
    /// `INLINE` (the default).
    #[default]
    Inline,
    /// `DISTRIBUTED`.
    Distributed,
}

/// A Map state.
#[derive(Debug, Clone)]
pub struct Map {
    /// `ItemProcessor` (or legacy `Iterator`).
    pub processor: Branch,
    /// The processor was written as the legacy `Iterator` (findings inside it are located there).
    pub legacy_iterator: bool,
    /// `ProcessorConfig.Mode`.
    pub mode: ProcessorMode,
    /// `ProcessorConfig.ExecutionType` (distributed mode).
    pub execution_type: Option<String>,
    /// `ItemsPath` (JSONPath): a definite path on the input, the context object or a variable.
    pub items_path: Option<Path>,
    /// `Items` (JSONata).
    pub items: Option<Payload>,
    /// `ItemSelector` (or legacy `Parameters`).
    pub item_selector: Option<Payload>,
    /// `ItemReader`, kept as written (TestState's checks and the server read it); [`Map::reader`] is the
    /// parsed form the engine runs. Its `Parameters`/`Arguments` and `ReaderConfig` are checked at load
    /// (`MaxItems`/`MaxItemsPath`, and the documented fields and values of `InputType`, `ManifestType`,
    /// `CSVHeaderLocation`, `CSVHeaders`, `CSVDelimiter`; an unknown field is refused).
    pub item_reader: Option<Value>,
    /// `ItemBatcher`, kept as written (its numbers, their `…Path` forms and `BatchInput` are checked).
    pub item_batcher: Option<Value>,
    /// `ResultWriter`, kept as written (its fields, their combination, `Parameters`/`Arguments` and
    /// `WriterConfig` are checked at load).
    pub result_writer: Option<Value>,
    /// `ItemReader`, parsed: what the engine runs (`None` when absent or not an object).
    pub reader: Option<ItemReader>,
    /// `ItemBatcher`, parsed.
    pub batcher: Option<ItemBatcher>,
    /// `ResultWriter`, parsed.
    pub writer: Option<ResultWriter>,
    /// `MaxConcurrency` / `MaxConcurrencyPath` (0 = no limit).
    pub max_concurrency: Dynamic<u64>,
    /// `ToleratedFailureCount` / `ToleratedFailureCountPath`.
    pub tolerated_failure_count: Option<Dynamic<Value>>,
    /// `ToleratedFailurePercentage` / `ToleratedFailurePercentagePath`.
    pub tolerated_failure_percentage: Option<Dynamic<Value>>,
    /// `Label`.
    pub label: Option<String>,
    /// `ResultSelector`, `ResultPath`, `Retry`, `Catch`.
    pub recovery: Recovery,
}

/// A Distributed Map's `ItemReader`: where the items come from (AWS: "ItemReader (Map)").
#[derive(Debug, Clone)]
pub struct ItemReader {
    /// `Resource` (`arn:aws:states:::s3:getObject`, `arn:aws:states:::s3:listObjectsV2`).
    pub resource: String,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata): `Bucket`, `Key` or `Prefix`.
    pub parameters: Option<Payload>,
    /// `ReaderConfig.InputType` (`JSON`, `JSONL`, `CSV`, `PARQUET`, `MANIFEST`), as written.
    pub input_type: Option<String>,
    /// `ReaderConfig.ManifestType` (`S3_INVENTORY`, the default, or `ATHENA_DATA`), as written.
    pub manifest_type: Option<String>,
    /// `ReaderConfig.CSVHeaderLocation` (`FIRST_ROW`, the default, or `GIVEN`).
    pub csv_header_location: Option<String>,
    /// `ReaderConfig.CSVHeaders` (with `CSVHeaderLocation: GIVEN`).
    pub csv_headers: Option<Vec<String>>,
    /// `ReaderConfig.CSVDelimiter` (`COMMA`, the default, `PIPE`, `SEMICOLON`, `SPACE`, `TAB`).
    pub csv_delimiter: Option<String>,
    /// `ReaderConfig.MaxItems` / `MaxItemsPath`.
    pub max_items: Option<Dynamic<u64>>,
}

/// A Distributed Map's `ItemBatcher`: iterations get `{"Items": [...], "BatchInput": ...}`.
#[derive(Debug, Clone)]
pub struct ItemBatcher {
    /// `MaxItemsPerBatch` / `MaxItemsPerBatchPath`.
    pub max_items_per_batch: Option<Dynamic<u64>>,
    /// `MaxInputBytesPerBatch` / `MaxInputBytesPerBatchPath`.
    pub max_input_bytes_per_batch: Option<Dynamic<u64>>,
    /// `BatchInput`.
    pub batch_input: Option<Payload>,
}

/// A Distributed Map's `ResultWriter` (AWS: "ResultWriter (Map)"): `Resource` with `Parameters`
/// (`Arguments` in JSONata) exports the children's results to S3; `WriterConfig` shapes them, in the
/// exported files or, without a `Resource`, in the Map's output.
#[derive(Debug, Clone)]
pub struct ResultWriter {
    /// `Resource` (`arn:aws:states:::s3:putObject`).
    pub resource: Option<String>,
    /// `Parameters` (JSONPath) or `Arguments` (JSONata): `Bucket`, `Prefix`.
    pub parameters: Option<Payload>,
    /// `WriterConfig`, when written.
    pub writer_config: Option<WriterConfig>,
}

impl ResultWriter {
    /// The results are exported to S3 (a `Resource` is written), not only shaped in the Map's output.
    pub fn exports(&self) -> bool {
        self.resource.is_some()
    }

    /// The transformation applied: `WriterConfig.Transformation`, else `NONE` when exporting (AWS's
    /// default for a ResultWriter without a WriterConfig) and `COMPACT` otherwise.
    pub fn transformation(&self) -> Transformation {
        match (self.writer_config.and_then(|c| c.transformation), self.exports()) {
            (Some(t), _) => t,
            (None, true) => Transformation::None,
            (None, false) => Transformation::Compact,
        }
    }

    /// `WriterConfig.OutputType` (`JSON` when not written).
    pub fn output_type(&self) -> WriterOutputType {
        self.writer_config.and_then(|c| c.output_type).unwrap_or_default()
    }
}

/// A `ResultWriter`'s `WriterConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterConfig {
    /// `Transformation`, when written.
    pub transformation: Option<Transformation>,
    /// `OutputType`, when written.
    pub output_type: Option<WriterOutputType>,
}

/// `WriterConfig.Transformation`: what each child execution's result becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transformation {
    /// `NONE`: the execution record (ARN, input, output, status, dates…), output unchanged.
    None,
    /// `COMPACT`: the child's output alone.
    Compact,
    /// `FLATTEN`: the child's output, an array's elements spliced in one by one.
    Flatten,
}

/// `WriterConfig.OutputType`: how the results are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriterOutputType {
    /// `JSON`: one JSON array (the default).
    #[default]
    Json,
    /// `JSONL`: JSON Lines, one result a line.
    Jsonl,
}

/// What Task, Parallel and Map share around their work: how the result is shaped and placed
/// (`ResultSelector`, `ResultPath`) and how a failure is handled (`Retry`, `Catch`).
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// `Retry`, in order.
    pub retry: Vec<Retrier>,
    /// `Catch`, in order.
    pub catch: Vec<Catcher>,
    /// `ResultSelector` (JSONPath).
    pub result_selector: Option<Payload>,
    /// `ResultPath`.
    pub result_path: ResultPath,
}

/// `JitterStrategy` of a retrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// `NONE` (the default).
    #[default]
    None,
    /// `FULL`: a random delay between 0 and the computed interval.
    Full,
}

/// One `Retry` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// `ErrorEquals`, as written (matched with [`sfn_path::ErrorName::matches`]).
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` (default 1).
    pub interval_seconds: u64,
    /// `MaxAttempts` (default 3; 0 = never retry).
    pub max_attempts: u64,
    /// `BackoffRate` (default 2.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`.
    pub max_delay_seconds: Option<u64>,
    /// `JitterStrategy`.
    pub jitter: Jitter,
}

/// One `Catch` entry.
#[derive(Debug, Clone)]
pub struct Catcher {
    /// `ErrorEquals`, as written (matched with [`sfn_path::ErrorName::matches`]).
    pub error_equals: Vec<String>,
    /// `Next`.
    pub next: String,
    /// `ResultPath` (JSONPath; default `$`).
    pub result_path: ResultPath,
    /// `Assign`.
    pub assign: Option<Payload>,
    /// `Output` (JSONata).
    pub output: Option<Payload>,
}

#[cfg(test)]
mod tests {
    /// A state is found by name whether its scope's few states are searched one by one or many are
    /// looked up by hash.
    #[test]
    fn states_are_found_by_name_in_small_and_large_scopes() {
        for n in [1usize, 8, 9, 20] {
            let states: serde_json::Map<String, serde_json::Value> = (0..n)
                .map(|i| {
                    let next = match i + 1 == n {
                        true => serde_json::json!({"Type": "Succeed"}),
                        false => serde_json::json!({"Type": "Pass", "Next": format!("S{}", i + 1)}),
                    };
                    (format!("S{i}"), next)
                })
                .collect();
            let def = serde_json::json!({"StartAt": "S0", "States": states});
            let Ok(m) = crate::parse(def.to_string().as_bytes()) else { panic!("{n} states do not parse") };
            for i in 0..n {
                let name = format!("S{i}");
                assert_eq!(m.states.get(&name).map(|s| s.name.as_str()), Some(name.as_str()), "{n} states");
                assert_eq!(m.states.position(&name), Some(i));
            }
            assert!(m.states.get("S").is_none() && m.states.get("missing").is_none());
        }
    }
}
