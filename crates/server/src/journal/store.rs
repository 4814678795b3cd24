//! The journal file itself: its tables, the sealed record format, opening with integrity checks, and the
//! verifying scan that every open runs.
//!
//! Every value is stored sealed: `sha256:<64 hex digits> <commit> <table> <key>\n<JSON text>`, the digest
//! covering the commit number, the table name, the key and the text, so a flipped byte in a record, or a
//! record under another key, is found rather than read (and a salvage can find records in raw bytes). redb checks its own pages (`check_integrity` on every open); the seal covers what a page
//! checksum cannot see (a whole page that is internally consistent but not the one we wrote) and is
//! checked again on every read. The `meta` table says which format the file is in: a journal written
//! before records were sealed (format 1, no `meta` table) is sealed in place when the server opens it.
//!
//! One kind of damage leaves a file that verifies: redb keeps two commit slots and a header bit says which
//! is current, so a flipped bit there brings back the previous commit whole — after a kill -9 that is the
//! last batch gone, silently. No check inside the file can tell it from a commit interrupted by a crash.
//! So after every commit the journal writes redb's transaction id of that commit to a small file beside it
//! ([`Sidecar`], `sfn.redb.commit`), and before redb opens the file (an open can write: recovery, the
//! integrity check's repair) the header is read raw: a current slot older than the recorded commit is
//! refused, with the newer pages still in the file for a salvage to find. The seals carry a commit count of
//! their own (`meta.commits`), which orders the copies of a record that a raw salvage finds.

use std::fmt::Write as _;
use std::path::Path;

use redb::{
    Database, DatabaseError, ReadTransaction, ReadableDatabase as _, ReadableTable as _,
    ReadableTableMetadata as _, StorageError, TableDefinition, WriteTransaction,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::{ActivityRecord, ExecutionRecord, MachineRecord, Snapshot, VersionRecord};

pub(super) const MACHINES: TableDefinition<&str, &str> = TableDefinition::new("machines");
pub(super) const VERSIONS: TableDefinition<&str, &str> = TableDefinition::new("versions");
pub(super) const EXECUTIONS: TableDefinition<&str, &str> = TableDefinition::new("executions");
pub(super) const EVENTS: TableDefinition<(&str, u64), &str> = TableDefinition::new("events");
pub(super) const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
/// Activities (name → record). Journals of builds before it have no such table: none is read as empty.
pub(super) const ACTIVITIES: TableDefinition<&str, &str> = TableDefinition::new("activities");
/// Deleted state machines (name → a sealed `{}`): what tells a raw salvage that a machine's last record
/// found in the file's bytes is not current.
pub(super) const DELETED: TableDefinition<&str, &str> = TableDefinition::new("deleted_machines");

/// The `meta` key holding the format number.
const FORMAT_KEY: &str = "format";
/// The `meta` key counting the journal's commits (the number in each seal).
const COMMITS_KEY: &str = "commits";
/// The format this build writes: sealed records.
pub(super) const FORMAT: u32 = 2;
/// Files written before records were sealed (no `meta` table).
pub(super) const LEGACY_FORMAT: u32 = 1;

const SEAL_PREFIX: &str = "sha256:";

/// The table names as the seals and reports spell them.
pub(super) const T_MACHINES: &str = "machines";
pub(super) const T_VERSIONS: &str = "versions";
pub(super) const T_EXECUTIONS: &str = "executions";
pub(super) const T_EVENTS: &str = "events";
pub(super) const T_DELETED: &str = "deleted_machines";
pub(super) const T_ACTIVITIES: &str = "activities";

/// The key an event's seal covers.
pub(super) fn event_key(arn: &str, id: u64) -> String {
    format!("{arn}#{id}")
}

fn digest(commit: u64, table: &str, key: &str, text: &str) -> String {
    let mut h = Sha256::new();
    h.update(commit.to_string().as_bytes());
    h.update([0]);
    h.update(table.as_bytes());
    h.update([0]);
    h.update(key.as_bytes());
    h.update([0]);
    h.update(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in h.finalize() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The stored form of `text` under `key` of `table`, written by commit number `commit`:
/// `sha256:<digest> <commit> <table> <key>\n<text>`. The line makes a record readable on its own: a
/// salvage that cannot walk redb's pages finds records in the raw bytes, and keeps each key's newest.
pub(super) fn seal(commit: u64, table: &str, key: &str, text: &str) -> String {
    let sum = digest(commit, table, key, text);
    let mut out =
        String::with_capacity(SEAL_PREFIX.len() + sum.len() + table.len() + key.len() + 24 + text.len());
    let _ = write!(out, "{SEAL_PREFIX}{sum} {commit} {table} {key}\n{text}");
    out
}

/// A sealed record taken apart (its digest checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sealed<'a> {
    pub(super) commit: u64,
    pub(super) table: &'a str,
    pub(super) key: &'a str,
    pub(super) text: &'a str,
}

/// Takes a sealed value apart, checking its digest.
pub(super) fn open_seal(stored: &str) -> Result<Sealed<'_>, String> {
    let Some(rest) = stored.strip_prefix(SEAL_PREFIX) else {
        return Err("it has no checksum".to_owned());
    };
    let Some((line, text)) = rest.split_once('\n') else {
        return Err("its checksum line is cut off".to_owned());
    };
    let mut parts = line.splitn(4, ' ');
    let (Some(sum), Some(commit), Some(table), Some(key)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("its checksum line is cut off".to_owned());
    };
    let commit = commit.parse::<u64>().map_err(|_| "its checksum line is damaged".to_owned())?;
    let expected = digest(commit, table, key, text);
    if sum != expected {
        return Err(format!(
            "its checksum does not match (stored {}, computed {})",
            short(sum),
            short(&expected)
        ));
    }
    Ok(Sealed { commit, table, key, text })
}

/// The text of a stored value, if its seal matches and names this table and key (`legacy`: a format-1
/// file, whose values are bare).
pub(super) fn unseal<'a>(table: &str, key: &str, stored: &'a str, legacy: bool) -> Result<&'a str, String> {
    if legacy {
        return Ok(stored);
    }
    let sealed = open_seal(stored)?;
    if sealed.table != table || sealed.key != key {
        return Err(format!("it is sealed as {} {} (moved from another key)", sealed.table, sealed.key));
    }
    Ok(sealed.text)
}

