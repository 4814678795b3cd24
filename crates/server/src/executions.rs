//! Execution operations: Start, StartSync, Describe, List, GetExecutionHistory, Stop,
//! DescribeStateMachineForExecution.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use sfn_engine::StartRequest;

use crate::arn;
use crate::error::ApiError;
use crate::protocol::{Input, date};
use crate::service::{ExecEntry, Run, Service, Version, token};

/// Largest execution input (256 KiB, in UTF-8 bytes).
const MAX_INPUT_BYTES: usize = 262_144;
/// How long StartSyncExecution waits (EXPRESS executions last at most five minutes).
const SYNC_LIMIT: Duration = Duration::from_secs(300);
/// How long StopExecution waits for the execution to record its end.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// What StartExecution and StartSyncExecution share: the checked request.
struct Start {
    /// The state machine's (unqualified) ARN.
    machine_arn: String,
    name: String,
    input_text: String,
    input: Value,
    version: Arc<Version>,
    /// The test case (`…:stateMachine:NAME#TestCase`) and its mocks.
    mocks: Option<(String, Arc<dyn sfn_engine::TaskMocks>)>,
    /// Started on a version or an alias: the version's ARN.
    version_arn: Option<String>,
    /// Started on an alias: its ARN.
    alias_arn: Option<String>,
}

/// An execution can be redriven for 14 days after it ended (API reference, RedriveExecution).
const REDRIVE_DAYS: i64 = 14;

/// `ExecutionNotRedrivable` with this message.
fn not_redrivable(message: impl std::fmt::Display) -> ApiError {
    ApiError::client("ExecutionNotRedrivable", message.to_string())
}

fn invalid_input(detail: impl std::fmt::Display) -> ApiError {
    ApiError::client("InvalidExecutionInput", format!("Invalid State Machine Execution Input: '{detail}'"))
}

/// Removes the execution data (inputs and outputs) from an event, for `includeExecutionData: false`.
/// Runs a read of the journal off the async workers.
async fn blocking_read<T: Send + 'static>(
    read: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(read)
        .await
        .map_err(|err| ApiError::internal(format!("reading the history failed: {err}")))?
        .map_err(|err| ApiError::internal(format!("reading the history failed: {err}")))
}

fn strip_data(event: &mut Value) {
    if let Some(o) = event.as_object_mut() {
        for (k, v) in o.iter_mut() {
            if k.ends_with("EventDetails")
                && let Some(d) = v.as_object_mut()
            {
                for key in ["input", "output", "inputDetails", "outputDetails"] {
                    d.remove(key);
                }
            }
        }
    }
}

