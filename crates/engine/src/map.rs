//! Map states: the items (ItemsPath, JSONata Items, or a Distributed Map's `ItemReader` through `items`),
//! each iteration's input (ItemSelector, seeing `$$.Map.Item`; `ItemBatcher` batches), iterations as
//! scopes of their own in bounded waves (MaxConcurrency), and distributed mode's map run (its own
//! history, tolerated failures, `ResultWriter`).

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;
use sfn_asl::{Dynamic, Map, Payload, ProcessorMode, QueryLanguage};
use sfn_path::{ErrorName, Path, Scope, Template};
use sfn_patterns::AbortSignal;

use crate::error::{Failure, Interrupt};
use crate::exec::{ChildNames, Closing, Exec, StateCtx, display_value};
use crate::execution::{Execution, ExecutionStatus, Outcome, StopReason};
use crate::history::{EventDetails, JsonText};
use crate::jsonata::AtaScope;
use crate::maprun::{MapRun, MapRunCounts, MapRunState, MapRunStatus};
use crate::vars::Vars;

/// Most Map iterations in flight at once.
const MAX_IN_FLIGHT: usize = 16_384;

/// One attempt of a Map state: its result is the array of the iterations' outputs.
pub(crate) async fn run(
    ctx: StateCtx<'_>,
    m: &Map,
    input: &Value,
    prev: &mut u64,
) -> Result<Value, Interrupt> {
    if let Some(mock) = ctx.test_mock() {
        let eff = ctx.input_path(input)?;
        if distributed_only(m).is_none() {
            let items = items(&ctx, m, &eff).await?;
            ctx.inspect(|i| i.after_items_path = Some(items.into_owned()));
        }
        let mut settings = Settings::of(&ctx, m, &eff).await?;
        settings.tolerated(&ctx, m, &eff).await?;
        return mocked(&ctx, mock, &settings);
    }
    if let Some(cause) = distributed_only(m) {
        return Err(ctx.runtime(&cause).into());
    }
    let eff = ctx.input_path(input)?;
    let distributed = m.mode == ProcessorMode::Distributed;
    // A Distributed Map reads its items from S3 (`ItemReader`), selects and batches them (`ItemBatcher`)
    // before the Map starts; the iterations then take those inputs as they are.
    let mut read_count = None;
    let prepared: Option<Vec<Value>> = match (&m.reader, &m.batcher) {
        (None, None) => None,
        (reader, batcher) => {
            let read = match reader {
                Some(r) => Cow::Owned(crate::items::read(&ctx, r, &eff).await?),
                None => items_array(&ctx, m, &eff).await?,
            };
            read_count = Some(read.len());
            match batcher {
                Some(b) => Some(batches(&ctx, m, b, read.into_owned(), &eff).await?),
                None => Some(read.into_owned()),
            }
        }
    };
    let items: Cow<'_, [Value]> = match prepared {
        Some(v) => Cow::Owned(v),
        None => items_array(&ctx, m, &eff).await?,
    };
    let select = m.batcher.is_none();
    let mut settings = Settings::of(&ctx, m, &eff).await?;
    settings.select = select;
    let total = items.len();
    settings.item_total = read_count.unwrap_or(total);
    let started = ctx.event(prev, EventDetails::MapStateStarted { length: total })?;
    // The failure thresholds are read once the Map has started (AWS: `MapStateStarted`, then the
    // `States.Runtime` failure, in `scenarios/test_base_scenarios__test_map_state_tolerated_failure_count_path__NoNumber`).
    settings.tolerated(&ctx, m, &eff).await?;
    let exec = ctx.exec;
    let outcome = match distributed {
        false => iterate(ctx, m, items, &eff, settings, started, None).await.map(|(v, _)| Value::Array(v)),
        true => map_run(ctx, m, items, &eff, settings, prev).await,
    };
    exec.close(prev, outcome, |how| match how {
        Closing::Succeeded => EventDetails::MapStateSucceeded { started },
        Closing::Aborted => EventDetails::MapStateAborted { started },
    })
}

/// The items as an array: `Items` (JSONata), `ItemsPath` or the effective input.
async fn items_array<'a: 'v, 'v>(
    ctx: &StateCtx<'a>,
    m: &Map,
    eff: &'v Value,
) -> Result<Cow<'v, [Value]>, Failure> {
    let items_value = items(ctx, m, eff).await?;
    match items_value {
        Cow::Borrowed(Value::Array(a)) => Ok(Cow::Borrowed(a.as_slice())),
        Cow::Owned(Value::Array(a)) => Ok(Cow::Owned(a)),
        other => Err(ctx.runtime(&format!(
            "Item value for ItemsPath {} is not a JSON array: {}",
            m.items_path.as_ref().map_or("$", Path::source),
            display_value(other.as_ref())
        ))),
    }
}

