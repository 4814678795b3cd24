//! Map runs: the engine's [`MapRunObserver`] over the service (a Distributed Map's map run and its
//! STANDARD child executions are registered and journaled like executions: described, listed with
//! `ListExecutions --map-run-arn`, their histories served) and the operations DescribeMapRun,
//! ListMapRuns and UpdateMapRun. Shapes from AWS's API reference and LocalStack's AWS-validated
//! `test_sfn_api_map_run` snapshot. EXPRESS children are kept too: DescribeExecution and ListExecutions
//! show them (AWS, DescribeExecution: "unless a Map Run dispatched them"), GetExecutionHistory refuses
//! them as it refuses every EXPRESS execution.

use std::sync::{Arc, Mutex, Weak};

use serde_json::{Map, Value, json};
use sfn_engine::{Execution, MapRun, MapRunCounts, MapRunObserver, PriorChild};

use crate::error::ApiError;
use crate::protocol::{Input, date};
use crate::service::{ExecEntry, PriorChildren, Run, Service, child_names, not_found, token};

/// The map runs' observer, bound to the service once it exists (the engine that runs them is built
/// first). What happens before (executions resumed while the server opens run their map runs again at
/// once) is kept and handed to the service when it is bound, in order.
pub(crate) struct ServerMapRuns {
    state: Mutex<Binding>,
    /// The children of map runs that run again, as the service leaves them.
    priors: Arc<PriorChildren>,
}

#[derive(Default)]
struct Binding {
    service: Option<Weak<Service>>,
    early: Vec<Early>,
}

/// An observer call made before the service was bound.
enum Early {
    Started(Arc<MapRun>),
    Child(Arc<MapRun>, Execution, String, usize),
    Ended(Arc<MapRun>),
}

impl std::fmt::Debug for ServerMapRuns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerMapRuns").finish_non_exhaustive()
    }
}

impl ServerMapRuns {
    pub(crate) fn new(priors: Arc<PriorChildren>) -> ServerMapRuns {
        ServerMapRuns { state: Mutex::default(), priors }
    }

