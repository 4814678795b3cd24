//! ARNs the policy names: task definitions, clusters, tasks, roles and the `.sync` EventBridge rule.
//!
//! Every function here is pure and total: a value that cannot name the resource it should is an `Err`
//! with the reason, never a guess (a guess could widen the grant).

use crate::Options;

/// The EventBridge rule Step Functions manages for `.sync` ECS tasks (AWS: "IAM policies for Amazon
/// ECS/AWS Fargate").
pub(crate) const SYNC_RULE: &str = "StepFunctionsGetEventsForECSTaskRule";

/// A task definition as the RunTask resource names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskDefinitionRef {
    /// `arn:…:task-definition/family:N` or `…/family:*`, never a bare family ARN.
    pub(crate) arn: String,
    /// The family.
    pub(crate) family: String,
    /// The revision, when written.
    pub(crate) revision: Option<u32>,
}

/// A cluster, resolved to its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClusterRef {
    /// `arn:{partition}:ecs:{region}:{account}:cluster/{name}`.
    pub(crate) arn: String,
    /// The cluster name.
    pub(crate) name: String,
    /// `arn:{partition}:ecs:{region}:{account}` of the cluster (its tasks live there too).
    prefix: String,
}

impl ClusterRef {
    /// Every task of the cluster: `arn:…:task/{name}/*` (the ECS task ARN format with a cluster).
    pub(crate) fn tasks(&self) -> String {
        format!("{}:task/{}/*", self.prefix, self.name)
    }
}

/// ECS names: letters, digits, hyphens and underscores, up to 255 characters (families and clusters).
fn ecs_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The six fields of an ARN, when `s` has them (`arn:partition:service:region:account:resource`).
fn split_arn(s: &str) -> Option<[&str; 6]> {
    let mut it = s.splitn(6, ':');
    let parts = [it.next()?, it.next()?, it.next()?, it.next()?, it.next()?, it.next()?];
    (parts[0] == "arn" && !parts[1].is_empty()).then_some(parts)
}

/// The RunTask resource for a static `TaskDefinition`: `family` → `family:*`, `family:N` → as is, a full
/// ARN → as written, with `:*` added to a bare family ARN (since October 2024 AWS authorizes RunTask
/// against a revision; a bare family ARN no longer matches, aws/aws-cdk#31714).
pub(crate) fn task_definition(td: &str, o: &Options) -> Result<TaskDefinitionRef, String> {
    let (prefix, rest) = if td.starts_with("arn:") {
        let Some([_, partition, service, region, account, resource]) = split_arn(td) else {
            return Err(format!("\"{td}\" is not an ARN"));
        };
        let Some(rest) = resource.strip_prefix("task-definition/") else {
            return Err(format!(
                "\"{td}\" is not a task definition ARN (arn:…:ecs:…:task-definition/family:revision)"
            ));
        };
        if service != "ecs" || region.is_empty() || account.is_empty() {
            return Err(format!(
                "\"{td}\" is not a task definition ARN (arn:…:ecs:…:task-definition/family:revision)"
            ));
        }
        (format!("arn:{partition}:ecs:{region}:{account}"), rest)
    } else {
        (format!("arn:{}:ecs:{}:{}", o.partition, o.region, o.account), td)
    };
    let (family, revision) = match rest.split_once(':') {
        Some((family, rev)) => match rev.parse::<u32>() {
            Ok(n) if n > 0 && !rev.starts_with('+') => (family, Some(n)),
            _ => return Err(format!("\"{td}\": the revision must be a positive number")),
        },
        None => (rest, None),
    };
    if !ecs_name(family) {
        return Err(format!(
            "\"{td}\": a task definition family has letters, digits, hyphens and underscores only"
        ));
    }
    let arn = match revision {
        Some(n) => format!("{prefix}:task-definition/{family}:{n}"),
        None => format!("{prefix}:task-definition/{family}:*"),
    };
    Ok(TaskDefinitionRef { arn, family: family.to_owned(), revision })
}

/// A static `Cluster` (name or ARN) as an ARN; `None` is the `default` cluster, as ECS does.
pub(crate) fn cluster(c: Option<&str>, o: &Options) -> Result<ClusterRef, String> {
    let c = c.unwrap_or("default");
    if c.starts_with("arn:") {
        let Some([_, partition, service, region, account, resource]) = split_arn(c) else {
            return Err(format!("\"{c}\" is not an ARN"));
        };
        let name = resource.strip_prefix("cluster/").filter(|n| ecs_name(n));
        let Some(name) = name.filter(|_| service == "ecs" && !region.is_empty() && !account.is_empty())
        else {
            return Err(format!("\"{c}\" is not a cluster ARN (arn:…:ecs:…:cluster/name)"));
        };
        return Ok(ClusterRef {
            arn: c.to_owned(),
            name: name.to_owned(),
            prefix: format!("arn:{partition}:ecs:{region}:{account}"),
        });
    }
    if !ecs_name(c) {
        return Err(format!("\"{c}\" is neither a cluster name nor a cluster ARN"));
    }
    let prefix = format!("arn:{}:ecs:{}:{}", o.partition, o.region, o.account);
    Ok(ClusterRef { arn: format!("{prefix}:cluster/{c}"), name: c.to_owned(), prefix })
}

