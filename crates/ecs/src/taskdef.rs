//! Task definitions in the form `aws ecs register-task-definition --cli-input-json` takes.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::TaskDefinitionError;

/// A `name`/`value` pair of a container definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Its value.
    #[serde(default)]
    pub value: String,
}

/// One container of a task definition (the fields the backends use; others are accepted and ignored).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    /// Container name.
    pub name: String,
    /// Image (recorded; the local backend does not pull images).
    #[serde(default)]
    pub image: String,
    /// `entryPoint`.
    pub entry_point: Option<Vec<String>>,
    /// `command`.
    pub command: Option<Vec<String>>,
    /// `environment`.
    #[serde(default)]
    pub environment: Vec<EnvVar>,
    /// `essential` (default true).
    pub essential: Option<bool>,
    /// CPU units.
    pub cpu: Option<i64>,
    /// Hard memory limit (MiB).
    pub memory: Option<i64>,
    /// Soft memory limit (MiB).
    pub memory_reservation: Option<i64>,
    /// `workingDirectory`.
    pub working_directory: Option<String>,
    /// `logConfiguration` (with `awslogs`, where the container's output goes: [`crate::LogStream`]).
    pub log_configuration: Option<LogConfiguration>,
}

/// A container's `logConfiguration`: its log driver and the driver's options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    /// `logDriver` (`awslogs`, `json-file`, …).
    pub log_driver: String,
    /// `options` (for `awslogs`: `awslogs-group`, `awslogs-region`, `awslogs-stream-prefix`, …).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl ContainerDefinition {
    /// Essential unless it says `"essential": false`.
    pub fn is_essential(&self) -> bool {
        self.essential.unwrap_or(true)
    }
}

/// A task definition.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    /// `family`.
    pub family: String,
    /// `revision` when the file states one (else assigned on load).
    pub revision: Option<u32>,
    /// `containerDefinitions`.
    pub container_definitions: Vec<ContainerDefinition>,
    /// Task CPU units (`"256"`, or `"1 vCPU"`).
    pub cpu: Option<String>,
    /// Task memory (`"512"`, or `"1 GB"`).
    pub memory: Option<String>,
    /// `taskRoleArn`.
    pub task_role_arn: Option<String>,
    /// `executionRoleArn`.
    pub execution_role_arn: Option<String>,
    /// `networkMode`.
    pub network_mode: Option<String>,
    /// `requiresCompatibilities`.
    #[serde(default)]
    pub requires_compatibilities: Vec<String>,
}

/// Parses ECS's CPU notation: units (`"256"`) or vCPUs (`"0.25 vCPU"`, `"1 vcpu"`).
pub fn cpu_units(s: &str) -> Option<i64> {
    let t = s.trim().to_lowercase();
    if let Some(v) = t.strip_suffix("vcpu") {
        return v.trim().parse::<f64>().ok().map(|f| (f * 1024.0).round() as i64);
    }
    t.parse().ok()
}

/// Parses ECS's memory notation: MiB (`"512"`) or GB (`"1 GB"`).
pub fn memory_mib(s: &str) -> Option<i64> {
    let t = s.trim().to_lowercase();
    if let Some(v) = t.strip_suffix("gb") {
        return v.trim().parse::<f64>().ok().map(|f| (f * 1024.0).round() as i64);
    }
    t.parse().ok()
}

impl TaskDefinition {
    /// CPU units and MiB the task needs (task level, else the sum of its containers).
    pub fn requirements(&self) -> (i64, i64) {
        let cpu = self
            .cpu
            .as_deref()
            .and_then(cpu_units)
            .unwrap_or_else(|| self.container_definitions.iter().map(|c| c.cpu.unwrap_or(0)).sum());
        let mem = self.memory.as_deref().and_then(memory_mib).unwrap_or_else(|| {
            self.container_definitions.iter().map(|c| c.memory.or(c.memory_reservation).unwrap_or(0)).sum()
        });
        (cpu, mem)
    }
}

/// The task definitions available to a backend, by family and revision.
#[derive(Debug, Clone, Default)]
pub struct TaskDefinitions {
    by_family: BTreeMap<String, BTreeMap<u32, TaskDefinition>>,
}