    /// Binds the service (the first call wins) and hands it what happened before.
    pub(crate) fn bind(&self, service: &Arc<Service>) {
        let mut st = self.lock();
        if st.service.is_some() {
            return;
        }
        st.service = Some(Arc::downgrade(service));
        // Under the lock: a call racing with the bind waits, and comes after these.
        for e in std::mem::take(&mut st.early) {
            service.observed(e);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Binding> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn observe(&self, e: Early) {
        let mut st = self.lock();
        match st.service.as_ref().map(Weak::upgrade) {
            None => st.early.push(e),
            Some(Some(s)) => {
                drop(st);
                s.observed(e);
            }
            // The server is gone.
            Some(None) => {}
        }
    }
}

impl MapRunObserver for ServerMapRuns {
    fn map_run_started(&self, run: &Arc<MapRun>) {
        self.observe(Early::Started(run.clone()));
    }

    fn child_started(&self, run: &Arc<MapRun>, child: Execution, input: &str, index: usize) {
        self.observe(Early::Child(run.clone(), child, input.to_owned(), index));
    }

    fn prior_children(&self, map_run_arn: &str) -> Vec<PriorChild> {
        self.priors.take(map_run_arn)
    }

    fn map_run_ended(&self, run: &Arc<MapRun>) {
        self.observe(Early::Ended(run.clone()));
    }
}

/// `MapRunItemCounts` / `MapRunExecutionCounts` (the members of the AWS-validated recording, and the
/// redrive counts AWS's API reference adds: `failuresNotRedrivable` — none here, a child is redrivable
/// while its parent is — and `pendingRedrive`).
fn counts_json(c: &MapRunCounts) -> Value {
    json!({
        "aborted": c.aborted,
        "failed": c.failed,
        "failuresNotRedrivable": 0,
        "pendingRedrive": c.pending_redrive,
        "pending": c.pending,
        "resultsWritten": c.results_written,
        "running": c.running,
        "succeeded": c.succeeded,
        "timedOut": c.timed_out,
        "total": c.total,
    })
}

impl Service {
    fn observed(&self, e: Early) {
        match e {
            Early::Started(run) => self.map_run_started(&run),
            Early::Child(run, child, input, index) => self.map_run_child(&run, child, &input, index),
            Early::Ended(run) => self.journal_parent(&run.execution_arn),
        }
    }

    fn map_run_started(&self, run: &Arc<MapRun>) {
        let parent = {
            let mut reg = self.write();
            reg.map_runs.insert(run.arn.clone(), run.clone());
            reg.executions.get(&run.execution_arn).cloned()
        };
        if let Some(p) = parent {
            let mut runs = p.map_runs.lock().unwrap_or_else(|e| e.into_inner());
            // A resumed execution runs a recorded map run again under its ARN: the live one replaces it.
            match runs.iter_mut().find(|r| r.arn == run.arn) {
                Some(r) => *r = run.clone(),
                None => runs.push(run.clone()),
            }
        }
        self.journal_parent(&run.execution_arn);
    }

    /// Journals the record of `arn` (a parent: its map runs as they stand now).
    fn journal_parent(&self, arn: &str) {
        let parent = self.read().executions.get(arn).cloned();
        if let (Some(j), Some(p)) = (&self.journal, parent) {
            j.put_execution(&p.record());
        }
    }

    fn map_run_child(&self, run: &Arc<MapRun>, child: Execution, input: &str, index: usize) {
        let existing = self.read().executions.get(&child.arn).cloned();
        if let Some(entry) = existing {
            // A resumed or redriven map run runs a child again under its ARN: its history (the recorded
            // events, then an `ExecutionRedriven` when redriven) is the engine's from now on.
            let redrives = child
                .history()
                .events()
                .iter()
                .filter(|e| matches!(e.details, sfn_engine::EventDetails::ExecutionRedriven { .. }))
                .count() as u64;
            {
                let mut r = entry.redrive.lock().unwrap_or_else(|e| e.into_inner());
                if redrives > r.count {
                    r.count = redrives;
                    r.date = Some(self.engine.clock().now());
                }
            }
            *entry.run.lock().unwrap_or_else(|e| e.into_inner()) =
                Run::Live { execution: Arc::new(child), ended: None };
            if let Some(j) = &self.journal {
                j.put_execution(&entry.record());
            }
            return;
        }
        let entry = {
            let mut reg = self.write();
            let Some(parent) = reg.executions.get(&run.execution_arn).cloned() else { return };
            let seq = reg.next_seq;
            reg.next_seq = reg.next_seq.saturating_add(1);
            let (machine_arn, name) = child_names(&child.arn);
            let entry = Arc::new(ExecEntry {
                seq,
                arn: child.arn.clone(),
                name,
                machine_arn,
                version: parent.version.clone(),
                input: input.to_owned(),
                start_date: child.start_date,
                run: Mutex::new(Run::Live { execution: Arc::new(child), ended: None }),
                test_case: None,
                version_arn: None,
                alias_arn: None,
                redrive: Mutex::default(),
                map_run_arn: Some(run.arn.clone()),
                map_index: Some(index),
                map_runs: Mutex::default(),
            });
            reg.executions.insert(entry.arn.clone(), entry.clone());
            reg.by_map_run.entry(run.arn.clone()).or_default().push(entry.clone());
            entry
        };
        // Before the child's first event: its record is journaled ahead of its history.
        if let Some(j) = &self.journal {
            j.put_execution(&entry.record());
        }
    }

    /// The map run `arn`: `InvalidArn` when it is not a map run ARN, `ResourceNotFound` when it names none.
    fn map_run(&self, arn: &str) -> Result<Arc<MapRun>, ApiError> {
        crate::arn::map_run(arn)?;
        self.read().map_runs.get(arn).cloned().ok_or_else(|| not_found(arn))
    }

    pub(crate) fn describe_map_run(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("mapRunArn", 1, 2000)?;
        let run = self.map_run(arn)?;
        let s = run.state();
        let mut out = Map::new();
        out.insert("executionArn".into(), json!(run.execution_arn));
        out.insert("executionCounts".into(), counts_json(&s.executions));
        out.insert("itemCounts".into(), counts_json(&s.items));
        out.insert("mapRunArn".into(), json!(run.arn));
        out.insert("maxConcurrency".into(), json!(s.max_concurrency));
        // API reference, DescribeMapRun: "If you've redriven a Map Run, this API action also returns
        // information about the redrives of that Map Run".
        out.insert("redriveCount".into(), json!(s.redrive_count));
        if let Some(d) = s.redrive_date {
            out.insert("redriveDate".into(), date(d));
        }
        out.insert("startDate".into(), date(run.start_date));
        out.insert("status".into(), json!(s.status.as_str()));
        if let Some(d) = s.stop_date {
            out.insert("stopDate".into(), date(d));
        }
        // Not given: 0 (the recording shows `0` and `0.0`).
        out.insert("toleratedFailureCount".into(), json!(s.tolerated_failure_count.unwrap_or(0.0) as u64));
        out.insert("toleratedFailurePercentage".into(), json!(s.tolerated_failure_percentage.unwrap_or(0.0)));
        Ok(Value::Object(out))
    }

    pub(crate) fn list_map_runs(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("executionArn", 1, 256)?;
        let max = i.max_results(100)?;
        let next_token = i.opt_str_len("nextToken", 1, 3096)?;
        let e = self.execution(arn)?;
        let runs = e.map_runs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let from = token::offset("mr", arn, next_token, runs.len())?;
        let page: Vec<Value> = runs
            .iter()
            .skip(from)
            .take(max)
            .map(|r| {
                let mut item = Map::new();
                item.insert("executionArn".into(), json!(r.execution_arn));
                item.insert("mapRunArn".into(), json!(r.arn));
                item.insert("startDate".into(), date(r.start_date));
                item.insert("stateMachineArn".into(), json!(r.state_machine_arn));
                if let Some(d) = r.state().stop_date {
                    item.insert("stopDate".into(), date(d));
                }
                Value::Object(item)
            })
            .collect();
        let mut out = json!({"mapRuns": page});
        token::add_next(&mut out, "mr", arn, from, max, runs.len());
        Ok(out)
    }

    pub(crate) async fn update_map_run(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("mapRunArn", 1, 2000)?;
        let max = i.opt_int("maxConcurrency", i64::from(i32::MAX))?;
        let count = i.opt_int("toleratedFailureCount", i64::MAX)?;
        let pct = match body.get("toleratedFailurePercentage").filter(|v| !v.is_null()) {
            None => None,
            Some(v) => match v.as_f64() {
                Some(p) if (0.0..=100.0).contains(&p) => Some(p),
                Some(p) => {
                    return Err(ApiError::validation(format_args!(
                        "Value '{p}' at 'toleratedFailurePercentage' failed to satisfy constraint: Member must have value between 0 and 100"
                    )));
                }
                None => {
                    return Err(ApiError::client(
                        "SerializationException",
                        "'toleratedFailurePercentage' must be a number",
                    ));
                }
            },
        };
        if max.is_none() && count.is_none() && pct.is_none() {
            return Err(ApiError::validation(
                "At least one of maxConcurrency, toleratedFailurePercentage or toleratedFailureCount must be given",
            ));
        }
        let run = self.map_run(arn)?;
        run.update(max.map(|n| n as u64), count.map(|c| c as f64), pct);
        self.journal_parent(&run.execution_arn);
        self.durable().await?;
        Ok(json!({}))
    }

    /// ListExecutions with a map run ARN (and no state machine ARN): its child executions, newest first
    /// (with `mapRunArn` and `itemCount`, which AWS gives only here).
    pub(crate) fn list_map_run_executions(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let map_run_arn = i.str_len("mapRunArn", 1, 2000)?;
        let status = i.opt_enum("statusFilter", &crate::service::STATUSES)?;
        let max = i.max_results(100)?;
        let next_token = i.opt_str_len("nextToken", 1, 3096)?;
        self.map_run(map_run_arn)?;
        let before = match next_token {
            Some(t) => Some(token::decode_index("ex", map_run_arn, t, u64::MAX)?),
            None => None,
        };
        let reg = self.read();
        let empty = Vec::new();
        let list = reg.by_map_run.get(map_run_arn).unwrap_or(&empty);
        let mut items = Vec::new();
        let mut next = None;
        for e in list.iter().rev().filter(|e| before.is_none_or(|b| e.seq < b)) {
            let ended = e.ended();
            let st = ended.as_ref().map_or("RUNNING", |x| x.status.as_str());
            if status.is_some_and(|want| want != st) {
                continue;
            }
            if items.len() == max {
                next = Some(token::encode("ex", map_run_arn, &e.seq.saturating_add(1).to_string()));
                break;
            }
            let item_count = serde_json::from_str::<Value>(&e.input)
                .ok()
                .and_then(|v| v.get("Items").and_then(Value::as_array).map(Vec::len))
                .unwrap_or(1);
            let mut item = json!({
                "executionArn": e.arn,
                "stateMachineArn": e.machine_arn,
                "name": e.name,
                "status": st,
                "startDate": date(e.start_date),
                "mapRunArn": map_run_arn,
                "itemCount": item_count,
                "redriveCount": e.redrive_counts().0,
            });
            if let (Some(x), Some(o)) = (&ended, item.as_object_mut()) {
                o.insert("stopDate".into(), date(x.stop_date));
            }
            if let (Some(d), Some(o)) = (e.redrive_counts().1, item.as_object_mut()) {
                o.insert("redriveDate".into(), date(d));
            }
            items.push(item);
        }
        let mut out = json!({"executions": items});
        if let (Some(t), Some(o)) = (next, out.as_object_mut()) {
            o.insert("nextToken".into(), json!(t));
        }
        Ok(out)
    }
}