/// `ItemBatcher`: each item through ItemSelector, then grouped into `{"Items": [...]}` (with
/// `"BatchInput"` when given) of at most `MaxItemsPerBatch` items and `MaxInputBytesPerBatch` bytes
/// (AWS: "ItemBatcher (Map)": `{"BatchInput": {...}, "Items": [...]}`; the byte bound defaults to 256 KiB).
async fn batches(
    ctx: &StateCtx<'_>,
    m: &Map,
    b: &sfn_asl::ItemBatcher,
    items: Vec<Value>,
    eff: &Value,
) -> Result<Vec<Value>, Failure> {
    let max_items = match &b.max_items_per_batch {
        Some(d) => number(ctx, d, eff, "MaxItemsPerBatch").await?,
        None => 0,
    };
    let max_bytes = match &b.max_input_bytes_per_batch {
        Some(d) => number(ctx, d, eff, "MaxInputBytesPerBatch").await?,
        None => 0,
    };
    let max_items =
        if max_items == 0 { usize::MAX } else { usize::try_from(max_items).unwrap_or(usize::MAX) };
    let limit = ctx.exec.engine.config.max_payload_bytes;
    let max_bytes = match max_bytes {
        0 => limit,
        n => usize::try_from(n).unwrap_or(limit).min(limit),
    };
    let batch_input = match &b.batch_input {
        Some(p) => Some(ctx.arguments(p, eff).await?),
        None => None,
    };
    // `{"Items":[` + `]}` and `,"BatchInput":…`.
    let base = 12 + batch_input.as_ref().map_or(0, |v| 14 + crate::exec::json_len(v));
    let mut out = Vec::new();
    let mut batch: Vec<Value> = Vec::new();
    let mut bytes = base;
    let close = |batch: Vec<Value>| {
        let mut o = serde_json::Map::new();
        if let Some(bi) = &batch_input {
            o.insert("BatchInput".to_owned(), bi.clone());
        }
        o.insert("Items".to_owned(), Value::Array(batch));
        Value::Object(o)
    };
    // The items move into their batches (read once, held once).
    for (index, item) in items.into_iter().enumerate() {
        let selected = match m.item_selector {
            None => item,
            Some(_) => item_input(ctx, m, index, &item, eff).await?,
        };
        let len = crate::exec::json_len(&selected) + 1;
        if base + len > max_bytes {
            return Err(Failure::new(
                ErrorName::Runtime,
                format!(
                    "An item of the Map state is {len} bytes: a batch with it exceeds the maximum of {max_bytes} bytes (MaxInputBytesPerBatch)"
                ),
            ));
        }
        if !batch.is_empty() && (batch.len() >= max_items || bytes + len > max_bytes) {
            out.push(close(std::mem::take(&mut batch)));
            bytes = base;
        }
        bytes += len;
        batch.push(selected);
    }
    if !batch.is_empty() {
        out.push(close(batch));
    }
    Ok(out)
}

/// A batcher or reader number: literal, by path or JSONata.
async fn number(ctx: &StateCtx<'_>, d: &Dynamic<u64>, eff: &Value, field: &str) -> Result<u64, Failure> {
    match d {
        Dynamic::Value(n) => Ok(*n),
        Dynamic::Path(p) => ctx.number_at(p, eff, &format!("{field}Path")),
        Dynamic::Jsonata(e) => ctx.ata_integer(e, field, AtaScope::input(eff)).await,
    }
}

/// TestState's mock stands in for the iterations (ItemReader included: the mock is what it read and
/// what the iterations made of it); with `mapIterationFailureCount`, that many failed
/// iterations count against the tolerated failure threshold first.
fn mocked(
    ctx: &StateCtx<'_>,
    mock: &crate::inspect::TestMock,
    settings: &Settings,
) -> Result<Value, Interrupt> {
    let failures = ctx.exec.test.as_ref().and_then(|t| t.map_failures).unwrap_or(0);
    let total = match mock {
        crate::inspect::TestMock::Result(Value::Array(a)) => a.len(),
        _ => 0,
    };
    if failures > 0 && exceeded(failures as usize, total, settings.tolerated_count, settings.tolerated_pct) {
        return Err(Interrupt::Fail(threshold_exceeded()));
    }
    Ok(mock.answer()?)
}

/// True when `failures` of `total` iterations pass the tolerated failure threshold (none set: any
/// failure does; AWS: "Setting failure thresholds for Distributed Map states").
fn exceeded(failures: usize, total: usize, count: Option<f64>, pct: Option<f64>) -> bool {
    let share = (failures as f64) * 100.0 / (total.max(1) as f64);
    match (count, pct) {
        (None, None) => true,
        (c, p) => c.is_some_and(|c| failures as f64 > c) || p.is_some_and(|p| share > p),
    }
}

fn threshold_exceeded() -> Failure {
    Failure::new(
        ErrorName::ExceedToleratedFailureThreshold,
        "The specified tolerated failure threshold was exceeded",
    )
}

