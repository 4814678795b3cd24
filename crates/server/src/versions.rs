//! Versions and aliases: PublishStateMachineVersion, ListStateMachineVersions, DeleteStateMachineVersion,
//! Create/Describe/Update/Delete/ListStateMachineAliases, and DescribeStateMachine on a version ARN.
//!
//! As the API reference has them: a version (`…:stateMachine:NAME:N`) is an immutable snapshot of the
//! machine's current revision, numbered from 1 and never renumbered (a deleted number is not given again);
//! publishing a revision that is already the latest version answers that version (PublishStateMachineVersion
//! is idempotent). An alias (`…:stateMachine:NAME:ALIAS`) routes to one or two versions of its machine
//! with weights summing to 100; a version an alias routes to cannot be deleted (`ConflictException`).
//! With a state directory they are journaled in their machine's record.

use serde_json::{Map, Value, json};

use crate::arn::{self, Named};
use crate::error::ApiError;
use crate::protocol::{Input, date};
use crate::service::{Alias, Registry, Service, not_found, publish, token};

/// At most this many aliases per state machine (AWS's quota: 100).
const MAX_ALIASES: usize = 100;

/// `ConflictException` with this message.
fn conflict(message: impl Into<String>) -> ApiError {
    ApiError::client("ConflictException", message)
}

/// The machine name and qualifier of a state machine, version or alias ARN of this region and account
/// (`None` for another region or account).
fn split<'a>(service: &Service, arn: &'a str) -> Result<Option<(&'a str, Option<&'a str>)>, ApiError> {
    let a = arn::parse(arn)?;
    let Named::StateMachine { name, qualifier } = a.named else {
        return Err(ApiError::invalid_arn(format_args!("Resource type not valid in this context: {arn}")));
    };
    Ok((a.region == service.region && a.account == service.account).then_some((name, qualifier)))
}

/// The routing configuration of an alias request: (version number, weight) of one machine's versions.
fn routing(
    service: &Service,
    reg: &Registry,
    items: &[Value],
) -> Result<(String, Vec<(u64, u64)>), ApiError> {
    let invalid = |m: &str| ApiError::client("ValidationException", m.to_owned());
    if items.is_empty() || items.len() > 2 {
        return Err(ApiError::validation(format_args!(
            "Value at 'routingConfiguration' failed to satisfy constraint: Member must have length between 1 and 2"
        )));
    }
    let mut machine: Option<String> = None;
    let mut out = Vec::new();
    for item in items {
        let i = Input::new(item);
        let varn = i.str_len("stateMachineVersionArn", 1, 256)?;
        let weight = i.opt_int("weight", 100)?.ok_or_else(|| ApiError::missing("weight"))?;
        let weight = u64::try_from(weight).map_err(|_| invalid("Weight must be between 0 and 100"))?;
        let (name, n) = match split(service, varn)? {
            Some((name, Some(q))) => match q.parse::<u64>() {
                Ok(n) => (name, n),
                Err(_) => {
                    return Err(invalid(&format!("Routing configuration must contain version ARNs: {varn}")));
                }
            },
            Some((_, None)) => {
                return Err(invalid(&format!("Routing configuration must contain version ARNs: {varn}")));
            }
            None => return Err(not_found(varn)),
        };
        if machine.as_deref().is_some_and(|m| m != name) {
            return Err(invalid("Routing configuration must contain versions of the same state machine"));
        }
        if out.iter().any(|(o, _)| *o == n) {
            return Err(invalid("Routing configuration must contain distinct version ARNs"));
        }
        if !reg.machine(name).is_some_and(|m| m.published.versions.contains_key(&n)) {
            return Err(not_found(varn));
        }
        machine = Some(name.to_owned());
        out.push((n, weight));
    }
    if out.iter().map(|(_, w)| w).sum::<u64>() != 100 {
        return Err(invalid("Sum of routing configuration weights must be equal to 100"));
    }
    Ok((machine.unwrap_or_default(), out))
}

fn routing_json(base: &str, routing: &[(u64, u64)]) -> Value {
    routing
        .iter()
        .map(|(n, w)| json!({"stateMachineVersionArn": format!("{base}:{n}"), "weight": w}))
        .collect()
}

