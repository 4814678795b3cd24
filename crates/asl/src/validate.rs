//! Whole-machine checks on the lowered model: transition targets, reachability, terminal states, state
//! names unique across every scope.

use std::collections::HashSet;

use crate::diagnostic::{Diagnostic, codes};
use crate::model::{Branch, StateKind, StateMachine, States};
use crate::pointer::escape;

pub(crate) fn check(machine: &StateMachine, diags: &mut Vec<Diagnostic>) {
    scope(&machine.start_at, &machine.states, "", diags);
    unique_names(&machine.states, "", &mut HashSet::new(), diags);
}

/// State names are unique in the whole machine, Parallel branches and Map processors included (ASL:
/// "state names MUST be unique within the scope of the whole state machine"). AWS's wording, from
/// CreateStateMachine: `DUPLICATE_STATE_NAME: Duplicate State name: MissingValue at /States/MissingValue`
/// (quoted in LocalStack's tests/aws/services/stepfunctions/legacy/test_stepfunctions_legacy.py). The
/// name is reported where it appears again, in document order (each state before the states nested in
/// it). The same name twice in one `States` object is a duplicate JSON key, reported by `json::read`.
fn unique_names<'a>(
    states: &'a States,
    base: &str,
    seen: &mut HashSet<&'a str>,
    diags: &mut Vec<Diagnostic>,
) {
    for s in states {
        let sptr = format!("{base}/States/{}", escape(&s.name));
        if !seen.insert(s.name.as_str()) {
            diags.push(Diagnostic::error(
                codes::DUPLICATE_STATE_NAME,
                &sptr,
                format!("Duplicate State name: {}", s.name),
            ));
        }
        match &s.kind {
            StateKind::Parallel(p) => {
                for (i, b) in p.branches.iter().enumerate() {
                    unique_names(&b.states, &format!("{sptr}/Branches/{i}"), seen, diags);
                }
            }
            StateKind::Map(m) => {
                let field = if m.legacy_iterator { "Iterator" } else { "ItemProcessor" };
                unique_names(&m.processor.states, &format!("{sptr}/{field}"), seen, diags);
            }
            _ => {}
        }
    }
}

fn targets(kind: &StateKind) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    if let StateKind::Choice(c) = kind {
        for r in &c.choices {
            out.push((r.next.as_str(), format!("/Choices/{}/Next", r.index)));
        }
        if let Some(d) = &c.default {
            out.push((d.as_str(), "/Default".to_owned()));
        }
    }
    if let Some(r) = kind.recovery() {
        out.extend(r.catch.iter().enumerate().map(|(i, c)| (c.next.as_str(), format!("/Catch/{i}/Next"))));
    }
    out
}

fn scope(start_at: &str, states: &States, base: &str, diags: &mut Vec<Diagnostic>) {
    if states.is_empty() {
        return;
    }
    if states.get(start_at).is_none() {
        diags.push(Diagnostic::error(
            codes::MISSING_TRANSITION_TARGET,
            format!("{base}/StartAt"),
            format!("StartAt '{start_at}' does not name a state in this scope"),
        ));
    }
    let mut terminal = false;
    for s in states {
        let sptr = format!("{base}/States/{}", escape(&s.name));
        if let Some(n) = &s.next
            && states.get(n).is_none()
        {
            diags.push(Diagnostic::error(
                codes::MISSING_TRANSITION_TARGET,
                format!("{sptr}/Next"),
                format!("Missing 'Next' target: {n}"),
            ));
        }
        for (t, at) in targets(&s.kind) {
            if states.get(t).is_none() {
                diags.push(Diagnostic::error(
                    codes::MISSING_TRANSITION_TARGET,
                    format!("{sptr}{at}"),
                    format!("Missing 'Next' target: {t}"),
                ));
            }
        }
        terminal |= s.end || matches!(s.kind, StateKind::Succeed | StateKind::Fail(_));
        match &s.kind {
            StateKind::Parallel(p) => {
                for (i, b) in p.branches.iter().enumerate() {
                    branch(b, &format!("{sptr}/Branches/{i}"), diags);
                }
            }
            StateKind::Map(m) => {
                let field = if m.legacy_iterator { "Iterator" } else { "ItemProcessor" };
                branch(&m.processor, &format!("{sptr}/{field}"), diags);
            }
            _ => {}
        }
    }
    if !terminal {
        diags.push(Diagnostic::error(
            codes::MISSING_END_STATE,
            if base.is_empty() { "/".to_owned() } else { base.to_owned() },
            "No state ends the execution: add 'End': true, a Succeed state or a Fail state",
        ));
    }
    // Reachability from StartAt.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack = vec![start_at];
    while let Some(name) = stack.pop() {
        let Some(s) = states.get(name) else { continue };
        if !seen.insert(s.name.as_str()) {
            continue;
        }
        stack.extend(s.next.as_deref());
        stack.extend(targets(&s.kind).into_iter().map(|(t, _)| t));
    }
    for s in states {
        if !seen.contains(s.name.as_str()) && states.get(start_at).is_some() {
            diags.push(Diagnostic::error(
                // AWS's code and wording (CloudFormation's error quoted in aws-cloudformation/cfn-lint#4073,
                // localstack/localstack#12487, floci-io/floci#2735): MISSING_TRANSITION_TARGET.
                codes::MISSING_TRANSITION_TARGET,
                format!("{base}/States/{}", escape(&s.name)),
                format!("State \"{}\" is not reachable.", s.name),
            ));
        }
    }
}

fn branch(b: &Branch, base: &str, diags: &mut Vec<Diagnostic>) {
    scope(&b.start_at, &b.states, base, diags);
}