/// A Distributed Map's iterations, run as a map run: `MapRunStarted`, the iterations in an execution of
/// their own ([`Exec::map_run`](crate::exec::Exec::map_run)), then `MapRunSucceeded` (or `MapRunFailed`,
/// `MapRunAborted`). AWS: `scenarios/test_base_scenarios__test_map_state_config_distributed_items_path_from_previous`
/// (`5 MapStateStarted`, `6 MapRunStarted ← 5`, `7 MapRunSucceeded ← 6`, `8 MapStateSucceeded ← 7`,
/// `9 MapStateExited ← 6`: `MapRunSucceeded` is transparent, [`crate::History`]).
async fn map_run(
    ctx: StateCtx<'_>,
    m: &Map,
    items: Cow<'_, [Value]>,
    eff: &Value,
    mut settings: Settings,
    prev: &mut u64,
) -> Result<Value, Interrupt> {
    let exec = ctx.exec;
    // arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME → …:mapRun:MACHINE/LABEL:ID, the children
    // …:execution:MACHINE/LABEL:ID (EXPRESS: …:express:MACHINE/LABEL:ID:ID) of …:stateMachine:MACHINE/LABEL
    // (AWS: "Viewing a Distributed Map Run execution": the Map's `Label`, else a name of its own; here
    // its state name).
    let mut arn = exec.execution_arn.splitn(6, ':');
    let head: Vec<&str> = arn.by_ref().take(5).collect();
    let head = head.join(":");
    let label = m.label.as_deref().unwrap_or(&ctx.state.name);
    let machine = format!("{}/{label}", exec.state_machine_name);
    let fresh = format!("{head}:mapRun:{machine}:{}", uuid::Uuid::new_v4());
    // The ResultWriter's place is read before the map run starts, so a bad one runs nothing.
    // A WriterConfig alone (no Resource) shapes the Map's output and writes nothing.
    let writer = match &m.writer {
        Some(w) if w.exports() => Some((w, crate::items::writer_target(&ctx, w, eff).await?)),
        _ => None,
    };
    settings.keep = m.writer.is_some();
    // A redriven execution redrives the map run it ran (`MapRunRedriven`), a resumed one runs its map
    // run again under the ARN on record: both with the children it had.
    let redriven = exec.replay.as_ref().and_then(|r| r.redriven_map_run(*prev));
    let (map_run_arn, prior) = match redriven {
        Some((arn, count)) => {
            let redrive_count = count + 1;
            let at =
                ctx.event(prev, EventDetails::MapRunRedriven { map_run_arn: arn.clone(), redrive_count })?;
            // A redrive resumed after a restart: its `MapRunRedriven` is on record, and the children
            // redriven since then are in this redrive already.
            let since = exec.replay.as_ref().and_then(|r| r.recorded_at(at));
            (arn, Some((crate::replay::Prior::Redrive { since }, redrive_count)))
        }
        None => {
            let started = ctx.event(prev, EventDetails::MapRunStarted { map_run_arn: fresh.clone() })?;
            match exec.replay.as_ref().and_then(|r| r.map_run_arn(started)) {
                Some(arn) => (arn, Some((crate::replay::Prior::Resume, 0))),
                None => (fresh, None),
            }
        }
    };
    let run_id = map_run_arn.rsplit(':').next().unwrap_or_default().to_owned();
    let express = m.execution_type.as_deref() == Some("EXPRESS");
    let pending = |n: usize| MapRunCounts { pending: n as u64, total: n as u64, ..MapRunCounts::default() };
    let run = Arc::new(MapRun::new(
        map_run_arn.clone(),
        exec.execution_arn.clone(),
        format!("{head}:stateMachine:{machine}"),
        label.to_owned(),
        express,
        exec.now(),
        MapRunState {
            status: MapRunStatus::Running,
            stop_date: None,
            max_concurrency: settings.max_concurrency,
            tolerated_failure_count: settings.tolerated_count,
            tolerated_failure_percentage: settings.tolerated_pct,
            items: pending(settings.item_total),
            executions: pending(items.len()),
            redrive_count: prior.map_or(0, |(_, n)| n),
            redrive_date: prior.filter(|(_, n)| *n > 0).map(|_| exec.now()),
        },
    ));
    let prior = match (prior, &exec.engine.map_runs) {
        (Some((mode, _)), Some(o)) => crate::replay::PriorChildren::new(mode, o.prior_children(&map_run_arn)),
        _ => crate::replay::PriorChildren::default(),
    };
    let waiting = prior.to_redrive();
    run.with(|s| {
        s.executions.pending_redrive = waiting;
        if m.batcher.is_none() {
            s.items.pending_redrive = waiting;
        }
    });
    if let Some(o) = &exec.engine.map_runs {
        o.map_run_started(&run);
    }
    let children = Children {
        run: run.clone(),
        head,
        machine,
        express,
        batched: m.batcher.is_some(),
        mock_calls: Arc::default(),
        prior,
    };
    let mut outcome = iterate(ctx, m, items, eff, settings, 0, Some(&children)).await;
    if let (Some((w, target)), Ok((_, records))) = (&writer, &outcome)
        && let Err(f) = crate::items::write_results(&ctx, w, target, &map_run_arn, &run_id, records).await
    {
        outcome = Err(Interrupt::Fail(f));
    }
    let status = match &outcome {
        Ok(_) => MapRunStatus::Succeeded,
        Err(Interrupt::Abort) => MapRunStatus::Aborted,
        Err(_) => MapRunStatus::Failed,
    };
    run.with(|s| {
        s.status = status;
        s.stop_date = Some(exec.now());
        if status == MapRunStatus::Succeeded {
            // Every child's result is in the ResultWriter's files or the Map's output.
            for c in [&mut s.items, &mut s.executions] {
                c.results_written = c.succeeded + c.failed + c.timed_out;
            }
        }
        for c in [&mut s.items, &mut s.executions] {
            c.pending_redrive = 0;
        }
    });
    if let Some(o) = &exec.engine.map_runs {
        o.map_run_ended(&run);
    }
    let end = match &outcome {
        Ok(_) => EventDetails::MapRunSucceeded,
        Err(Interrupt::Abort) => EventDetails::MapRunAborted,
        Err(Interrupt::Fail(f) | Interrupt::Terminal(f)) => EventDetails::MapRunFailed {
            error: f.name.as_ref().map(|n| n.shown().to_owned()),
            cause: f.cause.clone(),
        },
    };
    ctx.event(prev, end)?;
    // What follows `MapStateStarted` (a retry, `MapStateFailed`) follows the map run's end: the cursor
    // stays there.
    let (outputs, records) = outcome?;
    Ok(match (writer, &m.writer) {
        // AWS ("ResultWriter (Map)"): the Map's output names the map run and where its manifest is.
        (Some((_, t)), _) => serde_json::json!({
            "MapRunArn": map_run_arn,
            "ResultWriterDetails": {"Bucket": t.bucket, "Key": t.manifest_key(&run_id)},
        }),
        (None, Some(w)) => crate::items::inline_results(w, &records),
        (None, None) => Value::Array(outputs),
    })
}

