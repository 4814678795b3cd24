//! Activities: the seam between a Task state whose `Resource` is an activity ARN
//! (`arn:aws:states:REGION:ACCOUNT:activity:NAME`) and the workers that poll for its tasks with
//! GetActivityTask. The engine schedules a task ([`ActivityQueue::offer`]) with a task token of the
//! [`TokenRegistry`](crate::TokenRegistry); whoever answers GetActivityTask (the server) hands the token
//! and input to one worker and says so with [`TokenRegistry::start`](crate::TokenRegistry::start); the
//! worker completes the task with SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat on that token.

/// A task scheduled on an activity, waiting for a worker.
#[derive(Debug, Clone)]
pub struct ActivityTask {
    /// The activity's ARN.
    pub activity_arn: String,
    /// The task token the worker completes it with.
    pub token: String,
    /// The task's input as JSON text (GetActivityTask's `input`).
    pub input: String,
    /// Notified once the execution has recorded (durably, with a journal) that a worker took the task:
    /// GetActivityTask answers after it, so a worker never holds a task whose start could be lost.
    pub recorded: std::sync::Arc<tokio::sync::Notify>,
}

/// Where activity tasks wait for their workers, implemented by whoever answers GetActivityTask.
pub trait ActivityQueue: Send + Sync {
    /// Whether the activity exists (a Task on one that does not fails with `States.Runtime`).
    fn exists(&self, activity_arn: &str) -> bool;

    /// Offers a task to the activity's workers, first come first served; false when the activity
    /// does not exist.
    fn offer(&self, task: ActivityTask) -> bool;

    /// Withdraws the task of `token` if no worker has taken it (its state ended first: a timeout, a
    /// stopped execution).
    fn withdraw(&self, activity_arn: &str, token: &str);
}
