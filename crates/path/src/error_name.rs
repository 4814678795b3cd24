//! ASL error names (`States.Timeout`, `States.Runtime`, a custom `MyApp.Broke`, …) and how Retry and Catch
//! match them: the one table of the `States.*` names the workspace knows.
//!
//! Why here: the name of a failure is needed by every layer — `sfn-path` itself (evaluation errors are
//! `States.Runtime` or `States.ResultPathMatchFailure`), `sfn-asl` (validation of `ErrorEquals`),
//! `sfn-patterns` (task failures), the engine (Retry/Catch) and the server — and `sfn-path` is the crate
//! below all of them that depends on nothing of ours. The type is plain data (no IO), like the rest of
//! the crate.

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The prefix of the names the Amazon States Language reserves for itself: its error names
/// (`States.Timeout`) and its intrinsic functions (`States.Format`).
pub const STATES_PREFIX: &str = "States.";

/// An ASL error name: one of the `States.*` names Step Functions defines, or any other name
/// (`Custom`) a task, a Fail state or `SendTaskFailure` gives.
///
/// Build one with [`From`] / [`FromStr`], which map a known name to its variant: `"States.Timeout"`
/// becomes [`ErrorName::Timeout`]. Equality and hashing follow the name as written ([`ErrorName::as_str`]),
/// so `Custom("States.Timeout".into())` equals `Timeout` too. Serialized as the name (a JSON string).
///
/// ```
/// use sfn_path::ErrorName;
/// let e = ErrorName::from("States.Timeout");
/// assert_eq!(e, ErrorName::Timeout);
/// assert_eq!(e.as_str(), "States.Timeout");
/// assert!(e.matches("States.ALL"));
/// assert!(!e.matches("States.TaskFailed"));
/// assert_eq!(ErrorName::from("MyApp.Broke"), ErrorName::Custom("MyApp.Broke".into()));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ErrorName {
    /// `States.ALL`: in `ErrorEquals`, a wildcard for every error but the terminal ones
    /// ([`ErrorName::is_terminal`]).
    All,
    /// `States.HeartbeatTimeout`: a task sent no heartbeat for longer than `HeartbeatSeconds`. AWS
    /// records it as `States.Timeout` ([`ErrorName::shown`]), and a Retry or Catch on `States.Timeout`
    /// matches it too; only `States.HeartbeatTimeout` tells it from a `TimeoutSeconds` expiry.
    HeartbeatTimeout,
    /// `States.Timeout`: a task ran longer than `TimeoutSeconds`, or an execution longer than its
    /// `TimeoutSeconds`.
    Timeout,
    /// `States.TaskFailed`: a task failed; in `ErrorEquals`, a wildcard for every error but
    /// `States.Timeout` and the terminal ones.
    TaskFailed,
    /// `States.Permissions`: the execution's role may not run the task.
    Permissions,
    /// `States.ResultPathMatchFailure`: `ResultPath` cannot be applied to the state's input.
    ResultPathMatchFailure,
    /// `States.ParameterPathFailure`: a path in `Parameters` selects nothing.
    ParameterPathFailure,
    /// `States.QueryEvaluationError`: a JSONata expression failed or gave a value of the wrong type.
    QueryEvaluationError,
    /// `States.BranchFailed`: a branch of a Parallel state failed.
    BranchFailed,
    /// `States.NoChoiceMatched`: no Choice rule matched and there is no `Default`.
    NoChoiceMatched,
    /// `States.IntrinsicFailure`: an intrinsic function failed.
    IntrinsicFailure,
    /// `States.ExceedToleratedFailureThreshold`: a Distributed Map had more failed items than tolerated.
    ExceedToleratedFailureThreshold,
    /// `States.ItemReaderFailed`: a Distributed Map could not read its items.
    ItemReaderFailed,
    /// `States.ResultWriterFailed`: a Distributed Map could not write its results.
    ResultWriterFailed,
    /// `States.Runtime`: a run-time error of the interpreter (a path that cannot be evaluated, a
    /// history limit, …). Terminal.
    Runtime,
    /// `States.DataLimitExceeded`: a payload over the 256 KiB limit. Terminal.
    DataLimitExceeded,
    /// `States.Http.Socket`: an HTTP task's request timed out at the socket.
    HttpSocket,
    /// Any other name, as written (`MyApp.Broke`, `ECS.AccessDeniedException`, or empty when a caller
    /// gave an empty name).
    Custom(String),
}

