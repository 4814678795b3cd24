//! The durable journal behind `--state-dir`: state machines, their versions, executions and every history
//! event, in one redb database (`<state-dir>/sfn.redb`).
//!
//! Writes go through one writer thread fed by a channel: the engine's [`EventSink`] only enqueues (it is
//! called under the history's lock), and the writer commits whatever is queued as one transaction with
//! `Durability::Immediate` and two-phase commit (group commit: one batch, however many events it holds).
//! An API call that must be durable before it answers (CreateStateMachine, StartExecution, …) enqueues its
//! record and then waits on a barrier ([`Journal::barrier`]) that answers once that record's batch is
//! committed, or with the error of the commit that failed: the call then fails (HTTP 503) instead of
//! answering for a record that is not on disk.
//!
//! A failed commit loses nothing: the writer keeps every uncommitted operation, reopens the database (redb
//! answers `PreviousIo` to everything after an I/O error until the file is reopened; readers wait for the
//! new handle) and tries again with back-off ([`RETRY_FIRST`] doubling to [`RETRY_MAX`]), so writes
//! succeed again once, say, disk space is back. Meanwhile API barriers fail at once and reads answer.
//!
//! Tables: `machines` (name → record), `versions` (id → definition, role, type…), `executions` (ARN →
//! record), `activities` (name → creation date; absent from journals of earlier builds), `events` ((execution ARN, event id) → the event in GetExecutionHistory's JSON shape, with
//! its data, plus what resuming needs and the API does not show: [`Event::to_stored_json`]) and `meta`
//! (the format). Every value is sealed with a SHA-256 of its table, key and text (`store`); every open
//! runs redb's integrity check and checks every seal, and a damaged journal is refused with
//! [`ServerError::Journal`] — never a panic, never a start with records missing or altered.
//! [`check`] and [`salvage`] (`sfn journal check|salvage`) say what is damaged and copy what is not.
//!
//! The sink's [`EventSink::durable`] is a barrier too, but one that never fails: the engine awaits it
//! before a Task calls its service, so a task's `TaskScheduled`/`TaskStarted` (its idempotency key and
//! callback token) are committed before the call is made — while they cannot be committed the task waits
//! — and a resumed execution never makes it twice. The last event of an execution is the authority on how
//! it ended: a record still marked RUNNING whose last event is `ExecutionSucceeded`/`Failed`/`Aborted`/
//! `TimedOut` ended before the record caught up.

mod salvage;
mod store;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use redb::{Database, ReadableDatabase as _, ReadableTable as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sfn_engine::{Durable, Event, EventSink};
use tokio::sync::oneshot;

use crate::error::ServerError;

pub use salvage::{JournalCheck, SalvageReport, check, salvage};
pub use store::RecordCounts;
use store::{
    ACTIVITIES, DELETED, EVENTS, EXECUTIONS, MACHINES, OpenError, T_ACTIVITIES, T_DELETED, T_EVENTS,
    T_EXECUTIONS, T_MACHINES, T_VERSIONS, VERSIONS,
};

/// The journal's file in a state directory.
pub const JOURNAL_FILE: &str = "sfn.redb";

/// Largest number of queued operations taken into one transaction (while commits succeed).
const MAX_BATCH: usize = 8192;
/// The first wait before a failed commit is tried again; it doubles up to [`RETRY_MAX`].
pub(crate) const RETRY_FIRST: Duration = Duration::from_millis(50);
/// The longest wait between two attempts.
pub(crate) const RETRY_MAX: Duration = Duration::from_secs(5);
/// How long a closing journal keeps trying to commit what is still pending.
const CLOSE_RETRY: Duration = Duration::from_secs(5);
/// How long a read waits for the writer to reopen the database.
const READ_WAIT: Duration = Duration::from_secs(5);

/// A state machine as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MachineRecord {
    pub(crate) name: String,
    /// The current version's id.
    pub(crate) version: String,
    /// Epoch milliseconds.
    pub(crate) creation_ms: i64,
    pub(crate) tags: Vec<(String, String)>,
    /// Its published versions (absent in journals written before versions were journaled).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) published: Vec<PublishedRecord>,
    /// The highest version number given (numbers are never reused).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) last_version: u64,
    /// Its aliases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) aliases: Vec<AliasRecord>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A published version: its number and the version record (by id) it froze.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PublishedRecord {
    pub(crate) number: u64,
    pub(crate) version: String,
    pub(crate) description: Option<String>,
    pub(crate) creation_ms: i64,
}

