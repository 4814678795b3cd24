//! Mocked service responses in AWS Step Functions Local's `MockConfigFile.json` format, so existing
//! mock files work unchanged.
//!
//! ```
//! use serde_json::json;
//! use sfn::mocks::MockConfig;
//! let cfg = MockConfig::from_json(&json!({
//!     "StateMachines": {"m": {"TestCases": {"retry": {"Call": "Flaky"}}}},
//!     "MockedResponses": {"Flaky": {
//!         "0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}},
//!         "2": {"Return": {"ok": true}}}}
//! })).unwrap();
//! let case = cfg.test_case("m", "retry").unwrap();
//! use sfn::engine::{MockResponse, TaskMocks};
//! assert!(matches!(case.respond("Call", 1), Some(MockResponse::Throw { .. })));
//! assert_eq!(case.respond("Call", 2), Some(MockResponse::Return(json!({"ok": true}))));
//! ```
//!
//! # Callback and `.sync` tasks: `Submitted` (an sfn extension)
//!
//! As in Step Functions Local, a mocked `Return` of a `.waitForTaskToken` task is the callback's result
//! (and `Throw` its failure); the history then has no `TaskSubmitted`. A response may also carry the
//! optional `Submitted` member, which Step Functions Local does not define: what the service call
//! answered (the `TaskSubmitted` event's output). With it, the task runs as an unmocked one does — its
//! token, `TimeoutSeconds` and `HeartbeatSeconds` are real — and `Return`/`Throw` is the callback that
//! follows (SendTaskSuccess output / SendTaskFailure `Error` and `Cause`; a `Throw` without `Error` is a
//! SendTaskFailure without `error`) or, for `.sync`, the job's end. `Submitted` alone says that no callback
//! ever comes: the task times out (`States.Timeout`).
//!
//! ```
//! use serde_json::json;
//! use sfn::mocks::MockConfig;
//! use sfn::engine::{MockResponse, TaskMocks};
//! let cfg = MockConfig::from_json(&json!({
//!     "StateMachines": {"m": {"TestCases": {"late": {"Notify": "NoAnswer"}}}},
//!     "MockedResponses": {"NoAnswer": {"0": {"Submitted": {"MessageId": "m-1"}}}}
//! })).unwrap();
//! let case = cfg.test_case("m", "late").unwrap();
//! assert_eq!(
//!     case.respond("Notify", 0),
//!     Some(MockResponse::Submitted { submitted: json!({"MessageId": "m-1"}), answer: None })
//! );
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sfn_engine::{ErrorName, MockResponse, TaskMocks};

/// One mocked response's invocations: `(first, last, response)` ranges.
type Ranges = Vec<(u32, u32, MockResponse)>;

/// A test case as the file maps it (state → response name), or why it is unusable.
type ParsedCase = Result<BTreeMap<String, String>, String>;

/// A parsed mock configuration file (`StateMachines` test cases and `MockedResponses`).
///
/// A problem inside one test case (a state mapped to something other than a response name, a response
/// that is not in `MockedResponses` or is malformed) makes that test case unusable — asking for it is the
/// error — and leaves the others usable, as a suite with one broken case still runs the rest.
#[derive(Debug, Clone, Default)]
pub struct MockConfig {
    machines: BTreeMap<String, BTreeMap<String, ParsedCase>>,
    responses: BTreeMap<String, Result<Ranges, String>>,
}

/// The mocks of one test case: Task state name → its mocked responses.
#[derive(Debug, Clone)]
pub struct TestCase {
    states: BTreeMap<String, Ranges>,
}

/// Why a mock configuration cannot be used: the file cannot be read or is not JSON, a member is not of
/// the expected form (the message names its JSON pointer), or a test case is not in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MockConfigError {
    kind: MockConfigErrorKind,
    message: String,
}

/// What kind of problem a [`MockConfigError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MockConfigErrorKind {
    /// The file cannot be read.
    Read,
    /// The file is not JSON.
    Syntax,
    /// A member is not of the form Step Functions Local reads (or names a response that is not there).
    Invalid,
    /// No such state machine in `StateMachines`.
    UnknownStateMachine,
    /// No such test case for the state machine.
    UnknownTestCase,
    /// The test case mocks a state the state machine does not have.
    UnknownState,
}

