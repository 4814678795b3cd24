//! Resuming an execution after a restart, by deterministic replay of its recorded events.
//!
//! [`Engine::resume`](crate::Engine::resume) runs the machine again from the start with the recorded events
//! already in its [`History`](crate::History). Every event the interpreter is about to append is first
//! given a *logical key*; while a recorded event has that key (and the same kind), the event is not
//! appended again: the recorded id is returned and the interpreter moves on. Past the recorded frontier,
//! events are appended as usual, with ids after the recorded ones.
//!
//! Event ids are not deterministic under concurrency (Parallel branches and Map iterations interleave), so
//! the key is derived from an event's place in the tree of scopes, never from its id. That place is the
//! event it followed in its scope: its `previousEventId`, or where the history's linking rule made
//! `previousEventId` point elsewhere (a Map iteration after the first, a retried Map or Parallel, the exit
//! after a joining event; see [`History`]), the one the journal keeps as `after`:
//! - the first event (`ExecutionStarted`) is step 0 of the root scope, and the first state (which follows
//!   the root too, as on AWS) step 1;
//! - an event that follows a `MapStateStarted` opens the scope of Map iteration `index`; one that follows
//!   a `ParallelStateStarted` opens the scope of the branch it enters (by its first state's name, and the
//!   order of branches that share that name);
//! - the event that closes a Parallel or Map state (`…StateSucceeded`/`Failed`/`Aborted`) opens a scope
//!   of its own under its `…StateStarted` (whose id it carries, see [`EventDetails`]): its own
//!   `previousEventId` is the latest event of any branch, which depends on timing;
//! - any other event is the next step of the scope of the event it follows.
//!
//! Side effects are not repeated: a Task whose result is recorded takes the recorded result; a Task whose
//! `TaskSubmitted` is recorded continues with the integration's `wait` (`.sync`: the job is polled again by
//! ARN) or waits on its recorded callback token, registered again; a Task recorded as scheduled but not
//! submitted is submitted again with the recorded parameters and the same idempotency key (ECS
//! `ClientToken`) — and the engine awaits [`EventSink::durable`](crate::EventSink::durable) before every
//! service call, so a call is never made before its `TaskScheduled` is on record. Wait states and Retry
//! back-off sleep only for what is left (from the recorded timestamps), `TimeoutSeconds` of tasks and of
//! the execution count from their recorded start, `$$.State.EnteredTime` is the recorded one, and the
//! output and assigned variables of a state whose exit is recorded are taken from the record (so
//! `States.UUID()` and friends replay as they ran).
//!
//! A fresh execution has no [`Replay`]: the interpreter's hooks cost one `None` check each.

use std::collections::HashMap;
use std::hash::{Hash as _, Hasher as _};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sfn_path::ErrorName;
use sfn_patterns::{
    AbortSignal, CallbackReceiver, Failure, ServiceIntegration, TaskContext, TaskObserver, TaskOutcome,
    TaskTimeouts,
};

use crate::error::Interrupt;
use crate::execution::{ExecutionStatus, Outcome};
use crate::history::{Event, EventDetails, History};
use crate::maprun::PriorChild;
use crate::vars::Vars;

/// Where an event belongs: a scope (the machine, a branch, an iteration) and its step within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    scope: u64,
    step: u64,
}

/// Whether an event opens nested scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fork {
    None,
    Parallel,
    Map,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    key: Key,
    fork: Fork,
}

const ROOT: u64 = 0;

fn fork_of(d: &EventDetails) -> Fork {
    match d {
        EventDetails::ParallelStateStarted => Fork::Parallel,
        EventDetails::MapStateStarted { .. } => Fork::Map,
        _ => Fork::None,
    }
}

/// The `…StateStarted` event that a closing event closes.
fn closes(d: &EventDetails) -> Option<u64> {
    use EventDetails as E;
    match d {
        E::ParallelStateSucceeded { started }
        | E::ParallelStateFailed { started }
        | E::ParallelStateAborted { started }
        | E::MapStateSucceeded { started }
        | E::MapStateFailed { started }
        | E::MapStateAborted { started } => Some(*started),
        _ => None,
    }
}

fn child_scope(parent: Key, tag: u8, n: u64, name: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (parent.scope, parent.step, tag, n, name).hash(&mut h);
    h.finish()
}

