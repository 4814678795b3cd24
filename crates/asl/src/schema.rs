//! The state types and the one table of state fields: which state types accept each field and which
//! query language it needs. Lowering derives from it the "Field 'X' is not supported" check, the
//! query-language checks and the did-you-mean candidates for unknown fields.
//!
//! Adding a state field: one row in [`STATE_FIELDS`] (in the order of `raw::RawState`, which the tests
//! check), the field in `raw::RawState` and the model, and its lowering.

use std::fmt;
use std::str::FromStr;

use crate::model::QueryLanguage;

/// A state's `Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum StateType {
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

impl StateType {
    /// Every state type, in the order AWS's documentation lists them.
    pub const ALL: [StateType; 8] = [
        StateType::Pass,
        StateType::Task,
        StateType::Choice,
        StateType::Wait,
        StateType::Succeed,
        StateType::Fail,
        StateType::Parallel,
        StateType::Map,
    ];

    /// The `Type` name as written in a definition (and as it prefixes history event names:
    /// `TaskStateEntered`, `MapStateExited`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            StateType::Pass => "Pass",
            StateType::Task => "Task",
            StateType::Choice => "Choice",
            StateType::Wait => "Wait",
            StateType::Succeed => "Succeed",
            StateType::Fail => "Fail",
            StateType::Parallel => "Parallel",
            StateType::Map => "Map",
        }
    }
}

impl fmt::Display for StateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `Type` name that is not a state type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStateType(pub String);

impl fmt::Display for UnknownStateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unknown state type '{}'", self.0)
    }
}

impl std::error::Error for UnknownStateType {}

impl FromStr for StateType {
    type Err = UnknownStateType;

    /// The exact, case-sensitive `Type` name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StateType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| UnknownStateType(s.to_owned()))
    }
}

/// Which query language a state field needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Either language.
    Both,
    /// JSONPath states only (`InputPath`, `Parameters`, `…Path`, …).
    JsonPath,
    /// JSONata states only (`Arguments`, `Output`, `Items`).
    Jsonata,
}

/// One row of [`STATE_FIELDS`].
#[derive(Debug)]
pub(crate) struct StateField {
    /// The field name as written.
    pub(crate) name: &'static str,
    /// The state types that accept it.
    pub(crate) types: &'static [StateType],
    /// The query language it needs.
    pub(crate) needs: Needs,
}

impl StateField {
    /// Whether a state of type `ty` accepts this field.
    pub(crate) fn allowed_in(&self, ty: StateType) -> bool {
        self.types.contains(&ty)
    }

    /// Whether a state in query language `ql` refuses this field: a JSONPath-only field in a JSONata
    /// state, or a JSONata-only field in a JSONPath state.
    pub(crate) fn refused_by(&self, ql: QueryLanguage) -> bool {
        matches!(
            (self.needs, ql),
            (Needs::JsonPath, QueryLanguage::Jsonata) | (Needs::Jsonata, QueryLanguage::JsonPath)
        )
    }
}

use StateType::{Choice, Fail, Map, Parallel, Pass, Succeed, Task, Wait};

const ALL: &[StateType] = &StateType::ALL;
/// States with `Next` / `End`.
const MOVING: &[StateType] = &[Pass, Task, Wait, Parallel, Map];
/// States with `InputPath`, `OutputPath` and `Output`: all but Fail.
const WITH_IO: &[StateType] = &[Pass, Task, Choice, Wait, Succeed, Parallel, Map];
/// States with `Assign`: all but Succeed and Fail.
const ASSIGNING: &[StateType] = &[Pass, Task, Choice, Wait, Parallel, Map];
/// States with `ResultPath` and `Parameters`.
const WITH_RESULT: &[StateType] = &[Pass, Task, Parallel, Map];
/// States with `ResultSelector`, `Retry` and `Catch`.
const WORKING: &[StateType] = &[Task, Parallel, Map];

const fn row(name: &'static str, types: &'static [StateType], needs: Needs) -> StateField {
    StateField { name, types, needs }
}