/// An alias name: 1–80 of `A-Z a-z 0-9 - _ .`, not all digits (it would read as a version number).
fn check_alias_name(name: &str) -> Result<(), ApiError> {
    let chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if chars && !name.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::validation(format_args!(
            "Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$"
        )))
    }
}

impl Service {
    pub(crate) async fn publish_state_machine_version(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("stateMachineArn", 1, 256)?;
        let revision = i.opt_str_len("revisionId", 0, 2048)?;
        let description = i.opt_sensitive_chars("description", 256)?;
        let name = self.machine_name(arn)?;
        let (n, creation) = {
            let mut reg = self.write();
            let m = reg.machines.get_mut(name).ok_or_else(|| ApiError::machine_not_found(arn))?;
            if let Some(r) = revision
                && m.version.record.revision_id.as_deref() != Some(r)
            {
                return Err(conflict(format!(
                    "Failed to publish the State Machine version for revision {r}. The current State Machine revision is {}.",
                    m.version.record.revision_id.as_deref().unwrap_or("INITIAL")
                )));
            }
            let published = publish(m, description, self.engine.clock().now())?;
            if let Some(j) = &self.journal {
                j.put_machine(&m.record());
            }
            published
        };
        self.durable().await?;
        Ok(json!({"creationDate": date(creation), "stateMachineVersionArn": format!("{arn}:{n}")}))
    }

    pub(crate) fn list_state_machine_versions(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("stateMachineArn", 1, 256)?;
        let max = i.max_results(100)?;
        let next_token = i.opt_str_len("nextToken", 1, 1024)?;
        let before = match next_token {
            Some(t) => Some(token::decode_index("ver", arn, t, u64::MAX)?),
            None => None,
        };
        let name = self.machine_name(arn)?;
        let reg = self.read();
        let m = reg.machine(name).ok_or_else(|| ApiError::machine_not_found(arn))?;
        let mut items = Vec::new();
        let mut next = None;
        // Newest first.
        for (n, v) in m.published.versions.iter().rev().filter(|(n, _)| before.is_none_or(|b| **n < b)) {
            if items.len() == max {
                next = Some(token::encode("ver", arn, &n.saturating_add(1).to_string()));
                break;
            }
            items.push(
                json!({"stateMachineVersionArn": format!("{arn}:{n}"), "creationDate": date(v.creation)}),
            );
        }
        let mut out = json!({"stateMachineVersions": items});
        if let (Some(t), Some(o)) = (next, out.as_object_mut()) {
            o.insert("nextToken".into(), json!(t));
        }
        Ok(out)
    }

    pub(crate) async fn delete_state_machine_version(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("stateMachineVersionArn", 1, 256)?;
        let (name, n) = match split(self, arn)? {
            Some((name, Some(q))) => match q.parse::<u64>() {
                Ok(n) => (name, n),
                Err(_) => return Err(ApiError::invalid_arn(format_args!("Invalid version ARN: {arn}"))),
            },
            Some((_, None)) => return Err(ApiError::invalid_arn(format_args!("Invalid version ARN: {arn}"))),
            // Deleting what does not exist succeeds.
            None => return Ok(json!({})),
        };
        {
            let mut reg = self.write();
            if let Some(m) = reg.machines.get_mut(name) {
                let using: Vec<String> = m
                    .published
                    .aliases
                    .iter()
                    .filter(|(_, a)| a.routing.iter().any(|(v, _)| *v == n))
                    .map(|(alias, _)| format!("{}:{alias}", m.arn))
                    .collect();
                if !using.is_empty() {
                    return Err(conflict(format!(
                        "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
                        using.join(", ")
                    )));
                }
                if m.published.versions.remove(&n).is_some()
                    && let Some(j) = &self.journal
                {
                    j.put_machine(&m.record());
                }
            }
        }
        self.durable().await?;
        Ok(json!({}))
    }

    /// Whether a DescribeStateMachine request names a version (`…:NAME:N`) rather than a machine.
    pub(crate) fn names_version(body: &Value) -> bool {
        body["stateMachineArn"]
            .as_str()
            .and_then(|a| arn::parse(a).ok())
            .is_some_and(|a| matches!(a.named, Named::StateMachine { qualifier: Some(_), .. }))
    }