impl TaskDefinitions {
    /// No task definitions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a definition; without a `revision` it becomes the family's next revision. Returns the revision.
    pub fn register(&mut self, mut td: TaskDefinition) -> u32 {
        let revs = self.by_family.entry(td.family.clone()).or_default();
        let rev = td.revision.unwrap_or_else(|| revs.keys().next_back().map_or(1, |r| r + 1));
        td.revision = Some(rev);
        revs.insert(rev, td);
        rev
    }

    /// Loads every `*.json` file of a directory (sorted by name, so revisions are stable).
    pub fn load_dir(dir: &Path) -> Result<TaskDefinitions, TaskDefinitionError> {
        let err =
            |path: &Path, message: String| TaskDefinitionError { path: path.display().to_string(), message };
        let entries =
            std::fs::read_dir(dir).map_err(|e| err(dir, format!("cannot read the directory: {e}")))?;
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let mut out = TaskDefinitions::new();
        for f in files {
            let text = std::fs::read(&f).map_err(|e| err(&f, format!("cannot read: {e}")))?;
            let td: TaskDefinition =
                serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&text))
                    .map_err(|e| err(&f, format!("{}: {}", e.path(), e.inner())))?;
            if td.family.is_empty() {
                return Err(err(&f, "family must not be empty".to_owned()));
            }
            if td.container_definitions.is_empty() {
                return Err(err(&f, "containerDefinitions must name at least one container".to_owned()));
            }
            out.register(td);
        }
        Ok(out)
    }

    /// True when there is no task definition.
    pub fn is_empty(&self) -> bool {
        self.by_family.is_empty()
    }

    /// The families known.
    pub fn families(&self) -> impl Iterator<Item = &str> {
        self.by_family.keys().map(String::as_str)
    }

    /// The revisions known of a family (ascending; empty for an unknown family).
    pub fn revisions(&self, family: &str) -> Vec<u32> {
        self.by_family.get(family).map(|r| r.keys().copied().collect()).unwrap_or_default()
    }

    /// Resolves `family`, `family:revision` or a task-definition ARN to (family, revision, definition).
    pub fn resolve(&self, reference: &str) -> Option<(&str, u32, &TaskDefinition)> {
        let name = match reference.rsplit_once("task-definition/") {
            Some((_, rest)) if reference.starts_with("arn:") => rest,
            _ => reference,
        };
        let (family, rev) = match name.rsplit_once(':') {
            Some((f, r)) => (f, Some(r.parse::<u32>().ok()?)),
            None => (name, None),
        };
        let (family, revs) = self.by_family.get_key_value(family)?;
        let (rev, td) = match rev {
            Some(r) => (r, revs.get(&r)?),
            None => revs.iter().next_back().map(|(r, td)| (*r, td))?,
        };
        Some((family.as_str(), rev, td))
    }

    /// The family named by a reference, whether or not it is known.
    pub fn family_of(reference: &str) -> &str {
        let name = match reference.rsplit_once("task-definition/") {
            Some((_, rest)) if reference.starts_with("arn:") => rest,
            _ => reference,
        };
        name.rsplit_once(':').map_or(name, |(f, _)| f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn td(family: &str) -> TaskDefinition {
        TaskDefinition {
            family: family.into(),
            container_definitions: vec![ContainerDefinition { name: "app".into(), ..Default::default() }],
            ..Default::default()
        }
    }

    #[test]
    fn revisions_and_references() {
        let mut tds = TaskDefinitions::new();
        assert_eq!(tds.register(td("job")), 1);
        assert_eq!(tds.register(td("job")), 2);
        assert_eq!(tds.resolve("job").map(|r| r.1), Some(2));
        assert_eq!(tds.resolve("job:1").map(|r| r.1), Some(1));
        assert_eq!(tds.resolve("arn:aws:ecs:us-east-1:1:task-definition/job:2").map(|r| r.1), Some(2));
        assert!(tds.resolve("job:9").is_none());
        assert!(tds.resolve("other").is_none());
        assert_eq!(tds.revisions("job"), [1, 2]);
        assert!(tds.revisions("other").is_empty());
        assert_eq!(TaskDefinitions::family_of("arn:aws:ecs:r:1:task-definition/job:7"), "job");
    }

    #[test]
    fn cpu_and_memory_notation() {
        assert_eq!(cpu_units("256"), Some(256));
        assert_eq!(cpu_units("0.5 vCPU"), Some(512));
        assert_eq!(memory_mib("1 GB"), Some(1024));
        assert_eq!(memory_mib("512"), Some(512));
    }
}