/// An alias: (version number, weight) pairs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AliasRecord {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) routing: Vec<(u64, u64)>,
    pub(crate) creation_ms: i64,
    pub(crate) update_ms: i64,
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
    /// The Step Functions Local test case it runs (`…:stateMachine:NAME#TestCase`); it resumes with the
    /// same mocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) test_case: Option<String>,
    /// Started on a version (or an alias): the version's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version_arn: Option<String>,
    /// Started on an alias: its ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) alias_arn: Option<String>,
    /// How often it was redriven (its history holds every run, each redrive's events after its
    /// `ExecutionRedriven`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) redrive_count: u64,
    /// When it was last redriven (epoch milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) redrive_ms: Option<i64>,
    /// A child execution of a map run: the map run's ARN (`machine`/`version` are its parent's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) map_run_arn: Option<String>,
    /// A map run's child: the index of its item (or batch), by which a resumed or redriven map run
    /// finds it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) map_index: Option<u64>,
    /// The map runs its Distributed Maps started, as they stood when last journaled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) map_runs: Vec<MapRunRecord>,
}

/// A map run as stored (in its execution's record): DescribeMapRun's facts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MapRunRecord {
    pub(crate) arn: String,
    pub(crate) state_machine_arn: String,
    pub(crate) label: String,
    pub(crate) express: bool,
    pub(crate) start_ms: i64,
    pub(crate) status: String,
    pub(crate) stop_ms: Option<i64>,
    pub(crate) max_concurrency: u64,
    pub(crate) tolerated_failure_count: Option<f64>,
    pub(crate) tolerated_failure_percentage: Option<f64>,
    /// pending, running, succeeded, failed, timedOut, aborted, total, resultsWritten.
    pub(crate) items: [u64; 8],
    pub(crate) executions: [u64; 8],
    /// How often it was redriven (with its execution), and when last (epoch milliseconds).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) redrive_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) redrive_ms: Option<i64>,
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

/// An activity as stored (its ARN is the server's region and account and this name).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ActivityRecord {
    pub(crate) name: String,
    /// Epoch milliseconds.
    pub(crate) creation_ms: i64,
}

/// Everything the journal held when it was opened.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) activities: Vec<ActivityRecord>,
    pub(crate) machines: Vec<MachineRecord>,
    pub(crate) versions: Vec<VersionRecord>,
    /// Executions in start order (by `seq`).
    pub(crate) executions: Vec<ExecutionRecord>,
}

/// A table of records keyed by a string.
#[derive(Debug, Clone, Copy)]
enum Table {
    Machines,
    Versions,
    Executions,
    Activities,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Machines => T_MACHINES,
            Table::Versions => T_VERSIONS,
            Table::Executions => T_EXECUTIONS,
            Table::Activities => T_ACTIVITIES,
        }
    }
}

/// One uncommitted write (sealed when it is committed, with that commit's number).
enum Write {
    Put {
        table: Table,
        key: String,
        text: String,
    },
    Delete {
        table: Table,
        key: String,
    },
    /// An event; `last` holds it parsed when it is the execution's final event (its record is updated in
    /// the same transaction).
    Event {
        arn: Arc<str>,
        id: u64,
        text: String,
        last: Option<Value>,
    },
}

impl Write {
    fn event(arn: Arc<str>, id: u64, json: Value) -> Write {
        let text = json.to_string();
        let last = store::is_final(&json).then_some(json);
        Write::Event { arn, id, text, last }
    }
}

enum Op {
    Write(Write),
    /// An event of the engine's sink (serialized by the writer, not under the history's lock).
    Event(Arc<str>, Box<Event>),
    /// An API barrier: answered once everything before it is committed, or with the error of the attempt
    /// that failed to commit it.
    Barrier(oneshot::Sender<Result<(), String>>),
    /// The sink's barrier: answered only once everything before it is committed.
    Durable(oneshot::Sender<()>),
    /// Commit what is queued (trying for at most [`CLOSE_RETRY`]), then stop the writer (it releases the
    /// database file).
    Close(oneshot::Sender<()>),
}

/// The database handle shared by the writer and the readers; the writer swaps it when it reopens the file.
struct Handle {
    /// The state, and how many times it was set (so a reader can wait for the handle it had to go).
    state: Mutex<(DbState, u64)>,
    changed: Condvar,
}