    /// DescribeStateMachine on a version ARN.
    pub(crate) fn describe_version(&self, arn: &str) -> Result<Value, ApiError> {
        let Some((name, Some(q))) = split(self, arn)? else { return Err(ApiError::machine_not_found(arn)) };
        let Ok(n) = q.parse::<u64>() else {
            return Err(ApiError::invalid_arn(format_args!(
                "Resource type not valid in this context: alias"
            )));
        };
        let reg = self.read();
        let m = reg.machine(name).ok_or_else(|| ApiError::machine_not_found(arn))?;
        let p = m.published.versions.get(&n).ok_or_else(|| ApiError::machine_not_found(arn))?;
        let r = &p.version.record;
        let mut out = Map::new();
        out.insert("stateMachineArn".into(), json!(arn));
        out.insert("name".into(), json!(r.machine));
        out.insert("status".into(), json!("ACTIVE"));
        out.insert("definition".into(), json!(r.definition));
        out.insert("roleArn".into(), json!(r.role_arn));
        out.insert("type".into(), json!(r.kind));
        out.insert("creationDate".into(), date(p.creation));
        out.insert("loggingConfiguration".into(), r.logging.clone());
        out.insert("tracingConfiguration".into(), r.tracing.clone());
        if let Some(rev) = &r.revision_id {
            out.insert("revisionId".into(), json!(rev));
        }
        if let Some(d) = &p.description {
            out.insert("description".into(), json!(d));
        }
        Ok(Value::Object(out))
    }

    pub(crate) async fn create_state_machine_alias(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let description = i.opt_sensitive_chars("description", 256)?;
        let name = i.str_len("name", 1, 80)?;
        let items =
            i.opt_array("routingConfiguration")?.ok_or_else(|| ApiError::missing("routingConfiguration"))?;
        check_alias_name(name)?;
        let answer = self.put_alias(name, description, items)?;
        self.durable().await?;
        Ok(answer)
    }

    /// CreateStateMachineAlias under the registry's lock.
    fn put_alias(&self, name: &str, description: Option<&str>, items: &[Value]) -> Result<Value, ApiError> {
        let mut reg = self.write();
        let (machine, routing) = routing(self, &reg, items)?;
        let m = reg.machines.get_mut(&machine).ok_or_else(|| ApiError::machine_not_found(&machine))?;
        let alias_arn = format!("{}:{name}", m.arn);
        if let Some(a) = m.published.aliases.get(name) {
            // Idempotent on the same description and routing.
            if a.description.as_deref() == description && a.routing == routing {
                return Ok(json!({"stateMachineAliasArn": alias_arn, "creationDate": date(a.creation)}));
            }
            return Err(conflict(format!(
                "Failed to create alias because an alias with the same name and a different routing configuration already exists: {alias_arn}"
            )));
        }
        if m.published.aliases.len() >= MAX_ALIASES {
            return Err(ApiError::client(
                "ServiceQuotaExceededException",
                format!("The maximum number of aliases ({MAX_ALIASES}) of '{}' is reached", m.arn),
            ));
        }
        let now = self.engine.clock().now();
        let alias =
            Alias { description: description.map(str::to_owned), routing, creation: now, update: now };
        m.published.aliases.insert(name.to_owned(), alias);
        if let Some(j) = &self.journal {
            j.put_machine(&m.record());
        }
        Ok(json!({"stateMachineAliasArn": alias_arn, "creationDate": date(now)}))
    }