/// A map run's children: the run they count in and how they are named.
struct Children {
    run: Arc<MapRun>,
    /// `arn:aws:states:REGION:ACCOUNT`.
    head: String,
    /// `MACHINE/LABEL`.
    machine: String,
    express: bool,
    /// Each child's input is a batch (`{"Items": [...]}`): it holds that many items.
    batched: bool,
    mock_calls: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>,
    /// The children a resumed or redriven map run had, by index.
    prior: crate::replay::PriorChildren,
}

impl Children {
    fn names(&self) -> ChildNames {
        let name = uuid::Uuid::new_v4().to_string();
        let arn = match self.express {
            true => format!("{}:express:{}:{name}:{}", self.head, self.machine, uuid::Uuid::new_v4()),
            false => format!("{}:execution:{}:{name}", self.head, self.machine),
        };
        self.named(arn, name)
    }

    /// The names of a child that ran before, from its ARN.
    fn names_of(&self, arn: &str) -> ChildNames {
        self.named(arn.to_owned(), crate::maprun::child_name(arn).to_owned())
    }

    fn named(&self, arn: String, name: String) -> ChildNames {
        ChildNames {
            arn,
            name,
            state_machine_arn: format!("{}:stateMachine:{}", self.head, self.machine),
            state_machine_name: self.machine.clone(),
            mock_calls: self.mock_calls.clone(),
        }
    }

    /// How many items a child with this input processes.
    fn items_in(&self, input: &Value) -> u64 {
        match self.batched {
            true => input.get("Items").and_then(Value::as_array).map_or(0, |a| a.len() as u64),
            false => 1,
        }
    }
}

