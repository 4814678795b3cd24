//! `sfn journal check` and `sfn journal salvage`: what a journal holds and what of it is damaged, and a
//! copy of every intact record into a new journal.

use std::path::{Path, PathBuf};

use redb::{Database, ReadTransaction, ReadableDatabase as _, ReadableTable as _, TableDefinition};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::store::{self, ACTIVITIES, EVENTS, EXECUTIONS, MACHINES, OpenError, RecordCounts, VERSIONS};
use super::{
    ActivityRecord, ExecutionRecord, JOURNAL_FILE, MachineRecord, VersionRecord, damaged, store_err,
};
use crate::error::ServerError;

/// What [`check`] found in a journal.
#[derive(Debug, Clone)]
pub struct JournalCheck {
    /// The journal file.
    pub path: PathBuf,
    /// Its format (1: written before records carried checksums; `sfn serve` seals it in place), when it
    /// could be read.
    pub format: Option<u32>,
    /// The intact records.
    pub counts: RecordCounts,
    /// Every problem found, each naming its record; empty when the journal is intact.
    pub problems: Vec<String>,
}

impl JournalCheck {
    /// Whether nothing is damaged.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What [`salvage`] copied and what it left behind.
#[derive(Debug, Clone)]
pub struct SalvageReport {
    /// The damaged journal.
    pub source: PathBuf,
    /// The new journal.
    pub target: PathBuf,
    /// The records copied.
    pub copied: RecordCounts,
    /// Every record not copied, and why.
    pub skipped: Vec<String>,
    /// What else happened (the integrity check that failed, files copied alongside).
    pub notes: Vec<String>,
}

fn journal_path(dir: &Path) -> Result<PathBuf, ServerError> {
    let path = dir.join(JOURNAL_FILE);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(path),
        Ok(_) => Err(store_err(&path, "it is not a file")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(store_err(dir, format!("there is no journal ({JOURNAL_FILE}) here")))
        }
        Err(e) => Err(store_err(&path, e)),
    }
}

fn empty_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() == 0)
}

/// Checks the journal of the state directory `dir` as the server does when it opens it (redb's integrity
/// check, every record's checksum, every reference to a version), without changing what it holds (redb
/// may finish recovering from a crash, as any open does). `Err` when there is no journal or it cannot be
/// opened for another reason than damage (another process holds it).
pub fn check(dir: &Path) -> Result<JournalCheck, ServerError> {
    let path = journal_path(dir)?;
    let mut out = JournalCheck {
        path: path.clone(),
        format: None,
        counts: RecordCounts::default(),
        problems: Vec::new(),
    };
    if empty_file(&path) {
        out.problems
            .push("the file is empty (0 bytes): it was truncated, and whatever it held is gone".to_owned());
        return Ok(out);
    }
    // Before redb opens it (an open can write).
    if let Err(problem) = store::check_header(&path) {
        out.problems.push(problem);
        return Ok(out);
    }
    let db = match store::open_checked(&path, false) {
        Ok(db) => db,
        Err(OpenError::Corrupt(problem)) => {
            out.problems.push(problem);
            return Ok(out);
        }
        Err(OpenError::Other(message)) => return Err(store_err(&path, message)),
    };
    let scanned = store::guarded("reading the records", || -> Result<_, String> {
        let r = db.begin_read().map_err(|e| e.to_string())?;
        let format = store::format_of(&r)?.unwrap_or(store::LEGACY_FORMAT);
        let scan =
            store::scan(&r, format == store::LEGACY_FORMAT).map_err(|e| format!("reading it failed: {e}"))?;
        Ok((format, scan))
    });
    match scanned {
        Ok(Ok((format, scan))) => {
            out.format = Some(format);
            out.counts = scan.counts;
            out.problems = scan.problems;
        }
        Ok(Err(problem)) | Err(problem) => out.problems.push(problem),
    }
    Ok(out)
}