/// An IAM role as an ARN: an ARN as written, a bare role name in the account (ECS accepts both for
/// `taskRoleArn` and `executionRoleArn`).
pub(crate) fn role(r: &str, o: &Options) -> Result<String, String> {
    if r.starts_with("arn:") {
        return match split_arn(r) {
            Some([_, _, "iam", "", account, resource])
                if !account.is_empty() && resource.len() > "role/".len() && resource.starts_with("role/") =>
            {
                Ok(r.to_owned())
            }
            _ => Err(format!("\"{r}\" is not an IAM role ARN (arn:…:iam::account:role/name)")),
        };
    }
    let valid = !r.is_empty()
        && r.len() <= 64
        && r.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if !valid {
        return Err(format!("\"{r}\" is neither an IAM role name nor a role ARN"));
    }
    Ok(format!("arn:{}:iam::{}:role/{r}", o.partition, o.account))
}

/// The `.sync` managed rule's ARN in the state machine's region and account.
pub(crate) fn sync_rule(o: &Options) -> String {
    format!("arn:{}:events:{}:{}:rule/{SYNC_RULE}", o.partition, o.region, o.account)
}

/// `my-jobs_cluster` → `MyJobsCluster`: a name as a piece of a `Sid` (IAM allows `[A-Za-z0-9]` only).
pub(crate) fn pascal(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            cs.next().map(|f| f.to_ascii_uppercase().to_string() + cs.as_str()).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o() -> Options {
        Options::new("aws", "eu-west-1", "111122223333")
    }

    #[test]
    fn family_gets_every_revision_and_a_revision_is_kept() {
        let td = task_definition("report", &o()).unwrap();
        assert_eq!(td.arn, "arn:aws:ecs:eu-west-1:111122223333:task-definition/report:*");
        assert_eq!((td.family.as_str(), td.revision), ("report", None));
        let td = task_definition("report:7", &o()).unwrap();
        assert_eq!(td.arn, "arn:aws:ecs:eu-west-1:111122223333:task-definition/report:7");
        assert_eq!(td.revision, Some(7));
    }

    #[test]
    fn an_arn_is_kept_but_never_bare() {
        let arn = "arn:aws-cn:ecs:cn-north-1:444455556666:task-definition/report:3";
        assert_eq!(task_definition(arn, &o()).unwrap().arn, arn);
        // aws/aws-cdk#31714: a family ARN without revision is denied since October 2024.
        let bare = "arn:aws:ecs:us-east-1:444455556666:task-definition/report";
        assert_eq!(task_definition(bare, &o()).unwrap().arn, format!("{bare}:*"));
    }

    #[test]
    fn malformed_task_definitions_are_refused() {
        for bad in [
            "",
            "report:",
            "report:x",
            "report:0",
            "re port",
            "arn:aws:ecs:::task-definition/x",
            "arn:aws:ecs:r:a:cluster/x",
            "arn:",
        ] {
            assert!(task_definition(bad, &o()).is_err(), "{bad}");
        }
    }

    #[test]
    fn clusters_resolve_to_arns_and_default_when_absent() {
        let c = cluster(Some("jobs"), &o()).unwrap();
        assert_eq!(c.arn, "arn:aws:ecs:eu-west-1:111122223333:cluster/jobs");
        assert_eq!(c.tasks(), "arn:aws:ecs:eu-west-1:111122223333:task/jobs/*");
        assert_eq!(cluster(None, &o()).unwrap().arn, "arn:aws:ecs:eu-west-1:111122223333:cluster/default");
        let other = cluster(Some("arn:aws:ecs:us-east-2:444455556666:cluster/batch"), &o()).unwrap();
        assert_eq!(other.tasks(), "arn:aws:ecs:us-east-2:444455556666:task/batch/*");
        assert!(cluster(Some("arn:aws:ecs:us-east-2:444455556666:service/batch/x"), &o()).is_err());
        assert!(cluster(Some("a b"), &o()).is_err());
    }

    #[test]
    fn roles_are_arns_or_names() {
        assert_eq!(role("app", &o()).unwrap(), "arn:aws:iam::111122223333:role/app");
        let arn = "arn:aws:iam::444455556666:role/service-role/app";
        assert_eq!(role(arn, &o()).unwrap(), arn);
        assert!(role("arn:aws:iam::444455556666:user/app", &o()).is_err());
        assert!(role("arn:aws:iam:us-east-1:444455556666:role/app", &o()).is_err());
        assert!(role("a/b", &o()).is_err());
    }

    #[test]
    fn sid_pieces_are_alphanumeric() {
        assert_eq!(pascal("my-jobs_cluster"), "MyJobsCluster");
        assert_eq!(pascal("batch"), "Batch");
        assert_eq!(pascal("--"), "");
    }
}
