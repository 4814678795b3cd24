//! Task `Resource` ARNs: which service, which action, which integration pattern.

use std::fmt;

use crate::error::ResourceError;

/// How Step Functions waits for a service call (AWS: "Discover service integration patterns").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pattern {
    /// Call the API and continue with its response (`ecs:runTask`).
    RequestResponse,
    /// Call the API, then wait for the job to finish (`ecs:runTask.sync`).
    Sync,
    /// `.sync:2` (Step Functions `startExecution.sync:2`: parsed output).
    Sync2,
    /// Call the API with a task token, then wait for SendTaskSuccess/Failure (`ecs:runTask.waitForTaskToken`).
    WaitForTaskToken,
}

impl Pattern {
    /// The suffix as written in the resource (`""`, `".sync"`, `".sync:2"`, `".waitForTaskToken"`).
    pub fn suffix(self) -> &'static str {
        match self {
            Pattern::RequestResponse => "",
            Pattern::Sync => ".sync",
            Pattern::Sync2 => ".sync:2",
            Pattern::WaitForTaskToken => ".waitForTaskToken",
        }
    }

    /// True for the patterns that wait for a job (`.sync`, `.sync:2`).
    pub fn is_sync(self) -> bool {
        matches!(self, Pattern::Sync | Pattern::Sync2)
    }

    /// Whether a task of this pattern with these parameters has a task token (`$$.Task.Token`) that
    /// SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat accept: a callback task, and a `.sync` /
    /// `.sync:2` one whose parameters can hand the token over (`$$.Task.Token` or the whole context), which
    /// the first SendTaskSuccess or SendTaskFailure ends before its job does (Step Functions API reference,
    /// SendTaskSuccess: "used by activity workers, Task states using the callback pattern, and optionally
    /// Task states using the job run pattern"; AWS-recorded: LocalStack's
    /// `test_callback.py::test_sync_with_task_token`). A `.sync` task whose parameters cannot pass it gets
    /// none: no one could learn it, and 10,000 concurrent `.sync` tasks would each keep a registry entry for
    /// nothing (`cargo xtask bench`'s ecs-scale: +2 KB per task).
    pub fn has_task_token(self, parameters: Option<&sfn_asl::Payload>) -> bool {
        self == Pattern::WaitForTaskToken
            || (self.is_sync() && parameters.is_some_and(sfn_asl::Payload::passes_task_token))
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pattern::RequestResponse => "request-response",
            Pattern::Sync => ".sync",
            Pattern::Sync2 => ".sync:2",
            Pattern::WaitForTaskToken => ".waitForTaskToken",
        })
    }
}

/// A service integration resource: `arn:aws:states:::ecs:runTask.sync`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceResource {
    /// The ARN partition (`aws`, `aws-cn`, `aws-us-gov`, …).
    pub partition: String,
    /// The region written in the ARN, usually empty (the state machine's region applies).
    pub region: Option<String>,
    /// The account written in the ARN, usually empty.
    pub account: Option<String>,
    /// The service as the history names it (`resourceType`): `ecs`, `lambda`, `sqs`, …
    pub service: String,
    /// True for AWS SDK integrations (`arn:aws:states:::aws-sdk:ecs:describeTasks`).
    pub sdk: bool,
    /// The API action without the pattern suffix: `runTask`.
    pub action: String,
    /// The integration pattern.
    pub pattern: Pattern,
}

impl ServiceResource {
    /// The history's `resource` field: the action and its pattern suffix (`runTask.sync`).
    pub fn history_resource(&self) -> String {
        format!("{}{}", self.action, self.pattern.suffix())
    }

    /// The history's `resourceType` field (`ecs`, or `aws-sdk:ecs` for SDK integrations).
    pub fn history_resource_type(&self) -> String {
        if self.sdk { format!("aws-sdk:{}", self.service) } else { self.service.clone() }
    }
}

/// What a Task state's `Resource` names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// An integrated service action (`arn:aws:states:::ecs:runTask`).
    Service(ServiceResource),
    /// A Lambda function ARN called directly (`arn:aws:lambda:…:function:name`).
    LambdaFunction(String),
    /// An activity ARN (`arn:aws:states:…:activity:name`).
    Activity(String),
}