/// Copies every readable record of the journal in `dir` whose checksum holds into a new journal in
/// `new_dir` (which must be new or empty), and the other files of `dir` (e.g. the ECS simulator's
/// `sim-tasks.jsonl`) beside it.
///
/// When redb can still open the file (it passes redb's integrity check), the records are read through
/// redb. When it cannot (a damaged header or page), they are found in the file's raw bytes — every record
/// carries its own checksum, key and commit number — keeping each key's newest copy; a record whose newest
/// copy was damaged then comes back as an older one (the report says so). Either way, a state machine or
/// an execution whose version is lost is skipped, and an execution's history is kept up to its first
/// damaged or missing event (resuming continues from there, as after a crash that lost the journal's tail).
/// The report lists everything skipped.
pub fn salvage(dir: &Path, new_dir: &Path) -> Result<SalvageReport, ServerError> {
    let source = journal_path(dir)?;
    let target = new_dir.join(JOURNAL_FILE);
    if empty_file(&source) {
        return Err(damaged(&source, "the file is empty (0 bytes): there is nothing to salvage"));
    }
    if std::fs::read_dir(new_dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(store_err(new_dir, "it is not empty; salvage writes into a new (or empty) directory"));
    }
    let mut notes = Vec::new();
    // An older commit come back: redb would serve it, but the newer pages are still in the file (and an
    // open could overwrite them), so the raw bytes are read instead.
    let through_redb = match store::check_header(&source) {
        Err(problem) => Err(problem),
        Ok(()) => match store::open_checked(&source, false) {
            Ok(db) => Ok(store::guarded("reading the records", || read_all(&db))
                .and_then(|r| r)
                .map_err(|e| damaged(&source, format!("nothing of it can be read: {e}")))?),
            Err(OpenError::Other(message)) => return Err(store_err(&source, message)),
            Err(OpenError::Corrupt(problem)) => Err(problem),
        },
    };
    let found = match through_redb {
        Ok(found) => found,
        Err(problem) => {
            notes.push(format!(
                "{problem}: records were read from its raw bytes instead, each key's newest intact copy (a record whose newest copy was damaged comes back as an older one)"
            ));
            let bytes = std::fs::read(&source).map_err(|e| store_err(&source, e))?;
            raw(&bytes)
        }
    };
    let Found { activities, machines, versions, executions, events, mut skipped } = found;
    let kept: std::collections::HashSet<&str> = versions.iter().map(|v| v.id.as_str()).collect();
    let machines: Vec<MachineRecord> = machines
        .into_iter()
        .filter(|m| {
            let ok = kept.contains(m.version.as_str());
            if !ok {
                skipped.push(format!("state machine {}: its version {} is lost", m.name, m.version));
            }
            ok
        })
        .collect();
    let mut copied_events = Vec::new();
    let mut copied_executions = Vec::new();
    for (e, history) in executions.into_iter().zip(events) {
        if kept.contains(e.version.as_str()) {
            copied_events.push(history);
            copied_executions.push(e);
        } else {
            skipped.push(format!(
                "execution {}: its version {} is lost (and its {} event(s) with it)",
                e.arn,
                e.version,
                history.len()
            ));
        }
    }
    std::fs::create_dir_all(new_dir).map_err(|e| store_err(new_dir, e))?;
    let records = Records { activities: &activities, machines: &machines, versions: &versions };
    write_journal(&target, &records, &copied_executions, &copied_events)?;
    let sidecar = store::sidecar_path(&source);
    for entry in std::fs::read_dir(dir).map_err(|e| store_err(dir, e))?.flatten() {
        let name = entry.file_name();
        if name == JOURNAL_FILE
            || sidecar.file_name() == Some(name.as_os_str())
            || !entry.file_type().is_ok_and(|t| t.is_file())
        {
            continue;
        }
        std::fs::copy(entry.path(), new_dir.join(&name)).map_err(|e| store_err(&entry.path(), e))?;
        notes.push(format!("copied {} as it is", name.to_string_lossy()));
    }
    let verified = check(new_dir)?;
    if !verified.intact() {
        return Err(damaged(
            &target,
            format!("the salvaged journal fails its own check: {}", super::summary(&verified.problems)),
        ));
    }
    Ok(SalvageReport { source, target, copied: verified.counts, skipped, notes })
}