impl Service {
    /// Checks a start request in AWS's order: model constraints, the machine, the name, then the input.
    fn check_start(&self, body: &Value) -> Result<Start, ApiError> {
        let i = Input::new(body);
        let machine_arn = i.str_len("stateMachineArn", 1, 256)?;
        let name = i.opt_str_len("name", 1, 80)?;
        let input = i.opt_sensitive("input", MAX_INPUT_BYTES)?;
        i.opt_str_len("traceHeader", 0, 256)?;
        let (machine_arn, case) = match &self.mocks {
            Some(_) => crate::mocking::split(machine_arn),
            None => (machine_arn, None),
        };
        let target = self.resolve(machine_arn)?;
        let machine = target.name.as_str();
        let version = target.version.clone();
        let base_arn = arn::machine_arn(&self.region, &self.account, machine);
        let name = match name {
            Some(n) if !arn::valid_name(n) => return Err(ApiError::invalid_name(n)),
            Some(n) => n.to_owned(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let input_text = input.unwrap_or("{}").to_owned();
        if input_text.trim().is_empty() {
            return Err(invalid_input("Invalid execution input."));
        }
        let value: Value = serde_json::from_str(&input_text).map_err(invalid_input)?;
        let mocks = match (case, &self.mocks) {
            (Some(case), Some(cases)) => {
                let prepared = Self::prepared(&version)?;
                let mocks = cases.test_case(machine, case, prepared.machine());
                Some((case.to_owned(), mocks.map_err(|why| ApiError::client("ValidationException", why))?))
            }
            _ => None,
        };
        Ok(Start {
            machine_arn: base_arn,
            name,
            input_text,
            input: value,
            version,
            mocks,
            version_arn: target.version_arn,
            alias_arn: target.alias_arn,
        })
    }

    fn prepared(version: &Version) -> Result<&sfn_engine::Prepared, ApiError> {
        version.prepared.as_ref().map_err(|why| {
            ApiError::client("ValidationException", format!("This state machine cannot run locally: {why}"))
        })
    }

    fn start_request(s: &Start) -> StartRequest {
        StartRequest {
            execution_name: s.name.clone(),
            input: s.input.clone(),
            role_arn: Some(s.version.record.role_arn.clone()),
            input_text: Some(s.input_text.clone()),
        }
    }

    /// Starts `s` under `arn`, with its test case's mocks when it has one.
    fn launch(&self, prepared: &sfn_engine::Prepared, s: &Start, arn: String) -> sfn_engine::Execution {
        match &s.mocks {
            Some((_, m)) => self.engine.start_mocked(prepared, Self::start_request(s), arn, m.clone()),
            None => self.engine.start_with_arn(prepared, Self::start_request(s), arn),
        }
    }

    fn express_arn(&self, s: &Start) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        arn::express_arn(&self.region, &self.account, &s.version.record.machine, &s.name, &id)
    }

    pub(crate) async fn start_execution(&self, body: &Value) -> Result<Value, ApiError> {
        self.start_execution_with(body).await.map(|(v, _)| v)
    }

    /// StartExecution, and the execution of an EXPRESS machine (which the registry does not keep) for
    /// the caller that waits for it (a parent's `states:startExecution.sync`).
    pub(crate) async fn start_execution_with(
        &self,
        body: &Value,
    ) -> Result<(Value, Option<Arc<sfn_engine::Execution>>), ApiError> {
        let s = self.check_start(body)?;
        let prepared = Self::prepared(&s.version)?;
        if s.version.express() {
            // EXPRESS executions are not recorded: no Describe, no history (AWS sends them to CloudWatch Logs).
            let execution = Arc::new(self.launch(prepared, &s, self.express_arn(&s)));
            let out = json!({"executionArn": execution.arn, "startDate": date(execution.start_date)});
            return Ok((out, Some(execution)));
        }
        self.start_standard(&s).await.map(|v| (v, None))
    }

    async fn start_standard(&self, s: &Start) -> Result<Value, ApiError> {
        let prepared = Self::prepared(&s.version)?;
        let machine = &s.version.record.machine;
        let exec_arn = arn::execution_arn(&self.region, &self.account, machine, &s.name);
        let (entry, fresh) = {
            let mut reg = self.write();
            match reg.executions.get(&exec_arn) {
                // Idempotent while running with the same input (answered once the first start is on disk: it
                // may still be waiting for its commit, or have failed with 503); otherwise the name is taken.
                Some(existing) if existing.input == s.input_text && existing.ended().is_none() => {
                    (existing.clone(), false)
                }
                Some(_) => {
                    return Err(ApiError::client(
                        "ExecutionAlreadyExists",
                        format!("Execution Already Exists: '{exec_arn}'"),
                    ));
                }
                None => {
                    let execution = Arc::new(self.launch(prepared, s, exec_arn.clone()));
                    // One line per finished execution at info (`sfn serve -v`).
                    let watched = execution.clone();
                    tokio::spawn(async move {
                        let o = watched.wait().await;
                        let seconds = (o.stop_date - watched.start_date).num_milliseconds() as f64 / 1000.0;
                        tracing::info!(execution = %watched.arn, status = o.status.as_str(),
                            error = o.error.as_deref().unwrap_or(""), seconds, "execution finished");
                    });
                    let seq = reg.next_seq;
                    reg.next_seq = reg.next_seq.saturating_add(1);
                    let entry = Arc::new(ExecEntry {
                        seq,
                        arn: exec_arn.clone(),
                        name: s.name.clone(),
                        machine_arn: s.machine_arn.clone(),
                        version: s.version.clone(),
                        input: s.input_text.clone(),
                        start_date: execution.start_date,
                        run: Mutex::new(Run::Live { execution, ended: None }),
                        test_case: s.mocks.as_ref().map(|(c, _)| c.clone()),
                        version_arn: s.version_arn.clone(),
                        alias_arn: s.alias_arn.clone(),
                        redrive: Mutex::default(),
                        map_run_arn: None,
                        map_index: None,
                        map_runs: Mutex::default(),
                    });
                    reg.executions.insert(exec_arn.clone(), entry.clone());
                    reg.by_machine.entry(machine.clone()).or_default().push(entry.clone());
                    (entry, true)
                }
            }
        };
        if fresh && let Some(j) = &self.journal {
            j.put_execution(&entry.record());
        }
        self.durable().await?;
        Ok(json!({"executionArn": entry.arn, "startDate": date(entry.start_date)}))
    }

    pub(crate) async fn start_sync_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let s = self.check_start(body)?;
        if !s.version.express() {
            return Err(ApiError::type_not_supported());
        }
        let prepared = Self::prepared(&s.version)?;
        let execution = self.launch(prepared, &s, self.express_arn(&s));
        let outcome = match tokio::time::timeout(SYNC_LIMIT, execution.wait()).await {
            Ok(o) => o,
            Err(_) => {
                execution.stop_with(Some(sfn_engine::ErrorName::Timeout.to_string()), None);
                let mut o = execution.wait().await;
                o.status = sfn_engine::ExecutionStatus::TimedOut;
                o
            }
        };
        let mut out = Map::new();
        out.insert("executionArn".into(), json!(execution.arn));
        out.insert("stateMachineArn".into(), json!(s.machine_arn));
        out.insert("name".into(), json!(s.name));
        out.insert("startDate".into(), date(execution.start_date));
        out.insert("stopDate".into(), date(outcome.stop_date));
        out.insert("status".into(), json!(outcome.status.as_str()));
        if let Some(e) = &outcome.error {
            out.insert("error".into(), json!(e));
        }
        if let Some(c) = &outcome.cause {
            out.insert("cause".into(), json!(c));
        }
        out.insert("input".into(), json!(s.input_text));
        out.insert("inputDetails".into(), json!({"included": true}));
        if let Some(o) = &outcome.output {
            out.insert("output".into(), json!(o.to_string()));
        }
        out.insert("outputDetails".into(), json!({"included": true}));
        let millis = (outcome.stop_date - execution.start_date).num_milliseconds().max(1);
        let billed = (millis + 99) / 100 * 100;
        out.insert(
            "billingDetails".into(),
            json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": billed}),
        );
        Ok(Value::Object(out))
    }