/// Every state field: the state types that accept it and the query language it needs (AWS's
/// States Language specification; the language rules as measured in floci-io/floci#2735 and #2968).
pub(crate) const STATE_FIELDS: &[StateField] = &[
    row("Type", ALL, Needs::Both),
    row("Comment", ALL, Needs::Both),
    row("QueryLanguage", ALL, Needs::Both),
    row("Next", MOVING, Needs::Both),
    row("End", MOVING, Needs::Both),
    row("InputPath", WITH_IO, Needs::JsonPath),
    row("OutputPath", WITH_IO, Needs::JsonPath),
    row("ResultPath", WITH_RESULT, Needs::JsonPath),
    row("Parameters", WITH_RESULT, Needs::JsonPath),
    row("Arguments", &[Task, Parallel], Needs::Jsonata),
    row("ResultSelector", WORKING, Needs::JsonPath),
    row("Result", &[Pass], Needs::JsonPath),
    row("Assign", ASSIGNING, Needs::Both),
    row("Output", WITH_IO, Needs::Jsonata),
    row("Resource", &[Task], Needs::Both),
    row("TimeoutSeconds", &[Task], Needs::Both),
    row("TimeoutSecondsPath", &[Task], Needs::JsonPath),
    row("HeartbeatSeconds", &[Task], Needs::Both),
    row("HeartbeatSecondsPath", &[Task], Needs::JsonPath),
    row("Credentials", &[Task], Needs::Both),
    row("Retry", WORKING, Needs::Both),
    row("Catch", WORKING, Needs::Both),
    row("Choices", &[Choice], Needs::Both),
    row("Default", &[Choice], Needs::Both),
    row("Seconds", &[Wait], Needs::Both),
    row("SecondsPath", &[Wait], Needs::JsonPath),
    row("Timestamp", &[Wait], Needs::Both),
    row("TimestampPath", &[Wait], Needs::JsonPath),
    row("Error", &[Fail], Needs::Both),
    row("ErrorPath", &[Fail], Needs::JsonPath),
    row("Cause", &[Fail], Needs::Both),
    row("CausePath", &[Fail], Needs::JsonPath),
    row("Branches", &[Parallel], Needs::Both),
    row("ItemProcessor", &[Map], Needs::Both),
    row("Iterator", &[Map], Needs::JsonPath),
    row("ItemsPath", &[Map], Needs::JsonPath),
    row("Items", &[Map], Needs::Jsonata),
    row("ItemSelector", &[Map], Needs::Both),
    row("ItemReader", &[Map], Needs::Both),
    row("ItemBatcher", &[Map], Needs::Both),
    row("ResultWriter", &[Map], Needs::Both),
    row("MaxConcurrency", &[Map], Needs::Both),
    row("MaxConcurrencyPath", &[Map], Needs::JsonPath),
    row("ToleratedFailureCount", &[Map], Needs::Both),
    row("ToleratedFailureCountPath", &[Map], Needs::JsonPath),
    row("ToleratedFailurePercentage", &[Map], Needs::Both),
    row("ToleratedFailurePercentagePath", &[Map], Needs::JsonPath),
    row("Label", &[Map], Needs::Both),
];

/// The row of a field name.
pub(crate) fn state_field(name: &str) -> Option<&'static StateField> {
    STATE_FIELDS.iter().find(|f| f.name == name)
}

/// Every state field name, in table order (the did-you-mean candidates for an unknown state field).
pub(crate) fn state_field_names() -> impl Iterator<Item = &'static str> {
    STATE_FIELDS.iter().map(|f| f.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_types_round_trip() {
        for t in StateType::ALL {
            assert_eq!(t.as_str().parse::<StateType>(), Ok(t));
        }
        assert_eq!("map".parse::<StateType>(), Err(UnknownStateType("map".into())));
    }

    /// The table names exactly the fields serde reads into `RawState`, in the same order (so the
    /// did-you-mean candidates and the "expected one of" list are what serde would give).
    #[test]
    fn table_matches_raw_state() {
        let e = serde_json::from_value::<crate::raw::RawState>(serde_json::json!({"NoSuchField": 1}))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        let expected: Vec<&str> = e.split('`').skip(3).step_by(2).collect();
        assert_eq!(expected, state_field_names().collect::<Vec<_>>(), "{e}");
    }
}
