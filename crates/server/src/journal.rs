//! The durable journal behind `--state-dir`: state machines, their versions, executions and every history
//! event, in one redb database (`<state-dir>/sfn.redb`).
//!
//! Writes go through one writer thread fed by a channel: the engine's [`EventSink`] only enqueues (it is
//! called under the history's lock), and the writer commits whatever is queued as one transaction with
//! `Durability::Immediate` (group commit: one fsync per batch, however many events it holds). An API call
//! that must be durable before it answers (CreateStateMachine, StartExecution, …) enqueues its record and
//! then waits on a barrier that resolves once that record's batch is committed.
//!
//! Tables: `machines` (name → record), `versions` (id → definition, role, type…), `executions` (ARN →
//! record) and `events` ((execution ARN, event id) → the event in GetExecutionHistory's JSON shape, with
//! its data, plus what resuming needs and the API does not show: [`Event::to_stored_json`]).
//!
//! The sink's [`EventSink::durable`] is a barrier: the engine awaits it before a Task calls its service,
//! so a task's `TaskScheduled`/`TaskStarted` (its idempotency key and callback token) are committed
//! before the call is made, and a resumed execution never makes it twice. The last event of an execution is the authority on how it ended: a record still marked
//! RUNNING whose last event is `ExecutionSucceeded`/`Failed`/`Aborted`/`TimedOut` ended before the record
//! caught up.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;

use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sfn_engine::{Durable, Event, EventSink};
use tokio::sync::oneshot;

use crate::error::ServerError;

const MACHINES: TableDefinition<&str, &str> = TableDefinition::new("machines");
const VERSIONS: TableDefinition<&str, &str> = TableDefinition::new("versions");
const EXECUTIONS: TableDefinition<&str, &str> = TableDefinition::new("executions");
const EVENTS: TableDefinition<(&str, u64), &str> = TableDefinition::new("events");

/// Largest number of queued operations committed as one transaction.
const MAX_BATCH: usize = 8192;

/// A state machine as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MachineRecord {
    pub(crate) name: String,
    /// The current version's id.
    pub(crate) version: String,
    /// Epoch milliseconds.
    pub(crate) creation_ms: i64,
    pub(crate) tags: Vec<(String, String)>,
}

/// One version of a state machine (what an execution runs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VersionRecord {
    pub(crate) id: String,
    pub(crate) machine: String,
    pub(crate) definition: String,
    pub(crate) role_arn: String,
    /// `STANDARD` or `EXPRESS`.
    pub(crate) kind: String,
    pub(crate) logging: Value,
    pub(crate) tracing: Value,
    pub(crate) revision_id: Option<String>,
    /// Epoch milliseconds of the update that made it (creation for the first version).
    pub(crate) update_ms: i64,
}

/// An execution as stored; `status` stays `RUNNING` until its final event is journaled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExecutionRecord {
    pub(crate) arn: String,
    pub(crate) name: String,
    pub(crate) machine: String,
    pub(crate) version: String,
    pub(crate) input: String,
    pub(crate) role_arn: Option<String>,
    pub(crate) start_ms: i64,
    pub(crate) seq: u64,
    pub(crate) status: String,
    pub(crate) stop_ms: Option<i64>,
    pub(crate) output: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
}

impl ExecutionRecord {
    /// Applies a final event (`ExecutionSucceeded`, …) in GetExecutionHistory's shape; false for other events.
    pub(crate) fn apply_final(&mut self, event: &Value) -> bool {
        let (status, key) = match event["type"].as_str() {
            Some("ExecutionSucceeded") => ("SUCCEEDED", "executionSucceededEventDetails"),
            Some("ExecutionFailed") => ("FAILED", "executionFailedEventDetails"),
            Some("ExecutionAborted") => ("ABORTED", "executionAbortedEventDetails"),
            Some("ExecutionTimedOut") => ("TIMED_OUT", "executionTimedOutEventDetails"),
            _ => return false,
        };
        let details = &event[key];
        let text = |k: &str| details[k].as_str().map(str::to_owned);
        self.status = status.to_owned();
        self.stop_ms = event["timestamp"].as_f64().map(|t| (t * 1000.0).round() as i64);
        self.output = text("output");
        self.error = text("error");
        self.cause = text("cause");
        true
    }
}

