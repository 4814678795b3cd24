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

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sfn_engine::{ErrorName, MockResponse, TaskMocks};

/// One mocked response's invocations: `(first, last, response)` ranges.
type Ranges = Vec<(u32, u32, MockResponse)>;

/// A parsed mock configuration file (`StateMachines` test cases and `MockedResponses`).
#[derive(Debug, Clone, Default)]
pub struct MockConfig {
    machines: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    responses: BTreeMap<String, Ranges>,
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

    /// Parses a mock configuration; every problem names its JSON pointer.
    pub fn from_json(v: &Value) -> Result<MockConfig, MockConfigError> {
        let mut cfg = MockConfig::default();
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
                let states = states.as_object().ok_or_else(|| {
                    err(format!("/StateMachines/{name}/TestCases/{case}: expected an object"))
                })?;
                let mut map = BTreeMap::new();
                for (state, response) in states {
                    let r = response.as_str().ok_or_else(|| {
                        err(format!(
                            "/StateMachines/{name}/TestCases/{case}/{state}: expected a mocked response name"
                        ))
                    })?;
                    map.insert(state.clone(), r.to_owned());
                }
                out.insert(case.clone(), map);
            }
            cfg.machines.insert(name.clone(), out);
        }
        let responses = v
            .get("MockedResponses")
            .and_then(Value::as_object)
            .ok_or_else(|| err("/MockedResponses: expected an object"))?;
        for (name, r) in responses {
            cfg.responses.insert(name.clone(), parse_ranges(name, r)?);
        }
        // Every referenced response must exist.
        for (m, cases) in &cfg.machines {
            for (c, states) in cases {
                for (s, r) in states {
                    if !cfg.responses.contains_key(r) {
                        return Err(err(format!(
                            "/StateMachines/{m}/TestCases/{c}/{s}: no mocked response named '{r}' in MockedResponses"
                        )));
                    }
                }
            }
        }
        Ok(cfg)
    }

    /// The mocks of `StateMachines.<machine>.TestCases.<case>`.
    pub fn test_case(&self, machine: &str, case: &str) -> Result<TestCase, MockConfigError> {
        let cases = self.machines.get(machine).ok_or_else(|| {
            MockConfigError::new(
                MockConfigErrorKind::UnknownStateMachine,
                format!(
                    "no state machine '{machine}' in the mock configuration (has: {:?})",
                    self.machines.keys().collect::<Vec<_>>()
                ),
            )
        })?;
        let states = cases.get(case).ok_or_else(|| {
            MockConfigError::new(
                MockConfigErrorKind::UnknownTestCase,
                format!(
                    "no test case '{case}' for '{machine}' (has: {:?})",
                    cases.keys().collect::<Vec<_>>()
                ),
            )
        })?;
        let mut out = BTreeMap::new();
        for (state, response) in states {
            if let Some(r) = self.responses.get(response) {
                out.insert(state.clone(), r.clone());
            }
        }
        Ok(TestCase { states: out })
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
        let response = match (r.get("Return"), r.get("Throw")) {
            (Some(ret), None) => MockResponse::Return(ret.clone()),
            (None, Some(Value::Object(t))) => MockResponse::Throw {
                error: ErrorName::from(t.get("Error").and_then(Value::as_str).unwrap_or_default()),
                cause: t.get("Cause").and_then(Value::as_str).map(str::to_owned),
            },
            _ => return Err(err(format!("{at}: expected exactly one of Return or Throw"))),
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
        let bad = MockConfig::from_json(
            &json!({"StateMachines": {}, "MockedResponses": {"R": {"x": {"Return": 1}}}}),
        );
        assert!(bad.unwrap_err().to_string().contains("/MockedResponses/R/x"));
        let bad = MockConfig::from_json(
            &json!({"StateMachines": {"m": {"TestCases": {"c": {"S": "Missing"}}}}, "MockedResponses": {}}),
        );
        assert!(bad.unwrap_err().to_string().contains("no mocked response named 'Missing'"));
        let bad = MockConfig::from_json(
            &json!({"StateMachines": {}, "MockedResponses": {"R": {"0-2": {"Return": 1}, "1": {"Return": 2}}}}),
        );
        assert!(bad.unwrap_err().to_string().contains("mocked twice"));
    }
}