impl Resource {
    /// Parses a Task state's `Resource` field.
    ///
    /// ```
    /// use sfn_patterns::{Pattern, Resource};
    /// let Resource::Service(r) = Resource::parse("arn:aws:states:::ecs:runTask.sync").unwrap() else { panic!() };
    /// assert_eq!((r.service.as_str(), r.action.as_str(), r.pattern), ("ecs", "runTask", Pattern::Sync));
    /// ```
    pub fn parse(arn: &str) -> Result<Resource, ResourceError> {
        let bad = |why: &str| ResourceError::new(arn, why);
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() < 6 || parts[0] != "arn" {
            return Err(bad("expected an ARN such as arn:aws:states:::ecs:runTask"));
        }
        let (partition, vendor, region, account, rest) = (parts[1], parts[2], parts[3], parts[4], parts[5]);
        if partition.is_empty() || !partition.starts_with("aws") {
            return Err(bad("unknown partition"));
        }
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        match vendor {
            "lambda" if rest.starts_with("function:") => Ok(Resource::LambdaFunction(arn.to_owned())),
            "states" if rest.starts_with("activity:") => Ok(Resource::Activity(arn.to_owned())),
            "states" => {
                let (sdk, rest) = match rest.strip_prefix("aws-sdk:") {
                    Some(r) => (true, r),
                    None => (false, rest),
                };
                let Some((service, action)) = rest.split_once(':') else {
                    return Err(bad("expected <service>:<action> after the account field"));
                };
                let (action, pattern) =
                    split_pattern(action).ok_or_else(|| bad("unknown integration pattern suffix"))?;
                let valid_name = |s: &str| {
                    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                };
                if !valid_name(service) || !valid_name(action) {
                    return Err(bad("service and action must be non-empty names"));
                }
                Ok(Resource::Service(ServiceResource {
                    partition: partition.to_owned(),
                    region: opt(region),
                    account: opt(account),
                    service: service.to_owned(),
                    sdk,
                    action: action.to_owned(),
                    pattern,
                }))
            }
            _ => Err(bad("not a Step Functions service integration, Lambda function or activity ARN")),
        }
    }
}

fn split_pattern(action: &str) -> Option<(&str, Pattern)> {
    let Some((name, suffix)) = action.split_once('.') else {
        return Some((action, Pattern::RequestResponse));
    };
    let pattern = match suffix {
        "sync" => Pattern::Sync,
        "sync:2" => Pattern::Sync2,
        "waitForTaskToken" => Pattern::WaitForTaskToken,
        _ => return None,
    };
    Some((name, pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(arn: &str) -> ServiceResource {
        match Resource::parse(arn) {
            Ok(Resource::Service(s)) => s,
            other => panic!("{arn}: {other:?}"),
        }
    }

    #[test]
    fn ecs_patterns() {
        assert_eq!(service("arn:aws:states:::ecs:runTask").pattern, Pattern::RequestResponse);
        assert_eq!(service("arn:aws:states:::ecs:runTask.sync").pattern, Pattern::Sync);
        let cb = service("arn:aws:states:::ecs:runTask.waitForTaskToken");
        assert_eq!(cb.pattern, Pattern::WaitForTaskToken);
        assert_eq!(cb.history_resource(), "runTask.waitForTaskToken");
        assert_eq!(cb.history_resource_type(), "ecs");
    }

    #[test]
    fn partitions_regions_and_sdk() {
        let cn = service("arn:aws-cn:states:cn-north-1:123456789012:ecs:runTask.sync");
        assert_eq!(cn.partition, "aws-cn");
        assert_eq!(cn.region.as_deref(), Some("cn-north-1"));
        assert_eq!(cn.account.as_deref(), Some("123456789012"));
        let sdk = service("arn:aws:states:::aws-sdk:ecs:describeTasks");
        assert!(sdk.sdk);
        assert_eq!(sdk.history_resource_type(), "aws-sdk:ecs");
        assert_eq!(service("arn:aws:states:::states:startExecution.sync:2").pattern, Pattern::Sync2);
    }

    #[test]
    fn lambda_and_activity() {
        assert!(matches!(
            Resource::parse("arn:aws:lambda:us-east-1:1:function:f"),
            Ok(Resource::LambdaFunction(_))
        ));
        assert!(matches!(
            Resource::parse("arn:aws:states:us-east-1:1:activity:a"),
            Ok(Resource::Activity(_))
        ));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "ecs:runTask",
            "arn:aws:states:::ecs",
            "arn:aws:states:::ecs:runTask.later",
            "arn:x:states:::ecs:run",
        ] {
            assert!(Resource::parse(bad).is_err(), "{bad}");
        }
    }
}