/// Everything the journal held when it was opened.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) machines: Vec<MachineRecord>,
    pub(crate) versions: Vec<VersionRecord>,
    /// Executions in start order (by `seq`).
    pub(crate) executions: Vec<ExecutionRecord>,
}

enum Op {
    PutMachine(String, String),
    DeleteMachine(String),
    PutVersion(String, String),
    PutExecution(String, String),
    Event(Arc<str>, Box<Event>),
    /// A ready-made event in GetExecutionHistory's shape (events the server writes itself).
    RawEvent(String, u64, String),
    Barrier(oneshot::Sender<()>),
    /// Commit what is queued, then stop the writer (it releases the database file).
    Close(oneshot::Sender<()>),
}

/// The journal: cheap to clone; every clone feeds the same writer thread.
#[derive(Clone)]
pub(crate) struct Journal {
    /// The read handle; `None` once [`Journal::close`] has run.
    db: Arc<std::sync::RwLock<Option<Arc<Database>>>>,
    tx: mpsc::Sender<Op>,
    path: PathBuf,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish_non_exhaustive()
    }
}

fn store_err(path: &Path, e: impl std::fmt::Display) -> ServerError {
    ServerError::Store { path: path.to_owned(), message: e.to_string() }
}

impl Journal {
    /// Opens (or creates) `<dir>/sfn.redb` and reads everything but the events.
    pub(crate) fn open(dir: &Path) -> Result<(Journal, Snapshot), ServerError> {
        std::fs::create_dir_all(dir).map_err(|e| store_err(dir, e))?;
        let path = dir.join("sfn.redb");
        let db = Database::create(&path).map_err(|e| store_err(&path, e))?;
        let init = || -> Result<(), redb::Error> {
            let w = db.begin_write()?;
            w.open_table(MACHINES)?;
            w.open_table(VERSIONS)?;
            w.open_table(EXECUTIONS)?;
            w.open_table(EVENTS)?;
            w.commit()?;
            Ok(())
        };
        init().map_err(|e| store_err(&path, e))?;
        let snapshot = read_snapshot(&db).map_err(|e| store_err(&path, e))?;
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel();
        let writer_db = db.clone();
        std::thread::Builder::new()
            .name("sfn-journal".into())
            .spawn(move || writer(writer_db, &rx))
            .map_err(|e| store_err(&path, e))?;
        Ok((Journal { db: Arc::new(std::sync::RwLock::new(Some(db))), tx, path }, snapshot))
    }

    fn send(&self, op: Op) {
        if self.tx.send(op).is_err() {
            tracing::error!("the journal writer has stopped; {} is no longer updated", self.path.display());
        }
    }

    /// Records a state machine (created, updated or tagged).
    pub(crate) fn put_machine(&self, m: &MachineRecord) {
        self.send(Op::PutMachine(m.name.clone(), serde_json::to_string(m).unwrap_or_default()));
    }

    /// Forgets a state machine (its versions stay: executions refer to them).
    pub(crate) fn delete_machine(&self, name: &str) {
        self.send(Op::DeleteMachine(name.to_owned()));
    }

    /// Records a version.
    pub(crate) fn put_version(&self, v: &VersionRecord) {
        self.send(Op::PutVersion(v.id.clone(), serde_json::to_string(v).unwrap_or_default()));
    }

    /// Records an execution.
    pub(crate) fn put_execution(&self, e: &ExecutionRecord) {
        self.send(Op::PutExecution(e.arn.clone(), serde_json::to_string(e).unwrap_or_default()));
    }

    /// Appends an event the server itself produced (in GetExecutionHistory's shape).
    pub(crate) fn put_raw_event(&self, arn: &str, id: u64, event: &Value) {
        self.send(Op::RawEvent(arn.to_owned(), id, event.to_string()));
    }

    /// Resolves once everything enqueued before it is committed.
    pub(crate) async fn barrier(&self) {
        let (tx, rx) = oneshot::channel();
        self.send(Op::Barrier(tx));
        let _ = rx.await;
    }

    /// Commits everything enqueued so far and stops the writer thread, which releases its handle on the
    /// database file (another [`Journal::open`] on the same directory can then succeed once every other
    /// handle is gone). Writes enqueued afterwards are dropped with an error in the log.
    pub(crate) async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        self.send(Op::Close(tx));
        let _ = rx.await;
        self.db.write().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// The sink that journals every history event of every execution.
    pub(crate) fn sink(&self) -> Arc<dyn EventSink> {
        Arc::new(JournalSink { tx: std::sync::Mutex::new(self.tx.clone()) })
    }