/// Every intact sealed record in the raw bytes of a journal file, whatever page it is in (live or freed:
/// older copies of a record come too, with their commit numbers).
pub(super) fn raw_records(bytes: &[u8]) -> Vec<(u64, String, String, String)> {
    let prefix = SEAL_PREFIX.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(prefix.len()).position(|w| w == prefix) {
        let start = at + found;
        at = start + prefix.len();
        let Some(newline) = bytes[at..].iter().take(64 + 1024).position(|&b| b == b'\n') else { continue };
        let text_start = at + newline + 1;
        let mut values =
            serde_json::Deserializer::from_slice(&bytes[text_start..]).into_iter::<serde::de::IgnoredAny>();
        if !matches!(values.next(), Some(Ok(_))) {
            continue;
        }
        let end = text_start + values.byte_offset();
        let Ok(stored) = std::str::from_utf8(&bytes[start..end]) else { continue };
        if let Ok(s) = open_seal(stored) {
            out.push((s.commit, s.table.to_owned(), s.key.to_owned(), s.text.to_owned()));
            at = end;
        }
    }
    out
}

fn short(s: &str) -> String {
    s.chars().take(12).collect()
}

/// Why a file cannot be opened.
#[derive(Debug)]
pub(super) enum OpenError {
    /// The file is damaged (or is not a journal).
    Corrupt(String),
    /// Anything else (permissions, another process holds it, …).
    Other(String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Corrupt(m) | OpenError::Other(m) => f.write_str(m),
        }
    }
}

/// Maps redb's open errors: what says the file is damaged, and what does not.
fn open_error(e: DatabaseError) -> OpenError {
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => OpenError::Other(
            "it is in use by another process (another `sfn serve` with this --state-dir?)".to_owned(),
        ),
        DatabaseError::UpgradeRequired(v) => OpenError::Corrupt(format!(
            "redb says its file format ({v}) needs an upgrade this build cannot do"
        )),
        DatabaseError::Storage(s) => storage_open_error(s),
        other => OpenError::Corrupt(format!("redb cannot open it: {other}")),
    }
}

fn storage_open_error(e: StorageError) -> OpenError {
    match e {
        StorageError::Corrupted(m) => OpenError::Corrupt(format!("redb's integrity check failed: {m}")),
        StorageError::Io(io)
            if matches!(io.kind(), std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof) =>
        {
            OpenError::Corrupt(format!("it is not a readable redb database: {io}"))
        }
        other => OpenError::Other(other.to_string()),
    }
}