    pub(crate) fn describe_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("executionArn", 1, 2048)?;
        let e = self.described(arn)?;
        let ended = e.ended();
        let mut out = Map::new();
        out.insert("executionArn".into(), json!(e.arn));
        out.insert("stateMachineArn".into(), json!(e.machine_arn));
        out.insert("name".into(), json!(e.name));
        out.insert("status".into(), json!(ended.as_ref().map_or("RUNNING", |x| x.status.as_str())));
        out.insert("startDate".into(), date(e.start_date));
        out.insert("input".into(), json!(e.input));
        out.insert("inputDetails".into(), json!({"included": true}));
        if let Some(v) = &e.version_arn {
            out.insert("stateMachineVersionArn".into(), json!(v));
        }
        if let Some(a) = &e.alias_arn {
            out.insert("stateMachineAliasArn".into(), json!(a));
        }
        if let Some(m) = &e.map_run_arn {
            out.insert("mapRunArn".into(), json!(m));
        }
        if let Some(x) = &ended {
            out.insert("stopDate".into(), date(x.stop_date));
            if let Some(o) = &x.output {
                out.insert("output".into(), json!(o));
            }
            out.insert("outputDetails".into(), json!({"included": true}));
            if let Some(err) = &x.error {
                out.insert("error".into(), json!(err));
            }
            if let Some(c) = &x.cause {
                out.insert("cause".into(), json!(c));
            }
        }
        let (count, redrive_date) = e.redrive_counts();
        out.insert("redriveCount".into(), json!(count));
        if let Some(d) = redrive_date {
            out.insert("redriveDate".into(), date(d));
        }
        let status = ended.as_ref().map_or("RUNNING", |x| x.status.as_str()).to_owned();
        let (redrive, reason) = match (status.as_str(), e.test_case.is_some()) {
            // A map run's child is redriven with its map run, not on its own.
            (status, false) if e.map_run_arn.is_some() => sfn_engine::map_run_child_redrive_status(status),
            ("FAILED" | "TIMED_OUT" | "ABORTED", false)
                if e.live().is_some_and(|x| self.history_full(x.history().len())) =>
            {
                ("NOT_REDRIVABLE", Some("Execution history event limit exceeded".to_owned()))
            }
            ("FAILED" | "TIMED_OUT" | "ABORTED", false) => ("REDRIVABLE", None),
            (_, true) => {
                ("NOT_REDRIVABLE", Some("Execution runs a test case and cannot be redriven".to_owned()))
            }
            (other, false) => {
                ("NOT_REDRIVABLE", Some(format!("Execution is {other} and cannot be redriven")))
            }
        };
        out.insert("redriveStatus".into(), json!(redrive));
        if let Some(r) = reason {
            out.insert("redriveStatusReason".into(), json!(r));
        }
        Ok(Value::Object(out))
    }

    pub(crate) fn list_executions(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let machine_arn = i.opt_str_len("stateMachineArn", 1, 256)?;
        let map_run = i.opt_str_len("mapRunArn", 1, 2000)?;
        let status = i.opt_enum("statusFilter", &crate::service::STATUSES)?;
        let max = i.max_results(100)?;
        let next_token = i.opt_str_len("nextToken", 1, 3096)?;
        // AWS (API reference, ListExecutions): "You can specify either a mapRunArn or a stateMachineArn,
        // but not both" (a map run ARN alone is answered by the map runs' listing).
        if map_run.is_some() && machine_arn.is_some() {
            return Err(ApiError::validation("Only one of StateMachine ARN or MapRun ARN can be provided"));
        }
        let Some(machine_arn) = machine_arn else {
            return Err(ApiError::client(
                "ValidationException",
                "Must provide a StateMachine ARN or MapRun ARN",
            ));
        };
        let before = match next_token {
            Some(t) => Some(token::decode_index("ex", machine_arn, t, u64::MAX)?),
            None => None,
        };
        // A version or alias ARN lists the executions started on it (API reference, ListExecutions).
        let (name, qualified) = match arn::parse(machine_arn)?.named {
            arn::Named::StateMachine { qualifier: Some(_), .. } => {
                let target = self.resolve_listed(machine_arn)?;
                (target, Some(machine_arn))
            }
            _ => (self.machine_name(machine_arn)?, None),
        };
        let reg = self.read();
        let m = reg.machines.get(name).ok_or_else(|| ApiError::machine_not_found(machine_arn))?;
        if m.version.express() {
            return Err(ApiError::type_not_supported());
        }
        let mut items = Vec::new();
        let mut next = None;
        let empty = Vec::new();
        let list = reg.by_machine.get(name).unwrap_or(&empty);
        let started_on = |e: &ExecEntry| {
            qualified.is_none_or(|q| e.version_arn.as_deref() == Some(q) || e.alias_arn.as_deref() == Some(q))
        };
        for e in list.iter().rev().filter(|e| before.is_none_or(|b| e.seq < b)).filter(|e| started_on(e)) {
            let ended = e.ended();
            let st = ended.as_ref().map_or("RUNNING", |x| x.status.as_str());
            if status.is_some_and(|want| want != st) {
                continue;
            }
            if items.len() == max {
                next = Some(token::encode("ex", machine_arn, &e.seq.saturating_add(1).to_string()));
                break;
            }
            let mut item = json!({
                "executionArn": e.arn,
                "stateMachineArn": e.machine_arn,
                "name": e.name,
                "status": st,
                "startDate": date(e.start_date),
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

    /// Every event of an execution in GetExecutionHistory's shape.
    /// How many events an execution has.
    async fn event_count(&self, e: &ExecEntry) -> Result<usize, ApiError> {
        if let Some(execution) = e.live() {
            return Ok(execution.history().len());
        }
        let Some(journal) = self.journal.clone() else { return Ok(0) };
        let arn = e.arn.clone();
        let n = blocking_read(move || journal.event_count(&arn)).await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// The events at 0-based positions `range` of an execution's history, in order (GetExecutionHistory's
    /// shape): only those are made or read, so paging through a long history costs each page once.
    async fn events_in(&self, e: &ExecEntry, range: std::ops::Range<usize>) -> Result<Vec<Value>, ApiError> {
        if let Some(execution) = e.live() {
            return Ok(execution.history().events_in(range).iter().map(sfn_engine::Event::to_json).collect());
        }
        let Some(journal) = self.journal.clone() else { return Ok(Vec::new()) };
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let arn = e.arn.clone();
        // Event ids are positions + 1.
        let ids = range.start as u64 + 1..=range.end as u64;
        blocking_read(move || journal.events(&arn, ids)).await
    }

    pub(crate) async fn get_execution_history(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("executionArn", 1, 2048)?;
        let max = i.max_results(100)?;
        let reverse = i.opt_bool("reverseOrder")?.unwrap_or(false);
        let include_data = i.opt_bool("includeExecutionData")?.unwrap_or(true);
        let next_token = i.opt_str_len("nextToken", 1, 3096)?;
        let e = self.execution(arn)?;
        let total = self.event_count(&e).await?;
        // A position past the history's end was never handed out: InvalidToken, not an empty page.
        let from = token::offset("h", arn, next_token, total)?;
        let n = max.min(total.saturating_sub(from));
        // `from` counts from the newest event in reverse order.
        let range = if reverse { total - from - n..total - from } else { from..from + n };
        let mut page = self.events_in(&e, range).await?;
        if reverse {
            page.reverse();
        }
        if !include_data {
            page.iter_mut().for_each(strip_data);
        }
        let mut out = json!({"events": page});
        token::add_next(&mut out, "h", arn, from, max, total);
        Ok(out)
    }

    pub(crate) async fn stop_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("executionArn", 1, 2048)?;
        let error = i.opt_sensitive_chars("error", 256)?;
        let cause = i.opt_sensitive_chars("cause", 32_768)?;
        let e = self.execution(arn)?;
        if let Some(x) = e.ended() {
            return Ok(json!({"stopDate": date(x.stop_date)}));
        }
        let (error, cause) = (error.map(str::to_owned), cause.map(str::to_owned));
        match e.live() {
            Some(execution) => {
                execution.stop_with(error, cause);
                let stop_date = match tokio::time::timeout(STOP_WAIT, execution.wait()).await {
                    Ok(o) => o.stop_date,
                    Err(_) => self.engine.clock().now(),
                };
                self.durable().await?;
                Ok(json!({"stopDate": date(stop_date)}))
            }
            None => self.stop_unresumed(&e, error, cause).await,
        }
    }

    /// Ends a RUNNING execution this process could not resume: appends `ExecutionAborted` to its journal.
    async fn stop_unresumed(
        &self,
        e: &ExecEntry,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<Value, ApiError> {
        let last = self.event_count(e).await? as u64;
        let id = last.saturating_add(1);
        let now = self.engine.clock().now();
        let mut details = Map::new();
        if let Some(err) = &error {
            details.insert("error".into(), json!(err));
        }
        if let Some(c) = &cause {
            details.insert("cause".into(), json!(c));
        }
        let event = json!({
            "timestamp": date(now),
            "type": "ExecutionAborted",
            "id": id,
            "previousEventId": last,
            "executionAbortedEventDetails": details,
        });
        if let Some(j) = &self.journal {
            j.put_raw_event(&e.arn, id, &event);
        }
        *e.run.lock().unwrap_or_else(|p| p.into_inner()) = Run::Stored {
            ended: Some(crate::service::Ended {
                status: "ABORTED".into(),
                stop_date: now,
                output: None,
                error,
                cause,
            }),
        };
        self.durable().await?;
        Ok(json!({"stopDate": date(now)}))
    }

    /// RedriveExecution: a FAILED, TIMED_OUT or ABORTED execution goes on under its ARN (name, start date
    /// and input stay) from what did not succeed (API reference, RedriveExecution: "it continues the
    /// failed execution from the unsuccessful step and uses the same input. Step Functions preserves the
    /// results and execution history of the successful steps"; "For workflows that include an Inline
    /// Map or Parallel state, RedriveExecution API action reschedules and redrives only the iterations
    /// and branches that failed or aborted"): the engine replays its history ([`Engine::redrive`]), which
    /// goes on with `ExecutionRedriven` (`executionRedrivenEventDetails.redriveCount`) and the events of
    /// what runs again. A Distributed Map redrives its map run (`MapRunRedriven`): its succeeded children
    /// keep their results, the others are redriven ("Redriving Map Runs"). With a journal the history is
    /// journaled as it is served; a redriven execution that was running when the server stopped resumes
    /// with its redrive (one with map runs stays RUNNING until StopExecution).
    ///
    /// [`Engine::redrive`]: sfn_engine::Engine::redrive
    pub(crate) async fn redrive_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("executionArn", 1, 2048)?;
        i.opt_str_len("clientToken", 1, 64)?;
        if arn::execution_kind(arn)? {
            return Err(not_redrivable(format_args!("Execution is EXPRESS and cannot be redriven: '{arn}'")));
        }
        let e = self.execution(arn)?;
        if e.test_case.is_some() {
            return Err(not_redrivable(format_args!(
                "Execution runs a test case and cannot be redriven: '{arn}'"
            )));
        }
        if e.map_run_arn.is_some() {
            return Err(not_redrivable(format_args!(
                "Execution is a child of a Map Run and is redriven with its parent: '{arn}'"
            )));
        }
        let ended = e.ended().ok_or_else(|| {
            not_redrivable(format_args!("Execution is RUNNING and cannot be redriven: '{arn}'"))
        })?;
        if !matches!(ended.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED") {
            return Err(not_redrivable(format_args!(
                "Execution is {} and cannot be redriven: '{arn}'",
                ended.status
            )));
        }
        let now = self.engine.clock().now();
        if now - ended.stop_date > chrono::Duration::days(REDRIVE_DAYS) {
            return Err(not_redrivable(format_args!(
                "Execution ended more than {REDRIVE_DAYS} days ago and cannot be redriven: '{arn}'"
            )));
        }
        let prepared = Self::prepared(&e.version)?;
        let events = self.recorded(&e).await?;
        if self.history_full(events.len()) {
            return Err(not_redrivable(format_args!(
                "Execution history event limit exceeded and cannot be redriven: '{arn}'"
            )));
        }
        self.prior_children_of(&e).await?;
        let record = &e.version.record;
        let input: Value = serde_json::from_str(&e.input).unwrap_or_else(|_| json!({}));
        let request = sfn_engine::ResumeRequest {
            execution_arn: e.arn.clone(),
            execution_name: e.name.clone(),
            input,
            role_arn: Some(record.role_arn.clone()),
            start_time: e.start_date,
            events,
        };
        {
            let mut r = e.redrive.lock().unwrap_or_else(|p| p.into_inner());
            let count = r.count.saturating_add(1);
            // Journaled before the run starts: its events (the `ExecutionRedriven` first) follow, and its
            // end (applied to the record) comes after the record is RUNNING again.
            if let Some(j) = &self.journal {
                j.put_execution(&e.record_at(count, Some(now)));
            }
            let execution = Arc::new(self.engine.redrive(prepared, request, count));
            r.count = count;
            r.date = Some(now);
            *e.run.lock().unwrap_or_else(|p| p.into_inner()) = Run::Live { execution, ended: None };
        }
        self.durable().await?;
        Ok(json!({"redriveDate": date(now)}))
    }

    /// A history of `len` events has no room for a redrive (its `ExecutionRedriven` and a state's events
    /// within the engine's history limit, AWS's 25,000): DescribeExecution's `redriveStatusReason`
    /// "Execution history event limit exceeded".
    fn history_full(&self, len: usize) -> bool {
        self.engine.config().max_history_events.is_some_and(|limit| len.saturating_add(2) > limit)
    }

    /// The recorded events of an execution as the engine replays them.
    async fn recorded(&self, e: &ExecEntry) -> Result<Vec<sfn_engine::Event>, ApiError> {
        if let Some(execution) = e.live() {
            return Ok(execution.history().events());
        }
        let Some(journal) = self.journal.clone() else { return Ok(Vec::new()) };
        let arn = e.arn.clone();
        blocking_read(move || journal.recorded(&arn)).await
    }

    /// Hands the engine the children of `e`'s map runs before it is redriven: a redriven map run keeps
    /// its succeeded children and redrives the others from their recorded events (a map run that
    /// succeeded runs again keeping them all).
    async fn prior_children_of(&self, e: &ExecEntry) -> Result<(), ApiError> {
        let runs = e.map_runs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for run in runs {
            let children: Vec<Arc<ExecEntry>> =
                self.read().by_map_run.get(&run.arn).cloned().unwrap_or_default();
            let mut prior = Vec::with_capacity(children.len());
            for c in children {
                let Some(index) = c.map_index else { continue };
                let outcome = c.ended().map(|x| x.to_outcome());
                let succeeded =
                    outcome.as_ref().is_some_and(|o| o.status == sfn_engine::ExecutionStatus::Succeeded);
                let events = match succeeded || run.express {
                    true => Vec::new(),
                    false => self.recorded(&c).await?,
                };
                prior.push(sfn_engine::PriorChild {
                    index,
                    arn: c.arn.clone(),
                    start_date: c.start_date,
                    outcome,
                    events,
                });
            }
            self.priors.put(&run.arn, prior);
        }
        Ok(())
    }

    pub(crate) fn describe_state_machine_for_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let arn = i.str_len("executionArn", 1, 2048)?;
        let e = self.described(arn)?;
        let mut out = self.describe_version_json(&e.machine_arn, &e.version);
        // A map run's child (API reference, DescribeStateMachineForExecution): its map run and label.
        if let (Some(m), Some(o)) = (&e.map_run_arn, out.as_object_mut()) {
            o.insert("mapRunArn".into(), json!(m));
            if let Some(label) = e.machine_arn.rsplit_once('/').map(|(_, l)| l) {
                o.insert("label".into(), json!(label));
            }
        }
        Ok(out)
    }
}