enum DbState {
    Open(Arc<Database>),
    /// The writer is closing and reopening the file (readers wait, at most [`READ_WAIT`]).
    Reopening,
    /// The file could not be reopened yet (the writer tries again at its next attempt).
    Broken(String),
    Closed,
}

impl Handle {
    fn new(db: Database) -> Handle {
        Handle { state: Mutex::new((DbState::Open(Arc::new(db)), 0)), changed: Condvar::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (DbState, u64)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, state: DbState) -> DbState {
        let mut guard = self.lock();
        guard.1 = guard.1.wrapping_add(1);
        let old = std::mem::replace(&mut guard.0, state);
        drop(guard);
        self.changed.notify_all();
        old
    }

    /// The current database and its generation, waiting out a reopen.
    fn get(&self) -> Result<(Arc<Database>, u64), String> {
        let deadline = Instant::now() + READ_WAIT;
        let mut state = self.lock();
        loop {
            match &state.0 {
                DbState::Open(db) => return Ok((db.clone(), state.1)),
                DbState::Closed => return Err("the journal is closed".to_owned()),
                DbState::Broken(why) => return Err(format!("the journal cannot be read: {why}")),
                DbState::Reopening => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err("the journal is being reopened after a write error".to_owned());
                    }
                    state =
                        self.changed.wait_timeout(state, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
                }
            }
        }
    }