/// One child execution of a map run, from `ExecutionStarted` to its end (`ExecutionSucceeded`,
/// `ExecutionFailed`, `ExecutionAborted`), with the run's counts kept as it goes; the observer is given
/// it as an [`Execution`](crate::Execution) before its first event. A child stopped on its own (not with
/// its map run) counts as a failed item. A resumed or redriven map run's child that ran item `index`
/// before keeps its result or runs again under its ARN ([`PriorChildren`](crate::replay::PriorChildren)).
async fn child_execution(
    parent: &Arc<Exec>,
    children: &Children,
    processor: &sfn_asl::Branch,
    (index, input): (usize, Value),
    frozen: &Arc<Vars>,
    map_signal: &AbortSignal,
    keep: bool,
) -> (Result<Value, Interrupt>, Option<crate::items::Record>) {
    let items = children.items_in(&input);
    let (names, child, redriving) = match children.prior.take(index) {
        None => {
            let names = children.names();
            let child = parent.map_child(&names, input);
            (names, child, false)
        }
        Some(p) => {
            let names = children.names_of(&p.arn);
            match children.prior.plan(&p, children.express) {
                crate::replay::Plan::Keep(outcome) => {
                    return kept(children, &names, &p, outcome, &JsonText::new(&input), items, keep);
                }
                crate::replay::Plan::Again(replay) => {
                    let replay = replay.map(Arc::new);
                    let again = replay.is_some();
                    let child = parent.map_child_from(&names, input, replay.clone(), p.start_date);
                    if again {
                        child.history.restore(p.events.clone());
                    }
                    let fresh = replay.as_ref().filter(|r| r.redrives_now());
                    if let Some(count) = fresh.map(|r| r.redrive_count()).filter(|n| *n > 0) {
                        // A redriven STANDARD child's history goes on after its end.
                        let redriven = EventDetails::ExecutionRedriven { redrive_count: count };
                        child.history.push_final(p.events.len() as u64, child.now(), redriven);
                    }
                    // Counted among the children to redrive unless it resumes a redrive it began.
                    let anew = replay.as_ref().is_none_or(|r| r.redrives_now());
                    (names, child, children.prior.is_redrive() && anew)
                }
            }
        }
    };
    let input_text = child.input_text();
    let (handle, signal) = map_signal.child();
    let (done_tx, done) = tokio::sync::watch::channel(None);
    let stop_reason = StopReason::default();
    let execution = Execution {
        arn: names.arn.clone(),
        start_date: child.start_time,
        history: child.history.clone(),
        abort: handle,
        stop_reason: stop_reason.clone(),
        done,
        task: None,
        terminating: child.terminating.clone(),
    };
    let run = &children.run;
    run.with(|s| {
        s.executions.pending = s.executions.pending.saturating_sub(1);
        s.items.pending = s.items.pending.saturating_sub(items);
        if redriving {
            s.executions.pending_redrive = s.executions.pending_redrive.saturating_sub(1);
            s.items.pending_redrive = s.items.pending_redrive.saturating_sub(items);
        }
        s.executions.running += 1;
        s.items.running += items;
    });
    if let Some(o) = &parent.engine.map_runs {
        o.child_started(run, execution, input_text.as_str(), index);
    }
    let started = EventDetails::ExecutionStarted { input: input_text, role_arn: child.role_arn.clone() };
    let mut prev = 0;
    let r = match child.event(&mut 0, started) {
        Err(e) => Err(e),
        Ok(_) => {
            let mut vars = Vars::child_of(frozen);
            let input = child.take_input();
            child
                .run_scope(&processor.start_at, &processor.states, input, &mut vars, &mut prev, &signal)
                .await
        }
    };
    let (status, details) = match &r {
        Ok(v) => (ExecutionStatus::Succeeded, EventDetails::ExecutionSucceeded { output: JsonText::new(v) }),
        Err(Interrupt::Fail(f) | Interrupt::Terminal(f)) => (
            ExecutionStatus::Failed,
            EventDetails::ExecutionFailed { error: f.name.clone().map(String::from), cause: f.cause.clone() },
        ),
        Err(Interrupt::Abort) => {
            let (error, cause) = stop_reason.lock().unwrap_or_else(|e| e.into_inner()).clone();
            (ExecutionStatus::Aborted, EventDetails::ExecutionAborted { error, cause })
        }
    };
    let stop = child.now();
    child.history.push_final(prev, stop, details);
    let record = match keep {
        true => crate::items::Record::of(
            Some(&names),
            child.input_text().as_str().to_owned(),
            child.start_time,
            stop,
            &r,
        ),
        false => None,
    };
    run.with(|s| {
        s.executions.running = s.executions.running.saturating_sub(1);
        s.items.running = s.items.running.saturating_sub(items);
        ended(s, status, items);
    });
    let outcome = Outcome {
        status,
        output: r.as_ref().ok().cloned(),
        error: match &r {
            Err(Interrupt::Fail(f) | Interrupt::Terminal(f)) => f.name.clone().map(String::from),
            _ => None,
        },
        cause: match &r {
            Err(Interrupt::Fail(f) | Interrupt::Terminal(f)) => f.cause.clone(),
            _ => None,
        },
        stop_date: stop,
    };
    if let Some(durable) = child.history.durable() {
        durable.await;
    }
    done_tx.send_replace(Some(outcome));
    let r = match r {
        Err(Interrupt::Abort) if !map_signal.is_aborted() => {
            Err(Interrupt::Fail(Failure::new(ErrorName::Runtime, "The child execution was stopped")))
        }
        r => r,
    };
    (r, record)
}

/// Counts a child that ended with `status` (its `items`).
fn ended(s: &mut MapRunState, status: ExecutionStatus, items: u64) {
    let bump = |c: &mut MapRunCounts, n: u64| match status {
        ExecutionStatus::Succeeded => c.succeeded += n,
        ExecutionStatus::Failed => c.failed += n,
        ExecutionStatus::TimedOut => c.timed_out += n,
        _ => c.aborted += n,
    };
    bump(&mut s.executions, 1);
    bump(&mut s.items, items);
}

/// A child of a resumed or redriven map run whose result is kept (it finished, or succeeded before
/// the redrive): counted and reported as it ended, nothing runs again.
fn kept(
    children: &Children,
    names: &ChildNames,
    p: &crate::maprun::PriorChild,
    outcome: Outcome,
    input: &JsonText,
    items: u64,
    keep: bool,
) -> (Result<Value, Interrupt>, Option<crate::items::Record>) {
    let r = match outcome.status {
        ExecutionStatus::Succeeded => Ok(outcome.output.clone().unwrap_or(Value::Null)),
        ExecutionStatus::Aborted => {
            Err(Interrupt::Fail(Failure::new(ErrorName::Runtime, "The child execution was stopped")))
        }
        _ => Err(Interrupt::Fail(Failure {
            name: outcome.error.as_deref().map(ErrorName::from),
            cause: outcome.cause.clone(),
        })),
    };
    children.run.with(|s| {
        s.executions.pending = s.executions.pending.saturating_sub(1);
        s.items.pending = s.items.pending.saturating_sub(items);
        ended(s, outcome.status, items);
    });
    let record = match keep {
        true => crate::items::Record::of(
            Some(names),
            input.as_str().to_owned(),
            p.start_date,
            outcome.stop_date,
            &r,
        ),
        false => None,
    };
    (r, record)
}

