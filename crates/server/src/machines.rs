//! State machine operations: Create, Describe, Update, Delete, List, ValidateStateMachineDefinition, and tags.

use std::sync::Arc;

use serde_json::{Value, json};
use sfn_asl::{Diagnostic, Severity};
use sfn_patterns::Integrations;

use crate::arn;
use crate::definition::{invalid_definition, verdict};
use crate::error::ApiError;
use crate::journal::VersionRecord;
use crate::protocol::{Input, check_len, date};
use crate::service::{Machine, Service, Version, logging_or_default, token, tracing_or_default};

/// Longest definition (the API's limit, 1 MiB).
const MAX_DEFINITION_CHARS: usize = 1_048_576;
/// Most tags on one resource.
const MAX_TAGS: usize = 50;

/// Validates a definition for the type; `InvalidDefinition` with every error.
fn check_definition(integrations: &Integrations, definition: &str, kind: &str) -> Result<(), ApiError> {
    let v = verdict(integrations, definition, kind);
    if v.is_valid() { Ok(()) } else { Err(invalid_definition(&v.diagnostics)) }
}

/// Tags from `[{"key": …, "value": …}]`.
fn parse_tags(tags: Option<&Vec<Value>>) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for t in tags.into_iter().flatten() {
        let key = t.get("key").and_then(Value::as_str).ok_or_else(|| ApiError::missing("tags.member.key"))?;
        let value = t.get("value").and_then(Value::as_str).unwrap_or_default();
        check_len("tags.member.key", key, 1, 128)?;
        check_len("tags.member.value", value, 0, 256)?;
        out.push((key.to_owned(), value.to_owned()));
    }
    Ok(out)
}

fn merge_tags(into: &mut Vec<(String, String)>, tags: Vec<(String, String)>) {
    for (k, v) in tags {
        match into.iter_mut().find(|(ik, _)| *ik == k) {
            Some(slot) => slot.1 = v,
            None => into.push((k, v)),
        }
    }
}

fn tags_json(tags: &[(String, String)]) -> Value {
    Value::Array(tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect())
}

/// ValidateStateMachineDefinition (no state is kept).
pub(crate) fn validate_definition(integrations: &Integrations, body: &Value) -> Result<Value, ApiError> {
    let i = Input::new(body);
    let definition = i.str_len("definition", 1, MAX_DEFINITION_CHARS)?;
    let kind = i.opt_enum("type", &["STANDARD", "EXPRESS"])?.unwrap_or("STANDARD");
    let min = i.opt_enum("severity", &["ERROR", "WARNING"])?.unwrap_or("ERROR");
    let max = match i.opt_int("maxResults", 100)? {
        None | Some(0) => 100,
        Some(n) => usize::try_from(n).unwrap_or(100),
    };
    let v = verdict(integrations, definition, kind);
    let valid = v.is_valid();
    let wanted: Vec<&Diagnostic> =
        v.diagnostics.iter().filter(|d| d.severity == Severity::Error || min == "WARNING").collect();
    let truncated = wanted.len() > max;
    let diagnostics: Vec<Value> = wanted
        .iter()
        .take(max)
        .map(|d| {
            json!({
                "severity": if d.is_error() { "ERROR" } else { "WARNING" },
                "code": d.code,
                "message": d.message,
                "location": d.pointer,
            })
        })
        .collect();
    Ok(
        json!({"result": if valid { "OK" } else { "FAIL" }, "diagnostics": diagnostics, "truncated": truncated}),
    )
}

impl Service {
    /// `publish: true` on Create/UpdateStateMachine: a version of the machine's current revision, journaled.
    fn publish_now(&self, m: &mut Machine, description: Option<&str>) -> Result<u64, ApiError> {
        let n = crate::service::publish(m, description, self.engine.clock().now())?.0;
        if let Some(j) = &self.journal {
            j.put_machine(&m.record());
        }
        Ok(n)
    }

    fn describe_machine_json(&self, m: &Machine) -> Value {
        let v = &m.version.record;
        let mut out = json!({
            "stateMachineArn": m.arn,
            "name": v.machine,
            "status": if m.deleting { "DELETING" } else { "ACTIVE" },
            "definition": v.definition,
            "roleArn": v.role_arn,
            "type": v.kind,
            "creationDate": date(m.creation),
            "loggingConfiguration": v.logging,
            "tracingConfiguration": v.tracing,
        });
        if let (Some(r), Some(o)) = (&v.revision_id, out.as_object_mut()) {
            o.insert("revisionId".into(), json!(r));
        }
        out
    }