/// The records found in a file's raw bytes: each key's newest intact copy (a deleted state machine's
/// tombstone wins over its older records), each execution's events up to the first missing one.
fn raw(bytes: &[u8]) -> Found {
    let mut newest: std::collections::HashMap<(String, String), (u64, String)> =
        std::collections::HashMap::new();
    for (commit, table, key, text) in store::raw_records(bytes) {
        // A machine and its tombstone compete for the same key.
        let table = if table == store::T_DELETED { store::T_MACHINES.to_owned() } else { table };
        let slot = newest.entry((table, key)).or_insert((0, String::new()));
        if commit >= slot.0 {
            *slot = (commit, text);
        }
    }
    let mut skipped = Vec::new();
    let (mut machines, mut versions, mut executions) = (Vec::new(), Vec::new(), Vec::new());
    let mut activities = Vec::new();
    let mut events: std::collections::HashMap<String, std::collections::BTreeMap<u64, String>> =
        std::collections::HashMap::new();
    let mut sorted: Vec<_> = newest.into_iter().collect();
    sorted.sort();
    for ((table, key), (_, text)) in sorted {
        let bad = |e: serde_json::Error| format!("{table} record {key}: it is not a readable record: {e}");
        match table.as_str() {
            store::T_MACHINES if text == "{}" => {}
            store::T_MACHINES => match serde_json::from_str::<MachineRecord>(&text) {
                Ok(m) if m.name == key => machines.push(m),
                Ok(_) => skipped.push(format!("{table} record {key}: it holds another record")),
                Err(e) => skipped.push(bad(e)),
            },
            store::T_VERSIONS => match serde_json::from_str::<VersionRecord>(&text) {
                Ok(v) if v.id == key => versions.push(v),
                Ok(_) => skipped.push(format!("{table} record {key}: it holds another record")),
                Err(e) => skipped.push(bad(e)),
            },
            store::T_EXECUTIONS => match serde_json::from_str::<ExecutionRecord>(&text) {
                Ok(e) if e.arn == key => executions.push(e),
                Ok(_) => skipped.push(format!("{table} record {key}: it holds another record")),
                Err(e) => skipped.push(bad(e)),
            },
            store::T_ACTIVITIES => match serde_json::from_str::<ActivityRecord>(&text) {
                Ok(a) if a.name == key => activities.push(a),
                Ok(_) => skipped.push(format!("{table} record {key}: it holds another record")),
                Err(e) => skipped.push(bad(e)),
            },
            store::T_EVENTS => {
                let parsed = key.rsplit_once('#').and_then(|(arn, id)| Some((arn, id.parse::<u64>().ok()?)));
                match parsed {
                    Some((arn, id)) if store::check_event(&text, id).is_ok() => {
                        events.entry(arn.to_owned()).or_default().insert(id, text);
                    }
                    _ => skipped.push(format!("event {key}: it is not a readable event")),
                }
            }
            _ => skipped.push(format!("a record of an unknown table {table} (key {key})")),
        }
    }
    executions.sort_by_key(|e| e.seq);
    let mut histories = Vec::new();
    for e in &mut executions {
        let mut history = Vec::new();
        let mut found = events.remove(&e.arn).unwrap_or_default();
        let total = found.len();
        // The last event found says how the execution ended, even when events before it are lost.
        let last = found.values().next_back().and_then(|t| serde_json::from_str::<Value>(t).ok());
        for id in 1.. {
            match found.remove(&id) {
                Some(text) => history.push((id, text)),
                None => break,
            }
        }
        if history.len() < total {
            skipped.push(format!(
                "execution {}: event {} is lost; kept its first {} event(s) of the {total} found",
                e.arn,
                history.len() + 1,
                history.len()
            ));
        }
        if e.status == "RUNNING"
            && let Some(last) = &last
        {
            // The final event may have been committed before the record caught up.
            e.apply_final(last);
        }
        histories.push(history);
    }
    for (arn, found) in events {
        skipped.push(format!("{} event(s) of execution {arn}, whose record is lost", found.len()));
    }
    Found { activities, machines, versions, executions, events: histories, skipped }
}