/// Runs a redb call that a damaged file could make panic, turning the panic into an error.
pub(super) fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        let why = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        format!("redb failed while {what}: {why}")
    })
}

/// Opens `path` (which must exist, with at least one byte) and checks every page of it (redb's
/// `check_integrity`), or creates it when `create`.
pub(super) fn open_checked(path: &Path, create: bool) -> Result<Database, OpenError> {
    let mut builder = redb::Builder::new();
    builder.set_check_integrity_on_open(true);
    let opened =
        guarded("opening the file", || if create { builder.create(path) } else { builder.open(path) })
            .map_err(OpenError::Corrupt)?;
    opened.map_err(open_error)
}

/// Opens `path` again after a write error (redb answers `PreviousIo` until the file is reopened). The file
/// was ours a moment ago, so the full integrity check is skipped; redb still recovers it as after a crash.
pub(super) fn reopen(path: &Path) -> Result<Database, String> {
    match guarded("reopening the file", || Database::open(path))? {
        Ok(db) => Ok(db),
        Err(e) => Err(e.to_string()),
    }
}

/// The file's format as its `meta` table says (`None`: no `meta` table, a format-1 or a new file).
pub(super) fn format_of(r: &ReadTransaction) -> Result<Option<u32>, String> {
    let meta = match r.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let Some(v) = meta.get(FORMAT_KEY).map_err(|e| e.to_string())? else {
        return Err("its meta table has no format".to_owned());
    };
    v.value().parse::<u32>().map(Some).map_err(|_| format!("its format {:?} is not a number", v.value()))
}

/// Readies a file for this build: a new file gets the tables and the format; a format-1 file is sealed in
/// place (every record is checked to be a record first); a newer format is refused.
pub(super) fn prepare(db: &Database) -> Result<(), OpenError> {
    let other = |e: &dyn std::fmt::Display| OpenError::Other(e.to_string());
    let r = db.begin_read().map_err(|e| other(&e))?;
    let legacy_rows = match format_of(&r).map_err(OpenError::Corrupt)? {
        Some(FORMAT) => return Ok(()),
        Some(newer) => {
            return Err(OpenError::Corrupt(format!(
                "it is in journal format {newer}, which this build of sfn does not know (it writes {FORMAT})"
            )));
        }
        None => count_rows(&r).map_err(OpenError::Corrupt)?,
    };
    drop(r);
    let w = begin_write(db).map_err(|e| other(&e))?;
    let commit = bump_commits(&w).map_err(|e| other(&e))?;
    if legacy_rows > 0 {
        seal_legacy(&w, commit)?;
    }
    {
        let mut meta = w.open_table(META).map_err(|e| other(&e))?;
        meta.insert(FORMAT_KEY, FORMAT.to_string().as_str()).map_err(|e| other(&e))?;
        w.open_table(MACHINES).map_err(|e| other(&e))?;
        w.open_table(VERSIONS).map_err(|e| other(&e))?;
        w.open_table(EXECUTIONS).map_err(|e| other(&e))?;
        w.open_table(EVENTS).map_err(|e| other(&e))?;
        w.open_table(DELETED).map_err(|e| other(&e))?;
        w.open_table(ACTIVITIES).map_err(|e| other(&e))?;
    }
    w.commit().map_err(|e| other(&e))?;
    if legacy_rows > 0 {
        tracing::info!(
            "sealed {legacy_rows} record(s) of a journal written before records carried checksums (format {LEGACY_FORMAT})"
        );
    }
    Ok(())
}

/// A write transaction as the journal commits them: fsync'd before `commit` returns, with two-phase commit
/// (a damaged primary commit slot is then reported rather than silently replaced by the previous commit).
pub(super) fn begin_write(db: &Database) -> Result<WriteTransaction, redb::Error> {
    let mut w = db.begin_write()?;
    w.set_durability(redb::Durability::Immediate).map_err(|e| redb::Error::Corrupted(e.to_string()))?;
    w.set_two_phase_commit(true);
    Ok(w)
}