/// Whether a recorded event is the one the interpreter is about to append (same key, same kind).
fn same_kind(recorded: &EventDetails, live: &EventDetails) -> bool {
    use EventDetails as E;
    if std::mem::discriminant(recorded) != std::mem::discriminant(live) {
        return false;
    }
    match (recorded, live) {
        (E::StateEntered { state_type: a, name: n, .. }, E::StateEntered { state_type: b, name: m, .. })
        | (E::StateExited { state_type: a, name: n, .. }, E::StateExited { state_type: b, name: m, .. }) => {
            a == b && n == m
        }
        _ => true,
    }
}

/// The callback tokens a resumed execution still waits on, with their states: every recorded
/// `TaskStarted` with a token that no `TaskSucceeded`, `TaskFailed` or `TaskTimedOut` followed in its scope
/// (directly or after its `TaskSubmitted`), and every `ActivityScheduled` that no `ActivitySucceeded`,
/// `ActivityFailed` or `ActivityTimedOut` followed (directly or after its `ActivityStarted`). `events`
/// are gap-free from id 1.
pub(crate) fn outstanding_tokens(events: &[Event]) -> Vec<(String, String)> {
    let follows = |e: &Event| e.after.unwrap_or(e.previous_event_id);
    let mut followers: HashMap<u64, Vec<&Event>> = HashMap::new();
    for e in events {
        followers.entry(follows(e)).or_default().push(e);
    }
    let ended = |id: u64| {
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            for f in followers.get(&id).into_iter().flatten() {
                match &f.details {
                    EventDetails::TaskSucceeded { .. }
                    | EventDetails::TaskFailed { .. }
                    | EventDetails::TaskTimedOut { .. }
                    | EventDetails::ActivitySucceeded { .. }
                    | EventDetails::ActivityFailed { .. }
                    | EventDetails::ActivityTimedOut { .. } => return true,
                    EventDetails::TaskSubmitted { .. } | EventDetails::ActivityStarted { .. } => {
                        stack.push(f.id);
                    }
                    _ => {}
                }
            }
        }
        false
    };
    let state_of = |mut id: u64| {
        // Back from TaskStarted through TaskScheduled to the state's entered event.
        for _ in 0..4 {
            let e = events.get(usize::try_from(id).ok()?.checked_sub(1)?)?;
            if let EventDetails::StateEntered { name, .. } = &e.details {
                return Some(name.to_string());
            }
            id = follows(e);
        }
        None
    };
    events
        .iter()
        .filter_map(|e| match &e.details {
            EventDetails::TaskStarted { token: Some(token), .. }
            | EventDetails::ActivityScheduled { token: Some(token), .. }
                if !ended(e.id) =>
            {
                Some((token.to_string(), state_of(e.id)?))
            }
            _ => None,
        })
        .collect()
}

/// An event a redriven execution does not keep: the end of what did not succeed.
fn unsuccessful(d: &EventDetails) -> bool {
    use EventDetails as E;
    matches!(
        d,
        E::ExecutionFailed { .. }
            | E::ExecutionAborted { .. }
            | E::ExecutionTimedOut { .. }
            | E::ExecutionRedriven { .. }
            | E::MapRunFailed { .. }
            | E::MapRunAborted
            | E::MapIterationFailed { .. }
            | E::MapIterationAborted { .. }
            | E::ParallelStateFailed { .. }
            | E::ParallelStateAborted { .. }
            | E::MapStateFailed { .. }
            | E::MapStateAborted { .. }
            | E::TaskStateAborted
            | E::WaitStateAborted { .. }
    )
}

/// A final event (`ExecutionSucceeded`, …).
pub(crate) fn is_final(d: &EventDetails) -> bool {
    matches!(
        d,
        EventDetails::ExecutionSucceeded { .. }
            | EventDetails::ExecutionFailed { .. }
            | EventDetails::ExecutionAborted { .. }
            | EventDetails::ExecutionTimedOut { .. }
    )
}

#[derive(Default)]
struct Keys {
    /// Every event id seen so far (recorded and appended) → its key.
    nodes: HashMap<u64, Node>,
    /// Parallel branches entered so far under a `ParallelStateStarted`, by first state's name.
    branches: HashMap<(u64, Arc<str>), u64>,
}

impl Keys {
    /// The key of an ordinary event that would follow `prev` (the next step of its scope).
    fn key_of_peek(&self, prev: u64) -> Option<Key> {
        let parent = self.nodes.get(&prev)?;
        Some(Key { scope: parent.key.scope, step: parent.key.step + 1 })
    }