    /// The recorded events of an execution, in order (GetExecutionHistory's shape).
    pub(crate) fn events(&self, arn: &str) -> Result<Vec<Value>, String> {
        let mut events = self.stored_events(arn)?;
        events.iter_mut().for_each(Event::strip_private);
        Ok(events)
    }

    /// The recorded events of an execution as the engine resumes from them.
    pub(crate) fn recorded(&self, arn: &str) -> Result<Vec<Event>, String> {
        self.stored_events(arn)?.iter().map(|v| Event::from_json(v).map_err(|e| e.to_string())).collect()
    }

    /// The recorded events of an execution, in order, as stored ([`Event::to_stored_json`]).
    fn stored_events(&self, arn: &str) -> Result<Vec<Value>, String> {
        let db = self.db.read().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(db) = db else { return Err(format!("the journal {} is closed", self.path.display())) };
        let read = || -> Result<Vec<Value>, redb::Error> {
            let r = db.begin_read()?;
            let t = r.open_table(EVENTS)?;
            let mut out = Vec::new();
            for row in t.range((arn, 0)..=(arn, u64::MAX))? {
                let (_, v) = row?;
                out.push(serde_json::from_str(v.value()).unwrap_or(Value::Null));
            }
            Ok(out)
        };
        read().map_err(|e| e.to_string())
    }
}

struct JournalSink {
    /// `mpsc::Sender` is `Sync` on current Rust, but a mutex keeps the sink `Sync` on every supported one.
    tx: std::sync::Mutex<mpsc::Sender<Op>>,
}

impl EventSink for JournalSink {
    fn event(&self, execution_arn: &str, event: &Event) {
        // Serialized by the writer thread, not here: this runs under the history's lock.
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let _ = tx.send(Op::Event(Arc::from(execution_arn), Box::new(event.clone())));
    }

