//! From serde's raw union to the typed model: state-type and query-language rules, parsed paths and
//! templates, value ranges. Every problem becomes a located [`Diagnostic`]; lowering never stops early.

use serde_json::{Map, Value};
use sfn_path::jsonata::TopLevel;
use sfn_path::{ErrorName, Expr, Path, ReferencePath, Template};

use crate::diagnostic::{Diagnostic, codes};
use crate::jsonata::{JsonataExpr, JsonataExprError, JsonataPayload, JsonataTemplate};
use crate::model::*;
use crate::pointer::{self, escape};
use crate::raw::{Nullable, RawBranch, RawCatcher, RawMachine, RawQueryLanguage, RawRetrier, RawState};
use crate::schema::{self, StateType};
use crate::suggest::did_you_mean;

/// What kind of state machine is being checked (some rules differ for EXPRESS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MachineType {
    /// STANDARD workflows (the default).
    #[default]
    Standard,
    /// EXPRESS workflows: no `.sync` or `.waitForTaskToken`.
    Express,
}

fn lang(raw: Option<RawQueryLanguage>) -> Option<QueryLanguage> {
    raw.map(|l| match l {
        RawQueryLanguage::JsonPath => QueryLanguage::JsonPath,
        RawQueryLanguage::Jsonata => QueryLanguage::Jsonata,
    })
}

/// The one `Resource` a `ResultWriter` takes (AWS: "ResultWriter (Map)").
const PUT_OBJECT: &str = "arn:aws:states:::s3:putObject";

/// AWS's message for a JSONPath-only field in a JSONata state.
fn jsonpath_only(field: &str) -> String {
    format!(
        "The QueryLanguage is set to 'JSONata', but field '{field}' is only supported for the 'JSONPath' QueryLanguage"
    )
}

/// AWS's message for a JSONata-only field in a JSONPath state.
fn jsonata_only(field: &str) -> String {
    format!(
        "The QueryLanguage is set to 'JSONPath', but field '{field}' is only supported for the 'JSONata' QueryLanguage"
    )
}

/// Lowers a whole definition.
pub(crate) struct Lowering {
    pub(crate) diags: Vec<Diagnostic>,
    machine_lang: QueryLanguage,
    machine_type: MachineType,
}

impl Lowering {
    pub(crate) fn new(machine_type: MachineType) -> Self {
        Lowering { diags: Vec::new(), machine_lang: QueryLanguage::JsonPath, machine_type }
    }