    fn key_of(&mut self, prev: u64, details: &EventDetails) -> Option<Key> {
        if let Some(started) = closes(details) {
            // A scope of its own: other events may follow `…StateStarted` in its scope (a Distributed
            // Map's `MapRunStarted`, a retried attempt's `…StateStarted`).
            let n = self.nodes.get(&started)?;
            return Some(Key { scope: child_scope(n.key, b'c', 0, ""), step: 0 });
        }
        if prev == 0 {
            // `ExecutionStarted` and the first state both follow the root (0): the start is step 0 and the
            // first state step 1, as when the first state followed `ExecutionStarted`.
            let step = u64::from(!matches!(details, EventDetails::ExecutionStarted { .. }));
            return Some(Key { scope: ROOT, step });
        }
        let parent = *self.nodes.get(&prev)?;
        Some(match (parent.fork, details) {
            (Fork::Map, EventDetails::MapIterationStarted { index, .. }) => {
                Key { scope: child_scope(parent.key, b'i', *index as u64, ""), step: 0 }
            }
            (Fork::Parallel, EventDetails::StateEntered { name, .. }) => {
                let n = self.branches.entry((prev, name.clone())).or_insert(0);
                let rank = *n;
                *n += 1;
                Key { scope: child_scope(parent.key, b'b', rank, name), step: 0 }
            }
            _ => Key { scope: parent.key.scope, step: parent.key.step + 1 },
        })
    }
}

struct State {
    keys: Keys,
    /// Recorded events not replayed yet, by key → id.
    pending: HashMap<Key, u64>,
}

/// The recorded events of a resumed execution and what has been replayed of them.
pub(crate) struct Replay {
    /// Recorded events; event `id` is at `id - 1`.
    recorded: Vec<Event>,
    state: Mutex<State>,
    /// A redriven execution's: what it redrives (see [`Replay::redrive`]).
    redrive: Option<Redriven>,
}

/// What a redriven execution's replay knows besides the events it replays.
struct Redriven {
    /// How often the execution was redriven, this time included.
    count: u64,
    /// The unsuccessful events not replayed, by key (a redriven Distributed Map finds its map run here).
    dropped: HashMap<Key, u64>,
    /// The `ExecutionRedriven` event, which the first new event links to (taken then).
    redriven_event: Mutex<Option<u64>>,
    /// When it was redriven, when that is on record (a redriven execution resumed after a restart).
    since: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay").field("recorded", &self.recorded.len()).finish_non_exhaustive()
    }
}

/// What one Task invocation had recorded before the restart.
#[derive(Debug, Default)]
pub(crate) struct TaskRecord {
    /// Parameters of the recorded `TaskScheduled`.
    pub(crate) parameters: Option<Value>,
    /// When the recorded `TaskStarted` happened.
    pub(crate) started_at: Option<DateTime<Utc>>,
    /// The callback token of the recorded `TaskStarted`.
    pub(crate) token: Option<String>,
    /// The recorded `TaskSubmitted` output.
    pub(crate) submitted: Option<Value>,
    /// The recorded result.
    pub(crate) outcome: Option<TaskOutcome>,
}

/// What one activity task (a Task state on an activity ARN) had recorded before the restart.
#[derive(Debug, Default)]
pub(crate) struct ActivityRecord {
    /// The token of the recorded `ActivityScheduled`.
    pub(crate) token: Option<String>,
    /// When it was scheduled.
    pub(crate) scheduled_at: Option<DateTime<Utc>>,
    /// The recorded `ActivityStarted`'s worker name (`Some(None)`: started by a worker without a name).
    pub(crate) started: Option<Option<String>>,
    /// The recorded result.
    pub(crate) outcome: Option<TaskOutcome>,
}

impl Replay {
    /// Indexes recorded events (ids `1..=n`, in order) by logical key.
    pub(crate) fn new(recorded: Vec<Event>) -> Replay {
        let mut keys = Keys::default();
        let mut pending = HashMap::with_capacity(recorded.len());
        for e in &recorded {
            // An event's place is the event it followed in its scope, which is its `previousEventId`
            // unless the history's linking rule pointed elsewhere (then it is on record as `after`).
            if let Some(key) = keys.key_of(e.after.unwrap_or(e.previous_event_id), &e.details) {
                keys.nodes.insert(e.id, Node { key, fork: fork_of(&e.details) });
                pending.insert(key, e.id);
            }
        }
        // Branch ranks are counted again as the replay enters branches.
        keys.branches.clear();
        Replay { recorded, state: Mutex::new(State { keys, pending }), redrive: None }
    }