/// The readable records of a journal, each execution with its history up to the first damaged event.
struct Found {
    activities: Vec<ActivityRecord>,
    machines: Vec<MachineRecord>,
    versions: Vec<VersionRecord>,
    executions: Vec<ExecutionRecord>,
    /// The stored (sealed) events of each execution, in order: (id, stored text).
    events: Vec<Vec<(u64, String)>>,
    skipped: Vec<String>,
}

fn read_all(db: &Database) -> Result<Found, String> {
    let r = db.begin_read().map_err(|e| e.to_string())?;
    let mut skipped = Vec::new();
    let legacy = match store::format_of(&r) {
        Ok(f) => f.unwrap_or(store::LEGACY_FORMAT) == store::LEGACY_FORMAT,
        Err(e) => {
            skipped.push(format!("the format record: {e} (read as format {})", store::FORMAT));
            false
        }
    };
    let machines =
        records::<MachineRecord>(&r, MACHINES, store::T_MACHINES, legacy, &mut skipped, |m| &m.name);
    let versions = records::<VersionRecord>(&r, VERSIONS, store::T_VERSIONS, legacy, &mut skipped, |v| &v.id);
    let mut executions =
        records::<ExecutionRecord>(&r, EXECUTIONS, store::T_EXECUTIONS, legacy, &mut skipped, |e| &e.arn);
    executions.sort_by_key(|e| e.seq);
    let mut events = Vec::new();
    for e in &mut executions {
        let History { kept, problem, last } = history(&r, &e.arn, legacy);
        if let Some(problem) = problem {
            skipped.push(format!("execution {}: {problem}; kept its first {} event(s)", e.arn, kept.len()));
        }
        if e.status == "RUNNING"
            && let Some(last) = &last
        {
            // The final event may have been committed before the record caught up (it says how the
            // execution ended even when events before it are lost).
            e.apply_final(last);
        }
        events.push(kept.into_iter().map(|(id, v)| (id, v.to_string())).collect());
    }
    // Journals of earlier builds have no activities table.
    let activities = match r.open_table(ACTIVITIES) {
        Err(redb::TableError::TableDoesNotExist(_)) => Vec::new(),
        _ => {
            records::<ActivityRecord>(&r, ACTIVITIES, store::T_ACTIVITIES, legacy, &mut skipped, |a| &a.name)
        }
    };
    Ok(Found { activities, machines, versions, executions, events, skipped })
}

/// The records of a table that read and check; the others are described in `skipped`.
fn records<T: DeserializeOwned>(
    r: &ReadTransaction,
    def: TableDefinition<&str, &str>,
    name: &str,
    legacy: bool,
    skipped: &mut Vec<String>,
    key_of: impl Fn(&T) -> &str,
) -> Vec<T> {
    let mut out = Vec::new();
    let read = store::guarded("reading a table", || -> Result<(), String> {
        let t = r.open_table(def).map_err(|e| e.to_string())?;
        for row in t.iter().map_err(|e| e.to_string())? {
            let (k, v) = row.map_err(|e| e.to_string())?;
            let key = k.value();
            let record = store::unseal(name, key, v.value(), legacy).and_then(|text| {
                serde_json::from_str::<T>(text).map_err(|e| format!("it is not a readable record: {e}"))
            });
            match record {
                Ok(rec) if key_of(&rec) == key => out.push(rec),
                Ok(rec) => {
                    skipped.push(format!("{name} record {key}: it holds the record of {}", key_of(&rec)))
                }
                Err(e) => skipped.push(format!("{name} record {key}: {e}")),
            }
        }
        Ok(())
    });
    match read {
        Ok(Ok(())) => {}
        Ok(Err(e)) | Err(e) => {
            skipped.push(format!("the {name} table could not be read past {} record(s): {e}", out.len()))
        }
    }
    out
}

/// An execution's history as salvaged: its events up to the first that is damaged, missing (ids run 1, 2,
/// 3, …) or unreadable; what stopped the copy there; and the last intact event found at all, which says
/// how the execution ended even when events before it are lost.
struct History {
    kept: Vec<(u64, Value)>,
    problem: Option<String>,
    last: Option<Value>,
}