impl MockConfigError {
    fn new(kind: MockConfigErrorKind, message: impl Into<String>) -> Self {
        MockConfigError { kind, message: message.into() }
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> MockConfigErrorKind {
        self.kind
    }

    /// The message (as [`std::fmt::Display`] shows it).
    pub fn message(&self) -> &str {
        &self.message
    }
}

fn err(msg: impl Into<String>) -> MockConfigError {
    MockConfigError::new(MockConfigErrorKind::Invalid, msg)
}

/// `"; did you mean 'x'?"` when one of `candidates` is close to `name`, else the list of candidates.
fn hint<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> String {
    match sfn_asl::suggest::did_you_mean(name, candidates.clone()) {
        Some(s) => format!("; did you mean '{s}'?"),
        None => {
            let all: Vec<&str> = candidates.into_iter().collect();
            if all.is_empty() { String::new() } else { format!(" (has: {})", all.join(", ")) }
        }
    }
}

impl MockConfig {
    /// Reads a mock configuration file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<MockConfig, MockConfigError> {
        use MockConfigErrorKind as K;
        let path = path.as_ref();
        let text = std::fs::read(path)
            .map_err(|e| MockConfigError::new(K::Read, format!("cannot read {}: {e}", path.display())))?;
        let v: Value = serde_json::from_slice(&text)
            .map_err(|e| MockConfigError::new(K::Syntax, format!("{}: not JSON: {e}", path.display())))?;
        MockConfig::from_json(&v)
    }

    /// Parses a mock configuration; every problem names its JSON pointer. Only a file whose
    /// `StateMachines`, a machine's `TestCases` or `MockedResponses` is not an object is refused whole;
    /// a problem inside a test case or a response is that test case's (see [`MockConfig::problems`]).
    pub fn from_json(v: &Value) -> Result<MockConfig, MockConfigError> {
        let mut cfg = MockConfig::default();
        let responses = v
            .get("MockedResponses")
            .and_then(Value::as_object)
            .ok_or_else(|| err("/MockedResponses: expected an object"))?;
        for (name, r) in responses {
            cfg.responses.insert(name.clone(), parse_ranges(name, r).map_err(|e| e.message));
        }
        let machines = v
            .get("StateMachines")
            .and_then(Value::as_object)
            .ok_or_else(|| err("/StateMachines: expected an object"))?;
        for (name, m) in machines {
            let cases = m
                .get("TestCases")
                .and_then(Value::as_object)
                .ok_or_else(|| err(format!("/StateMachines/{name}/TestCases: expected an object")))?;
            let mut out = BTreeMap::new();
            for (case, states) in cases {
                out.insert(case.clone(), cfg.parse_case(name, case, states));
            }
            cfg.machines.insert(name.clone(), out);
        }
        Ok(cfg)
    }

    fn parse_case(
        &self,
        machine: &str,
        case: &str,
        states: &Value,
    ) -> Result<BTreeMap<String, String>, String> {
        let at = format!("/StateMachines/{machine}/TestCases/{case}");
        let states = states.as_object().ok_or_else(|| format!("{at}: expected an object"))?;
        let mut map = BTreeMap::new();
        for (state, response) in states {
            let r =
                response.as_str().ok_or_else(|| format!("{at}/{state}: expected a mocked response name"))?;
            match self.responses.get(r) {
                None => {
                    return Err(format!(
                        "{at}/{state}: no mocked response named '{r}' in MockedResponses{}",
                        hint(r, self.responses.keys().map(String::as_str))
                    ));
                }
                Some(Err(why)) => return Err(format!("{at}/{state}: the response '{r}' is unusable: {why}")),
                Some(Ok(_)) => {}
            }
            map.insert(state.clone(), r.to_owned());
        }
        Ok(map)
    }

    /// The state machines of `StateMachines`.
    pub fn machines(&self) -> impl Iterator<Item = &str> {
        self.machines.keys().map(String::as_str)
    }

    /// The test cases of a state machine (none when it is not in the file).
    pub fn test_cases(&self, machine: &str) -> impl Iterator<Item = &str> {
        self.machines.get(machine).into_iter().flat_map(|c| c.keys().map(String::as_str))
    }

    /// Every unusable test case: `(machine, test case, why)`.
    pub fn problems(&self) -> Vec<(&str, &str, &str)> {
        let mut out = Vec::new();
        for (m, cases) in &self.machines {
            for (c, r) in cases {
                if let Err(why) = r {
                    out.push((m.as_str(), c.as_str(), why.as_str()));
                }
            }
        }
        out
    }

