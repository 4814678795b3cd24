//! Mocked task responses (the AWS Step Functions Local mock model): a test names, per Task state, the
//! response each invocation gets, so a definition runs without any real or simulated service.

use serde_json::Value;
use sfn_path::ErrorName;

/// What a mocked task invocation answers.
#[derive(Debug, Clone, PartialEq)]
pub enum MockResponse {
    /// The task succeeds with this result.
    Return(Value),
    /// The task fails with this error and cause.
    Throw {
        /// Error name (Retry/Catch match it); the history shows it even when empty.
        error: ErrorName,
        /// Cause.
        cause: Option<String>,
    },
    /// An sfn extension for `.waitForTaskToken` and `.sync` tasks (Step Functions Local has no way to
    /// say what the service call answered, nor that no callback ever comes): the service call answered
    /// `submitted` (the `TaskSubmitted` event's output), and then `answer` came — `Return`: the callback's
    /// SendTaskSuccess output (`.sync`: the job's result); `Throw`: SendTaskFailure (an empty error is no
    /// error, as SendTaskFailure without `error`); `None`: nothing, so the task ends only by its
    /// `TimeoutSeconds`/`HeartbeatSeconds` (or the execution's end). The task runs through the same
    /// pattern driver as an unmocked one (its token, timeouts and heartbeats are the real ones), so its
    /// history is AWS's.
    Submitted {
        /// The service call's response.
        submitted: Value,
        /// The callback (or job end) that follows; `None`: none ever comes.
        answer: Option<Box<MockResponse>>,
    },
}

/// A source of mocked responses, consulted before any integration.
pub trait TaskMocks: Send + Sync {
    /// True when this Task state is mocked (it then needs no integration).
    fn covers(&self, state: &str) -> bool;

    /// The response to invocation number `invocation` (0-based, retries included) of a mocked state;
    /// `None` when the mock has no response for it (the task then fails with `States.Runtime`).
    fn respond(&self, state: &str, invocation: u32) -> Option<MockResponse>;
}

/// What a Task state with neither a mock nor an integration does (`sfn run --unmocked`, `sfn serve
/// --unmocked`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unmocked {
    /// The machine is refused when it is prepared (the default): it names every such state.
    #[default]
    Refuse,
    /// The machine is accepted; such a state fails when it runs, with `States.Runtime` naming it (after its
    /// InputPath, Parameters/Arguments and timeouts are evaluated, as AWS evaluates them before the call:
    /// an error in them is the state's).
    Fail,
    /// The machine is accepted; such a state succeeds with its effective parameters as its result.
    Echo,
}