fn history(r: &ReadTransaction, arn: &str, legacy: bool) -> History {
    let mut h = History { kept: Vec::new(), problem: None, last: None };
    let read = store::guarded("reading events", || -> Result<(), String> {
        let t = r.open_table(EVENTS).map_err(|e| e.to_string())?;
        for row in t.range((arn, 0)..=(arn, u64::MAX)).map_err(|e| e.to_string())? {
            let (k, v) = row.map_err(|e| e.to_string())?;
            let id = k.value().1;
            let event = store::unseal(store::T_EVENTS, &store::event_key(arn, id), v.value(), legacy)
                .and_then(|text| store::check_event(text, id));
            let expected = h.kept.len() as u64 + 1;
            match event {
                Ok(event) if h.problem.is_none() && id == expected => {
                    h.last = Some(event.clone());
                    h.kept.push((id, event));
                }
                Ok(event) => {
                    h.problem.get_or_insert_with(|| format!("event {expected} is missing"));
                    h.last = Some(event);
                }
                Err(e) => {
                    h.problem.get_or_insert_with(|| format!("event {id}: {e}"));
                }
            }
        }
        Ok(())
    });
    if let Ok(Err(e)) | Err(e) = read {
        h.problem
            .get_or_insert_with(|| format!("its events could not be read past event {}: {e}", h.kept.len()));
    }
    h
}

/// What a salvage writes besides the executions.
struct Records<'a> {
    activities: &'a [ActivityRecord],
    machines: &'a [MachineRecord],
    versions: &'a [VersionRecord],
}

fn write_journal(
    target: &Path,
    records: &Records<'_>,
    executions: &[ExecutionRecord],
    events: &[Vec<(u64, String)>],
) -> Result<(), ServerError> {
    let db = store::open_checked(target, true).map_err(|e| store_err(target, e))?;
    store::prepare(&db).map_err(|e| store_err(target, e))?;
    let write = || -> Result<(), redb::Error> {
        let w = store::begin_write(&db)?;
        let n = store::bump_commits(&w)?;
        let seal = |table: &str, key: &str, text: &str| store::seal(n, table, key, text);
        let Records { activities, machines, versions } = records;
        {
            let mut t = w.open_table(ACTIVITIES)?;
            for a in *activities {
                let text = serde_json::to_string(a).map_err(|e| redb::Error::Corrupted(e.to_string()))?;
                t.insert(a.name.as_str(), seal(store::T_ACTIVITIES, &a.name, &text).as_str())?;
            }
            let mut t = w.open_table(MACHINES)?;
            for m in *machines {
                let text = serde_json::to_string(m).map_err(|e| redb::Error::Corrupted(e.to_string()))?;
                t.insert(m.name.as_str(), seal(store::T_MACHINES, &m.name, &text).as_str())?;
            }
            let mut t = w.open_table(VERSIONS)?;
            for v in *versions {
                let text = serde_json::to_string(v).map_err(|e| redb::Error::Corrupted(e.to_string()))?;
                t.insert(v.id.as_str(), seal(store::T_VERSIONS, &v.id, &text).as_str())?;
            }
            let mut t = w.open_table(EXECUTIONS)?;
            for e in executions {
                let text = serde_json::to_string(e).map_err(|e| redb::Error::Corrupted(e.to_string()))?;
                t.insert(e.arn.as_str(), seal(store::T_EXECUTIONS, &e.arn, &text).as_str())?;
            }
            let mut t = w.open_table(EVENTS)?;
            for (e, history) in executions.iter().zip(events) {
                for (id, text) in history {
                    let sealed = seal(store::T_EVENTS, &store::event_key(&e.arn, *id), text);
                    t.insert((e.arn.as_str(), *id), sealed.as_str())?;
                }
            }
        }
        w.commit()?;
        Ok(())
    };
    write().map_err(|e| store_err(target, e))?;
    drop(db);
    store::Sidecar::open(target)
        .and_then(|mut s| s.record())
        .map_err(|e| store_err(&store::sidecar_path(target), e))
}
