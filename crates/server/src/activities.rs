//! Activities: CreateActivity, DescribeActivity, ListActivities, DeleteActivity and GetActivityTask (API
//! reference). An activity is `arn:aws:states:REGION:ACCOUNT:activity:NAME`; CreateActivity is idempotent
//! on the name. GetActivityTask long-polls for up to 60 seconds ("The maximum time the service holds on to
//! the request before responding is 60 seconds") and answers `{}` (no `taskToken`) when nothing came;
//! deleting the activity ends its polls at once. Activities are kept in memory (not journaled), and no Task
//! state schedules work on them yet: the engine does not run activity resources (it refuses them unless
//! mocked), so a poll always ends empty.

use std::time::Duration;

use serde_json::{Value, json};

use crate::arn::{self, Named};
use crate::error::ApiError;
use crate::protocol::{Input, date};
use crate::service::{Activity, Service, token};

/// How long GetActivityTask holds a request (AWS: 60 s).
const POLL: Duration = Duration::from_secs(60);
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

    pub(crate) fn create_activity(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let name = i.str_len("name", 1, 80)?;
        i.opt_array("tags")?;
        i.opt_object("encryptionConfiguration")?;
        if !arn::valid_name(name) {
            return Err(ApiError::invalid_name(name));
        }
        let mut reg = self.write();
        if let Some(a) = reg.activities.get(name) {
            return Ok(json!({"activityArn": a.arn, "creationDate": date(a.creation)}));
        }
        if reg.activities.len() >= MAX_ACTIVITIES {
            return Err(ApiError::client(
                "ActivityLimitExceeded",
                format!("The maximum number of activities ({MAX_ACTIVITIES}) is reached"),
            ));
        }
        let arn = format!("arn:aws:states:{}:{}:activity:{name}", self.region, self.account);
        let creation = self.engine.clock().now();
        let out = json!({"activityArn": arn, "creationDate": date(creation)});
        reg.activities.insert(name.to_owned(), Activity { arn, creation, wake: Default::default() });
        Ok(out)
    }

    pub(crate) fn describe_activity(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = Input::new(body).str_len("activityArn", 1, 256)?;
        let name = self.activity_name(arn)?.ok_or_else(|| not_found(arn))?;
        let reg = self.read();
        let a = reg.activities.get(name).ok_or_else(|| not_found(arn))?;
        Ok(json!({"activityArn": a.arn, "name": name, "creationDate": date(a.creation)}))
    }

    pub(crate) fn list_activities(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let max = i.max_results(100)?;
        let after = match i.opt_str_len("nextToken", 1, 1024)? {
            Some(t) => Some(token::decode("act", "", t)?),
            None => None,
        };
        let reg = self.read();
        let mut items = Vec::new();
        let mut next = None;
        for (name, a) in
            reg.activities.iter().filter(|(n, _)| after.as_deref().is_none_or(|x| n.as_str() > x))
        {
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

    pub(crate) fn delete_activity(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = Input::new(body).str_len("activityArn", 1, 256)?;
        // Deleting what does not exist succeeds.
        if let Some(name) = self.activity_name(arn)?
            && let Some(a) = self.write().activities.remove(name)
        {
            a.wake.notify_waiters();
        }
        Ok(json!({}))
    }

    pub(crate) async fn get_activity_task(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("activityArn", 1, 256)?;
        i.opt_str_len("workerName", 1, 80)?;
        let name = self.activity_name(arn)?.ok_or_else(|| not_found(arn))?;
        let wake = self.read().activities.get(name).map(|a| a.wake.clone()).ok_or_else(|| not_found(arn))?;
        // Nothing schedules activity tasks yet: the poll ends empty, when the time is up or the activity
        // is deleted.
        let _ = tokio::time::timeout(POLL, wake.notified()).await;
        Ok(json!({}))
    }
}