    /// Waits (at most [`READ_WAIT`]) until the handle of generation `generation` is replaced.
    fn wait_replaced(&self, generation: u64) {
        let deadline = Instant::now() + READ_WAIT;
        let mut state = self.lock();
        while state.1 == generation {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            state = self.changed.wait_timeout(state, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}

/// The journal: cheap to clone; every clone feeds the same writer thread.
#[derive(Clone)]
pub(crate) struct Journal {
    handle: Arc<Handle>,
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

/// The error for a journal that cannot be used as it is.
pub(crate) fn damaged(path: &Path, problem: impl Into<String>) -> ServerError {
    let dir = path.parent().map(Path::to_owned).unwrap_or_default();
    ServerError::Journal { path: path.to_owned(), dir, problem: problem.into() }
}

fn open_err(path: &Path, e: OpenError) -> ServerError {
    match e {
        OpenError::Corrupt(problem) => damaged(path, problem),
        OpenError::Other(message) => store_err(path, message),
    }
}

/// Says what is wrong with a list of problems: how many, and the first few.
pub(crate) fn summary(problems: &[String]) -> String {
    const SHOWN: usize = 3;
    let first: Vec<&str> = problems.iter().take(SHOWN).map(String::as_str).collect();
    let more = problems.len().saturating_sub(SHOWN);
    let tail = if more > 0 { format!("; and {more} more") } else { String::new() };
    format!("{} damaged record(s): {}{tail}", problems.len(), first.join("; "))
}

/// Whether `path` may be created (`Ok(true)`), exists with content (`Ok(false)`), or is refused.
fn creatable(path: &Path) -> Result<bool, ServerError> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => Err(store_err(path, "it is not a file")),
        Ok(m) if m.len() == 0 => Err(damaged(
            path,
            "the file is empty (0 bytes): it was truncated, and whatever it held is gone (even a new journal holds a header)",
        )),
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(store_err(path, e)),
    }
}

impl Journal {
    /// Opens (or creates) `<dir>/sfn.redb`, checks it whole (redb's integrity check, every record's seal,
    /// every reference to a version) and reads everything but the events. A damaged file is refused
    /// ([`ServerError::Journal`]); so is an empty one (a directory without the file starts empty).
    pub(crate) fn open(dir: &Path) -> Result<(Journal, Snapshot), ServerError> {
        std::fs::create_dir_all(dir).map_err(|e| store_err(dir, e))?;
        let path = dir.join(JOURNAL_FILE);
        let create = creatable(&path)?;
        if !create {
            // Before redb opens it: an open can write, and would overwrite what a salvage needs.
            store::check_header(&path).map_err(|e| damaged(&path, e))?;
        }
        let db = store::open_checked(&path, create).map_err(|e| open_err(&path, e))?;
        store::prepare(&db).map_err(|e| open_err(&path, e))?;
        let scan = store::guarded("reading the records", || {
            let r = db.begin_read()?;
            store::scan(&r, false)
        })
        .map_err(|e| damaged(&path, e))?
        .map_err(|e| damaged(&path, format!("reading it failed: {e}")))?;
        if !scan.problems.is_empty() {
            return Err(damaged(&path, summary(&scan.problems)));
        }
        let mut sidecar =
            store::Sidecar::open(&path).map_err(|e| store_err(&store::sidecar_path(&path), e))?;
        sidecar.record().map_err(|e| store_err(&store::sidecar_path(&path), e))?;
        let handle = Arc::new(Handle::new(db));
        let (tx, rx) = mpsc::channel();
        let writer = Writer::new(path.clone(), handle.clone(), sidecar);
        std::thread::Builder::new()
            .name("sfn-journal".into())
            .spawn(move || writer.run(&rx))
            .map_err(|e| store_err(&path, e))?;
        Ok((Journal { handle, tx, path }, scan.snapshot))
    }

    fn send(&self, op: Op) {
        if self.tx.send(op).is_err() {
            tracing::error!("the journal writer has stopped; {} is no longer updated", self.path.display());
        }
    }

    fn put(&self, table: Table, key: &str, record: &impl Serialize) {
        match serde_json::to_string(record) {
            Ok(text) => self.send(Op::Write(Write::Put { table, key: key.to_owned(), text })),
            Err(e) => tracing::error!("a {} record could not be serialized: {e}", table.name()),
        }
    }

    /// Records a state machine (created, updated or tagged).
    pub(crate) fn put_machine(&self, m: &MachineRecord) {
        self.put(Table::Machines, &m.name, m);
    }

    /// Forgets a state machine (its versions stay: executions refer to them).
    pub(crate) fn delete_machine(&self, name: &str) {
        self.send(Op::Write(Write::Delete { table: Table::Machines, key: name.to_owned() }));
    }

    /// Records a version.
    pub(crate) fn put_version(&self, v: &VersionRecord) {
        self.put(Table::Versions, &v.id, v);
    }

    /// Records an activity (CreateActivity).
    pub(crate) fn put_activity(&self, a: &ActivityRecord) {
        self.put(Table::Activities, &a.name, a);
    }

    /// Forgets an activity (DeleteActivity).
    pub(crate) fn delete_activity(&self, name: &str) {
        self.send(Op::Write(Write::Delete { table: Table::Activities, key: name.to_owned() }));
    }

    /// Records an execution.
    pub(crate) fn put_execution(&self, e: &ExecutionRecord) {
        self.put(Table::Executions, &e.arn, e);
    }

    /// Appends an event the server itself produced (in GetExecutionHistory's shape).
    pub(crate) fn put_raw_event(&self, arn: &str, id: u64, event: &Value) {
        self.send(Op::Write(Write::event(Arc::from(arn), id, event.clone())));
    }

    /// Answers once everything enqueued before it is committed, or with why the commit failed (the writes
    /// stay queued and are tried again; a call that waited on this must not answer as if they were on disk).
    pub(crate) async fn barrier(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        let stopped =
            || format!("the journal writer has stopped; {} is no longer updated", self.path.display());
        self.tx.send(Op::Barrier(tx)).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Commits everything enqueued so far (trying for a few seconds if commits fail) and stops the writer
    /// thread, which releases its handle on the database file: another [`Journal::open`] on the same
    /// directory can then succeed. Writes enqueued afterwards are dropped with an error in the log.
    pub(crate) async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        self.send(Op::Close(tx));
        let _ = rx.await;
        self.handle.set(DbState::Closed);
    }

    /// The sink that journals every history event of every execution.
    pub(crate) fn sink(&self) -> Arc<dyn EventSink> {
        Arc::new(JournalSink { tx: Mutex::new(self.tx.clone()) })
    }

    /// The recorded events of an execution with ids `ids` (those that exist), in order
    /// (GetExecutionHistory's shape): one page, read without the rest of the history.
    pub(crate) fn events(&self, arn: &str, ids: std::ops::RangeInclusive<u64>) -> Result<Vec<Value>, String> {
        let mut events = self.stored_events_in(arn, ids)?;
        events.iter_mut().for_each(Event::strip_private);
        Ok(events)
    }

    /// How many events an execution has on record (the id of its last one: ids run from 1 without a gap).
    pub(crate) fn event_count(&self, arn: &str) -> Result<u64, String> {
        self.read(|db| {
            let r = db.begin_read()?;
            let t = r.open_table(EVENTS)?;
            let last = t.range((arn, 0)..=(arn, u64::MAX))?.next_back().transpose()?;
            Ok(Ok(last.map_or(0, |(k, _)| k.value().1)))
        })
    }

    /// The recorded events of an execution as the engine resumes from them.
    pub(crate) fn recorded(&self, arn: &str) -> Result<Vec<Event>, String> {
        self.stored_events(arn)?.iter().map(|v| Event::from_json(v).map_err(|e| e.to_string())).collect()
    }

    /// Runs a read on the current database; one that meets the latched error of a failed write waits for
    /// the writer to reopen the file and runs again.
    fn read<T>(&self, f: impl Fn(&Database) -> Result<Result<T, String>, redb::Error>) -> Result<T, String> {
        let (db, generation) = self.handle.get()?;
        match f(&db) {
            Ok(result) => result,
            Err(redb::Error::PreviousIo | redb::Error::DatabaseClosed) => {
                // Let go of it first: the writer reopens the file once no reader holds the old handle.
                drop(db);
                self.handle.wait_replaced(generation);
                let (db, _) = self.handle.get()?;
                f(&db).map_err(|e| e.to_string())?
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// The recorded events of an execution, in order, as stored ([`Event::to_stored_json`]), each checked
    /// against its seal.
    fn stored_events(&self, arn: &str) -> Result<Vec<Value>, String> {
        self.stored_events_in(arn, 0..=u64::MAX)
    }

    /// The same for the events with ids `ids`.
    fn stored_events_in(&self, arn: &str, ids: std::ops::RangeInclusive<u64>) -> Result<Vec<Value>, String> {
        self.read(|db| {
            let r = db.begin_read()?;
            let t = r.open_table(EVENTS)?;
            let mut out = Vec::new();
            for row in t.range((arn, *ids.start())..=(arn, *ids.end()))? {
                let (k, v) = row?;
                let id = k.value().1;
                let checked = store::unseal(T_EVENTS, &store::event_key(arn, id), v.value(), false)
                    .and_then(|text| store::check_event(text, id));
                match checked {
                    Ok(event) => out.push(event),
                    Err(e) => return Ok(Err(format!("event {id} of {arn} in the journal is damaged: {e}"))),
                }
            }
            Ok(Ok(out))
        })
    }
}

struct JournalSink {
    /// `mpsc::Sender` is `Sync` on current Rust, but a mutex keeps the sink `Sync` on every supported one.
    tx: Mutex<mpsc::Sender<Op>>,
}

impl EventSink for JournalSink {
    fn event(&self, execution_arn: &str, event: &Event) {
        // Serialized by the writer thread, not here: this runs under the history's lock.
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let _ = tx.send(Op::Event(Arc::from(execution_arn), Box::new(event.clone())));
    }

    fn durable(&self) -> Durable {
        let (done, rx) = oneshot::channel();
        let sent = self.tx.lock().unwrap_or_else(|e| e.into_inner()).send(Op::Durable(done)).is_ok();
        Box::pin(async move {
            if !sent || rx.await.is_err() {
                // The writer has stopped (the journal is closed): what came before can no longer become
                // durable, so whoever waits (a Task about to call its service) waits for good rather than
                // act unjournaled. Closing abandons every execution, so nothing is left waiting here.
                std::future::pending::<()>().await;
            }
        })
    }
}

/// Why the last commit failed, and when to try again.
struct Failing {
    error: String,
    attempts: u32,
    since: Instant,
    delay: Duration,
    next: Instant,
}

/// The writer thread's state: what is not committed yet, and who waits for it.
struct Writer {
    path: PathBuf,
    handle: Arc<Handle>,
    /// Where each commit's count is recorded once it is done.
    sidecar: store::Sidecar,
    pending: Vec<Write>,
    barriers: Vec<oneshot::Sender<Result<(), String>>>,
    durable: Vec<oneshot::Sender<()>>,
    failing: Option<Failing>,
    /// Set by [`Op::Close`] (or when every sender is gone): when to stop trying.
    closing: Option<Instant>,
    closed: Vec<oneshot::Sender<()>>,
}

impl Writer {
    fn new(path: PathBuf, handle: Arc<Handle>, sidecar: store::Sidecar) -> Writer {
        Writer {
            path,
            handle,
            sidecar,
            pending: Vec::new(),
            barriers: Vec::new(),
            durable: Vec::new(),
            failing: None,
            closing: None,
            closed: Vec::new(),
        }
    }

    fn take(&mut self, op: Op) {
        match op {
            Op::Write(w) => self.pending.push(w),
            Op::Event(arn, event) => {
                let id = event.id;
                self.pending.push(Write::event(arn, id, event.to_stored_json()));
            }
            Op::Barrier(b) => match &self.failing {
                // Commits are failing: the caller learns it now rather than after the next back-off.
                Some(f) => {
                    let _ = b.send(Err(f.error.clone()));
                }
                None => self.barriers.push(b),
            },
            Op::Durable(d) => self.durable.push(d),
            Op::Close(done) => {
                self.closing.get_or_insert_with(|| Instant::now() + CLOSE_RETRY);
                self.closed.push(done);
            }
        }
    }

    fn disconnected(&mut self) {
        self.closing.get_or_insert_with(|| Instant::now() + CLOSE_RETRY);
    }

    fn run(mut self, rx: &mpsc::Receiver<Op>) {
        loop {
            match &self.failing {
                None => {
                    if self.closing.is_some() {
                        break;
                    }
                    match rx.recv() {
                        Ok(op) => self.take(op),
                        Err(_) => {
                            self.disconnected();
                            break;
                        }
                    }
                    let mut n = 1;
                    while n < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(op) => self.take(op),
                            Err(_) => break,
                        }
                        n += 1;
                    }
                }
                Some(f) => {
                    // Back off, taking what arrives meanwhile.
                    let mut next = f.next;
                    if let Some(deadline) = self.closing {
                        if Instant::now() >= deadline {
                            break;
                        }
                        next = next.min(deadline);
                    }
                    loop {
                        let now = Instant::now();
                        if now >= next {
                            break;
                        }
                        match rx.recv_timeout(next - now) {
                            Ok(op) => self.take(op),
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => {
                                self.disconnected();
                                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                                break;
                            }
                        }
                    }
                }
            }
            self.attempt();
        }
        self.finish();
    }

    /// Commits everything pending, or records why not.
    fn attempt(&mut self) {
        if !self.pending.is_empty() {
            let result = self.database().and_then(|db| commit(&db, &self.pending).map_err(|e| e.to_string()));
            match result {
                Ok(n) => {
                    if let Err(e) = self.sidecar.record() {
                        tracing::warn!(
                            "commit {n} of {} could not be recorded beside it: {e}",
                            self.path.display()
                        );
                    }
                }
                Err(e) => {
                    self.failed(e);
                    return;
                }
            }
            self.pending.clear();
        }
        if let Some(f) = self.failing.take() {
            tracing::warn!(
                "journal writes to {} succeed again, after {} failed attempt(s) over {:.1?}",
                self.path.display(),
                f.attempts,
                f.since.elapsed()
            );
        }
        for b in self.barriers.drain(..) {
            let _ = b.send(Ok(()));
        }
        for d in self.durable.drain(..) {
            let _ = d.send(());
        }
    }

    /// The database to write to; after a failed reopen, tries to reopen it again.
    fn database(&mut self) -> Result<Arc<Database>, String> {
        match &self.handle.lock().0 {
            DbState::Open(db) => return Ok(db.clone()),
            DbState::Closed => return Err("the journal is closed".to_owned()),
            DbState::Reopening | DbState::Broken(_) => {}
        }
        self.reopen();
        match &self.handle.lock().0 {
            DbState::Open(db) => Ok(db.clone()),
            DbState::Broken(why) => Err(why.clone()),
            DbState::Reopening | DbState::Closed => Err("the journal could not be reopened".to_owned()),
        }
    }

    fn failed(&mut self, error: String) {
        let now = Instant::now();
        let f = self.failing.get_or_insert(Failing {
            error: String::new(),
            attempts: 0,
            since: now,
            delay: RETRY_FIRST / 2,
            next: now,
        });
        f.attempts += 1;
        f.delay = (f.delay * 2).min(RETRY_MAX);
        f.next = now + f.delay;
        f.error = format!("the journal {} cannot be written: {error}", self.path.display());
        tracing::error!(
            "{}; {} write(s) kept, trying again in {:?} (attempt {})",
            f.error,
            self.pending.len(),
            f.delay,
            f.attempts
        );
        let error = f.error.clone();
        for b in self.barriers.drain(..) {
            let _ = b.send(Err(error.clone()));
        }
        // redb answers PreviousIo to everything after an I/O error, until the file is reopened.
        if matches!(self.handle.lock().0, DbState::Open(_)) {
            self.reopen();
        }
    }

    /// Closes the database (once no reader holds it) and opens the file again.
    fn reopen(&mut self) {
        if let DbState::Open(db) = self.handle.set(DbState::Reopening) {
            let mut db = db;
            loop {
                match Arc::try_unwrap(db) {
                    Ok(db) => {
                        drop(db);
                        break;
                    }
                    Err(shared) => {
                        // A reader holds it for the length of one read.
                        db = shared;
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
            }
        }
        match store::reopen(&self.path) {
            Ok(db) => {
                self.handle.set(DbState::Open(Arc::new(db)));
            }
            Err(e) => {
                tracing::error!("the journal {} cannot be reopened: {e}", self.path.display());
                self.handle.set(DbState::Broken(format!("reopening it after a write error failed: {e}")));
            }
        }
    }

    fn finish(mut self) {
        if !self.pending.is_empty() {
            let why = self.failing.as_ref().map_or("", |f| f.error.as_str());
            tracing::error!(
                "{} journal write(s) could not be committed before the journal closed and are lost: {why}",
                self.pending.len()
            );
        }
        let error =
            self.failing.as_ref().map_or_else(|| "the journal is closed".to_owned(), |f| f.error.clone());
        for b in self.barriers.drain(..) {
            let _ = b.send(Err(error.clone()));
        }
        // The sink's barriers are dropped unanswered: their waiters never act as if on disk.
        self.durable.clear();
        if let DbState::Open(db) = self.handle.set(DbState::Closed) {
            drop(db);
        }
        for done in self.closed.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Commits `pending` as one transaction; returns its commit number (the journal's commit count).
fn commit(db: &Database, pending: &[Write]) -> Result<u64, redb::Error> {
    let w = store::begin_write(db)?;
    let n = store::bump_commits(&w)?;
    {
        let mut machines = w.open_table(MACHINES)?;
        let mut versions = w.open_table(VERSIONS)?;
        let mut executions = w.open_table(EXECUTIONS)?;
        let mut events = w.open_table(EVENTS)?;
        let mut deleted = w.open_table(DELETED)?;
        let mut activities = w.open_table(ACTIVITIES)?;
        for write in pending {
            match write {
                Write::Put { table, key, text } => {
                    let t = match table {
                        Table::Machines => &mut machines,
                        Table::Versions => &mut versions,
                        Table::Executions => &mut executions,
                        Table::Activities => &mut activities,
                    };
                    t.insert(key.as_str(), store::seal(n, table.name(), key, text).as_str())?;
                }
                Write::Delete { table, key } => {
                    let t = match table {
                        Table::Machines => &mut machines,
                        Table::Versions => &mut versions,
                        Table::Executions => &mut executions,
                        Table::Activities => &mut activities,
                    };
                    t.remove(key.as_str())?;
                    if matches!(table, Table::Machines) {
                        deleted.insert(key.as_str(), store::seal(n, T_DELETED, key, "{}").as_str())?;
                    }
                }
                Write::Event { arn, id, text, last } => {
                    let sealed = store::seal(n, T_EVENTS, &store::event_key(arn, *id), text);
                    events.insert((&**arn, *id), sealed.as_str())?;
                    if let Some(event) = last {
                        finish_record(&mut executions, n, arn, event)?;
                    }
                }
            }
        }
    }
    w.commit()?;
    Ok(n)
}

/// Marks the execution record finished with its final `event`.
fn finish_record(
    executions: &mut redb::Table<'_, &'static str, &'static str>,
    commit: u64,
    arn: &str,
    event: &Value,
) -> Result<(), redb::Error> {
    let record = match executions.get(arn)? {
        Some(v) => store::unseal(T_EXECUTIONS, arn, v.value(), false)
            .and_then(|text| serde_json::from_str::<ExecutionRecord>(text).map_err(|e| e.to_string())),
        None => return Ok(()),
    };
    match record {
        Ok(mut record) => {
            if record.apply_final(event) {
                let text =
                    serde_json::to_string(&record).map_err(|e| redb::Error::Corrupted(e.to_string()))?;
                executions.insert(arn, store::seal(commit, T_EXECUTIONS, arn, &text).as_str())?;
            }
        }
        // The final event is recorded all the same, and the next open reports the damaged record.
        Err(e) => tracing::error!("the journal record of execution {arn} is damaged: {e}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests;