    /// A redriven execution's replay (RedriveExecution): the machine runs again from the start, the
    /// recorded events of what succeeded are replayed (their results reused, nothing called again) and
    /// what did not succeed runs again, its events appended after `ExecutionRedriven` (event
    /// `redriven_event`). AWS (API reference, RedriveExecution): "it continues the failed execution from
    /// the unsuccessful step and uses the same input. Step Functions preserves the results and execution
    /// history of the successful steps, and doesn't rerun these steps"; "For workflows that include an
    /// Inline Map or Parallel state, RedriveExecution API action reschedules and redrives only the
    /// iterations and branches that failed or aborted"; "Redriving Map Runs": a state is unsuccessful when
    /// its `…Entered` event has no `…Exited`. So, in every scope (the machine, each branch, each
    /// iteration), the last state entered and not exited is run again with what follows it in its scope;
    /// its branches and iterations are judged the same way (a succeeded one is replayed, a failed or
    /// aborted one redriven from its own unsuccessful state); an iteration that did not succeed starts
    /// again with a new `MapIterationStarted`; the execution's end and every failed or aborted closing
    /// event go. Later events win a key: a history redriven before is judged by its latest run.
    pub(crate) fn redrive(recorded: Vec<Event>, count: u64, redriven_event: u64) -> Replay {
        let mut keys = Keys::default();
        let mut pending: HashMap<Key, u64> = HashMap::with_capacity(recorded.len());
        // The scope a closing event opens → the key of the `…StateStarted` it closes: its scope goes on
        // (the state's exit, the states after it) in the scope of that state.
        let mut closing: HashMap<u64, Key> = HashMap::new();
        for e in &recorded {
            if let Some(key) = keys.key_of(e.after.unwrap_or(e.previous_event_id), &e.details) {
                if let Some(started) = closes(&e.details).and_then(|id| keys.nodes.get(&id)) {
                    closing.insert(key.scope, started.key);
                }
                keys.nodes.insert(e.id, Node { key, fork: fork_of(&e.details) });
                // What this redrive ran is replayed as it ran (a redriven execution resumed after a
                // restart); what ran before is judged below.
                if e.id < redriven_event {
                    pending.insert(key, e.id);
                }
            }
        }
        keys.branches.clear();
        // Where an event sits in the scope of its state: a closing scope is the state's own scope after
        // its `…StateStarted`.
        let home = |mut key: Key| {
            let mut hops = 0;
            while let Some(started) = closing.get(&key.scope) {
                key = Key {
                    scope: started.scope,
                    step: started.step.saturating_add(1).saturating_add(key.step),
                };
                hops += 1;
                if hops > 10_000 {
                    break;
                }
            }
            key
        };
        let event =
            |id: u64| usize::try_from(id).ok().and_then(|i| i.checked_sub(1)).and_then(|i| recorded.get(i));
        // Per scope, its events by step.
        let mut scopes: HashMap<u64, Vec<(u64, Key, u64)>> = HashMap::new();
        for (&key, &id) in &pending {
            let h = home(key);
            scopes.entry(h.scope).or_default().push((h.step, key, id));
        }
        let mut gone: Vec<Key> = Vec::new();
        for list in scopes.values_mut() {
            list.sort_unstable_by_key(|(step, _, id)| (*step, *id));
            let details = |id: u64| event(id).map(|e| &e.details);
            // The last state entered in this scope, and whether it exited.
            let last_entered = list.iter().rev().find_map(|(step, _, id)| match details(*id) {
                Some(EventDetails::StateEntered { name, .. }) => Some((*step, name.clone())),
                _ => None,
            });
            if let Some((from, name)) = last_entered {
                let exited = list.iter().any(|(step, _, id)| {
                    *step > from
                        && matches!(details(*id), Some(EventDetails::StateExited { name: n, .. }) if *n == name)
                });
                if !exited {
                    gone.extend(list.iter().filter(|(step, _, _)| *step >= from).map(|(_, k, _)| *k));
                }
            }
            // An iteration that did not succeed starts again.
            let iteration_ok = list
                .iter()
                .any(|(_, _, id)| matches!(details(*id), Some(EventDetails::MapIterationSucceeded { .. })));
            if !iteration_ok {
                gone.extend(
                    list.iter()
                        .filter(|(_, _, id)| {
                            matches!(details(*id), Some(EventDetails::MapIterationStarted { .. }))
                        })
                        .map(|(_, k, _)| *k),
                );
            }
            gone.extend(
                list.iter().filter(|(_, _, id)| details(*id).is_some_and(unsuccessful)).map(|(_, k, _)| *k),
            );
        }
        let mut dropped = HashMap::with_capacity(gone.len());
        for k in gone {
            if let Some(id) = pending.remove(&k) {
                dropped.insert(k, id);
            }
        }
        let mut ran = false;
        for e in recorded.iter().filter(|e| e.id > redriven_event) {
            if let Some(n) = keys.nodes.get(&e.id) {
                pending.insert(n.key, e.id);
                ran = true;
            }
        }
        let since = event(redriven_event).map(|e| e.timestamp);
        let redriven_event = Mutex::new((!ran).then_some(redriven_event));
        Replay {
            recorded,
            state: Mutex::new(State { keys, pending }),
            redrive: Some(Redriven { count, dropped, redriven_event, since }),
        }
    }