    fn durable(&self) -> Durable {
        let (done, rx) = oneshot::channel();
        let _ = self.tx.lock().unwrap_or_else(|e| e.into_inner()).send(Op::Barrier(done));
        // A stopped writer drops the sender: the barrier resolves at once rather than never.
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

fn read_snapshot(db: &Database) -> Result<Snapshot, redb::Error> {
    let r = db.begin_read()?;
    let mut s = Snapshot::default();
    for row in r.open_table(MACHINES)?.iter()? {
        let (_, v) = row?;
        match serde_json::from_str(v.value()) {
            Ok(m) => s.machines.push(m),
            Err(e) => tracing::warn!("skipping an unreadable state machine record: {e}"),
        }
    }
    for row in r.open_table(VERSIONS)?.iter()? {
        let (_, v) = row?;
        match serde_json::from_str(v.value()) {
            Ok(m) => s.versions.push(m),
            Err(e) => tracing::warn!("skipping an unreadable version record: {e}"),
        }
    }
    let events = r.open_table(EVENTS)?;
    for row in r.open_table(EXECUTIONS)?.iter()? {
        let (_, v) = row?;
        let mut e: ExecutionRecord = match serde_json::from_str(v.value()) {
            Ok(e) => e,
            Err(err) => {
                tracing::warn!("skipping an unreadable execution record: {err}");
                continue;
            }
        };
        if e.status == "RUNNING" {
            // The final event may have been committed before the record caught up.
            let arn = e.arn.clone();
            if let Some(last) = events.range((arn.as_str(), 0)..=(arn.as_str(), u64::MAX))?.next_back() {
                let (_, v) = last?;
                if let Ok(ev) = serde_json::from_str::<Value>(v.value()) {
                    e.apply_final(&ev);
                }
            }
        }
        s.executions.push(e);
    }
    s.executions.sort_by_key(|e| e.seq);
    Ok(s)
}

fn writer(db: Arc<Database>, rx: &mpsc::Receiver<Op>) {
    let mut closed = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut barriers = Vec::new();
        if let Err(e) = commit(&db, batch, &mut barriers, &mut closed) {
            tracing::error!("journal write failed: {e}");
        }
        for b in barriers {
            let _ = b.send(());
        }
        if closed.is_some() {
            break;
        }
    }
    drop(db);
    if let Some(done) = closed {
        let _ = done.send(());
    }
}

fn commit(
    db: &Database,
    batch: Vec<Op>,
    barriers: &mut Vec<oneshot::Sender<()>>,
    closed: &mut Option<oneshot::Sender<()>>,
) -> Result<(), redb::Error> {
    let w = db.begin_write()?;
    {
        let mut machines = w.open_table(MACHINES)?;
        let mut versions = w.open_table(VERSIONS)?;
        let mut executions = w.open_table(EXECUTIONS)?;
        let mut events = w.open_table(EVENTS)?;
        for op in batch {
            match op {
                Op::PutMachine(k, v) => {
                    machines.insert(k.as_str(), v.as_str())?;
                }
                Op::DeleteMachine(k) => {
                    machines.remove(k.as_str())?;
                }
                Op::PutVersion(k, v) => {
                    versions.insert(k.as_str(), v.as_str())?;
                }
                Op::PutExecution(k, v) => {
                    executions.insert(k.as_str(), v.as_str())?;
                }
                Op::Event(arn, event) => {
                    let json = event.to_stored_json();
                    events.insert((&*arn, event.id), json.to_string().as_str())?;
                    finish_record(&mut executions, &arn, &json)?;
                }
                Op::RawEvent(arn, id, json) => {
                    events.insert((arn.as_str(), id), json.as_str())?;
                    if let Ok(v) = serde_json::from_str::<Value>(&json) {
                        finish_record(&mut executions, &arn, &v)?;
                    }
                }
                Op::Barrier(b) => barriers.push(b),
                Op::Close(done) => *closed = Some(done),
            }
        }
    }
    w.commit()?;
    Ok(())
}

/// Marks the execution record finished when `event` is its final event.
fn finish_record(
    executions: &mut redb::Table<'_, &'static str, &'static str>,
    arn: &str,
    event: &Value,
) -> Result<(), redb::Error> {
    if !event["type"].as_str().is_some_and(|t| t.starts_with("Execution") && t != "ExecutionStarted") {
        return Ok(());
    }
    let record = executions.get(arn)?.and_then(|v| serde_json::from_str::<ExecutionRecord>(v.value()).ok());
    if let Some(mut record) = record
        && record.apply_final(event)
    {
        let text = serde_json::to_string(&record).unwrap_or_default();
        executions.insert(arn, text.as_str())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(arn: &str, seq: u64) -> ExecutionRecord {
        ExecutionRecord {
            arn: arn.into(),
            name: "e".into(),
            machine: "m".into(),
            version: "v".into(),
            input: "{}".into(),
            role_arn: None,
            start_ms: 1_000,
            seq,
            status: "RUNNING".into(),
            stop_ms: None,
            output: None,
            error: None,
            cause: None,
        }
    }

    #[tokio::test]
    async fn records_survive_reopening_and_final_events_win() {
        let dir = std::env::temp_dir().join(format!("sfn-journal-{}", uuid::Uuid::new_v4()));
        {
            let (j, s) = Journal::open(&dir).unwrap();
            assert!(s.executions.is_empty());
            j.put_execution(&record("a", 2));
            j.put_execution(&record("b", 1));
            j.put_raw_event("a", 1, &json!({"id": 1, "type": "ExecutionStarted", "timestamp": 1.0}));
            // The final event of `b` arrives; its record is updated in the same batch.
            j.put_raw_event(
                "b",
                1,
                &json!({"id": 1, "type": "ExecutionFailed", "timestamp": 2.5, "executionFailedEventDetails": {"error": "E", "cause": "C"}}),
            );
            j.barrier().await;
            assert_eq!(j.events("a").unwrap().len(), 1);
        }
        // The writer thread of the first journal still holds the file until its channel closes.
        let mut reopened = None;
        for _ in 0..100 {
            match Journal::open(&dir) {
                Ok(x) => {
                    reopened = Some(x);
                    break;
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
        let (_j, s) = reopened.expect("reopen");
        let names: Vec<_> = s.executions.iter().map(|e| (e.arn.as_str(), e.status.as_str())).collect();
        assert_eq!(names, [("b", "FAILED"), ("a", "RUNNING")]);
        assert_eq!(s.executions[0].stop_ms, Some(2_500));
        assert_eq!(s.executions[0].error.as_deref(), Some("E"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