    /// The machine and alias names of an alias ARN, or `ResourceNotFound`/`InvalidArn`.
    fn alias_names<'a>(&self, arn: &'a str) -> Result<(&'a str, &'a str), ApiError> {
        match split(self, arn)? {
            Some((name, Some(q))) if q.parse::<u64>().is_err() => Ok((name, q)),
            Some(_) => Err(ApiError::invalid_arn(format_args!("Invalid alias ARN: {arn}"))),
            None => Err(not_found(arn)),
        }
    }

    pub(crate) fn describe_state_machine_alias(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = Input::new(body).str_len("stateMachineAliasArn", 1, 256)?;
        let (machine, alias) = self.alias_names(arn)?;
        let reg = self.read();
        let m = reg.machine(machine).ok_or_else(|| not_found(arn))?;
        let a = m.published.aliases.get(alias).ok_or_else(|| not_found(arn))?;
        let mut out = Map::new();
        out.insert("stateMachineAliasArn".into(), json!(arn));
        out.insert("name".into(), json!(alias));
        if let Some(d) = &a.description {
            out.insert("description".into(), json!(d));
        }
        out.insert("routingConfiguration".into(), routing_json(&m.arn, &a.routing));
        out.insert("creationDate".into(), date(a.creation));
        out.insert("updateDate".into(), date(a.update));
        Ok(Value::Object(out))
    }

    pub(crate) async fn update_state_machine_alias(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("stateMachineAliasArn", 1, 256)?;
        let description = i.opt_sensitive_chars("description", 256)?;
        let items = i.opt_array("routingConfiguration")?;
        let (machine, alias) = self.alias_names(arn)?;
        if description.is_none() && items.is_none() {
            return Err(ApiError::client(
                "ValidationException",
                "Either the description or the RoutingConfiguration must be specified",
            ));
        }
        let now = self.engine.clock().now();
        {
            let mut reg = self.write();
            let routing = match items {
                Some(items) => {
                    let (of, routing) = routing(self, &reg, items)?;
                    if of != machine {
                        return Err(ApiError::client(
                            "ValidationException",
                            "Routing configuration must contain versions of the alias's state machine",
                        ));
                    }
                    Some(routing)
                }
                None => None,
            };
            let m = reg.machines.get_mut(machine).ok_or_else(|| not_found(arn))?;
            let a = m.published.aliases.get_mut(alias).ok_or_else(|| not_found(arn))?;
            if let Some(d) = description {
                a.description = Some(d.to_owned());
            }
            if let Some(r) = routing {
                a.routing = r;
            }
            a.update = now;
            if let Some(j) = &self.journal {
                j.put_machine(&m.record());
            }
        }
        self.durable().await?;
        Ok(json!({"updateDate": date(now)}))
    }

    pub(crate) async fn delete_state_machine_alias(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = Input::new(body).str_len("stateMachineAliasArn", 1, 256)?;
        let (machine, alias) = self.alias_names(arn)?;
        {
            let mut reg = self.write();
            let m = reg.machines.get_mut(machine).ok_or_else(|| not_found(arn))?;
            m.published.aliases.remove(alias).ok_or_else(|| not_found(arn))?;
            if let Some(j) = &self.journal {
                j.put_machine(&m.record());
            }
        }
        self.durable().await?;
        Ok(json!({}))
    }

    pub(crate) fn list_state_machine_aliases(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("stateMachineArn", 1, 256)?;
        let max = i.max_results(100)?;
        let next_token = i.opt_str_len("nextToken", 1, 1024)?;
        let after = match next_token {
            Some(t) => Some(token::decode("alias", arn, t)?),
            None => None,
        };
        // A version ARN lists the aliases that route to it.
        let (name, version) = match split(self, arn)? {
            Some((name, None)) => (name, None),
            Some((name, Some(q))) => match q.parse::<u64>() {
                Ok(n) => (name, Some(n)),
                Err(_) => return Err(ApiError::invalid_arn(format_args!("Invalid ARN: {arn}"))),
            },
            None => return Err(ApiError::machine_not_found(arn)),
        };
        let reg = self.read();
        let m = reg.machine(name).ok_or_else(|| not_found(arn))?;
        if version.is_some_and(|n| !m.published.versions.contains_key(&n)) {
            return Err(not_found(arn));
        }
        let mut items = Vec::new();
        let mut next = None;
        let listed = m
            .published
            .aliases
            .iter()
            .filter(|(a, _)| after.as_deref().is_none_or(|after| a.as_str() > after))
            .filter(|(_, a)| version.is_none_or(|n| a.routing.iter().any(|(v, _)| *v == n)));
        for (alias, a) in listed {
            if items.len() == max {
                next = items
                    .last()
                    .and_then(|v: &Value| v["stateMachineAliasArn"].as_str())
                    .and_then(|s| s.rsplit(':').next())
                    .map(|last| token::encode("alias", arn, last));
                break;
            }
            items.push(json!({
                "stateMachineAliasArn": format!("{}:{alias}", m.arn),
                "creationDate": date(a.creation),
            }));
        }
        let mut out = json!({"stateMachineAliases": items});
        if let (Some(t), Some(o)) = (next, out.as_object_mut()) {
            o.insert("nextToken".into(), json!(t));
        }
        Ok(out)
    }
}