fn count_rows(r: &ReadTransaction) -> Result<u64, String> {
    let mut n = 0;
    for def in [MACHINES, VERSIONS, EXECUTIONS] {
        match r.open_table(def) {
            Ok(t) => n += t.len().map_err(|e| e.to_string())?,
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    match r.open_table(EVENTS) {
        Ok(t) => n += t.len().map_err(|e| e.to_string())?,
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(e.to_string()),
    }
    Ok(n)
}

/// Seals every value of a format-1 file, after checking that it is the record its table holds.
fn seal_legacy(w: &WriteTransaction, commit: u64) -> Result<(), OpenError> {
    seal_legacy_tables(w, commit)
        .map_err(|(corrupt, e)| if corrupt { OpenError::Corrupt(e) } else { OpenError::Other(e) })
}

/// [`seal_legacy`]; `(true, why)` for a damaged record, `(false, why)` for an error of redb.
fn seal_legacy_tables(w: &WriteTransaction, commit: u64) -> Result<(), (bool, String)> {
    let db = |e: &dyn std::fmt::Display| (false, e.to_string());
    fn table<T: DeserializeOwned>(
        w: &WriteTransaction,
        commit: u64,
        def: TableDefinition<&str, &str>,
        name: &str,
        key_of: impl Fn(&T) -> &str,
    ) -> Result<(), (bool, String)> {
        let db = |e: &dyn std::fmt::Display| (false, e.to_string());
        let mut t = w.open_table(def).map_err(|e| db(&e))?;
        let mut rows = Vec::new();
        for row in t.iter().map_err(|e| db(&e))? {
            let (k, v) = row.map_err(|e| db(&e))?;
            rows.push((k.value().to_owned(), v.value().to_owned()));
        }
        for (k, v) in rows {
            let record: T = serde_json::from_str(&v).map_err(|e| {
                (true, format!("its {name} record {k} (format {LEGACY_FORMAT}) is not readable: {e}"))
            })?;
            if key_of(&record) != k {
                return Err((true, format!("its {name} record {k} holds the record of {}", key_of(&record))));
            }
            t.insert(k.as_str(), seal(commit, name, &k, &v).as_str()).map_err(|e| db(&e))?;
        }
        Ok(())
    }
    table::<MachineRecord>(w, commit, MACHINES, T_MACHINES, |m| &m.name)?;
    table::<VersionRecord>(w, commit, VERSIONS, T_VERSIONS, |v| &v.id)?;
    table::<ExecutionRecord>(w, commit, EXECUTIONS, T_EXECUTIONS, |e| &e.arn)?;
    table::<ActivityRecord>(w, commit, ACTIVITIES, T_ACTIVITIES, |a| &a.name)?;
    let mut t = w.open_table(EVENTS).map_err(|e| db(&e))?;
    let mut rows = Vec::new();
    for row in t.iter().map_err(|e| db(&e))? {
        let (k, v) = row.map_err(|e| db(&e))?;
        let (arn, id) = k.value();
        rows.push((arn.to_owned(), id, v.value().to_owned()));
    }
    for (arn, id, v) in rows {
        check_event(&v, id)
            .map_err(|e| (true, format!("event {id} of execution {arn} (format {LEGACY_FORMAT}) {e}")))?;
        t.insert((arn.as_str(), id), seal(commit, T_EVENTS, &event_key(&arn, id), &v).as_str())
            .map_err(|e| db(&e))?;
    }
    Ok(())
}

/// An event's text is a JSON object with a type, and the id of its key.
pub(super) fn check_event(text: &str, id: u64) -> Result<Value, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("is not JSON: {e}"))?;
    if !v["type"].is_string() {
        return Err("has no type".to_owned());
    }
    if v["id"].as_u64() != Some(id) {
        return Err(format!("says it is event {}", v["id"]));
    }
    Ok(v)
}

/// How many records of each kind a scan read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecordCounts {
    /// State machines.
    pub machines: usize,
    /// Versions of state machines.
    pub versions: usize,
    /// Executions.
    pub executions: usize,
    /// History events.
    pub events: usize,
}

/// What a verifying scan found: the snapshot (when nothing is damaged, what the server loads), the counts
/// and every problem, each naming its record.
#[derive(Debug, Default)]
pub(super) struct Scan {
    pub(super) snapshot: Snapshot,
    pub(super) counts: RecordCounts,
    pub(super) problems: Vec<String>,
}

fn decode<T: DeserializeOwned>(table: &str, key: &str, stored: &str, legacy: bool) -> Result<T, String> {
    let text = unseal(table, key, stored, legacy)?;
    serde_json::from_str(text).map_err(|e| format!("it is not a readable record: {e}"))
}