    /// The replay of an execution resumed after a restart: a redriven one's (its history holds an
    /// `ExecutionRedriven`) goes on with its last redrive, anything else is [`Replay::new`].
    pub(crate) fn resumed(recorded: Vec<Event>) -> Replay {
        let last = recorded.iter().rev().find_map(|e| match e.details {
            EventDetails::ExecutionRedriven { redrive_count } => Some((e.id, redrive_count)),
            _ => None,
        });
        match last {
            Some((id, count)) => Replay::redrive(recorded, count, id),
            None => Replay::new(recorded),
        }
    }

    /// When the execution's TimeoutSeconds counts from: a redriven execution's last redrive (`None`:
    /// now, for a redrive that starts now; the execution's start for a resumed one).
    pub(crate) fn timeout_since(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.redrive {
            Some(r) => r.since,
            None => Some(start),
        }
    }

    /// Whether this replay starts a redrive now (RedriveExecution), not one resumed after a restart.
    pub(crate) fn redrives_now(&self) -> bool {
        self.redrive.as_ref().is_some_and(|r| r.since.is_none())
    }

    /// How often the execution was redriven (0 for a resumed one).
    pub(crate) fn redrive_count(&self) -> u64 {
        self.redrive.as_ref().map_or(0, |r| r.count)
    }