    /// The mocks of `StateMachines.<machine>.TestCases.<case>`.
    pub fn test_case(&self, machine: &str, case: &str) -> Result<TestCase, MockConfigError> {
        let cases = self.machines.get(machine).ok_or_else(|| {
            MockConfigError::new(
                MockConfigErrorKind::UnknownStateMachine,
                format!(
                    "no state machine '{machine}' in the mock configuration's StateMachines{}",
                    hint(machine, self.machines.keys().map(String::as_str))
                ),
            )
        })?;
        let states = cases.get(case).ok_or_else(|| {
            MockConfigError::new(
                MockConfigErrorKind::UnknownTestCase,
                format!(
                    "no test case '{case}' for '{machine}' in the mock configuration{}",
                    hint(case, cases.keys().map(String::as_str))
                ),
            )
        })?;
        let states = states.as_ref().map_err(|why| err(why.clone()))?;
        let mut out = BTreeMap::new();
        for (state, response) in states {
            if let Some(Ok(r)) = self.responses.get(response) {
                out.insert(state.clone(), r.clone());
            }
        }
        Ok(TestCase { states: out })
    }

    /// [`MockConfig::test_case`], checked against the machine it runs: a mocked state that is not one of
    /// the machine's states (nested ones included) is an error naming the closest state name.
    pub fn test_case_for(
        &self,
        machine_name: &str,
        case: &str,
        machine: &sfn_asl::StateMachine,
    ) -> Result<TestCase, MockConfigError> {
        let tc = self.test_case(machine_name, case)?;
        let every = machine.states.every();
        let names: Vec<&str> = every.iter().map(|s| s.name.as_str()).collect();
        for state in tc.states.keys() {
            if !names.contains(&state.as_str()) {
                return Err(MockConfigError::new(
                    MockConfigErrorKind::UnknownState,
                    format!(
                        "/StateMachines/{machine_name}/TestCases/{case}/{state}: the state machine has no state '{state}'{}",
                        hint(state, names.iter().copied())
                    ),
                ));
            }
        }
        Ok(tc)
    }
}

impl TestCase {
    /// The mocked states.
    pub fn states(&self) -> impl Iterator<Item = &str> {
        self.states.keys().map(String::as_str)
    }
}

fn parse_ranges(name: &str, v: &Value) -> Result<Ranges, MockConfigError> {
    let obj = v.as_object().ok_or_else(|| err(format!("/MockedResponses/{name}: expected an object")))?;
    let mut out = Vec::new();
    for (key, r) in obj {
        let at = format!("/MockedResponses/{name}/{key}");
        let (first, last) = match key.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>(), b.trim().parse::<u32>()),
            None => (key.trim().parse::<u32>(), key.trim().parse::<u32>()),
        };
        let (Ok(first), Ok(last)) = (first, last) else {
            return Err(err(format!(
                "{at}: expected an invocation number or range such as \"0\" or \"1-3\""
            )));
        };
        if last < first {
            return Err(err(format!("{at}: the range ends before it starts")));
        }
        let answer = match (r.get("Return"), r.get("Throw")) {
            (Some(ret), None) => Some(MockResponse::Return(ret.clone())),
            (None, Some(Value::Object(t))) => Some(MockResponse::Throw {
                error: ErrorName::from(t.get("Error").and_then(Value::as_str).unwrap_or_default()),
                cause: t.get("Cause").and_then(Value::as_str).map(str::to_owned),
            }),
            (None, Some(_)) => return Err(err(format!("{at}/Throw: expected an object"))),
            (None, None) => None,
            (Some(_), Some(_)) => return Err(err(format!("{at}: expected exactly one of Return or Throw"))),
        };
        let response = match (r.get("Submitted"), answer) {
            (Some(submitted), answer) => {
                MockResponse::Submitted { submitted: submitted.clone(), answer: answer.map(Box::new) }
            }
            (None, Some(answer)) => answer,
            (None, None) => return Err(err(format!("{at}: expected exactly one of Return or Throw"))),
        };
        out.push((first, last, response));
    }
    out.sort_by_key(|r| r.0);
    for w in out.windows(2) {
        if w[1].0 <= w[0].1 {
            return Err(err(format!("/MockedResponses/{name}: invocation {} is mocked twice", w[1].0)));
        }
    }
    Ok(out)
}

impl TaskMocks for TestCase {
    fn covers(&self, state: &str) -> bool {
        self.states.contains_key(state)
    }