    fn err(&mut self, ptr: impl Into<String>, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(codes::SCHEMA_VALIDATION_FAILED, ptr, msg));
    }

    /// A `{% … %}` string that is not an expression: a syntax error under AWS's
    /// `INVALID_JSONATA_EXPRESSION`, an empty one as a schema error.
    fn jsonata_err(&mut self, ptr: impl Into<String>, e: &JsonataExprError) {
        let code = match e {
            JsonataExprError::Empty => codes::SCHEMA_VALIDATION_FAILED,
            JsonataExprError::Syntax(_) => codes::INVALID_JSONATA_EXPRESSION,
        };
        self.diags.push(Diagnostic::error(code, ptr, e.to_string()));
    }

    fn warn(&mut self, code: &str, ptr: impl Into<String>, msg: impl Into<String>) {
        self.diags.push(Diagnostic::warning(code, ptr, msg));
    }

    /// Reports a serde error with its JSON pointer and a did-you-mean for unknown fields. `own_fields`:
    /// the names the object at `base` accepts, when a table has them (an unknown field of a nested
    /// object is matched against the names serde expected there).
    fn serde_error(
        &mut self,
        base: &str,
        e: serde_path_to_error::Error<serde_json::Error>,
        own_fields: Option<&[&str]>,
    ) {
        let mut ptr = base.to_owned();
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => ptr.push_str(&format!("/{index}")),
                serde_path_to_error::Segment::Map { key } => pointer::push(&mut ptr, key),
                _ => {}
            }
        }
        let inner = e.inner().to_string();
        let msg = match unknown_field(&inner) {
            Some((field, mut expected)) => {
                if !ptr.ends_with(&format!("/{}", escape(&field))) {
                    pointer::push(&mut ptr, &field);
                }
                if let Some(own) = own_fields
                    && ptr == format!("{base}/{}", escape(&field))
                {
                    expected = own.iter().map(|&f| f.to_owned()).collect();
                }
                unknown_field_message(&field, &expected)
            }
            None => inner,
        };
        self.err(ptr, msg);
    }

    /// Reports each member of `obj` (at `ptr`) that is not one of `fields`, with a did-you-mean.
    fn unknown_fields<S: AsRef<str>>(&mut self, obj: &Map<String, Value>, ptr: &str, fields: &[S]) {
        for field in obj.keys() {
            if !fields.iter().any(|f| f.as_ref() == field) {
                let mut at = ptr.to_owned();
                pointer::push(&mut at, field);
                self.err(at, unknown_field_message(field, fields));
            }
        }
    }

    pub(crate) fn machine(&mut self, root: &Value) -> Option<StateMachine> {
        let Value::Object(top) = root else {
            self.err("/", "Definition must be a valid JSON object");
            return None;
        };
        let mut missing = Vec::new();
        if !top.contains_key("States") {
            missing.push("States");
        }
        if !top.contains_key("StartAt") {
            missing.push("StartAt");
        }
        if !missing.is_empty() {
            self.err("/", format!("These fields are required: [{}]", missing.join(", ")));
        }
        let raw: RawMachine = match serde_path_to_error::deserialize(without_states(top).as_ref()) {
            Ok(r) => r,
            Err(e) => {
                self.serde_error("", e, None);
                return None;
            }
        };
        self.machine_lang = lang(raw.query_language).unwrap_or_default();
        if raw.timeout_seconds == Some(0) {
            self.err("/TimeoutSeconds", "TimeoutSeconds must be a positive integer");
        }
        let states = match top.get("States") {
            Some(Value::Object(m)) => self.states(m, "/States", self.machine_lang),
            Some(_) => {
                self.err("/States", "States must be a JSON object");
                States::default()
            }
            None => States::default(),
        };
        let _ = raw.states;
        Some(StateMachine {
            comment: raw.comment,
            start_at: raw.start_at.unwrap_or_default(),
            states,
            timeout_seconds: raw.timeout_seconds,
            version: raw.version,
            query_language: self.machine_lang,
        })
    }

    fn states(&mut self, map: &Map<String, Value>, ptr: &str, inherited: QueryLanguage) -> States {
        let mut out = States::default();
        if map.is_empty() {
            self.err(ptr, "States must contain at least one state");
        }
        for (name, value) in map {
            let sptr = format!("{ptr}/{}", escape(name));
            let chars = name.chars().count();
            if chars == 0 || chars > 80 || name.chars().any(char::is_control) {
                self.diags.push(Diagnostic::error(
                    codes::INVALID_STATE_NAME,
                    &sptr,
                    format!("State name '{name}' is invalid: it must be 1 to 80 characters without control characters"),
                ));
            }
            if let Some(s) = self.state(name, value, &sptr, inherited) {
                out.push(s);
            }
        }
        out
    }

    fn state(&mut self, name: &str, value: &Value, ptr: &str, inherited: QueryLanguage) -> Option<State> {
        let Value::Object(fields) = value else {
            self.err(ptr, "A state must be a JSON object");
            return None;
        };
        let raw: RawState = match serde_path_to_error::deserialize(without_nested(fields).as_ref()) {
            Ok(r) => r,
            Err(e) => {
                let names: Vec<&str> = schema::state_field_names().collect();
                self.serde_error(ptr, e, Some(&names));
                return None;
            }
        };
        let Some(kind) = raw.kind.as_deref() else {
            self.err(ptr, "These fields are required: [Type]");
            return None;
        };
        let Ok(ty) = kind.parse::<StateType>() else {
            let known = StateType::ALL.map(StateType::as_str);
            let hint = did_you_mean(kind, known).map(|s| format!(", did you mean {s}?")).unwrap_or_default();
            self.err(format!("{ptr}/Type"), format!("Unknown state type '{kind}'{hint}"));
            return None;
        };
        let own_lang = lang(raw.query_language);
        if self.machine_lang == QueryLanguage::Jsonata && own_lang == Some(QueryLanguage::JsonPath) {
            self.err(
                ptr,
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            );
        }
        let ql = own_lang.unwrap_or(inherited);
        for key in fields.keys() {
            match schema::state_field(key) {
                Some(f) if f.allowed_in(ty) => {
                    if f.refused_by(ql) {
                        // AWS's wording and location (the state): recorded in floci-io/floci's
                        // ValidateStateMachineDefinition tests (JSONPath-only fields) and measured in
                        // floci-io/floci#2968 (JSONata-only fields).
                        self.err(
                            ptr,
                            match ql {
                                QueryLanguage::Jsonata => jsonpath_only(key),
                                QueryLanguage::JsonPath => jsonata_only(key),
                            },
                        );
                    }
                }
                // AWS's wording and location (the state), measured in floci-io/floci#2735.
                _ => self.err(ptr, format!("Field '{key}' is not supported")),
            }
        }

        // Transitions.
        let terminal_type = matches!(ty, StateType::Choice | StateType::Succeed | StateType::Fail);
        if !terminal_type {
            match (&raw.next, raw.end) {
                (Some(_), Some(true)) => self.err(ptr, "A state cannot have both 'Next' and 'End: true'"),
                (None, None | Some(false)) => {
                    self.err(ptr, "These fields are required: [Next] (or 'End': true)");
                }
                _ => {}
            }
        }

        let input_path = self.io_path(&raw.input_path, &format!("{ptr}/InputPath"), "InputPath");
        let output_path = self.io_path(&raw.output_path, &format!("{ptr}/OutputPath"), "OutputPath");
        let assign = raw.assign.as_ref().map(|v| self.payload(v, &format!("{ptr}/Assign"), ql, true));
        if let Some(Value::Object(m)) = &raw.assign {
            self.check_variable_names(m, &format!("{ptr}/Assign"));
        }
        let output = raw.output.as_ref().map(|v| self.jsonata_payload(v, &format!("{ptr}/Output"), ql));

        let state_kind = match ty {
            StateType::Pass => StateKind::Pass(self.pass(&raw, ptr, ql)),
            StateType::Task => StateKind::Task(Box::new(self.task(&raw, ptr, ql))),
            StateType::Choice => StateKind::Choice(self.choice(&raw, fields, ptr, ql)),
            StateType::Wait => StateKind::Wait(self.wait(&raw, ptr, ql)),
            StateType::Succeed => StateKind::Succeed,
            StateType::Fail => StateKind::Fail(self.fail(&raw, ptr, ql)),
            StateType::Parallel => StateKind::Parallel(Box::new(self.parallel(&raw, fields, ptr, ql))),
            StateType::Map => StateKind::Map(Box::new(self.map(&raw, fields, ptr, ql))),
        };
        Some(State {
            name: name.to_owned(),
            comment: raw.comment,
            query_language: ql,
            input_path,
            output_path,
            assign,
            output,
            next: raw.next,
            end: raw.end == Some(true),
            kind: state_kind,
        })
    }

    fn check_variable_names(&mut self, m: &Map<String, Value>, ptr: &str) {
        for k in m.keys() {
            let name = k.strip_suffix(".$").unwrap_or(k);
            let mut chars = name.chars();
            let ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
                && name.chars().count() <= 80;
            if !ok {
                self.err(format!("{ptr}/{}", escape(k)), format!("'{name}' is not a valid variable name"));
            }
        }
    }

    /// AWS's `UNSUPPORTED_JSONATA_EXPRESSION` for each top-level reference of a parsed expression:
    /// `Reference to 'phone' at the top level is not supported.` at the field (floci-io/floci#2670).
    fn jsonata_references(&mut self, e: &JsonataExpr, ptr: &str) {
        for r in e.expression().top_level_references() {
            let message = match r {
                TopLevel::Name(n) => format!("Reference to '{n}' at the top level is not supported."),
                TopLevel::ContextItem => "Reference to '$' at the top level is not supported.".to_owned(),
                TopLevel::Root => "Reference to '$$' is not supported.".to_owned(),
            };
            self.diags.push(Diagnostic::error(codes::UNSUPPORTED_JSONATA_EXPRESSION, ptr, message));
        }
    }

    /// [`JsonataExpr::parse`], and the references of an expression that parses.
    fn jsonata_expr(&mut self, text: &str, ptr: &str) -> Option<Result<JsonataExpr, JsonataExprError>> {
        let parsed = JsonataExpr::parse(text);
        if let Some(Ok(e)) = &parsed {
            self.jsonata_references(e, ptr);
        }
        parsed
    }

    /// The references of every expression of a payload.
    fn payload_references(&mut self, t: &JsonataTemplate, ptr: &mut String) {
        match t {
            JsonataTemplate::Expr(e) => self.jsonata_references(e, ptr),
            JsonataTemplate::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    let len = ptr.len();
                    ptr.push_str(&format!("/{i}"));
                    self.payload_references(x, ptr);
                    ptr.truncate(len);
                }
            }
            JsonataTemplate::Object(members) => {
                for (k, x) in members {
                    let len = ptr.len();
                    pointer::push(ptr, k);
                    self.payload_references(x, ptr);
                    ptr.truncate(len);
                }
            }
            JsonataTemplate::Literal(_) => {}
        }
    }

    fn io_path(&mut self, f: &Nullable<String>, ptr: &str, field: &str) -> IoPath {
        match f {
            Nullable::Absent => IoPath::Whole,
            Nullable::Null => IoPath::Null,
            Nullable::Value(s) => match Path::parse(s) {
                Ok(p) => IoPath::Path(p),
                Err(e) => {
                    self.err(ptr, format!("The value for the field '{field}' must be a valid JSONPath: {e}"));
                    IoPath::Whole
                }
            },
        }
    }

    fn result_path(&mut self, f: &Nullable<String>, ptr: &str) -> ResultPath {
        match f {
            Nullable::Absent => ResultPath::Whole,
            Nullable::Null => ResultPath::Discard,
            Nullable::Value(s) => match ReferencePath::parse(s) {
                Ok(p) => ResultPath::Path(p),
                Err(e) => {
                    self.err(
                        ptr,
                        format!("The value for the field 'ResultPath' must be a valid ReferencePath: {e}"),
                    );
                    ResultPath::Whole
                }
            },
        }
    }

    fn reference_path(&mut self, s: &str, ptr: &str, field: &str) -> Option<Path> {
        match ReferencePath::parse(s) {
            Ok(p) => Some(p.path().clone()),
            Err(e) => {
                // *Path fields may also read the context object or variables, but must be definite.
                match Path::parse(s) {
                    Ok(p) if p.is_definite() => Some(p),
                    _ => {
                        self.err(
                            ptr,
                            format!("The value for the field '{field}' must be a valid ReferencePath: {e}"),
                        );
                        None
                    }
                }
            }
        }
    }

    /// A template-valued field: JSONPath template or JSONata payload.
    fn payload(&mut self, v: &Value, ptr: &str, ql: QueryLanguage, assign: bool) -> Payload {
        match ql {
            QueryLanguage::JsonPath => {
                if !assign {
                    self.no_dollar(v, ptr);
                }
                match Template::parse(v) {
                    Ok(t) => Payload::JsonPath(t),
                    Err(e) => {
                        self.err(
                            ptr,
                            format!(
                                "The value for the field '{}' must be a valid JSONPath or a valid intrinsic function call ({} at {})",
                                e.field,
                                e.error.message(),
                                e.pointer
                            ),
                        );
                        Payload::JsonPath(Template::Literal(Value::Null))
                    }
                }
            }
            QueryLanguage::Jsonata => self.jsonata_payload(v, ptr, ql),
        }
    }

    /// A JSONata payload (`Output`, `Arguments`, …): every expression parsed and, in a JSONata state,
    /// checked for what it reads from the top-level context.
    fn jsonata_payload(&mut self, v: &Value, ptr: &str, ql: QueryLanguage) -> Payload {
        match JsonataPayload::parse(v) {
            Ok(p) => {
                if ql == QueryLanguage::Jsonata {
                    self.payload_references(p.template(), &mut ptr.to_owned());
                }
                Payload::Jsonata(p)
            }
            Err(e) => {
                self.jsonata_err(format!("{ptr}{}", e.pointer()), e.error());
                Payload::JsonPath(Template::Literal(Value::Null))
            }
        }
    }

    /// AWS's NO_DOLLAR warning: a value that looks like a path or intrinsic under a key without `.$`.
    fn no_dollar(&mut self, v: &Value, ptr: &str) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{ptr}/{}", escape(k));
                    if k.ends_with(".$") {
                        continue;
                    }
                    if let Value::String(s) = x
                        && (s.starts_with("$.")
                            || s.starts_with("$$.")
                            || s.starts_with(sfn_path::STATES_PREFIX) && s.ends_with(')'))
                    {
                        self.warn(
                            codes::NO_DOLLAR,
                            p,
                            format!("The value of '{k}' looks like a path or intrinsic function but the field name does not end with '.$': the literal text is passed"),
                        );
                        continue;
                    }
                    self.no_dollar(x, &p);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.no_dollar(x, &format!("{ptr}/{i}"));
                }
            }
            _ => {}
        }
    }

    /// A number field that JSONata may give as an expression.
    fn number_or_expr(
        &mut self,
        v: &Value,
        ptr: &str,
        field: &str,
        ql: QueryLanguage,
        min: u64,
    ) -> Option<Dynamic<u64>> {
        match v {
            Value::Number(n) => match n.as_u64() {
                Some(x) if x >= min => Some(Dynamic::Value(x)),
                _ => {
                    let what = if min == 0 { "a non-negative integer" } else { "a positive integer" };
                    self.err(ptr, format!("The value for the field '{field}' must be {what}, got {n}"));
                    None
                }
            },
            Value::String(s) if ql == QueryLanguage::Jsonata => match self.jsonata_expr(s, ptr) {
                Some(Ok(e)) => Some(Dynamic::Jsonata(e)),
                Some(Err(e)) => {
                    self.jsonata_err(ptr, &e);
                    None
                }
                None => {
                    self.err(
                        ptr,
                        format!("The value for the field '{field}' must be a number or a JSONata expression"),
                    );
                    None
                }
            },
            other => {
                self.err(ptr, format!("The value for the field '{field}' must be a number, got {other}"));
                None
            }
        }
    }

    fn exclusive(&mut self, ptr: &str, a: (&str, bool), b: (&str, bool)) {
        if a.1 && b.1 {
            self.err(ptr, format!("Only one of '{}' and '{}' may be given", a.0, b.0));
        }
    }

    fn seconds(
        &mut self,
        v: Option<&Value>,
        path: Option<&String>,
        ptr: &str,
        names: (&str, &str),
        ql: QueryLanguage,
    ) -> Option<Dynamic<u64>> {
        self.exclusive(ptr, (names.0, v.is_some()), (names.1, path.is_some()));
        if let Some(v) = v {
            return self.number_or_expr(v, &format!("{ptr}/{}", names.0), names.0, ql, 1);
        }
        let p = path?;
        self.reference_path(p, &format!("{ptr}/{}", names.1), names.1).map(Dynamic::Path)
    }

    fn pass(&mut self, raw: &RawState, ptr: &str, ql: QueryLanguage) -> Pass {
        let result = match &raw.result {
            Nullable::Absent => None,
            Nullable::Null => Some(Value::Null),
            Nullable::Value(v) => {
                if let Value::Object(m) = v
                    && m.keys().any(|k| k.ends_with(".$"))
                {
                    self.warn(
                        codes::PASS_RESULT_IS_STATIC,
                        format!("{ptr}/Result"),
                        "Result is static: its '.$' fields are not evaluated (use Parameters)",
                    );
                }
                Some(v.clone())
            }
        };
        Pass {
            result,
            parameters: raw
                .parameters
                .as_ref()
                .map(|v| self.payload(v, &format!("{ptr}/Parameters"), ql, false)),
            result_path: self.result_path(&raw.result_path, &format!("{ptr}/ResultPath")),
        }
    }

    fn task(&mut self, raw: &RawState, ptr: &str, ql: QueryLanguage) -> Task {
        let resource = match &raw.resource {
            Some(r) => r.clone(),
            None => {
                self.err(ptr, "These fields are required: [Resource]");
                String::new()
            }
        };
        if self.machine_type == MachineType::Express {
            for (suffix, label, space) in [
                (".sync", ".sync", ""),
                (".sync:2", ".sync", ""),
                (".waitForTaskToken", ".waitForTaskToken", " "),
            ] {
                if resource.ends_with(suffix) && resource.starts_with("arn:") {
                    self.err(
                        format!("{ptr}/Resource"),
                        format!(
                            "Express state machine does not support '{label}' service integration{space}"
                        ),
                    );
                }
            }
        }
        let parameters = match (&raw.parameters, &raw.arguments) {
            (Some(p), _) => Some(self.payload(p, &format!("{ptr}/Parameters"), ql, false)),
            (None, Some(a)) => Some(self.jsonata_payload(a, &format!("{ptr}/Arguments"), ql)),
            _ => None,
        };
        let timeout_seconds = self.seconds(
            raw.timeout_seconds.as_ref(),
            raw.timeout_seconds_path.as_ref(),
            ptr,
            ("TimeoutSeconds", "TimeoutSecondsPath"),
            ql,
        );
        let heartbeat_seconds = self.seconds(
            raw.heartbeat_seconds.as_ref(),
            raw.heartbeat_seconds_path.as_ref(),
            ptr,
            ("HeartbeatSeconds", "HeartbeatSecondsPath"),
            ql,
        );
        if let (Some(Dynamic::Value(t)), Some(Dynamic::Value(h))) = (&timeout_seconds, &heartbeat_seconds)
            && h >= t
        {
            self.err(
                format!("{ptr}/HeartbeatSeconds"),
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
            );
        }
        let credentials = raw.credentials.as_ref().map(|c| {
            let cptr = format!("{ptr}/Credentials");
            let has_role =
                matches!(c, Value::Object(m) if m.contains_key("RoleArn") || m.contains_key("RoleArn.$"));
            if !has_role {
                self.err(&cptr, "The field 'RoleArn' is required but was missing");
            }
            self.payload(c, &cptr, ql, false)
        });
        let recovery = self.recovery(raw, ptr, ql);
        Task { resource, parameters, timeout_seconds, heartbeat_seconds, credentials, recovery }
    }

    /// ResultSelector, ResultPath, Retry and Catch of a Task, Parallel or Map, in that order (the order
    /// their findings are reported in).
    fn recovery(&mut self, raw: &RawState, ptr: &str, ql: QueryLanguage) -> Recovery {
        Recovery {
            result_selector: raw
                .result_selector
                .as_ref()
                .map(|v| self.payload(v, &format!("{ptr}/ResultSelector"), QueryLanguage::JsonPath, false)),
            result_path: self.result_path(&raw.result_path, &format!("{ptr}/ResultPath")),
            retry: self.retriers(raw.retry.as_deref(), ptr),
            catch: self.catchers(raw.catch.as_deref(), ptr, ql),
        }
    }

    fn retriers(&mut self, raw: Option<&[RawRetrier]>, ptr: &str) -> Vec<Retrier> {
        let Some(raw) = raw else { return Vec::new() };
        let n = raw.len();
        raw.iter()
            .enumerate()
            .map(|(i, r)| {
                let rptr = format!("{ptr}/Retry/{i}");
                self.error_equals(&r.error_equals, &rptr, i + 1 == n, "Retrier");
                let int = |this: &mut Self, v: &Option<Value>, field: &str, min: i64, default: u64| -> u64 {
                    match v {
                        None => default,
                        Some(Value::Number(x)) if x.as_i64().is_some_and(|x| x >= min) => x.as_u64().unwrap_or(default),
                        Some(other) => {
                            this.err(
                                format!("{rptr}/{field}"),
                                format!("The value for the field '{field}' must be an integer >= {min}, got {other}"),
                            );
                            default
                        }
                    }
                };
                let interval_seconds = int(self, &r.interval_seconds, "IntervalSeconds", 1, 1);
                let max_attempts = int(self, &r.max_attempts, "MaxAttempts", 0, 3);
                let max_delay_seconds = r.max_delay_seconds.as_ref().map(|_| int(self, &r.max_delay_seconds, "MaxDelaySeconds", 1, 1));
                let backoff_rate = match &r.backoff_rate {
                    None => 2.0,
                    Some(Value::Number(x)) if x.as_f64().is_some_and(|f| f >= 1.0) => x.as_f64().unwrap_or(2.0),
                    Some(other) => {
                        self.err(
                            format!("{rptr}/BackoffRate"),
                            format!("The value for the field 'BackoffRate' must be a number >= 1.0, got {other}"),
                        );
                        2.0
                    }
                };
                let jitter = match r.jitter_strategy.as_deref() {
                    None | Some("NONE") => Jitter::None,
                    Some("FULL") => Jitter::Full,
                    Some(other) => {
                        self.err(
                            format!("{rptr}/JitterStrategy"),
                            format!("The value for the field 'JitterStrategy' must be FULL or NONE, got '{other}'"),
                        );
                        Jitter::None
                    }
                };
                let _ = &r.comment;
                Retrier {
                    error_equals: r.error_equals.clone(),
                    interval_seconds,
                    max_attempts,
                    backoff_rate,
                    max_delay_seconds,
                    jitter,
                }
            })
            .collect()
    }

    fn error_equals(&mut self, names: &[String], ptr: &str, last: bool, what: &str) {
        let eptr = format!("{ptr}/ErrorEquals");
        if names.is_empty() {
            self.err(&eptr, "ErrorEquals must name at least one error");
        }
        let all = ErrorName::All;
        if names.iter().any(|n| *n == all.as_str()) {
            if names.len() > 1 {
                self.err(&eptr, format!("{all} must appear alone in ErrorEquals"));
            }
            if !last {
                self.err(&eptr, format!("A {what} with {all} must be the last one"));
            }
        }
    }

    fn catchers(&mut self, raw: Option<&[RawCatcher]>, ptr: &str, ql: QueryLanguage) -> Vec<Catcher> {
        let Some(raw) = raw else { return Vec::new() };
        let n = raw.len();
        raw.iter()
            .enumerate()
            .map(|(i, c)| {
                let cptr = format!("{ptr}/Catch/{i}");
                self.error_equals(&c.error_equals, &cptr, i + 1 == n, "Catcher");
                if ql == QueryLanguage::Jsonata && c.result_path.is_present() {
                    self.err(format!("{cptr}/ResultPath"), jsonpath_only("ResultPath"));
                }
                if ql == QueryLanguage::JsonPath && c.output.is_some() {
                    self.err(format!("{cptr}/Output"), jsonata_only("Output"));
                }
                let _ = &c.comment;
                Catcher {
                    error_equals: c.error_equals.clone(),
                    next: c.next.clone(),
                    result_path: self.result_path(&c.result_path, &format!("{cptr}/ResultPath")),
                    assign: c.assign.as_ref().map(|v| self.payload(v, &format!("{cptr}/Assign"), ql, true)),
                    output: c.output.as_ref().map(|v| self.jsonata_payload(v, &format!("{cptr}/Output"), ql)),
                }
            })
            .collect()
    }

    fn choice(
        &mut self,
        raw: &RawState,
        fields: &Map<String, Value>,
        ptr: &str,
        ql: QueryLanguage,
    ) -> Choice {
        let mut choices = Vec::new();
        match fields.get("Choices") {
            Some(Value::Array(list)) if !list.is_empty() => {
                for (i, rule) in list.iter().enumerate() {
                    if let Some(r) = self.choice_rule(rule, &format!("{ptr}/Choices/{i}"), ql) {
                        choices.push(ChoiceRule { index: i, ..r });
                    }
                }
            }
            Some(Value::Array(_)) => {
                self.err(format!("{ptr}/Choices"), "Choices must contain at least one rule")
            }
            Some(_) => self.err(format!("{ptr}/Choices"), "Choices must be an array"),
            None => self.err(ptr, "These fields are required: [Choices]"),
        }
        Choice { choices, default: raw.default.clone() }
    }

    fn choice_rule(&mut self, v: &Value, ptr: &str, ql: QueryLanguage) -> Option<ChoiceRule> {
        let Value::Object(m) = v else {
            self.err(ptr, "A choice rule must be a JSON object");
            return None;
        };
        let next = match m.get("Next") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                self.err(format!("{ptr}/Next"), "Next must be a string");
                String::new()
            }
            None => {
                self.err(ptr, "These fields are required: [Next]");
                String::new()
            }
        };
        let comment = m.get("Comment").and_then(Value::as_str).map(str::to_owned);
        let assign = m.get("Assign").map(|a| self.payload(a, &format!("{ptr}/Assign"), ql, true));
        let output = m.get("Output").map(|o| self.jsonata_payload(o, &format!("{ptr}/Output"), ql));
        let condition = if ql == QueryLanguage::Jsonata {
            for k in m.keys() {
                if !["Condition", "Next", "Comment", "Assign", "Output"].contains(&k.as_str()) {
                    self.err(
                        format!("{ptr}/{}", escape(k)),
                        format!("The field '{k}' is not supported in a JSONata choice rule"),
                    );
                }
            }
            match m.get("Condition") {
                Some(Value::String(s)) => match self.jsonata_expr(s, &format!("{ptr}/Condition")) {
                    Some(Ok(e)) => Condition::Jsonata(e),
                    Some(Err(e)) => {
                        self.jsonata_err(format!("{ptr}/Condition"), &e);
                        return None;
                    }
                    None => {
                        self.err(
                            format!("{ptr}/Condition"),
                            "Condition must be a JSONata expression ({% … %})",
                        );
                        return None;
                    }
                },
                Some(Value::Bool(b)) => {
                    Condition::Jsonata(JsonataExpr::parse(&format!("{{% {b} %}}"))?.ok()?)
                }
                _ => {
                    self.err(ptr, "These fields are required: [Condition]");
                    return None;
                }
            }
        } else {
            if m.contains_key("Output") {
                self.err(format!("{ptr}/Output"), jsonata_only("Output"));
            }
            self.condition(m, ptr, true)?
        };
        Some(ChoiceRule { condition, next, assign, output, comment, index: 0 })
    }

    fn condition(&mut self, m: &Map<String, Value>, ptr: &str, top: bool) -> Option<Condition> {
        let extra: &[&str] = if top { &["Next", "Comment", "Assign", "Output"] } else { &["Comment"] };
        for combinator in ["And", "Or"] {
            if let Some(v) = m.get(combinator) {
                self.only_keys(m, ptr, combinator, extra);
                let Value::Array(items) = v else {
                    self.err(
                        format!("{ptr}/{combinator}"),
                        format!("{combinator} must be a non-empty array of rules"),
                    );
                    return None;
                };
                if items.is_empty() {
                    self.err(
                        format!("{ptr}/{combinator}"),
                        format!("{combinator} must be a non-empty array of rules"),
                    );
                }
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let iptr = format!("{ptr}/{combinator}/{i}");
                    match item {
                        Value::Object(im) => out.extend(self.condition(im, &iptr, false)),
                        _ => self.err(iptr, "A choice rule must be a JSON object"),
                    }
                }
                return Some(if combinator == "And" { Condition::And(out) } else { Condition::Or(out) });
            }
        }
        if let Some(v) = m.get("Not") {
            self.only_keys(m, ptr, "Not", extra);
            let Value::Object(im) = v else {
                self.err(format!("{ptr}/Not"), "Not must be a choice rule object");
                return None;
            };
            return Some(Condition::Not(Box::new(self.condition(im, &format!("{ptr}/Not"), false)?)));
        }
        if !top && m.contains_key("Next") {
            self.err(format!("{ptr}/Next"), "Nested choice rules cannot have 'Next'");
        }
        let variable = match m.get("Variable") {
            Some(Value::String(s)) => match Path::parse(s) {
                Ok(p) => Some(p),
                Err(e) => {
                    self.err(
                        format!("{ptr}/Variable"),
                        format!("The value for the field 'Variable' must be a valid JSONPath: {e}"),
                    );
                    None
                }
            },
            Some(_) => {
                self.err(format!("{ptr}/Variable"), "Variable must be a string");
                None
            }
            None => {
                self.err(ptr, "These fields are required: [Variable]");
                None
            }
        };
        let mut tests = Vec::new();
        for (k, v) in m {
            if k == "Variable" || k == "Next" || extra.contains(&k.as_str()) {
                continue;
            }
            let kptr = format!("{ptr}/{}", escape(k));
            match comparison(k, v) {
                Ok(Some(t)) => tests.push(t),
                Ok(None) => {
                    let known = COMPARATORS.iter().copied();
                    let hint =
                        did_you_mean(k, known).map(|s| format!(", did you mean {s}?")).unwrap_or_default();
                    self.err(kptr, format!("Unknown choice rule operator '{k}'{hint}"));
                }
                Err(e) => self.err(kptr, e),
            }
        }
        let variable = variable?;
        match tests.len() {
            0 => {
                self.err(ptr, "A choice rule needs one comparison operator");
                None
            }
            1 => Some(Condition::Test { variable, test: tests.remove(0) }),
            _ => {
                self.err(ptr, "A choice rule can have only one comparison operator");
                None
            }
        }
    }

    fn only_keys(&mut self, m: &Map<String, Value>, ptr: &str, main: &str, extra: &[&str]) {
        for k in m.keys() {
            if k != main && !extra.contains(&k.as_str()) {
                self.err(
                    format!("{ptr}/{}", escape(k)),
                    format!("The field '{k}' cannot be used together with '{main}'"),
                );
            }
        }
    }

    fn wait(&mut self, raw: &RawState, ptr: &str, ql: QueryLanguage) -> Wait {
        let given = [
            ("Seconds", raw.seconds.is_some()),
            ("SecondsPath", raw.seconds_path.is_some()),
            ("Timestamp", raw.timestamp.is_some()),
            ("TimestampPath", raw.timestamp_path.is_some()),
        ];
        let count = given.iter().filter(|g| g.1).count();
        if count != 1 {
            self.err(
                ptr,
                "A Wait state needs exactly one of Seconds, SecondsPath, Timestamp and TimestampPath",
            );
        }
        if let Some(v) = &raw.seconds
            && let Some(d) = self.number_or_expr(v, &format!("{ptr}/Seconds"), "Seconds", ql, 0)
        {
            return Wait::Seconds(d);
        }
        if let Some(p) = &raw.seconds_path
            && let Some(p) = self.reference_path(p, &format!("{ptr}/SecondsPath"), "SecondsPath")
        {
            return Wait::Seconds(Dynamic::Path(p));
        }
        if let Some(t) = &raw.timestamp {
            let tptr = format!("{ptr}/Timestamp");
            if ql == QueryLanguage::Jsonata
                && let Some(parsed) = self.jsonata_expr(t, &tptr)
            {
                match parsed {
                    Ok(e) => return Wait::Timestamp(Dynamic::Jsonata(e)),
                    Err(e) => self.jsonata_err(&tptr, &e),
                }
            } else if crate::time::parse_timestamp(t).is_none() {
                self.err(&tptr, "String does not match RFC3339 timestamp");
            } else {
                return Wait::Timestamp(Dynamic::Value(t.clone()));
            }
        }
        if let Some(p) = &raw.timestamp_path
            && let Some(p) = self.reference_path(p, &format!("{ptr}/TimestampPath"), "TimestampPath")
        {
            return Wait::Timestamp(Dynamic::Path(p));
        }
        Wait::Seconds(Dynamic::Value(0))
    }

    fn text(
        &mut self,
        value: &Option<String>,
        path: &Option<String>,
        ptr: &str,
        names: (&str, &str),
        ql: QueryLanguage,
    ) -> Option<Text> {
        self.exclusive(ptr, (names.0, value.is_some()), (names.1, path.is_some()));
        if let Some(v) = value {
            if ql == QueryLanguage::Jsonata
                && let Some(parsed) = self.jsonata_expr(v, &format!("{ptr}/{}", names.0))
            {
                return match parsed {
                    Ok(e) => Some(Text::Jsonata(e)),
                    Err(e) => {
                        self.jsonata_err(format!("{ptr}/{}", names.0), &e);
                        None
                    }
                };
            }
            return Some(Text::Value(v.clone()));
        }
        let p = path.as_ref()?;
        match Expr::parse(p) {
            Ok(e) => Some(Text::Expr(e)),
            Err(e) => {
                self.err(
                    format!("{ptr}/{}", names.1),
                    format!("The value for the field '{}' must be a valid JSONPath or a valid intrinsic function call: {e}", names.1),
                );
                None
            }
        }
    }

    fn fail(&mut self, raw: &RawState, ptr: &str, ql: QueryLanguage) -> Fail {
        Fail {
            error: self.text(&raw.error, &raw.error_path, ptr, ("Error", "ErrorPath"), ql),
            cause: self.text(&raw.cause, &raw.cause_path, ptr, ("Cause", "CausePath"), ql),
        }
    }

    fn branch(&mut self, raw: &RawBranch, nested: Option<&Value>, ptr: &str, ql: QueryLanguage) -> Branch {
        if raw.query_language.is_some() {
            // AWS's wording and location (the processor or branch), measured in floci-io/floci#2968.
            self.err(ptr, "Field 'QueryLanguage' is not supported");
        }
        let start_at = match &raw.start_at {
            Some(s) => s.clone(),
            None => {
                self.err(ptr, "These fields are required: [StartAt]");
                String::new()
            }
        };
        let states = match nested.and_then(|n| n.get("States")) {
            Some(Value::Object(m)) => self.states(m, &format!("{ptr}/States"), ql),
            Some(_) => {
                self.err(format!("{ptr}/States"), "States must be a JSON object");
                States::default()
            }
            None => {
                self.err(ptr, "These fields are required: [States]");
                States::default()
            }
        };
        Branch { start_at, states, comment: raw.comment.clone() }
    }

    fn parallel(
        &mut self,
        raw: &RawState,
        fields: &Map<String, Value>,
        ptr: &str,
        ql: QueryLanguage,
    ) -> Parallel {
        let mut branches = Vec::new();
        match (&raw.branches, fields.get("Branches")) {
            (Some(list), Some(Value::Array(values))) if !list.is_empty() => {
                for (i, (b, v)) in list.iter().zip(values).enumerate() {
                    let bptr = format!("{ptr}/Branches/{i}");
                    if b.processor_config.is_some() {
                        self.err(
                            format!("{bptr}/ProcessorConfig"),
                            "ProcessorConfig is only supported in a Map ItemProcessor",
                        );
                    }
                    branches.push(self.branch(b, Some(v), &bptr, self.machine_lang));
                }
            }
            (Some(_), _) => self.err(format!("{ptr}/Branches"), "Branches must contain at least one branch"),
            (None, _) => self.err(ptr, "These fields are required: [Branches]"),
        }
        let parameters = match (&raw.parameters, &raw.arguments) {
            (Some(p), _) => Some(self.payload(p, &format!("{ptr}/Parameters"), ql, false)),
            (None, Some(a)) => Some(self.jsonata_payload(a, &format!("{ptr}/Arguments"), ql)),
            _ => None,
        };
        let recovery = self.recovery(raw, ptr, ql);
        Parallel { branches, parameters, recovery }
    }

    fn map(
        &mut self,
        raw: &RawState,
        fields: &Map<String, Value>,
        ptr: &str,
        ql: QueryLanguage,
    ) -> crate::model::Map {
        self.exclusive(
            ptr,
            ("ItemProcessor", raw.item_processor.is_some()),
            ("Iterator", raw.iterator.is_some()),
        );
        self.exclusive(
            ptr,
            ("ItemSelector", raw.item_selector.is_some()),
            ("Parameters", raw.parameters.is_some()),
        );
        let (proc_raw, proc_field) = match (&raw.item_processor, &raw.iterator) {
            (Some(p), _) => (Some(p), "ItemProcessor"),
            (None, Some(i)) => (Some(i), "Iterator"),
            (None, None) => {
                self.err(ptr, "These fields are required: [ItemProcessor]");
                (None, "ItemProcessor")
            }
        };
        let pptr = format!("{ptr}/{proc_field}");
        let mut mode = ProcessorMode::Inline;
        let mut execution_type = None;
        let processor = match proc_raw {
            Some(p) => {
                if let Some(cfg) = &p.processor_config {
                    match cfg.mode.as_deref() {
                        None | Some("INLINE") => {}
                        Some("DISTRIBUTED") => mode = ProcessorMode::Distributed,
                        Some(other) => self.err(
                            format!("{pptr}/ProcessorConfig/Mode"),
                            format!("Mode must be INLINE or DISTRIBUTED, got '{other}'"),
                        ),
                    }
                    if let Some(t) = &cfg.execution_type {
                        if t != "STANDARD" && t != "EXPRESS" {
                            self.err(
                                format!("{pptr}/ProcessorConfig/ExecutionType"),
                                format!("ExecutionType must be STANDARD or EXPRESS, got '{t}'"),
                            );
                        }
                        execution_type = Some(t.clone());
                    }
                }
                self.branch(p, fields.get(proc_field), &pptr, self.machine_lang)
            }
            None => Branch { start_at: String::new(), states: States::default(), comment: None },
        };
        let items_path = raw
            .items_path
            .as_ref()
            .and_then(|s| self.reference_path(s, &format!("{ptr}/ItemsPath"), "ItemsPath"));
        let item_selector = match (&raw.item_selector, &raw.parameters) {
            (Some(v), _) => Some(self.payload(v, &format!("{ptr}/ItemSelector"), ql, false)),
            (None, Some(v)) => Some(self.payload(v, &format!("{ptr}/Parameters"), ql, false)),
            _ => None,
        };
        self.one_of(
            ptr,
            ("MaxConcurrency", "MaxConcurrencyPath"),
            raw.max_concurrency.is_some() && raw.max_concurrency_path.is_some(),
        );
        let max_concurrency = match (&raw.max_concurrency, &raw.max_concurrency_path) {
            (Some(v), _) => self.number_or_expr(v, &format!("{ptr}/MaxConcurrency"), "MaxConcurrency", ql, 0),
            (None, Some(p)) => self
                .reference_path(p, &format!("{ptr}/MaxConcurrencyPath"), "MaxConcurrencyPath")
                .map(Dynamic::Path),
            _ => None,
        }
        .unwrap_or(Dynamic::Value(0));
        let tolerated_failure_count = self.tolerated(
            raw.tolerated_failure_count.as_ref(),
            raw.tolerated_failure_count_path.as_ref(),
            ptr,
            ("ToleratedFailureCount", "ToleratedFailureCountPath"),
            ql,
            None,
        );
        let tolerated_failure_percentage = self.tolerated(
            raw.tolerated_failure_percentage.as_ref(),
            raw.tolerated_failure_percentage_path.as_ref(),
            ptr,
            ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
            ql,
            Some(100.0),
        );
        if let Some(label) = &raw.label
            && (label.chars().count() > 40
                || label.chars().any(|c| c.is_whitespace() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)))
        {
            self.err(
                format!("{ptr}/Label"),
                "Label must be at most 40 characters without whitespace or special characters",
            );
        }
        for (field, value) in [("ItemReader", &raw.item_reader), ("ItemBatcher", &raw.item_batcher)] {
            if let Some(v) = value.as_ref().filter(|v| !v.is_object()) {
                self.err(format!("{ptr}/{field}"), format!("{field} must be an object, got {v}"));
            }
        }
        let mut reader = None;
        if let Some(Value::Object(r)) = &raw.item_reader {
            let rptr = format!("{ptr}/ItemReader");
            let parameters = self.resource_payload(r, &rptr, ql);
            let cfg = match r.get("ReaderConfig") {
                Some(Value::Object(cfg)) => Some(cfg),
                Some(v) => {
                    self.err(
                        format!("{rptr}/ReaderConfig"),
                        format!("ReaderConfig must be an object, got {v}"),
                    );
                    None
                }
                None => None,
            };
            if let Some(cfg) = cfg {
                self.reader_config(cfg, &format!("{rptr}/ReaderConfig"));
            }
            let max_items = cfg.and_then(|cfg| {
                self.map_number(cfg, &format!("{rptr}/ReaderConfig"), "MaxItems", Some(100_000_000.0), ql)
            });
            let text = |f: &str| cfg.and_then(|c| c.get(f)).and_then(Value::as_str).map(str::to_owned);
            let csv_headers = cfg
                .and_then(|c| c.get("CSVHeaders"))
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|h| h.as_str().map_or_else(|| h.to_string(), str::to_owned)).collect());
            reader = Some(crate::model::ItemReader {
                resource: r.get("Resource").and_then(Value::as_str).unwrap_or_default().to_owned(),
                parameters,
                input_type: text("InputType"),
                manifest_type: text("ManifestType"),
                csv_header_location: text("CSVHeaderLocation"),
                csv_headers,
                csv_delimiter: text("CSVDelimiter"),
                max_items,
            });
        }
        let mut batcher = None;
        if let Some(Value::Object(b)) = &raw.item_batcher {
            let bptr = format!("{ptr}/ItemBatcher");
            let max_items_per_batch = self.map_number(b, &bptr, "MaxItemsPerBatch", None, ql);
            let max_input_bytes_per_batch = self.map_number(b, &bptr, "MaxInputBytesPerBatch", None, ql);
            let batch_input = b
                .get("BatchInput")
                .map(|input| self.payload(input, &format!("{bptr}/BatchInput"), ql, false));
            batcher = Some(crate::model::ItemBatcher {
                max_items_per_batch,
                max_input_bytes_per_batch,
                batch_input,
            });
        }
        let mut writer = None;
        if let Some(v) = raw.result_writer.as_ref().filter(|v| !v.is_object()) {
            self.err(format!("{ptr}/ResultWriter"), format!("ResultWriter must be an object, got {v}"));
        }
        if let Some(Value::Object(w)) = &raw.result_writer {
            let wptr = format!("{ptr}/ResultWriter");
            let writer_config = self.result_writer(w, &wptr, ql);
            let parameters = self.resource_payload(w, &wptr, ql);
            writer = Some(crate::model::ResultWriter {
                resource: w.get("Resource").and_then(Value::as_str).map(str::to_owned),
                parameters,
                writer_config,
            });
        }
        let items = raw.items.as_ref().map(|v| self.jsonata_payload(v, &format!("{ptr}/Items"), ql));
        let recovery = self.recovery(raw, ptr, ql);
        crate::model::Map {
            processor,
            legacy_iterator: proc_field == "Iterator",
            mode,
            execution_type,
            items_path,
            items,
            item_selector,
            item_reader: raw.item_reader.clone(),
            item_batcher: raw.item_batcher.clone(),
            result_writer: raw.result_writer.clone(),
            reader,
            batcher,
            writer,
            max_concurrency,
            tolerated_failure_count,
            tolerated_failure_percentage,
            label: raw.label.clone(),
            recovery,
        }
    }

    /// An `ItemReader`'s `ReaderConfig`: the fields and values AWS's "ItemReader (Map)" page documents
    /// (docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html): `InputType` CSV, JSON,
    /// JSONL, PARQUET or MANIFEST; `ManifestType` S3_INVENTORY or ATHENA_DATA; `CSVHeaderLocation`
    /// FIRST_ROW or GIVEN; `CSVHeaders` an array of strings; `CSVDelimiter` COMMA, PIPE, SEMICOLON, SPACE
    /// or TAB; `MaxItems` / `MaxItemsPath` (checked by [`Lowering::map_number`]). Anything else is refused
    /// where it is written.
    fn reader_config(&mut self, cfg: &Map<String, Value>, ptr: &str) {
        const FIELDS: [&str; 7] = [
            "InputType",
            "ManifestType",
            "CSVHeaderLocation",
            "CSVHeaders",
            "CSVDelimiter",
            "MaxItems",
            "MaxItemsPath",
        ];
        const VALUES: [(&str, &[&str]); 4] = [
            ("InputType", &["CSV", "JSON", "JSONL", "PARQUET", "MANIFEST"]),
            ("ManifestType", &["S3_INVENTORY", "ATHENA_DATA"]),
            ("CSVHeaderLocation", &["FIRST_ROW", "GIVEN"]),
            ("CSVDelimiter", &["COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"]),
        ];
        self.unknown_fields(cfg, ptr, &FIELDS);
        for (field, allowed) in VALUES {
            match cfg.get(field) {
                None => {}
                Some(Value::String(v)) if allowed.contains(&v.as_str()) => {}
                Some(v) => self.err(
                    format!("{ptr}/{field}"),
                    format!("{field} must be one of {}, got {v}", allowed.join(", ")),
                ),
            }
        }
        match cfg.get("CSVHeaders") {
            None => {}
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
            Some(_) => self.err(format!("{ptr}/CSVHeaders"), "CSVHeaders must be an array of strings"),
        }
        let text = |f: &str| cfg.get(f).and_then(Value::as_str);
        if text("CSVHeaderLocation") == Some("GIVEN") && !cfg.contains_key("CSVHeaders") {
            self.err(format!("{ptr}/CSVHeaderLocation"), "CSVHeaderLocation GIVEN needs CSVHeaders");
        }
    }

    /// A `ResultWriter`'s fields, as AWS's "ResultWriter (Map)" page documents them
    /// (docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html): `Resource`
    /// (`arn:aws:states:::s3:putObject`), `Parameters` (JSONPath) or `Arguments` (JSONata), and
    /// `WriterConfig` with `Transformation` NONE, COMPACT or FLATTEN and `OutputType` JSON or JSONL. The
    /// page's "Required field combinations": `WriterConfig` alone, `Resource` with its `Parameters`, or
    /// all three; never empty. Returns the `WriterConfig` parsed (what is valid of it).
    fn result_writer(
        &mut self,
        w: &Map<String, Value>,
        ptr: &str,
        ql: QueryLanguage,
    ) -> Option<crate::model::WriterConfig> {
        use crate::model::{Transformation, WriterOutputType};
        const FIELDS: [&str; 4] = ["Resource", "Parameters", "Arguments", "WriterConfig"];
        self.unknown_fields(w, ptr, &FIELDS);
        let payload = match ql {
            QueryLanguage::JsonPath => "Parameters",
            QueryLanguage::Jsonata => "Arguments",
        };
        match ql {
            QueryLanguage::JsonPath if w.contains_key("Arguments") => {
                self.err(ptr, jsonata_only("Arguments"))
            }
            QueryLanguage::Jsonata if w.contains_key("Parameters") => {
                self.err(ptr, jsonpath_only("Parameters"))
            }
            _ => {}
        }
        let (resource, params, config) = (w.get("Resource"), w.contains_key(payload), w.get("WriterConfig"));
        match resource {
            None => {}
            Some(Value::String(r)) if r == PUT_OBJECT => {}
            Some(r) => self.err(
                format!("{ptr}/Resource"),
                format!("The ResultWriter's Resource must be {PUT_OBJECT}, got {r}"),
            ),
        }
        if resource.is_some() != params || (resource.is_none() && config.is_none()) {
            self.err(
                ptr,
                format!(
                    "The ResultWriter needs WriterConfig, or Resource and {payload}, or all three \
                     (WriterConfig alone shapes the Map's output; Resource and {payload} write the results to S3)"
                ),
            );
        }
        let cfg = match config? {
            Value::Object(cfg) => cfg,
            _ => {
                self.err(format!("{ptr}/WriterConfig"), "WriterConfig must be an object");
                return None;
            }
        };
        let cptr = format!("{ptr}/WriterConfig");
        const CONFIG: [&str; 2] = ["Transformation", "OutputType"];
        self.unknown_fields(cfg, &cptr, &CONFIG);
        let mut one = |field: &str, allowed: &[&str]| -> Option<usize> {
            let v = cfg.get(field)?;
            let found = v.as_str().and_then(|s| allowed.iter().position(|a| *a == s));
            if found.is_none() {
                self.err(
                    format!("{cptr}/{field}"),
                    format!("{field} must be one of {}, got {v}", allowed.join(", ")),
                );
            }
            found
        };
        let transformation = one("Transformation", &["NONE", "COMPACT", "FLATTEN"]).map(|i| match i {
            0 => Transformation::None,
            1 => Transformation::Compact,
            _ => Transformation::Flatten,
        });
        let output_type = one("OutputType", &["JSON", "JSONL"]).map(|i| match i {
            0 => WriterOutputType::Json,
            _ => WriterOutputType::Jsonl,
        });
        Some(crate::model::WriterConfig { transformation, output_type })
    }

    /// The `Parameters` (JSONPath) or `Arguments` (JSONata) of an `ItemReader` or `ResultWriter`, checked
    /// like a Task's (the object itself stays in the model as written).
    fn resource_payload(&mut self, m: &Map<String, Value>, ptr: &str, ql: QueryLanguage) -> Option<Payload> {
        match ql {
            QueryLanguage::JsonPath => {
                m.get("Parameters").map(|p| self.payload(p, &format!("{ptr}/Parameters"), ql, false))
            }
            QueryLanguage::Jsonata => {
                m.get("Arguments").map(|a| self.jsonata_payload(a, &format!("{ptr}/Arguments"), ql))
            }
        }
    }

    /// A distributed Map number in `container` and its `…Path` form: `ReaderConfig.MaxItems`,
    /// `ItemBatcher.MaxItemsPerBatch`, `ItemBatcher.MaxInputBytesPerBatch`. What AWS refuses, measured
    /// with ValidateStateMachineDefinition (floci-io/floci#3733): both forms together (`There should only
    /// be one of the following fields: [MaxItems, MaxItemsPath]`), the path form in JSONata (`The
    /// QueryLanguage is set to 'JSONata', but field 'MaxItemsPerBatchPath' is only supported for the
    /// 'JSONPath' QueryLanguage`), a literal below 0 (`Minimum value is 0`) and a `MaxItems` above
    /// 100000000 (`Maximum value is 100000000`). A JSONata expression is checked like any other.
    fn map_number(
        &mut self,
        container: &Map<String, Value>,
        ptr: &str,
        field: &str,
        max: Option<f64>,
        ql: QueryLanguage,
    ) -> Option<Dynamic<u64>> {
        let path_field = format!("{field}Path");
        let (value, path) = (container.get(field), container.get(&path_field));
        self.one_of(ptr, (field, &path_field), value.is_some() && path.is_some());
        let vptr = format!("{ptr}/{field}");
        let mut out = None;
        match value {
            Some(Value::Number(n)) => {
                let f = n.as_f64().unwrap_or_default();
                if f < 0.0 {
                    self.err(&vptr, "Minimum value is 0");
                } else if let Some(max) = max
                    && f > max
                {
                    self.err(&vptr, format!("Maximum value is {max}"));
                } else {
                    out = Some(Dynamic::Value(n.as_u64().unwrap_or(f as u64)));
                }
            }
            Some(Value::String(s)) if ql == QueryLanguage::Jsonata => match self.jsonata_expr(s, &vptr) {
                Some(Err(e)) => self.jsonata_err(&vptr, &e),
                Some(Ok(e)) => out = Some(Dynamic::Jsonata(e)),
                None => {}
            },
            _ => {}
        }
        match path {
            Some(_) if ql == QueryLanguage::Jsonata => self.err(ptr, jsonpath_only(&path_field)),
            Some(Value::String(p)) => {
                if let Some(p) = self.reference_path(p, &format!("{ptr}/{path_field}"), &path_field) {
                    out = Some(Dynamic::Path(p));
                }
            }
            _ => {}
        }
        out
    }

    /// AWS's refusal of a value and its `…Path` form together, at the object holding them:
    /// `There should only be one of the following fields: [MaxItems, MaxItemsPath]` (floci-io/floci#3733,
    /// measured for every Map number: `MaxConcurrency`, `ToleratedFailureCount`,
    /// `ToleratedFailurePercentage`, `ItemReader.ReaderConfig.MaxItems`, `ItemBatcher.MaxItemsPerBatch`,
    /// `ItemBatcher.MaxInputBytesPerBatch`).
    fn one_of(&mut self, ptr: &str, names: (&str, &str), both: bool) {
        if both {
            self.err(
                ptr,
                format!("There should only be one of the following fields: [{}, {}]", names.0, names.1),
            );
        }
    }

    fn tolerated(
        &mut self,
        v: Option<&Value>,
        path: Option<&String>,
        ptr: &str,
        names: (&str, &str),
        ql: QueryLanguage,
        max: Option<f64>,
    ) -> Option<Dynamic<Value>> {
        self.one_of(ptr, names, v.is_some() && path.is_some());
        if let Some(v) = v {
            let vptr = format!("{ptr}/{}", names.0);
            return match v {
                Value::Number(n) => {
                    let f = n.as_f64().unwrap_or(-1.0);
                    let integral_needed = max.is_none();
                    if f < 0.0 || max.is_some_and(|m| f > m) || (integral_needed && n.as_u64().is_none()) {
                        let range = if integral_needed {
                            "a non-negative integer".to_owned()
                        } else {
                            "a number between 0 and 100".to_owned()
                        };
                        self.err(vptr, format!("The value for the field '{}' must be {range}", names.0));
                        None
                    } else {
                        Some(Dynamic::Value(v.clone()))
                    }
                }
                Value::String(s) if ql == QueryLanguage::Jsonata => match self.jsonata_expr(s, &vptr) {
                    Some(Ok(e)) => Some(Dynamic::Jsonata(e)),
                    _ => {
                        self.err(
                            vptr,
                            format!(
                                "The value for the field '{}' must be a number or a JSONata expression",
                                names.0
                            ),
                        );
                        None
                    }
                },
                _ => {
                    self.err(vptr, format!("The value for the field '{}' must be a number", names.0));
                    None
                }
            };
        }
        let p = path?;
        self.reference_path(p, &format!("{ptr}/{}", names.1), names.1).map(Dynamic::Path)
    }
}