    /// The `ExecutionRedriven` event the first new event of a redriven execution links to (once).
    pub(crate) fn take_redriven_event(&self) -> Option<u64> {
        let r = self.redrive.as_ref()?;
        r.redriven_event.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// In a redriven execution, the map run a Distributed Map whose `MapStateStarted` is `prev` ran
    /// unsuccessfully before (its recorded `MapRunStarted` or `MapRunRedriven`), with how often it was
    /// redriven so far: the Map redrives it.
    pub(crate) fn redriven_map_run(&self, prev: u64) -> Option<(String, u64)> {
        let r = self.redrive.as_ref()?;
        let key = self.lock().keys.key_of_peek(prev)?;
        let id = *r.dropped.get(&key)?;
        match &self.recorded(id)?.details {
            EventDetails::MapRunStarted { map_run_arn } => Some((map_run_arn.clone(), 0)),
            EventDetails::MapRunRedriven { map_run_arn, redrive_count } => {
                Some((map_run_arn.clone(), *redrive_count))
            }
            _ => None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn recorded(&self, id: u64) -> Option<&Event> {
        usize::try_from(id).ok().and_then(|i| i.checked_sub(1)).and_then(|i| self.recorded.get(i))
    }

    /// When recorded event `id` happened (`None`: not on record, a new event).
    pub(crate) fn recorded_at(&self, id: u64) -> Option<DateTime<Utc>> {
        self.recorded(id).map(|e| e.timestamp)
    }

    /// The map run ARN a recorded `MapRunStarted` names (a resumed Distributed Map runs again under it).
    pub(crate) fn map_run_arn(&self, id: u64) -> Option<String> {
        match &self.recorded(id)?.details {
            EventDetails::MapRunStarted { map_run_arn } => Some(map_run_arn.clone()),
            _ => None,
        }
    }

    /// The recorded event `ahead` steps after event `id` in its scope, if not replayed yet.
    fn after(&self, id: u64, ahead: u64) -> Option<&Event> {
        let st = self.lock();
        let node = st.keys.nodes.get(&id)?;
        let key = Key { scope: node.key.scope, step: node.key.step + ahead };
        let rid = *st.pending.get(&key)?;
        drop(st);
        self.recorded(rid)
    }

    /// `Exec::event` in a resumed execution: the recorded id when this event is on record, else appends.
    /// `append` appends to the live history (`Exec::append`).
    pub(crate) fn event(
        &self,
        prev: &mut u64,
        details: EventDetails,
        append: impl FnOnce(&mut u64, EventDetails) -> Result<u64, Interrupt>,
    ) -> Result<u64, Interrupt> {
        let key = {
            let mut st = self.lock();
            // A redriven execution keeps placing its new events: a Distributed Map finds the map run it
            // redrives by its place.
            if st.pending.is_empty() && self.redrive.is_none() {
                // Everything on record is replayed: from here on, a fresh execution.
                drop(st);
                return append(prev, details);
            }
            let key = st.keys.key_of(*prev, &details);
            if let Some(k) = key
                && let Some(&id) = st.pending.get(&k)
                && self.recorded(id).is_some_and(|r| same_kind(&r.details, &details))
            {
                st.pending.remove(&k);
                *prev = id;
                return Ok(id);
            }
            key
        };
        let fork = fork_of(&details);
        let id = append(prev, details)?;
        if let Some(key) = key {
            self.lock().keys.nodes.insert(id, Node { key, fork });
        }
        Ok(id)
    }

    /// The recorded timestamp of event `id` (for `$$.State.EnteredTime`), when it is a recorded event.
    pub(crate) fn timestamp(&self, id: u64) -> Option<DateTime<Utc>> {
        self.recorded(id).map(|e| e.timestamp)
    }

    /// After a recorded `…StateExited` (`id`): its output, and its assigned variables set again.
    pub(crate) fn exited(&self, id: u64, vars: &mut Vars) -> Option<Value> {
        let EventDetails::StateExited { output, assigned, .. } = &self.recorded(id)?.details else {
            return None;
        };
        for (k, v) in assigned.iter().flatten() {
            vars.set(k.clone(), v.to_value());
        }
        Some(output.to_value())
    }

    /// How long a Wait state entered at event `entered` still has to wait: nothing when its exit is
    /// recorded; what is left of `duration` since the recorded entry when `relative` (Seconds); else
    /// `duration` (a Timestamp wait already counts from now).
    pub(crate) fn wait_left(
        &self,
        entered: u64,
        entered_time: DateTime<Utc>,
        duration: Duration,
        relative: bool,
        now: DateTime<Utc>,
    ) -> Duration {
        if self.after(entered, 1).is_some() {
            return Duration::ZERO;
        }
        if relative && self.recorded(entered).is_some() {
            return left(entered_time, duration, now);
        }
        duration
    }

    /// The Retry back-off after the failed attempt that ended at event `failed` (the failure itself at
    /// event `failed_at`): nothing when the next attempt is recorded, what is left of `delay` since the
    /// recorded failure otherwise.
    pub(crate) fn delay_left(
        &self,
        failed: u64,
        failed_at: u64,
        delay: Duration,
        now: DateTime<Utc>,
    ) -> Duration {
        if self.after(failed, 1).is_some() {
            return Duration::ZERO;
        }
        match self.timestamp(failed_at) {
            Some(at) => left(at, delay, now),
            None => delay,
        }
    }

    /// What remains of the execution's TimeoutSeconds.
    pub(crate) fn timeout_left(start: DateTime<Utc>, timeout: Duration, now: DateTime<Utc>) -> Duration {
        left(start, timeout, now)
    }

    /// What the Task invocation that follows event `prev` recorded.
    pub(crate) fn task(&self, prev: u64) -> TaskRecord {
        use EventDetails as E;
        let mut record = TaskRecord::default();
        let Some(Event { details: E::TaskScheduled { parameters, .. }, .. }) = self.after(prev, 1) else {
            return record;
        };
        record.parameters = Some(parameters.to_value());
        let mut step = 2;
        if let Some(Event { details: E::TaskStarted { token, .. }, timestamp, .. }) = self.after(prev, step) {
            record.started_at = Some(*timestamp);
            record.token = token.as_deref().map(str::to_owned);
            step += 1;
        }
        if let Some(Event { details: E::TaskSubmitted { output, .. }, .. }) = self.after(prev, step) {
            record.submitted = Some(output.to_value());
            step += 1;
        }
        record.outcome = match self.after(prev, step).map(|e| &e.details) {
            Some(E::TaskSucceeded { output, .. }) => Some(TaskOutcome::Succeeded(output.to_value())),
            Some(E::TaskFailed { error, cause, .. }) => Some(TaskOutcome::Failed(Failure {
                name: error.as_deref().map(ErrorName::from),
                cause: cause.clone(),
            })),
            Some(E::TaskTimedOut { error, cause, .. }) => Some(TaskOutcome::TimedOut(Failure {
                name: Some(error.as_deref().map_or(ErrorName::Timeout, ErrorName::from)),
                cause: cause.clone(),
            })),
            _ => None,
        };
        record
    }
}

impl Replay {
    /// What the activity task that follows event `prev` recorded.
    pub(crate) fn activity(&self, prev: u64) -> ActivityRecord {
        use EventDetails as E;
        let mut record = ActivityRecord::default();
        let Some(Event { details: E::ActivityScheduled { token, .. }, timestamp, .. }) = self.after(prev, 1)
        else {
            return record;
        };
        record.token = token.as_deref().map(str::to_owned);
        record.scheduled_at = Some(*timestamp);
        let mut step = 2;
        if let Some(Event { details: E::ActivityStarted { worker_name }, .. }) = self.after(prev, step) {
            record.started = Some(worker_name.clone());
            step += 1;
        }
        record.outcome = match self.after(prev, step).map(|e| &e.details) {
            Some(E::ActivitySucceeded { output }) => Some(TaskOutcome::Succeeded(output.to_value())),
            Some(E::ActivityFailed { error, cause }) => Some(TaskOutcome::Failed(Failure {
                name: error.as_deref().map(ErrorName::from),
                cause: cause.clone(),
            })),
            Some(E::ActivityTimedOut { error, cause }) => Some(TaskOutcome::TimedOut(Failure {
                name: Some(error.as_deref().map_or(ErrorName::Timeout, ErrorName::from)),
                cause: cause.clone(),
            })),
            _ => None,
        };
        record
    }
}

fn left(since: DateTime<Utc>, total: Duration, now: DateTime<Utc>) -> Duration {
    let elapsed = (now - since).to_std().unwrap_or_default();
    total.saturating_sub(elapsed)
}

/// One invocation of a Task's integration, as `sfn_patterns::run_task` takes it.
pub(crate) struct Invocation<'a> {
    pub(crate) integration: &'a dyn ServiceIntegration,
    pub(crate) ctx: &'a TaskContext,
    pub(crate) parameters: Value,
    pub(crate) callback: Option<CallbackReceiver>,
    pub(crate) timeouts: TaskTimeouts,
    pub(crate) abort: &'a AbortSignal,
    pub(crate) observer: &'a dyn TaskObserver,
}

impl<'a> Invocation<'a> {
    /// Makes the call (a fresh submission): `run_task`'s own future, not one around it (which would
    /// hold the invocation besides it while the task waits).
    pub(crate) fn run(self) -> impl std::future::Future<Output = TaskOutcome> + Send + 'a {
        let Invocation { integration, ctx, parameters, callback, timeouts, abort, observer } = self;
        sfn_patterns::run_task(integration, ctx, parameters, callback, timeouts, abort, observer)
    }
}

/// One Task invocation of a resumed execution: the recorded result, or the recorded submission followed
/// to its end, or (no submission on record) the submission, made again as recorded when it may have been
/// made before.
pub(crate) async fn task(
    record: TaskRecord,
    history: &History,
    call: Invocation<'_>,
    now: DateTime<Utc>,
) -> TaskOutcome {
    let Invocation { integration, ctx, parameters, callback, mut timeouts, abort, observer } = call;
    if let (Some(started), Some(t)) = (record.started_at, timeouts.timeout) {
        timeouts.timeout = Some(left(started, t, now));
    }
    match (record.outcome, record.submitted) {
        (Some(outcome), submitted) => {
            if let Some(s) = submitted {
                observer.submitted(sfn_patterns::Submitted::Value(&s));
            }
            outcome
        }
        (None, Some(submitted)) => {
            observer.submitted(sfn_patterns::Submitted::Value(&submitted));
            sfn_patterns::resume_task(integration, ctx, submitted, callback, timeouts, abort, observer).await
        }
        (None, None) => {
            if let Some(durable) = history.durable() {
                durable.await;
            }
            // Once `TaskStarted` is on record the call may have been made (write-ahead: never before):
            // make it again exactly as scheduled, with the same idempotency key. Otherwise it never was,
            // and the parameters just evaluated (with this attempt's token) are the ones to send.
            let parameters = match (record.started_at, record.parameters) {
                (Some(_), Some(recorded)) => recorded,
                _ => parameters,
            };
            Invocation { integration, ctx, parameters, callback, timeouts, abort, observer }.run().await
        }
    }
}

/// Why a map run runs again under its ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prior {
    /// Its execution was resumed after a restart: finished children keep their results.
    Resume,
    /// Its execution was redriven: succeeded children keep their results, the others are redriven.
    /// `since`: when the map run was redriven, when that is on record (a redriven execution resumed
    /// after a restart): a child redriven since then is in this redrive already — it keeps how it
    /// ended, or, still running, resumes its redrive — and is not redriven again.
    Redrive {
        /// When the map run was redriven (its recorded `MapRunRedriven`).
        since: Option<DateTime<Utc>>,
    },
}