    fn respond(&self, state: &str, invocation: u32) -> Option<MockResponse> {
        self.states
            .get(state)?
            .iter()
            .find(|(first, last, _)| (*first..=*last).contains(&invocation))
            .map(|(_, _, r)| r.clone())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ranges_and_errors() {
        // A malformed response that no test case uses does not refuse the file.
        assert!(
            MockConfig::from_json(
                &json!({"StateMachines": {}, "MockedResponses": {"R": {"x": {"Return": 1}}}})
            )
            .is_ok()
        );
        let bad = MockConfig::from_json(&json!({
            "StateMachines": {"m": {"TestCases": {"c": {"S": "R"}}}},
            "MockedResponses": {"R": {"x": {"Return": 1}}}
        }))
        .unwrap();
        assert!(bad.test_case("m", "c").unwrap_err().to_string().contains("/MockedResponses/R/x"));
        let cfg = MockConfig::from_json(&json!({
            "StateMachines": {"m": {"TestCases": {"c": {"S": "Mising"}, "ok": {"S": "Missing"}}}},
            "MockedResponses": {"Missing": {"0": {"Return": 1}}}
        }))
        .unwrap();
        let e = cfg.test_case("m", "c").unwrap_err().to_string();
        assert!(
            e.contains("no mocked response named 'Mising'") && e.contains("did you mean 'Missing'"),
            "{e}"
        );
        // One bad test case leaves the others usable.
        assert!(cfg.test_case("m", "ok").is_ok());
        assert_eq!(cfg.problems().len(), 1);
        let e = cfg.test_case("m", "okk").unwrap_err().to_string();
        assert!(e.contains("did you mean 'ok'"), "{e}");
        let e = cfg.test_case("n", "ok").unwrap_err().to_string();
        assert!(e.contains("no state machine 'n'") && e.contains("(has: m)"), "{e}");
        let twice = MockConfig::from_json(&json!({
            "StateMachines": {"m": {"TestCases": {"c": {"S": "R"}}}},
            "MockedResponses": {"R": {"0-2": {"Return": 1}, "1": {"Return": 2}}}
        }))
        .unwrap();
        assert!(twice.test_case("m", "c").unwrap_err().to_string().contains("mocked twice"));
    }

    #[test]
    fn submitted_is_the_service_answer_and_return_or_throw_the_callback() {
        let cfg = MockConfig::from_json(&json!({
            "StateMachines": {"m": {"TestCases": {"c": {"A": "Ok", "B": "Failed", "C": "Silent"}}}},
            "MockedResponses": {
                "Ok": {"0": {"Submitted": {"MessageId": "1"}, "Return": "done"}},
                "Failed": {"0": {"Submitted": {}, "Throw": {}}},
                "Silent": {"0": {"Submitted": {"MessageId": "3"}}}}
        }))
        .unwrap();
        let case = cfg.test_case("m", "c").unwrap();
        assert_eq!(
            case.respond("A", 0),
            Some(MockResponse::Submitted {
                submitted: json!({"MessageId": "1"}),
                answer: Some(Box::new(MockResponse::Return(json!("done"))))
            })
        );
        // A Throw without Error is a SendTaskFailure without error (the engine records none).
        assert_eq!(
            case.respond("B", 0),
            Some(MockResponse::Submitted {
                submitted: json!({}),
                answer: Some(Box::new(MockResponse::Throw { error: ErrorName::from(""), cause: None }))
            })
        );
        assert!(matches!(case.respond("C", 0), Some(MockResponse::Submitted { answer: None, .. })));
        for (bad, why) in [
            (
                json!({"Submitted": {}, "Return": 1, "Throw": {}}),
                "/MockedResponses/R/0: expected exactly one of Return or Throw",
            ),
            (json!({"Throw": "x"}), "/MockedResponses/R/0/Throw: expected an object"),
            (json!({}), "/MockedResponses/R/0: expected exactly one of Return or Throw"),
        ] {
            let cfg = MockConfig::from_json(&json!({
                "StateMachines": {"m": {"TestCases": {"c": {"S": "R"}}}},
                "MockedResponses": {"R": {"0": bad}}
            }))
            .unwrap();
            let e = cfg.test_case("m", "c").unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn test_cases_are_checked_against_every_state_nested_ones_included() {
        let machine = sfn_asl::parse(
            br#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "Inner", "States": {"Inner": {"Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}]}}}"#,
        )
        .unwrap();
        let cfg = MockConfig::from_json(&json!({
            "StateMachines": {"m": {"TestCases": {"ok": {"Inner": "R"}, "typo": {"Iner": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": 1}}}
        }))
        .unwrap();
        assert!(cfg.test_case_for("m", "ok", &machine).is_ok());
        let e = cfg.test_case_for("m", "typo", &machine).unwrap_err();
        assert_eq!(e.kind(), MockConfigErrorKind::UnknownState);
        assert!(e.to_string().contains("no state 'Iner'; did you mean 'Inner'?"), "{e}");
    }
}