/// Reads and checks every record: each seal, each record under its own key, each event under its id,
/// every version a machine or an execution names. Errors of redb itself end the scan (`Err`).
pub(super) fn scan(r: &ReadTransaction, legacy: bool) -> Result<Scan, redb::Error> {
    let mut s = Scan::default();
    for row in r.open_table(MACHINES)?.iter()? {
        let (k, v) = row?;
        let key = k.value();
        match decode::<MachineRecord>(T_MACHINES, key, v.value(), legacy) {
            Ok(m) if m.name == key => s.snapshot.machines.push(m),
            Ok(m) => s.problems.push(format!("state machine {key}: the record is that of {}", m.name)),
            Err(e) => s.problems.push(format!("state machine {key}: {e}")),
        }
    }
    for row in r.open_table(VERSIONS)?.iter()? {
        let (k, v) = row?;
        let key = k.value();
        match decode::<VersionRecord>(T_VERSIONS, key, v.value(), legacy) {
            Ok(m) if m.id == key => s.snapshot.versions.push(m),
            Ok(m) => s.problems.push(format!("version {key}: the record is that of {}", m.id)),
            Err(e) => s.problems.push(format!("version {key}: {e}")),
        }
    }
    match r.open_table(ACTIVITIES) {
        Ok(t) => {
            for row in t.iter()? {
                let (k, v) = row?;
                let key = k.value();
                match decode::<ActivityRecord>(T_ACTIVITIES, key, v.value(), legacy) {
                    Ok(a) if a.name == key => s.snapshot.activities.push(a),
                    Ok(a) => s.problems.push(format!("activity {key}: the record is that of {}", a.name)),
                    Err(e) => s.problems.push(format!("activity {key}: {e}")),
                }
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let events = r.open_table(EVENTS)?;
    let mut last_events: std::collections::HashMap<String, Value> = std::collections::HashMap::new();
    for row in events.iter()? {
        let (k, v) = row?;
        let (arn, id) = k.value();
        s.counts.events += 1;
        let checked =
            unseal(T_EVENTS, &event_key(arn, id), v.value(), legacy).and_then(|t| check_event(t, id));
        match checked {
            Ok(ev) => {
                last_events.insert(arn.to_owned(), ev);
            }
            Err(e) => s.problems.push(format!("execution {arn}, event {id}: {e}")),
        }
    }
    for row in r.open_table(EXECUTIONS)?.iter()? {
        let (k, v) = row?;
        let key = k.value();
        let mut e = match decode::<ExecutionRecord>(T_EXECUTIONS, key, v.value(), legacy) {
            Ok(e) if e.arn == key => e,
            Ok(e) => {
                s.problems.push(format!("execution {key}: the record is that of {}", e.arn));
                continue;
            }
            Err(err) => {
                s.problems.push(format!("execution {key}: {err}"));
                continue;
            }
        };
        if e.status == "RUNNING"
            && let Some(last) = last_events.get(&e.arn)
        {
            // The final event may have been committed before the record caught up.
            e.apply_final(last);
        }
        s.snapshot.executions.push(e);
    }
    s.snapshot.executions.sort_by_key(|e| e.seq);
    let versions: std::collections::HashSet<&str> =
        s.snapshot.versions.iter().map(|v| v.id.as_str()).collect();
    for m in &s.snapshot.machines {
        if !versions.contains(m.version.as_str()) {
            s.problems.push(format!("state machine {}: its version {} is missing", m.name, m.version));
        }
    }
    for e in &s.snapshot.executions {
        if !versions.contains(e.version.as_str()) {
            s.problems.push(format!("execution {}: its version {} is missing", e.arn, e.version));
        }
    }
    s.counts.machines = s.snapshot.machines.len();
    s.counts.versions = s.snapshot.versions.len();
    s.counts.executions = s.snapshot.executions.len();
    Ok(s)
}

/// A final event (`ExecutionSucceeded`, …) in GetExecutionHistory's shape.
pub(super) fn is_final(event: &Value) -> bool {
    event["type"].as_str().is_some_and(|t| t.starts_with("Execution") && t != "ExecutionStarted")
}

/// Counts one more commit in `w`; returns the new count.
pub(super) fn bump_commits(w: &WriteTransaction) -> Result<u64, redb::Error> {
    let mut meta = w.open_table(META)?;
    let n = match meta.get(COMMITS_KEY)? {
        Some(v) => v.value().parse::<u64>().unwrap_or(0),
        None => 0,
    }
    .saturating_add(1);
    meta.insert(COMMITS_KEY, n.to_string().as_str())?;
    Ok(n)
}

/// The file beside the journal that records its last commit (`sfn.redb.commit`).
pub(super) fn sidecar_path(journal: &Path) -> std::path::PathBuf {
    let mut name = journal.file_name().map(std::ffi::OsStr::to_owned).unwrap_or_default();
    name.push(".commit");
    journal.with_file_name(name)
}

const SIDECAR_TAG: &str = "sfn-journal-commit";

fn sidecar_text(n: u64) -> String {
    let digits = format!("{n:020}");
    format!("{SIDECAR_TAG} {digits} {}\n", &digest(0, "commit", "", &digits)[..16])
}

/// What the sidecar says.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Recorded {
    /// No sidecar (a journal of an earlier build, or one moved here without it).
    Nothing,
    /// Torn or altered: it says nothing.
    Unreadable,
    /// The last commit recorded as done.
    Commit(u64),
}

/// Reads the sidecar of `journal`.
pub(super) fn recorded_commit(journal: &Path) -> Recorded {
    let Ok(text) = std::fs::read_to_string(sidecar_path(journal)) else { return Recorded::Nothing };
    let mut parts = text.trim_end().split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(SIDECAR_TAG), Some(digits), Some(sum), None)
            if sum.len() == 16 && digest(0, "commit", "", digits).starts_with(sum) =>
        {
            digits.parse().map_or(Recorded::Unreadable, Recorded::Commit)
        }
        _ => Recorded::Unreadable,
    }
}