/// Whether `p` was redriven at or after `since` (its last `ExecutionRedriven`).
fn redriven_since(p: &PriorChild, since: Option<DateTime<Utc>>) -> bool {
    let Some(since) = since else { return false };
    p.events
        .iter()
        .rev()
        .find(|e| matches!(e.details, EventDetails::ExecutionRedriven { .. }))
        .is_some_and(|e| e.timestamp >= since)
}

/// What to do with a child a map run had before.
pub(crate) enum Plan {
    /// Keep how it ended: it does not run again.
    Keep(Outcome),
    /// Run it again under its ARN: replaying its recorded events (resumed, or a redriven STANDARD
    /// child), or from its first state (a redriven EXPRESS child: AWS starts it again with
    /// StartExecution).
    Again(Option<Replay>),
}

/// The children a resumed or redriven map run had, by index, taken as their items come up.
#[derive(Default)]
pub(crate) struct PriorChildren {
    mode: Option<Prior>,
    by_index: Mutex<HashMap<usize, PriorChild>>,
    to_redrive: u64,
}

impl PriorChildren {
    pub(crate) fn new(mode: Prior, children: Vec<PriorChild>) -> PriorChildren {
        let succeeded =
            |c: &PriorChild| c.outcome.as_ref().is_some_and(|o| o.status == ExecutionStatus::Succeeded);
        let to_redrive = match mode {
            Prior::Redrive { since } => {
                children.iter().filter(|c| !succeeded(c) && !redriven_since(c, since)).count() as u64
            }
            Prior::Resume => 0,
        };
        let by_index = children.into_iter().map(|c| (c.index, c)).collect();
        PriorChildren { mode: Some(mode), by_index: Mutex::new(by_index), to_redrive }
    }

