//! The one validation every entry point shares ([`validate_definition`]: `sfn validate`, `sfn run`,
//! `sfn test-state`, `sfn policy`, `sfn graph`, the facade and the server's CreateStateMachine /
//! UpdateStateMachine / ValidateStateMachineDefinition), and its service part: AWS's verdict on each Task
//! resource, whether an integration is available here, and that integration's own lints.
//!
//! Errors are exactly what AWS refuses at creation; everything of ours (lints, missing local
//! integrations) is a warning.

use serde_json::Value;
use sfn_asl::pointer::{escape, unescape};
use sfn_asl::{Diagnostic, MachineType, StateKind, StateMachine, States, ValidateOptions, Validation, codes};

use crate::aws_table::{AwsVerdict, verdict};
use crate::integration::Integrations;
use crate::resource::Resource;

fn walk(states: &States, raw: &Value, base: &str, ctx: &Ctx<'_>, out: &mut Vec<Diagnostic>) {
    for s in states {
        let ptr = format!("{base}/States/{}", escape(&s.name));
        let raw_state = &raw["States"][s.name.as_str()];
        match &s.kind {
            StateKind::Task(t) => task(&t.resource, raw_state, &ptr, ctx, out),
            StateKind::Parallel(p) => {
                for (i, b) in p.branches.iter().enumerate() {
                    walk(&b.states, &raw_state["Branches"][i], &format!("{ptr}/Branches/{i}"), ctx, out);
                }
            }
            StateKind::Map(m) => {
                let field = if raw_state.get("Iterator").is_some() { "Iterator" } else { "ItemProcessor" };
                walk(&m.processor.states, &raw_state[field], &format!("{ptr}/{field}"), ctx, out);
            }
            _ => {}
        }
    }
}

struct Ctx<'a> {
    integrations: &'a Integrations,
    mocked: &'a dyn Fn(&str) -> bool,
}

fn not_recognized(arn: &str) -> String {
    format!(
        "The resource provided {arn} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."
    )
}

fn task(resource: &str, raw: &Value, ptr: &str, ctx: &Ctx<'_>, out: &mut Vec<Diagnostic>) {
    let rptr = format!("{ptr}/Resource");
    let r = match Resource::parse(resource) {
        Ok(Resource::Service(r)) => r,
        Ok(other) => {
            let name = unescape(ptr.rsplit('/').next().unwrap_or_default());
            if !(ctx.mocked)(&name) {
                let message = match other {
                    Resource::Activity(_) => {
                        "an activity's tasks run only where workers can poll for them (`sfn serve`: \
                         GetActivityTask); mock this state (--mock-config) to run it with `sfn run`"
                    }
                    _ => "Lambda function ARNs cannot run locally; mock this state (--mock-config) to run it",
                };
                out.push(Diagnostic::warning("NO_LOCAL_INTEGRATION", rptr, message));
            }
            return;
        }
        Err(e) => {
            out.push(Diagnostic::error(codes::INVALID_RESOURCE, rptr, e.to_string()));
            return;
        }
    };
    match verdict(&r.service, r.sdk, &r.action, r.pattern) {
        AwsVerdict::Supported => {}
        AwsVerdict::Unsupported => {
            out.push(Diagnostic::error(codes::SCHEMA_VALIDATION_FAILED, &rptr, not_recognized(resource)));
            return;
        }
        AwsVerdict::UnknownService => out.push(Diagnostic::warning(
            "UNKNOWN_SERVICE",
            &rptr,
            format!(
                "'{}' is not a service this tool knows as a Step Functions optimized integration",
                r.service
            ),
        )),
    }
    let state_name = unescape(ptr.rsplit('/').next().unwrap_or_default());
    match ctx.integrations.get(&r) {
        Some(i) => {
            if let Err(e) = i.check(&r) {
                out.push(Diagnostic::error(codes::SCHEMA_VALIDATION_FAILED, &rptr, e.message()));
            }
            for l in i.lint(&r, raw) {
                out.push(Diagnostic::warning(&l.code, format!("{ptr}{}", l.pointer), l.message));
            }
        }
        None if (ctx.mocked)(&state_name) => {}
        None => out.push(Diagnostic::warning(
            "NO_LOCAL_INTEGRATION",
            &rptr,
            format!(
                "AWS accepts {}:{}{}, but sfn has no local integration for it: `sfn run` needs a mock for this state (--mock-config)",
                r.history_resource_type(),
                r.action,
                r.pattern.suffix()
            ),
        )),
    }
}

/// Checks every Task resource of a machine (nested branches and processors included): AWS's verdict
/// (unsupported actions and patterns are errors), EXPRESS rules, the local integration's check and lints.
/// `raw` is the definition as JSON (lints see the state's fields as written); `mocked` says which states
/// are answered by mocks (they need no integration).
pub fn check_definition(
    machine: &StateMachine,
    raw: &Value,
    integrations: &Integrations,
    _machine_type: MachineType,
    mocked: &dyn Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    walk(&machine.states, raw, "", &Ctx { integrations, mocked }, &mut out);
    out
}

/// Validates definition text as AWS's ValidateStateMachineDefinition / CreateStateMachine does — the
/// Amazon States Language ([`sfn_asl::validate`]) and every Task resource ([`check_definition`]) — and adds
/// the integrations' lints as warnings. The verdict ([`Validation::is_valid`]) is AWS's whatever the
/// integrations; `mocked` names the states answered by mocks (they need no local integration).
pub fn validate_definition(
    text: &[u8],
    options: ValidateOptions,
    integrations: &Integrations,
    mocked: &dyn Fn(&str) -> bool,
) -> Validation {
    let mut v = sfn_asl::validate(text, options);
    if let Some(machine) = &v.machine
        && let Ok(raw) = serde_json::from_slice::<Value>(text)
    {
        let found = check_definition(machine, &raw, integrations, options.machine_type, mocked);
        v.diagnostics.extend(found);
    }
    v
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(def: Value) -> Vec<(String, String)> {
        let m = sfn_asl::validate_value(&def, Default::default()).into_result().unwrap();
        check_definition(&m, &def, &Integrations::new(), MachineType::Standard, &|_| false)
            .into_iter()
            .map(|d| (d.code, d.pointer))
            .collect()
    }

    #[test]
    fn aws_verdicts() {
        let d = check(
            json!({"StartAt": "Q", "States": {"Q": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:query", "End": true}}}),
        );
        assert_eq!(d, [(codes::SCHEMA_VALIDATION_FAILED.to_owned(), "/States/Q/Resource".to_owned())]);
        let d = check(
            json!({"StartAt": "Q", "States": {"Q": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync:2", "End": true}}}),
        );
        assert_eq!(d[0].0, codes::SCHEMA_VALIDATION_FAILED);
        let d = check(
            json!({"StartAt": "Q", "States": {"Q": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem", "End": true}}}),
        );
        assert_eq!(d, [("NO_LOCAL_INTEGRATION".to_owned(), "/States/Q/Resource".to_owned())]);
        let d = check(
            json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "Q", "States": {
            "Q": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ecs:describeTasks.sync", "End": true}}}]}}}),
        );
        assert_eq!(
            d[0],
            (codes::SCHEMA_VALIDATION_FAILED.to_owned(), "/States/P/Branches/0/States/Q/Resource".to_owned())
        );
    }
}