/// The redb header's current commit: the transaction id in the commit slot its god byte selects. `None`
/// when the first bytes are not a header this build knows how to read (redb then says what is wrong).
/// Offsets from redb 4's `header.rs`: magic number (9 bytes), god byte (bit 0: the primary slot), commit
/// slots of 128 bytes at 64 and 192, each with its format version at 0 and its transaction id at 104.
pub(super) fn header_commit(journal: &Path) -> Option<u64> {
    use std::io::Read as _;
    const MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];
    let mut header = [0u8; 320];
    std::fs::File::open(journal).ok()?.read_exact(&mut header).ok()?;
    if header[..MAGIC.len()] != MAGIC {
        return None;
    }
    let slot = 64 + 128 * usize::from(header[MAGIC.len()] & 1);
    if header[slot] != 3 {
        return None;
    }
    let id: [u8; 8] = header[slot + 104..slot + 112].try_into().ok()?;
    Some(u64::from_le_bytes(id))
}

/// Refuses a file whose current commit is older than the one recorded beside it. Reads, never writes: it
/// runs before redb opens the file.
pub(super) fn check_header(journal: &Path) -> Result<(), String> {
    let (Recorded::Commit(recorded), Some(current)) = (recorded_commit(journal), header_commit(journal))
    else {
        return Ok(());
    };
    if current < recorded {
        return Err(format!(
            "its current commit ({current}) is older than the last one recorded as done ({recorded}, in {}): \
             an older commit came back (a damaged header can bring back the previous one) or the file was \
             replaced by an older copy; if you restored an older copy on purpose, delete {}",
            sidecar_path(journal).display(),
            sidecar_path(journal).display()
        ));
    }
    Ok(())
}

/// Writes the id of each commit beside the journal, in place (the text is fixed-length and checksummed,
/// so a torn write reads as unreadable, never as another id). Not fsync'd: an id lost with the page cache
/// is only behind the file, which is never refused.
pub(super) struct Sidecar {
    journal: std::path::PathBuf,
    file: std::fs::File,
}

impl Sidecar {
    pub(super) fn open(journal: &Path) -> std::io::Result<Sidecar> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(sidecar_path(journal))?;
        Ok(Sidecar { journal: journal.to_owned(), file })
    }

    /// Records the journal's current commit (as its header says now).
    pub(super) fn record(&mut self) -> std::io::Result<()> {
        use std::io::{Seek as _, Write as _};
        let Some(n) = header_commit(&self.journal) else { return Ok(()) };
        let text = sidecar_text(n);
        self.file.seek(std::io::SeekFrom::Start(0))?;
        self.file.write_all(text.as_bytes())?;
        self.file.set_len(text.len() as u64)
    }
}