/// The value the items are read from: `Items` (JSONata), `ItemsPath` or the effective input.
async fn items<'a: 'v, 'v>(ctx: &StateCtx<'a>, m: &Map, eff: &'v Value) -> Result<Cow<'v, Value>, Failure> {
    match &m.items_path {
        _ if ctx.state.query_language == QueryLanguage::Jsonata => {
            Ok(Cow::Owned(ctx.ata_items(m.items.as_ref(), AtaScope::input(eff)).await?))
        }
        Some(p) => ctx.eval_path(p, eff),
        None => Ok(Cow::Borrowed(eff)),
    }
}

/// How the iterations run: MaxConcurrency (read before the Map starts) and the failure thresholds (read
/// once it started).
struct Settings {
    limit: usize,
    /// MaxConcurrency as given (a map run shows it).
    max_concurrency: u64,
    /// How many items were read, before batching (a map run counts them).
    item_total: usize,
    distributed: bool,
    /// Iterations take their item through ItemSelector (not when batched: the batcher did it).
    select: bool,
    /// Keep each iteration's input, times and result (for a ResultWriter).
    keep: bool,
    tolerated_count: Option<f64>,
    tolerated_pct: Option<f64>,
}

impl Settings {
    async fn of(ctx: &StateCtx<'_>, m: &Map, eff: &Value) -> Result<Settings, Failure> {
        let max_concurrency = match &m.max_concurrency {
            Dynamic::Value(n) => *n,
            Dynamic::Path(p) => ctx.number_at(p, eff, "MaxConcurrencyPath")?,
            Dynamic::Jsonata(e) => ctx.ata_integer(e, "MaxConcurrency", AtaScope::input(eff)).await?,
        };
        ctx.inspect(|i| i.max_concurrency = Some(max_concurrency));
        Ok(Settings {
            limit: concurrency(max_concurrency),
            max_concurrency,
            item_total: 0,
            distributed: m.mode == ProcessorMode::Distributed,
            select: true,
            keep: false,
            tolerated_count: None,
            tolerated_pct: None,
        })
    }

    /// Reads `ToleratedFailureCount` / `ToleratedFailurePercentage`.
    async fn tolerated(&mut self, ctx: &StateCtx<'_>, m: &Map, eff: &Value) -> Result<(), Failure> {
        self.tolerated_count =
            tolerated(ctx, m.tolerated_failure_count.as_ref(), eff, "ToleratedFailureCount").await?;
        self.tolerated_pct =
            tolerated(ctx, m.tolerated_failure_percentage.as_ref(), eff, "ToleratedFailurePercentage")
                .await?;
        ctx.inspect(|i| {
            i.tolerated_failure_count = self.tolerated_count;
            i.tolerated_failure_percentage = self.tolerated_pct;
        });
        Ok(())
    }
}