impl ErrorName {
    /// Every known name, in the order of the table (`Custom` excepted).
    pub const KNOWN: &'static [ErrorName] = &[
        ErrorName::All,
        ErrorName::HeartbeatTimeout,
        ErrorName::Timeout,
        ErrorName::TaskFailed,
        ErrorName::Permissions,
        ErrorName::ResultPathMatchFailure,
        ErrorName::ParameterPathFailure,
        ErrorName::QueryEvaluationError,
        ErrorName::BranchFailed,
        ErrorName::NoChoiceMatched,
        ErrorName::IntrinsicFailure,
        ErrorName::ExceedToleratedFailureThreshold,
        ErrorName::ItemReaderFailed,
        ErrorName::ResultWriterFailed,
        ErrorName::Runtime,
        ErrorName::DataLimitExceeded,
        ErrorName::HttpSocket,
    ];

    /// The name as written in ASL and in history events (`States.Timeout`).
    pub fn as_str(&self) -> &str {
        match self {
            ErrorName::All => "States.ALL",
            ErrorName::HeartbeatTimeout => "States.HeartbeatTimeout",
            ErrorName::Timeout => "States.Timeout",
            ErrorName::TaskFailed => "States.TaskFailed",
            ErrorName::Permissions => "States.Permissions",
            ErrorName::ResultPathMatchFailure => "States.ResultPathMatchFailure",
            ErrorName::ParameterPathFailure => "States.ParameterPathFailure",
            ErrorName::QueryEvaluationError => "States.QueryEvaluationError",
            ErrorName::BranchFailed => "States.BranchFailed",
            ErrorName::NoChoiceMatched => "States.NoChoiceMatched",
            ErrorName::IntrinsicFailure => "States.IntrinsicFailure",
            ErrorName::ExceedToleratedFailureThreshold => "States.ExceedToleratedFailureThreshold",
            ErrorName::ItemReaderFailed => "States.ItemReaderFailed",
            ErrorName::ResultWriterFailed => "States.ResultWriterFailed",
            ErrorName::Runtime => "States.Runtime",
            ErrorName::DataLimitExceeded => "States.DataLimitExceeded",
            ErrorName::HttpSocket => "States.Http.Socket",
            ErrorName::Custom(name) => name,
        }
    }

    /// The name AWS shows for this error in history events, execution results and error outputs: the
    /// name as written, but a heartbeat expiry is `States.Timeout` (LocalStack's AWS-validated
    /// `tests/aws/services/stepfunctions/v2/timeouts/test_heartbeats.snapshot.json`: `TaskTimedOut` and
    /// `ExecutionFailed` with `"error": "States.Timeout"` after `HeartbeatSeconds` 5).
    /// [`Display`](fmt::Display) and `String::from` give this name.
    pub fn shown(&self) -> &str {
        match self {
            ErrorName::HeartbeatTimeout => ErrorName::Timeout.as_str(),
            other => other.as_str(),
        }
    }

    /// The known variant of a name, `None` for any other name.
    fn known(name: &str) -> Option<ErrorName> {
        if !name.starts_with(STATES_PREFIX) {
            return None;
        }
        ErrorName::KNOWN.iter().find(|k| k.as_str() == name).cloned()
    }

    /// Whether this is a name outside the table of `States.*` names.
    pub fn is_custom(&self) -> bool {
        ErrorName::known(self.as_str()).is_none()
    }

    /// Whether no wildcard of `ErrorEquals` (`States.ALL`, `States.TaskFailed`) matches this error:
    /// `States.Runtime` and `States.DataLimitExceeded` (AWS "Handling errors in Step Functions
    /// workflows"). Only a Retry/Catch that names one of them exactly matches it.
    pub fn is_terminal(&self) -> bool {
        *self == ErrorName::Runtime || *self == ErrorName::DataLimitExceeded
    }

    /// Whether one `ErrorEquals` entry matches an error of this name, as Retry and Catch match:
    /// `States.ALL` matches every error that is not terminal ([`ErrorName::is_terminal`]);
    /// `States.TaskFailed` matches every error that is not terminal and not a timeout; any other
    /// entry matches the same name exactly, and `States.Timeout` a heartbeat expiry too (an AWS engineer
    /// in aws/aws-cdk#16084: a Catch on `States.Timeout` "includes both Task timeout and Task Heartbeat
    /// timeout"; `States.HeartbeatTimeout` was added to tell the two apart).
    ///
    /// ```
    /// use sfn_path::ErrorName;
    /// assert!(ErrorName::from("MyApp.Broke").matches("States.TaskFailed"));
    /// assert!(!ErrorName::Runtime.matches("States.ALL"));
    /// assert!(ErrorName::HeartbeatTimeout.matches("States.HeartbeatTimeout"));
    /// assert!(ErrorName::HeartbeatTimeout.matches("States.Timeout"));
    /// assert!(!ErrorName::HeartbeatTimeout.matches("States.TaskFailed"));
    /// assert!(!ErrorName::Timeout.matches("States.HeartbeatTimeout"));
    /// assert_eq!(ErrorName::HeartbeatTimeout.to_string(), "States.Timeout");
    /// ```
    pub fn matches(&self, error_equals_entry: &str) -> bool {
        if error_equals_entry == ErrorName::All.as_str() {
            !self.is_terminal()
        } else if error_equals_entry == ErrorName::TaskFailed.as_str() {
            !self.is_terminal() && *self != ErrorName::Timeout && *self != ErrorName::HeartbeatTimeout
        } else if *self == ErrorName::HeartbeatTimeout {
            error_equals_entry == self.as_str() || error_equals_entry == self.shown()
        } else {
            self.as_str() == error_equals_entry
        }
    }

    /// Whether any entry of an `ErrorEquals` list matches ([`ErrorName::matches`]).
    pub fn matches_any<S: AsRef<str>>(&self, error_equals: &[S]) -> bool {
        error_equals.iter().any(|e| self.matches(e.as_ref()))
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown())
    }
}

