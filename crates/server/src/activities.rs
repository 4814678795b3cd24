//! Activities: CreateActivity, DescribeActivity, ListActivities, DeleteActivity and GetActivityTask (API
//! reference). An activity is `arn:aws:states:REGION:ACCOUNT:activity:NAME`; CreateActivity is idempotent
//! on the name. GetActivityTask long-polls for up to 60 seconds ("The maximum time the service holds on to
//! the request before responding is 60 seconds") and answers `{}` (no `taskToken`) when nothing came;
//! deleting the activity ends its polls at once. A Task state on the activity leaves its task in the
//! service's [`Activities`](crate::service::Activities) (the engine's activity queue); a poll takes the
//! oldest one and answers its `taskToken` and `input`, and the execution records `ActivityStarted` with the
//! poll's `workerName`. Activities are journaled (CreateActivity and DeleteActivity answer once committed).
//! The poll answers once that `ActivityStarted` is recorded (committed, with a journal; at most
//! [`STARTED_WAIT`] later), so a worker never holds a task that a restart would hand out again.

use std::time::Duration;

use serde_json::{Value, json};

use crate::arn::{self, Named};
use crate::error::ApiError;
use crate::protocol::{Input, date};
use crate::service::{Activity, Service, token};
use std::collections::VecDeque;

/// How long GetActivityTask holds a request (AWS: 60 s).
const POLL: Duration = Duration::from_secs(60);
/// How long a poll that took a task waits for its execution to record `ActivityStarted` (the journal's
/// commit) before it answers anyway.
const STARTED_WAIT: Duration = Duration::from_secs(10);
/// At most this many activities (AWS's default quota: 10,000).
const MAX_ACTIVITIES: usize = 10_000;

/// `ActivityDoesNotExist: Activity Does Not Exist: '<arn>'`.
fn not_found(arn: &str) -> ApiError {
    ApiError::client("ActivityDoesNotExist", format!("Activity Does Not Exist: '{arn}'"))
}

impl Service {
    /// The name of one of our activities from its ARN (`None`: another region or account).
    fn activity_name<'a>(&self, arn: &'a str) -> Result<Option<&'a str>, ApiError> {
        let a = arn::parse(arn)?;
        let Named::Other("activity") = a.named else {
            return Err(ApiError::invalid_arn(format_args!(
                "Resource type not valid in this context: {arn}"
            )));
        };
        let name = arn.rsplit(':').next().unwrap_or_default();
        if arn.split(':').count() != 7 {
            return Err(ApiError::invalid_arn(format_args!("Invalid ARN: {arn}")));
        }
        Ok((a.region == self.region && a.account == self.account).then_some(name))
    }

    pub(crate) async fn create_activity(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let name = i.str_len("name", 1, 80)?;
        i.opt_array("tags")?;
        i.opt_object("encryptionConfiguration")?;
        if !arn::valid_name(name) {
            return Err(ApiError::invalid_name(name));
        }
        self.insert_activity(name)?;
        // Answered once the activity is on disk (an activity already there was committed before).
        let out = {
            let reg = self.activities.lock();
            let a = reg.get(name).ok_or_else(|| ApiError::internal("the activity vanished"))?;
            json!({"activityArn": a.arn, "creationDate": date(a.creation)})
        };
        self.durable().await?;
        Ok(out)
    }

    /// Adds the activity `name` unless it exists (journaled).
    fn insert_activity(&self, name: &str) -> Result<(), ApiError> {
        let mut reg = self.activities.lock();
        if reg.contains_key(name) {
            return Ok(());
        }
        if reg.len() >= MAX_ACTIVITIES {
            return Err(ApiError::client(
                "ActivityLimitExceeded",
                format!("The maximum number of activities ({MAX_ACTIVITIES}) is reached"),
            ));
        }
        let arn = format!("arn:aws:states:{}:{}:activity:{name}", self.region, self.account);
        let creation = self.engine.clock().now();
        let activity = Activity { arn, creation, tasks: VecDeque::new(), wake: Default::default() };
        if let Some(j) = &self.journal {
            j.put_activity(&activity.record(name));
        }
        reg.insert(name.to_owned(), activity);
        Ok(())
    }

    pub(crate) fn describe_activity(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = Input::new(body).str_len("activityArn", 1, 256)?;
        let name = self.activity_name(arn)?.ok_or_else(|| not_found(arn))?;
        let reg = self.activities.lock();
        let a = reg.get(name).ok_or_else(|| not_found(arn))?;
        Ok(json!({"activityArn": a.arn, "name": name, "creationDate": date(a.creation)}))
    }

    pub(crate) fn list_activities(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let max = i.max_results(100)?;
        let after = match i.opt_str_len("nextToken", 1, 1024)? {
            Some(t) => Some(token::decode("act", "", t)?),
            None => None,
        };
        let reg = self.activities.lock();
        let mut items = Vec::new();
        let mut next = None;
        for (name, a) in reg.iter().filter(|(n, _)| after.as_deref().is_none_or(|x| n.as_str() > x)) {
            if items.len() == max {
                next = items
                    .last()
                    .and_then(|v: &Value| v["name"].as_str())
                    .map(|n| token::encode("act", "", n));
                break;
            }
            items.push(json!({"activityArn": a.arn, "name": name, "creationDate": date(a.creation)}));
        }
        let mut out = json!({"activities": items});
        if let (Some(t), Some(o)) = (next, out.as_object_mut()) {
            o.insert("nextToken".into(), json!(t));
        }
        Ok(out)
    }

    pub(crate) async fn delete_activity(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = Input::new(body).str_len("activityArn", 1, 256)?;
        // Deleting what does not exist succeeds.
        if let Some(name) = self.activity_name(arn)? {
            let removed = self.activities.lock().remove(name);
            if let Some(a) = removed {
                a.wake.notify_waiters();
                if let Some(j) = &self.journal {
                    j.delete_activity(name);
                }
                self.durable().await?;
            }
        }
        Ok(json!({}))
    }

    pub(crate) async fn get_activity_task(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("activityArn", 1, 256)?;
        let worker = i.opt_str_len("workerName", 1, 80)?.map(str::to_owned);
        let name = self.activity_name(arn)?.ok_or_else(|| not_found(arn))?;
        let deadline = tokio::time::Instant::now() + POLL;
        let mut first = true;
        loop {
            let taken = {
                let mut reg = self.activities.lock();
                let Some(a) = reg.get_mut(name).filter(|a| a.arn == arn) else {
                    // Gone while we waited: the poll ends empty.
                    return if first { Err(not_found(arn)) } else { Ok(json!({})) };
                };
                let mut taken = None;
                while let Some(task) = a.tasks.pop_front() {
                    // A task whose state ended meanwhile (timed out, stopped) is not handed out.
                    if self.engine.tokens().start(&task.token, worker.clone()).is_ok() {
                        taken = Some(task);
                        break;
                    }
                }
                taken.ok_or_else(|| a.wake.clone())
            };
            let wake = match taken {
                Ok(task) => {
                    let _ = tokio::time::timeout(STARTED_WAIT, task.recorded.notified()).await;
                    return Ok(json!({"taskToken": task.token, "input": task.input}));
                }
                Err(wake) => wake,
            };
            first = false;
            let notified = wake.notified();
            tokio::pin!(notified);
            // Registered before the activity is looked at again: a deletion in between still wakes us.
            notified.as_mut().enable();
            if !self.activities.lock().get(name).is_some_and(|a| a.arn == arn && a.tasks.is_empty()) {
                continue;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(json!({}));
            }
        }
    }
}