/// Every comparison operator name of a JSONPath choice rule.
pub(crate) const COMPARATORS: &[&str] = &[
    "StringEquals",
    "StringEqualsPath",
    "StringLessThan",
    "StringLessThanPath",
    "StringGreaterThan",
    "StringGreaterThanPath",
    "StringLessThanEquals",
    "StringLessThanEqualsPath",
    "StringGreaterThanEquals",
    "StringGreaterThanEqualsPath",
    "StringMatches",
    "NumericEquals",
    "NumericEqualsPath",
    "NumericLessThan",
    "NumericLessThanPath",
    "NumericGreaterThan",
    "NumericGreaterThanPath",
    "NumericLessThanEquals",
    "NumericLessThanEqualsPath",
    "NumericGreaterThanEquals",
    "NumericGreaterThanEqualsPath",
    "BooleanEquals",
    "BooleanEqualsPath",
    "TimestampEquals",
    "TimestampEqualsPath",
    "TimestampLessThan",
    "TimestampLessThanPath",
    "TimestampGreaterThan",
    "TimestampGreaterThanPath",
    "TimestampLessThanEquals",
    "TimestampLessThanEqualsPath",
    "TimestampGreaterThanEquals",
    "TimestampGreaterThanEqualsPath",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
];

/// Parses one operator; `Ok(None)` for an unknown name.
fn comparison(name: &str, v: &Value) -> Result<Option<Test>, String> {
    let types = [
        ("IsNull", TypeTest::IsNull),
        ("IsPresent", TypeTest::IsPresent),
        ("IsNumeric", TypeTest::IsNumeric),
        ("IsString", TypeTest::IsString),
        ("IsBoolean", TypeTest::IsBoolean),
        ("IsTimestamp", TypeTest::IsTimestamp),
    ];
    if let Some((_, t)) = types.iter().find(|(n, _)| *n == name) {
        return match v {
            Value::Bool(b) => Ok(Some(Test::Type(*t, *b))),
            _ => Err(format!("The value for the field '{name}' must be a boolean")),
        };
    }
    if name == "StringMatches" {
        return match v {
            Value::String(s) => Ok(Some(Test::StringMatches(s.clone()))),
            _ => Err("The value for the field 'StringMatches' must be a string".to_owned()),
        };
    }
    let (kind, rest) = if let Some(r) = name.strip_prefix("String") {
        (CompareKind::String, r)
    } else if let Some(r) = name.strip_prefix("Numeric") {
        (CompareKind::Numeric, r)
    } else if let Some(r) = name.strip_prefix("Boolean") {
        (CompareKind::Boolean, r)
    } else if let Some(r) = name.strip_prefix("Timestamp") {
        (CompareKind::Timestamp, r)
    } else {
        return Ok(None);
    };
    let (op_name, is_path) = match rest.strip_suffix("Path") {
        Some(o) => (o, true),
        None => (rest, false),
    };
    let op = match op_name {
        "Equals" => CompareOp::Equals,
        "LessThan" => CompareOp::LessThan,
        "LessThanEquals" => CompareOp::LessThanEquals,
        "GreaterThan" => CompareOp::GreaterThan,
        "GreaterThanEquals" => CompareOp::GreaterThanEquals,
        _ => return Ok(None),
    };
    if kind == CompareKind::Boolean && op != CompareOp::Equals {
        return Ok(None);
    }
    let operand = if is_path {
        let Value::String(s) = v else {
            return Err(format!("The value for the field '{name}' must be a JSONPath string"));
        };
        Operand::Path(
            Path::parse(s)
                .map_err(|e| format!("The value for the field '{name}' must be a valid JSONPath: {e}"))?,
        )
    } else {
        let ok = match kind {
            CompareKind::String => v.is_string(),
            CompareKind::Numeric => v.is_number(),
            CompareKind::Boolean => v.is_boolean(),
            CompareKind::Timestamp => v.as_str().is_some_and(|s| crate::time::parse_timestamp(s).is_some()),
        };
        if !ok {
            let want = match kind {
                CompareKind::String => "a string",
                CompareKind::Numeric => "a number",
                CompareKind::Boolean => "a boolean",
                CompareKind::Timestamp => "an RFC 3339 timestamp string",
            };
            return Err(format!("The value for the field '{name}' must be {want}"));
        }
        Operand::Value(v.clone())
    };
    Ok(Some(Test::Compare { kind, op, operand }))
}