impl PartialEq for ErrorName {
    fn eq(&self, other: &ErrorName) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ErrorName {}

impl Hash for ErrorName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for ErrorName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<ErrorName> for str {
    fn eq(&self, other: &ErrorName) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<ErrorName> for &str {
    fn eq(&self, other: &ErrorName) -> bool {
        *self == other.as_str()
    }
}

impl AsRef<str> for ErrorName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for ErrorName {
    fn from(name: &str) -> ErrorName {
        ErrorName::known(name).unwrap_or_else(|| ErrorName::Custom(name.to_owned()))
    }
}

impl From<String> for ErrorName {
    fn from(name: String) -> ErrorName {
        ErrorName::known(&name).unwrap_or(ErrorName::Custom(name))
    }
}

impl From<&String> for ErrorName {
    fn from(name: &String) -> ErrorName {
        ErrorName::from(name.as_str())
    }
}

impl From<Cow<'_, str>> for ErrorName {
    fn from(name: Cow<'_, str>) -> ErrorName {
        match name {
            Cow::Borrowed(s) => ErrorName::from(s),
            Cow::Owned(s) => ErrorName::from(s),
        }
    }
}

impl From<&ErrorName> for ErrorName {
    fn from(name: &ErrorName) -> ErrorName {
        name.clone()
    }
}

impl From<ErrorName> for String {
    fn from(name: ErrorName) -> String {
        match name {
            ErrorName::Custom(s) => s,
            known => known.shown().to_owned(),
        }
    }
}

impl FromStr for ErrorName {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<ErrorName, Infallible> {
        Ok(ErrorName::from(s))
    }
}

impl serde::Serialize for ErrorName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ErrorName, D::Error> {
        String::deserialize(deserializer).map(ErrorName::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table: every known name, its variant, whether it is terminal and which wildcards match it.
    #[test]
    fn table_of_names() {
        let row = |cells: [&str; 5]| {
            let [name, variant, terminal, all, task_failed] = cells;
            format!("{name:<40} {variant:<34} {terminal:<8} {all:<10} {task_failed}")
        };
        let mut rows = vec![row(["name", "variant", "terminal", "States.ALL", "States.TaskFailed"])];
        let custom = [ErrorName::from("MyApp.Broke"), ErrorName::from("")];
        for n in ErrorName::KNOWN.iter().chain(&custom) {
            let variant = format!("{n:?}");
            let yes_no = |b: bool| if b { "yes" } else { "no" };
            rows.push(row([
                n.as_str(),
                &variant,
                yes_no(n.is_terminal()),
                yes_no(n.matches("States.ALL")),
                yes_no(n.matches("States.TaskFailed")),
            ]));
        }
        insta::assert_snapshot!(rows.join("\n"));
    }

    #[test]
    fn parse_display_and_serde_round_trip() {
        for n in ErrorName::KNOWN {
            assert_eq!(ErrorName::from(n.as_str()), *n);
            assert_eq!(std::mem::discriminant(&ErrorName::from(n.as_str())), std::mem::discriminant(n));
            assert_eq!(n.as_str().parse::<ErrorName>().unwrap(), *n);
            // Shown as written, but a heartbeat expiry is shown as `States.Timeout` (see `shown`).
            assert_eq!(n.to_string(), n.shown());
            assert_eq!(n.shown() == n.as_str(), *n != ErrorName::HeartbeatTimeout);
            assert!(!n.is_custom());
            let json = serde_json::to_value(n).unwrap();
            assert_eq!(json, serde_json::Value::String(n.as_str().to_owned()));
            assert_eq!(serde_json::from_value::<ErrorName>(json).unwrap(), *n);
        }
        let c = ErrorName::from("ECS.AccessDeniedException".to_owned());
        assert_eq!(c, ErrorName::Custom("ECS.AccessDeniedException".into()));
        assert!(c.is_custom());
        assert_eq!(String::from(c), "ECS.AccessDeniedException");
        // A known name written as Custom is still that name.
        assert_eq!(ErrorName::Custom("States.Runtime".into()), ErrorName::Runtime);
        assert!(ErrorName::Custom("States.Runtime".into()).is_terminal());
        // Names are case-sensitive, as in AWS.
        assert!(ErrorName::from("states.timeout").is_custom());
    }

    #[test]
    fn matching() {
        assert!(ErrorName::Timeout.matches("States.Timeout"));
        assert!(ErrorName::Timeout.matches("States.ALL"));
        assert!(!ErrorName::Timeout.matches("States.TaskFailed"));
        assert!(ErrorName::Runtime.matches("States.Runtime"));
        assert!(!ErrorName::Runtime.matches("States.ALL"));
        assert!(!ErrorName::DataLimitExceeded.matches("States.TaskFailed"));
        assert!(ErrorName::from("A").matches_any(&["B", "A"]));
        assert!(!ErrorName::from("A").matches_any(&["B"]));
        let empty = ErrorName::from("");
        assert!(empty.matches("States.ALL") && empty.matches("States.TaskFailed") && empty.matches(""));
    }
}