/// Runs the iterations; their outputs in order (and, when `settings.keep`, what a ResultWriter writes of
/// each), or the first failure (an abort only when nothing failed).
async fn iterate(
    ctx: StateCtx<'_>,
    m: &Map,
    items: Cow<'_, [Value]>,
    eff: &Value,
    settings: Settings,
    started: u64,
    children: Option<&Children>,
) -> Result<(Vec<Value>, Vec<Option<crate::items::Record>>), Interrupt> {
    use futures_util::{FutureExt as _, StreamExt as _};
    let exec = ctx.exec;
    let total = items.len();
    let name: Arc<str> = Arc::from(ctx.state.name.as_str());
    let (map_abort, map_signal) = ctx.abort.child();
    let frozen = Arc::new(ctx.vars.clone());
    let processor = &m.processor;
    let mut progress = MapProgress {
        outputs: vec![None; total],
        failures: 0,
        total,
        first_error: None,
        distributed: settings.distributed,
        tolerated_count: settings.tolerated_count,
        tolerated_pct: settings.tolerated_pct,
    };
    let mut records: Vec<Option<crate::items::Record>> = match settings.keep {
        true => vec![None; total],
        false => Vec::new(),
    };
    let mut pending = futures_util::stream::FuturesUnordered::new();
    // Items the Map owns (read from S3, batched) move into their iterations: held once.
    let mut queue: Box<dyn Iterator<Item = (usize, Cow<'_, Value>)> + Send + '_> = match items {
        Cow::Borrowed(a) => Box::new(a.iter().map(Cow::Borrowed).enumerate()),
        Cow::Owned(v) => Box::new(v.into_iter().map(Cow::Owned).enumerate()),
    };
    // A map run's MaxConcurrency and thresholds can change while it runs (UpdateMapRun).
    let limit = |settings: &Settings| match children {
        Some(c) => concurrency(c.run.state().max_concurrency),
        None => settings.limit,
    };
    let mut record = |progress: &mut MapProgress, index, r, last, record| {
        if let Some(slot) = records.get_mut(index) {
            *slot = record;
        }
        if let Some(c) = children {
            let s = c.run.state();
            progress.tolerated_count = s.tolerated_failure_count;
            progress.tolerated_pct = s.tolerated_failure_percentage;
        }
        // A child execution has a history of its own: nothing in this one links into it.
        progress.record(index, r, &map_abort, || {
            if children.is_none() {
                exec.relink(started, last);
            }
        });
    };
    loop {
        while pending.len() < limit(&settings) && progress.first_error.is_none() {
            let Some((index, item)) = queue.next() else { break };
            // The iteration's input: ItemSelector (or legacy Parameters) sees $$.Map.Item.
            let selected = match settings.select && m.item_selector.is_some() {
                true => item_input(&ctx, m, index, &item, eff).await,
                false => Ok(item.into_owned()),
            };
            let item_input = match selected {
                Ok(v) => v,
                Err(f) => {
                    progress.first_error = Some(Interrupt::Fail(f));
                    map_abort.abort();
                    break;
                }
            };
            let frozen = frozen.clone();
            let signal = map_signal.clone();
            let name = name.clone();
            let keep = settings.keep;
            pending.push(async move {
                if let Some(c) = children {
                    let (r, record) = Box::pin(child_execution(
                        exec,
                        c,
                        processor,
                        (index, item_input),
                        &frozen,
                        &signal,
                        keep,
                    ))
                    .await;
                    return (index, r, 0, record);
                }
                let kept = keep.then(|| (item_input.to_string(), exec.now()));
                let mut cursor = started;
                let r = async {
                    exec.event(&mut cursor, EventDetails::MapIterationStarted { name: name.clone(), index })?;
                    let mut vars = Vars::child_of(&frozen);
                    exec.run_scope(
                        &processor.start_at,
                        &processor.states,
                        item_input,
                        &mut vars,
                        &mut cursor,
                        &signal,
                    )
                    .await
                }
                .await;
                let end = match &r {
                    Ok(_) => EventDetails::MapIterationSucceeded { name, index },
                    Err(Interrupt::Abort) => EventDetails::MapIterationAborted { name, index },
                    Err(_) => EventDetails::MapIterationFailed { name, index },
                };
                // The iteration's last event: what the next iteration, a retry or `MapStateFailed`
                // links to (AWS: not to the `MapIteration…` end event).
                let last = cursor;
                let r = match (exec.event(&mut cursor, end), r) {
                    (Err(e), _) => Err(e),
                    (Ok(_), r) => r,
                };
                let record = kept
                    .and_then(|(input, start)| crate::items::Record::of(None, input, start, exec.now(), &r));
                (index, r, last, record)
            });
            // Iterations that finish without waiting (pure data work) finish right here, so their
            // futures and inputs are freed before the next one starts.
            while let Some(Some((index, r, last, rec))) = pending.next().now_or_never() {
                record(&mut progress, index, r, last, rec);
            }
        }
        let next = match children {
            // A higher MaxConcurrency starts more children at once.
            Some(c) if progress.first_error.is_none() => tokio::select! {
                next = pending.next() => Some(next),
                () = c.run.changed.notified() => None,
            },
            _ => Some(pending.next().await),
        };
        let Some(next) = next else { continue };
        let Some((index, r, last, rec)) = next else { break };
        record(&mut progress, index, r, last, rec);
    }
    let MapProgress { outputs, first_error, .. } = progress;
    match first_error {
        None => Ok((outputs.into_iter().map(Option::unwrap_or_default).collect(), records)),
        Some(e) => Err(e),
    }
}

/// How many iterations run at once for a MaxConcurrency (0: as many as possible). Iterations still
/// start in bounded waves so a huge array does not hold a future per item at once.
fn concurrency(max_concurrency: u64) -> usize {
    match max_concurrency {
        0 => MAX_IN_FLIGHT,
        n => usize::try_from(n).unwrap_or(MAX_IN_FLIGHT).min(MAX_IN_FLIGHT),
    }
}

/// The input of iteration `index`: ItemSelector (seeing `$$.Map.Item`) or the item itself.
async fn item_input(
    ctx: &StateCtx<'_>,
    m: &Map,
    index: usize,
    item: &Value,
    eff: &Value,
) -> Result<Value, Failure> {
    match &m.item_selector {
        Some(Payload::JsonPath(t)) => {
            if let Template::Literal(v) = t {
                return Ok(v.clone());
            }
            let item_ctx = ctx.with(None, Some((index, item)));
            let view = item_ctx.view();
            t.eval(&Scope { input: eff, context: &view, variables: ctx.vars })
                .map_err(|e| ctx.runtime(e.message()))
        }
        Some(Payload::Jsonata(p)) => {
            let item_ctx = ctx.with(None, Some((index, item)));
            item_ctx.ata_template(p.template(), "ItemSelector", AtaScope::input(eff)).await
        }
        None => Ok(item.clone()),
    }
}

/// `ToleratedFailureCount` / `ToleratedFailurePercentage` (literal, by path or JSONata), checked.
async fn tolerated(
    ctx: &StateCtx<'_>,
    d: Option<&Dynamic<Value>>,
    eff: &Value,
    field: &str,
) -> Result<Option<f64>, Failure> {
    let Some(d) = d else { return Ok(None) };
    let (value, path) = match d {
        Dynamic::Value(v) => (Cow::Borrowed(v), None),
        Dynamic::Path(p) => (ctx.eval_path(p, eff)?, Some(p)),
        Dynamic::Jsonata(_) => {
            (Cow::Owned(ctx.ata_dynamic_value(d, field, AtaScope::input(eff)).await?), None)
        }
    };
    let percentage = field == "ToleratedFailurePercentage";
    let n = match value.as_ref() {
        Value::Number(n) if percentage => n.as_f64(),
        Value::Number(n) => n.as_i64().map(|x| x as f64),
        Value::String(s) if percentage => s.trim().parse::<f64>().ok(),
        Value::String(s) => s.trim().parse::<i64>().ok().map(|x| x as f64),
        _ => None,
    };
    let Some(n) = n else {
        let p = path.map_or_else(String::new, |p| p.source().to_owned());
        // AWS: "…refers to value \"NoNumber\" which is not a valid float" for a percentage
        // (`test_map_state_tolerated_failure_percentage_path[NoNumber]`).
        let what = if percentage { "a valid float" } else { "a valid integer" };
        return Err(ctx.runtime(&format!(
            "The {field}Path field refers to value \"{}\" which is not {what}: {p}",
            display_value(&value)
        )));
    };
    // AWS has one message for a percentage out of range, below 0 or above 100
    // (`test_map_state_tolerated_failure_percentage_path[-1]`, `[-1.1]`), and its own for a negative count
    // (`test_map_state_tolerated_failure_count_path[-1]`).
    if percentage && !(0.0..=100.0).contains(&n) {
        return Err(ctx.runtime(&format!("{field} must be between 0 and 100.")));
    }
    if n < 0.0 {
        return Err(ctx.runtime(&format!("{field} cannot be negative.")));
    }
    Ok(Some(n))
}

/// What a Map state has collected from its iterations so far.
struct MapProgress {
    outputs: Vec<Option<Value>>,
    failures: usize,
    total: usize,
    first_error: Option<Interrupt>,
    distributed: bool,
    tolerated_count: Option<f64>,
    tolerated_pct: Option<f64>,
}

impl MapProgress {
    /// Records iteration `index`'s result; `link` makes what follows `MapStateStarted` link to the
    /// iteration's last event, for an iteration that ended while nothing had failed (the iteration that
    /// ended last, or the one whose failure fails the Map; AWS:
    /// `scenarios/test_base_scenarios__test_map_state`, `MapIterationStarted` 10 ← 8).
    fn record(
        &mut self,
        index: usize,
        r: Result<Value, Interrupt>,
        map_abort: &sfn_patterns::AbortHandle,
        link: impl FnOnce(),
    ) {
        if self.first_error.is_none() && !matches!(r, Err(Interrupt::Abort)) {
            link();
        }
        match r {
            Ok(v) => self.outputs[index] = Some(v),
            Err(Interrupt::Fail(_)) if self.distributed && self.first_error.is_none() => {
                // Distributed mode: failed items count against the tolerated failure threshold
                // (AWS: "Setting failure thresholds for Distributed Map states"; default 0).
                self.failures += 1;
                if exceeded(self.failures, self.total, self.tolerated_count, self.tolerated_pct) {
                    self.first_error = Some(Interrupt::Fail(threshold_exceeded()));
                    map_abort.abort();
                }
                self.outputs[index] = Some(Value::Null);
            }
            Err(Interrupt::Abort) if self.first_error.is_some() => {}
            Err(e) => {
                if self.first_error.is_none() || matches!(self.first_error, Some(Interrupt::Abort)) {
                    self.first_error = Some(e);
                }
                map_abort.abort();
            }
        }
    }
}

/// The cause an inline Map state fails with when it uses a Distributed Map field that reads or writes
/// outside the execution (`ItemReader`, `ResultWriter`) or reshapes the items (`ItemBatcher`): running it
/// inline over the state input would be silently wrong, so it fails instead.
fn distributed_only(m: &sfn_asl::Map) -> Option<String> {
    if m.mode == ProcessorMode::Distributed {
        return None;
    }
    let fields: Vec<&str> = [
        ("ItemReader", m.item_reader.is_some()),
        ("ResultWriter", m.result_writer.is_some()),
        ("ItemBatcher", m.item_batcher.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, used)| used.then_some(f))
    .collect();
    (!fields.is_empty()).then(|| {
        format!(
            "The Map state uses {} (Distributed Map) in INLINE mode: set ProcessorConfig.Mode to DISTRIBUTED",
            fields.join(", ")
        )
    })
}