/// Parses serde's "unknown field `x`, expected one of `a`, `b`" message. The field may hold backticks
/// (the names expected never do), so it ends at the last "`, expected" or "`, there are no fields".
fn unknown_field(msg: &str) -> Option<(String, Vec<String>)> {
    let rest = msg.strip_prefix("unknown field `")?;
    let end = rest.rfind("`, expected").or_else(|| rest.rfind("`, there are no fields"))?;
    let (field, rest) = (&rest[..end], &rest[end + 1..]);
    let expected = rest.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    Some((field.to_owned(), expected))
}

/// The top-level object without `States` (lowered state by state, so every state reports its own errors).
fn without_states(top: &Map<String, Value>) -> Box<Value> {
    let mut m = Map::with_capacity(top.len());
    for (k, v) in top {
        if k == "States" {
            m.insert(k.clone(), Value::Object(Map::new()));
        } else {
            m.insert(k.clone(), v.clone());
        }
    }
    Box::new(Value::Object(m))
}

/// A state without the `States` of its nested machines (they are lowered state by state too).
fn without_nested(fields: &Map<String, Value>) -> Box<Value> {
    let strip = |v: &Value| -> Value {
        match v {
            Value::Object(m) => {
                let mut c = Map::with_capacity(m.len());
                for (k, x) in m {
                    if k == "States" && x.is_object() {
                        c.insert(k.clone(), Value::Object(Map::new()));
                    } else {
                        c.insert(k.clone(), x.clone());
                    }
                }
                Value::Object(c)
            }
            other => other.clone(),
        }
    };
    let mut m = Map::with_capacity(fields.len());
    for (k, v) in fields {
        let v = match (k.as_str(), v) {
            ("ItemProcessor" | "Iterator", _) => strip(v),
            ("Branches", Value::Array(items)) => Value::Array(items.iter().map(strip).collect()),
            _ => v.clone(),
        };
        m.insert(k.clone(), v);
    }
    Box::new(Value::Object(m))
}

/// `unknown field X, did you mean Y?`, or the fields expected when none is close.
fn unknown_field_message<S: AsRef<str>>(field: &str, expected: &[S]) -> String {
    match did_you_mean(field, expected.iter().map(AsRef::as_ref)) {
        Some(s) => format!("unknown field {field}, did you mean {s}?"),
        None => {
            let names: Vec<&str> = expected.iter().map(AsRef::as_ref).collect();
            format!("unknown field {field}; expected one of: {}", names.join(", "))
        }
    }
}
