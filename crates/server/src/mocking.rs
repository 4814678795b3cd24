//! Step Functions Local's test cases: StartExecution (and StartSyncExecution) on
//! `arn:…:stateMachine:NAME#TestCase` runs NAME with that test case's mocked responses; the states it does
//! not mock call their integrations. The execution is NAME's (`…:execution:NAME:<name>`, described, listed
//! and with its history like any other), as AWS's guide "Using mocked service integrations for testing in
//! Step Functions Local" shows it (step 3 starts `…:stateMachine:LambdaSQSIntegration#HappyPath`, step 4
//! reads the history of `…:execution:LambdaSQSIntegration:<name>`).

use std::sync::Arc;

use sfn_asl::StateMachine;
use sfn_engine::TaskMocks;

/// Where the server finds test cases (e.g. a `MockConfigFile.json` loaded by the caller: `sfn serve
/// --mock-config FILE` or `SFN_MOCK_CONFIG`).
pub trait MockCases: Send + Sync + std::fmt::Debug {
    /// The mocks of test case `case` of the state machine named `machine`, whose definition is
    /// `definition`. The error says what is wrong (no such machine or test case in the file, a state the
    /// definition does not have, a response that is not in the file), naming the closest valid name.
    fn test_case(
        &self,
        machine: &str,
        case: &str,
        definition: &StateMachine,
    ) -> Result<Arc<dyn TaskMocks>, String>;

    /// What is wrong with the test cases of `machine` (whose definition is `definition`), one message each:
    /// the server logs them when the machine is created or updated, and at start for the machines it has,
    /// so a typo shows before an execution trips on it. Default: nothing.
    fn problems(&self, machine: &str, definition: &StateMachine) -> Vec<String> {
        let _ = (machine, definition);
        Vec::new()
    }
}

/// Logs what `mocks` finds wrong with the test cases of `machine`.
pub(crate) fn report(mocks: Option<&Arc<dyn MockCases>>, machine: &str, definition: &StateMachine) {
    for why in mocks.map(|m| m.problems(machine, definition)).unwrap_or_default() {
        tracing::warn!("mock configuration: {why}");
    }
}

/// Splits `…:stateMachine:NAME#TestCase` into the state machine ARN and the test case (`None` without a
/// `#`).
pub(crate) fn split(arn: &str) -> (&str, Option<&str>) {
    match arn.split_once('#') {
        Some((machine, case)) => (machine, Some(case)),
        None => (arn, None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_the_test_case_off() {
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:LambdaSQSIntegration";
        assert_eq!(super::split(&format!("{arn}#HappyPath")), (arn, Some("HappyPath")));
        assert_eq!(super::split(arn), (arn, None));
    }
}