    /// A new version from `record` (its id and update date are set here).
    fn new_version(&self, mut record: VersionRecord) -> Arc<Version> {
        let update_date = self.engine.clock().now();
        record.id = uuid::Uuid::new_v4().to_string();
        record.update_ms = update_date.timestamp_millis();
        let prepared = crate::service::prepare(&self.engine, &record);
        if let Ok(p) = &prepared {
            crate::mocking::report(self.mocks.as_ref(), &record.machine, p.machine());
        }
        Arc::new(Version { record, prepared, update_date })
    }

    pub(crate) async fn create_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let name = i.str_len("name", 1, 80)?;
        let definition = i.str_len("definition", 1, MAX_DEFINITION_CHARS)?;
        let role_arn = i.str_len("roleArn", 1, 256)?;
        let kind = i.opt_enum("type", &["STANDARD", "EXPRESS"])?.unwrap_or("STANDARD");
        let logging = logging_or_default(i.opt_object("loggingConfiguration")?);
        let tracing = tracing_or_default(i.opt_object("tracingConfiguration")?);
        let tags = parse_tags(i.opt_array("tags")?)?;
        let publish = i.opt_bool("publish")?.unwrap_or(false);
        let description = i.opt_sensitive_chars("versionDescription", 256)?;
        if description.is_some() && !publish {
            return Err(no_publish());
        }
        if !arn::valid_name(name) {
            return Err(ApiError::invalid_name(name));
        }
        if tags.len() > MAX_TAGS {
            return Err(too_many_tags(&arn::machine_arn(&self.region, &self.account, name)));
        }
        check_definition(self.engine.integrations(), definition, kind)?;
        let arn = arn::machine_arn(&self.region, &self.account, name);
        let (created, published) = {
            let mut reg = self.write();
            reg.sweep(name);
            if reg.machines.get(name).is_some_and(|m| m.deleting) {
                return Err(ApiError::machine_deleting(&arn));
            }
            let created = match reg.machines.get(name) {
                // Idempotent on name, definition, type, logging and tracing; roleArn and tags are ignored.
                // The first create may still be waiting for its commit: answered once it is on disk.
                Some(m)
                    if m.version.record.definition == definition
                        && m.version.record.kind == kind
                        && m.version.record.logging == logging
                        && m.version.record.tracing == tracing =>
                {
                    m.creation
                }
                Some(m) => {
                    return Err(ApiError::client(
                        "StateMachineAlreadyExists",
                        format!("State Machine Already Exists: '{}'", m.arn),
                    ));
                }
                None => {
                    let version = self.new_version(VersionRecord {
                        id: String::new(),
                        machine: name.to_owned(),
                        definition: definition.to_owned(),
                        role_arn: role_arn.to_owned(),
                        kind: kind.to_owned(),
                        logging,
                        tracing,
                        revision_id: None,
                        update_ms: 0,
                    });
                    let m = Machine {
                        arn: arn.clone(),
                        creation: version.update_date,
                        version,
                        tags,
                        deleting: false,
                        published: crate::service::Published::default(),
                    };
                    if let Some(j) = &self.journal {
                        j.put_version(&m.version.record);
                        j.put_machine(&m.record());
                    }
                    let created = m.creation;
                    reg.machines.insert(name.to_owned(), m);
                    created
                }
            };
            let m = reg.machines.get_mut(name).ok_or_else(|| ApiError::machine_not_found(&arn))?;
            let published = if publish { Some(self.publish_now(m, description)?) } else { None };
            (created, published)
        };
        self.durable().await?;
        let mut out = json!({"stateMachineArn": arn, "creationDate": date(created)});
        if let (Some(n), Some(o)) = (published, out.as_object_mut()) {
            o.insert("stateMachineVersionArn".into(), json!(format!("{arn}:{n}")));
        }
        Ok(out)
    }

    pub(crate) fn describe_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("stateMachineArn", 1, 256)?;
        let name = self.machine_name(arn)?;
        let reg = self.read();
        let m = reg.machine(name).ok_or_else(|| ApiError::machine_not_found(arn))?;
        Ok(self.describe_machine_json(m))
    }

    pub(crate) async fn update_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("stateMachineArn", 1, 256)?;
        let definition = i.opt_str_len("definition", 1, MAX_DEFINITION_CHARS)?;
        let role_arn = i.opt_str_len("roleArn", 1, 256)?;
        let logging = i.opt_object("loggingConfiguration")?;
        let tracing = i.opt_object("tracingConfiguration")?;
        let publish = i.opt_bool("publish")?.unwrap_or(false);
        let description = i.opt_sensitive_chars("versionDescription", 256)?;
        if description.is_some() && !publish {
            return Err(no_publish());
        }
        let name = self.machine_name(arn)?;
        if definition.is_none() && role_arn.is_none() && logging.is_none() && tracing.is_none() {
            return Err(ApiError::client(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
            ));
        }
        let (update_date, revision, published) = {
            let mut reg = self.write();
            let m = reg.machines.get_mut(name).ok_or_else(|| ApiError::machine_not_found(arn))?;
            let cur = &m.version.record;
            if let Some(d) = definition {
                check_definition(self.engine.integrations(), d, &cur.kind)?;
            }
            let definition = definition.unwrap_or(&cur.definition).to_owned();
            let role_arn = role_arn.unwrap_or(&cur.role_arn).to_owned();
            let logging = logging.map_or_else(|| cur.logging.clone(), |l| Value::Object(l.clone()));
            let tracing = tracing.map_or_else(|| cur.tracing.clone(), |t| Value::Object(t.clone()));
            let unchanged = definition == cur.definition
                && role_arn == cur.role_arn
                && logging == cur.logging
                && tracing == cur.tracing;
            if !(unchanged && cur.revision_id.is_some()) {
                let revision = Some(uuid::Uuid::new_v4().to_string());
                let version = self.new_version(VersionRecord {
                    id: String::new(),
                    machine: name.to_owned(),
                    definition,
                    role_arn,
                    kind: cur.kind.clone(),
                    logging,
                    tracing,
                    revision_id: revision,
                    update_ms: 0,
                });
                m.version = version;
                if let Some(j) = &self.journal {
                    j.put_version(&m.version.record);
                    j.put_machine(&m.record());
                }
            }
            let published = if publish { Some(self.publish_now(m, description)?) } else { None };
            (m.version.update_date, m.version.record.revision_id.clone(), published)
        };
        self.durable().await?;
        let mut out = json!({"updateDate": date(update_date), "revisionId": revision});
        if let (Some(n), Some(o)) = (published, out.as_object_mut()) {
            o.insert("stateMachineVersionArn".into(), json!(format!("{arn}:{n}")));
        }
        Ok(out)
    }

    pub(crate) async fn delete_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("stateMachineArn", 1, 256)?;
        // Deleting what does not exist succeeds. With executions running, the machine is DELETING: they
        // end (ABORTED) at their next state transition and the machine is gone once the last has ended
        // (AWS: "It sets the state machine's status to DELETING … A state machine is deleted only when all
        // its executions are completed. On the next state transition, the state machine's executions are
        // terminated."). The journal forgets it at once: after a restart it is gone, and executions
        // resumed from the journal run to their end.
        if let Some(name) = arn::machine_name(arn, &self.region, &self.account)? {
            let (removed, running) = {
                let mut reg = self.write();
                let running: Vec<_> = reg
                    .by_machine
                    .get(name)
                    .into_iter()
                    .flatten()
                    .filter(|e| e.ended().is_none())
                    .filter_map(|e| e.live())
                    .collect();
                let existed = reg.machines.contains_key(name);
                match reg.machines.get_mut(name) {
                    Some(m) if !running.is_empty() => m.deleting = true,
                    _ => {
                        reg.by_machine.remove(name);
                        reg.machines.remove(name);
                    }
                }
                (existed, running)
            };
            for execution in &running {
                execution.terminate();
            }
            if removed && let Some(j) = &self.journal {
                j.delete_machine(name);
            }
            // Also when it was already gone: an earlier delete may not be on disk yet.
            self.durable().await?;
        }
        Ok(json!({}))
    }

    pub(crate) fn list_state_machines(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let max = i.max_results(100)?;
        let after = match i.opt_str_len("nextToken", 1, 1024)? {
            Some(t) => Some(token::decode("sm", "", t)?),
            None => None,
        };
        let reg = self.read();
        let mut items = Vec::new();
        let mut next = None;
        let range =
            reg.machines.iter().filter(|(name, _)| after.as_ref().is_none_or(|a| name.as_str() > a.as_str()));
        let range = range.filter(|(name, _)| reg.machine(name).is_some());
        for (name, m) in range {
            if items.len() == max {
                next =
                    items.last().and_then(|v: &Value| v["name"].as_str()).map(|n| token::encode("sm", "", n));
                break;
            }
            items.push(json!({
                "stateMachineArn": m.arn,
                "name": name,
                "type": m.version.record.kind,
                "creationDate": date(m.creation),
            }));
        }
        let mut out = json!({"stateMachines": items});
        if let (Some(t), Some(o)) = (next, out.as_object_mut()) {
            o.insert("nextToken".into(), json!(t));
        }
        Ok(out)
    }

    fn tagged_machine<'a>(&self, arn: &'a str) -> Result<&'a str, ApiError> {
        let not_found = || ApiError::client("ResourceNotFound", format!("Resource not found: '{arn}'"));
        let name = arn::machine_name(arn, &self.region, &self.account)?.ok_or_else(not_found)?;
        if self.read().machines.contains_key(name) { Ok(name) } else { Err(not_found()) }
    }

    pub(crate) async fn tag_resource(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("resourceArn", 1, 256)?;
        let tags = parse_tags(Some(i.opt_array("tags")?.ok_or_else(|| ApiError::missing("tags"))?))?;
        let name = self.tagged_machine(arn)?;
        {
            let mut reg = self.write();
            let m = reg.machines.get_mut(name).ok_or_else(|| ApiError::machine_not_found(arn))?;
            let mut merged = m.tags.clone();
            merge_tags(&mut merged, tags);
            if merged.len() > MAX_TAGS {
                return Err(too_many_tags(arn));
            }
            m.tags = merged;
            if let Some(j) = &self.journal {
                j.put_machine(&m.record());
            }
        }
        self.durable().await?;
        Ok(json!({}))
    }

    pub(crate) async fn untag_resource(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("resourceArn", 1, 256)?;
        let keys: Vec<&str> = i
            .opt_array("tagKeys")?
            .ok_or_else(|| ApiError::missing("tagKeys"))?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let name = self.tagged_machine(arn)?;
        {
            let mut reg = self.write();
            let m = reg.machines.get_mut(name).ok_or_else(|| ApiError::machine_not_found(arn))?;
            m.tags.retain(|(k, _)| !keys.contains(&k.as_str()));
            if let Some(j) = &self.journal {
                j.put_machine(&m.record());
            }
        }
        self.durable().await?;
        Ok(json!({}))
    }

    pub(crate) fn list_tags_for_resource(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("resourceArn", 1, 256)?;
        let name = self.tagged_machine(arn)?;
        let reg = self.read();
        let tags = reg.machines.get(name).map(|m| tags_json(&m.tags)).unwrap_or_else(|| json!([]));
        Ok(json!({"tags": tags}))
    }
}

/// `versionDescription` without `publish: true`.
fn no_publish() -> ApiError {
    ApiError::client("ValidationException", "Version description can only be set when publish is true")
}

fn too_many_tags(arn: &str) -> ApiError {
    ApiError::client("TooManyTags", format!("Too many tags: at most {MAX_TAGS} tags on '{arn}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_definition_results() {
        let ok = validate_definition(
            &Integrations::new(),
            &json!({"definition": r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}"#}),
        )
        .unwrap();
        assert_eq!(ok, json!({"result": "OK", "diagnostics": [], "truncated": false}));
        let bad =
            validate_definition(&Integrations::new(), &json!({"definition": r#"{"StartAt": "A"}"#})).unwrap();
        assert_eq!(bad["result"], "FAIL");
        assert_eq!(bad["diagnostics"][0]["severity"], "ERROR");
        assert_eq!(bad["diagnostics"][0]["code"], "SCHEMA_VALIDATION_FAILED");
        assert_eq!(bad["diagnostics"][0]["location"], "/");
        let e = validate_definition(&Integrations::new(), &json!({"definition": "{}", "severity": "INFO"}))
            .unwrap_err();
        assert_eq!(e.code, "ValidationException");
    }
}
