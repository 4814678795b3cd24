//! The roles of ECS task definitions, read from files in `aws ecs register-task-definition
//! --cli-input-json` form. Only what IAM needs is read (`family`, `revision`, `taskRoleArn`,
//! `executionRoleArn`); every other field is ignored. This is the crate's only IO.

use std::path::Path;

use serde::Deserialize;

use crate::error::{LoadError, LoadErrorKind};

/// The roles a task definition hands to ECS, for `iam:PassRole`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct TaskDefinitionRoles {
    /// `family`.
    pub family: String,
    /// `revision`, when the file states one (describe-task-definition output does; register input does not).
    pub revision: Option<u32>,
    /// `taskRoleArn`: the role the containers run with.
    pub task_role_arn: Option<String>,
    /// `executionRoleArn`: the role ECS uses to pull images and write logs.
    pub execution_role_arn: Option<String>,
    /// Where it was read from (a file name), for explanations.
    pub source: Option<String>,
}

/// The fields read; the file's other fields are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    family: String,
    #[serde(default)]
    revision: Option<u32>,
    #[serde(default)]
    task_role_arn: Option<String>,
    #[serde(default)]
    execution_role_arn: Option<String>,
}

/// `describe-task-definition` output wraps the definition in `taskDefinition`.
#[derive(Deserialize)]
#[serde(untagged)]
enum File {
    Described {
        #[serde(rename = "taskDefinition")]
        task_definition: Raw,
    },
    Plain(Raw),
}

impl TaskDefinitionRoles {
    /// Reads the roles of one task definition (JSON in `register-task-definition --cli-input-json` form, or
    /// `describe-task-definition` output).
    ///
    /// ```
    /// let td = sfn_iam::TaskDefinitionRoles::from_json(
    ///     br#"{"family": "report", "taskRoleArn": "arn:aws:iam::111122223333:role/report", "containerDefinitions": []}"#,
    /// ).unwrap();
    /// assert_eq!(td.family, "report");
    /// assert_eq!(td.execution_role_arn, None);
    /// ```
    pub fn from_json(bytes: &[u8]) -> Result<TaskDefinitionRoles, serde_json::Error> {
        let raw = match serde_json::from_slice::<File>(bytes) {
            Ok(File::Described { task_definition }) | Ok(File::Plain(task_definition)) => task_definition,
            // Re-parse as the plain form for an error message that names the missing field.
            Err(_) => serde_json::from_slice::<Raw>(bytes)?,
        };
        let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
        Ok(TaskDefinitionRoles {
            family: raw.family,
            revision: raw.revision,
            task_role_arn: non_empty(raw.task_role_arn),
            execution_role_arn: non_empty(raw.execution_role_arn),
            source: None,
        })
    }
}

/// Reads every task definition file (`*.json`) of a directory, in file-name order. This is the only
/// function of the crate that does IO.
///
/// ```no_run
/// let tds = sfn_iam::load_task_definitions(std::path::Path::new("task-definitions")).unwrap();
/// let options = sfn_iam::Options::new("aws", "eu-west-1", "111122223333").with_task_definitions(tds);
/// ```
pub fn load_task_definitions(dir: &Path) -> Result<Vec<TaskDefinitionRoles>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::new(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| LoadError::new(dir, e))?.path();
        if path.extension().is_some_and(|x| x == "json") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).map_err(|e| LoadError::new(&f, e))?;
            let mut td = TaskDefinitionRoles::from_json(&bytes)
                .map_err(|e| LoadError::new(&f, LoadErrorKind::Json(e)))?;
            td.source = f.file_name().map(|n| n.to_string_lossy().into_owned());
            Ok(td)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_output_and_register_input_both_read() {
        let described = br#"{"taskDefinition": {"family": "a", "revision": 4, "executionRoleArn": "arn:aws:iam::111122223333:role/x"}}"#;
        let td = TaskDefinitionRoles::from_json(described).unwrap();
        assert_eq!((td.family.as_str(), td.revision), ("a", Some(4)));
        assert_eq!(td.execution_role_arn.as_deref(), Some("arn:aws:iam::111122223333:role/x"));
        let plain = br#"{"family": "b", "taskRoleArn": "", "cpu": "256", "unknownField": {"x": 1}}"#;
        let td = TaskDefinitionRoles::from_json(plain).unwrap();
        assert_eq!((td.family.as_str(), td.task_role_arn), ("b", None));
    }

    #[test]
    fn a_file_without_family_is_an_error_naming_the_field() {
        let e = TaskDefinitionRoles::from_json(br#"{"containerDefinitions": []}"#).unwrap_err();
        assert!(e.to_string().contains("family"), "{e}");
    }
}