    /// The child that ran item `index` before, if any.
    pub(crate) fn take(&self, index: usize) -> Option<PriorChild> {
        self.by_index.lock().unwrap_or_else(|e| e.into_inner()).remove(&index)
    }

    /// The map run is redriven.
    pub(crate) fn is_redrive(&self) -> bool {
        matches!(self.mode, Some(Prior::Redrive { .. }))
    }

    /// How many of its children a redriven map run redrives.
    pub(crate) fn to_redrive(&self) -> u64 {
        self.to_redrive
    }

    /// What to do with `p` (a child of an EXPRESS map run when `express`).
    pub(crate) fn plan(&self, p: &PriorChild, express: bool) -> Plan {
        match (self.mode, &p.outcome) {
            (Some(Prior::Resume) | None, Some(o)) => Plan::Keep(o.clone()),
            (Some(Prior::Resume) | None, None) if p.events.is_empty() => Plan::Again(None),
            (Some(Prior::Resume) | None, None) => Plan::Again(Some(Replay::resumed(p.events.clone()))),
            (Some(Prior::Redrive { .. }), Some(o)) if o.status == ExecutionStatus::Succeeded => {
                Plan::Keep(o.clone())
            }
            // Redriven in this redrive before the restart: as it ended, or its redrive resumed.
            (Some(Prior::Redrive { since }), outcome) if redriven_since(p, since) => match outcome {
                Some(o) => Plan::Keep(o.clone()),
                None => Plan::Again(Some(Replay::resumed(p.events.clone()))),
            },
            (Some(Prior::Redrive { .. }), _) if express || p.events.is_empty() => Plan::Again(None),
            (Some(Prior::Redrive { .. }), _) => {
                let before = p
                    .events
                    .iter()
                    .filter(|e| matches!(e.details, EventDetails::ExecutionRedriven { .. }))
                    .count();
                let last = p.events.len() as u64;
                Plan::Again(Some(Replay::redrive(p.events.clone(), before as u64 + 1, last + 1)))
            }
        }
    }
}
