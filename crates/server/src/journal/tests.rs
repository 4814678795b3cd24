//! The journal's own tests: reopening, sealing, a format-1 journal, flipped bytes, salvage.
#![allow(clippy::print_stderr, reason = "the tests say what they skipped and how many flips they tried")]

use serde_json::json;

use super::store::META;
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
        test_case: None,
        version_arn: None,
        alias_arn: None,
        redrive_count: 0,
        redrive_ms: None,
        map_run_arn: None,
        map_index: None,
        map_runs: Vec::new(),
    }
}

fn version(id: &str) -> VersionRecord {
    VersionRecord {
        id: id.into(),
        machine: "m".into(),
        definition: "{}".into(),
        role_arn: "r".into(),
        kind: "STANDARD".into(),
        logging: Value::Null,
        tracing: Value::Null,
        revision_id: None,
        update_ms: 1_000,
    }
}

#[tokio::test]
async fn records_survive_reopening_and_final_events_win() {
    let dir = std::env::temp_dir().join(format!("sfn-journal-{}", uuid::Uuid::new_v4()));
    {
        let (j, s) = Journal::open(&dir).unwrap();
        assert!(s.executions.is_empty());
        j.put_version(&version("v"));
        j.put_execution(&record("a", 2));
        j.put_execution(&record("b", 1));
        j.put_raw_event("a", 1, &json!({"id": 1, "type": "ExecutionStarted", "timestamp": 1.0}));
        // The final event of `b` arrives; its record is updated in the same batch.
        j.put_raw_event(
            "b",
            1,
            &json!({"id": 1, "type": "ExecutionFailed", "timestamp": 2.5, "executionFailedEventDetails": {"error": "E", "cause": "C"}}),
        );
        j.barrier().await.unwrap();
        assert_eq!(j.events("a", 1..=u64::MAX).unwrap().len(), 1);
        assert_eq!((j.event_count("a").unwrap(), j.event_count("b").unwrap()), (1, 1));
        assert_eq!(j.event_count("none").unwrap(), 0);
        assert!(j.events("a", 2..=5).unwrap().is_empty());
    }
    // The writer thread of the first journal still holds the file until its channel closes.
    let mut reopened = None;
    for _ in 0..100 {
        match Journal::open(&dir) {
            Ok(x) => {
                reopened = Some(x);
                break;
            }
            Err(e) => {
                eprintln!("{e}");
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
        }
    }
    let (_j, s) = reopened.expect("reopen");
    let names: Vec<_> = s.executions.iter().map(|e| (e.arn.as_str(), e.status.as_str())).collect();
    assert_eq!(names, [("b", "FAILED"), ("a", "RUNNING")]);
    assert_eq!(s.executions[0].stop_ms, Some(2_500));
    assert_eq!(s.executions[0].error.as_deref(), Some("E"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn temp(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sfn-journal-{tag}-{}", uuid::Uuid::new_v4()))
}

/// Everything a journal holds, as the server would load and serve it.
fn dump(j: &Journal, s: &Snapshot) -> Value {
    let events: serde_json::Map<String, Value> = s
        .executions
        .iter()
        .map(|e| (e.arn.clone(), Value::Array(j.stored_events(&e.arn).expect("events read"))))
        .collect();
    json!({
        "activities": s.activities.iter().map(|a| serde_json::to_value(a).unwrap()).collect::<Vec<_>>(),
        "machines": s.machines.iter().map(|m| serde_json::to_value(m).unwrap()).collect::<Vec<_>>(),
        "versions": s.versions.iter().map(|v| serde_json::to_value(v).unwrap()).collect::<Vec<_>>(),
        "executions": s.executions.iter().map(|e| serde_json::to_value(e).unwrap()).collect::<Vec<_>>(),
        "events": events,
    })
}

/// Opens `dir` and dumps it, or says why it was refused.
async fn open_and_dump(dir: &Path) -> Result<Value, ServerError> {
    let (j, s) = Journal::open(dir)?;
    let d = dump(&j, &s);
    j.close().await;
    Ok(d)
}

/// What a journal holds, read from a copy (opening a journal commits to it).
async fn expected_of(dir: &Path) -> Value {
    let copy = copy_journal(dir, "expected");
    let data = open_and_dump(&copy).await.unwrap();
    let _ = std::fs::remove_dir_all(&copy);
    data
}

/// A journal written by a real server: two state machines (one updated, one tagged), finished executions
/// of each, one that failed, one stopped while waiting. Returns its directory.
async fn real_journal() -> PathBuf {
    let dir = temp("real");
    let server = crate::Server::open(
        sfn_engine::Engine::builder(),
        crate::ServerOptions { state_dir: Some(dir.clone()), ..crate::ServerOptions::default() },
    )
    .unwrap();
    let svc = server.service.clone();
    let role = "arn:aws:iam::123456789012:role/R";
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"a": 1}, "Next": "Q"}, "Q": {"Type": "Pass", "End": true}}});
    let fail =
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "on purpose"}}});
    let wait = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}});
    let mut arns = Vec::new();
    for (name, def) in [("pass", &pass), ("fail", &fail), ("wait", &wait)] {
        let v = crate::http::call(
            &svc,
            "CreateStateMachine",
            &json!({"name": name, "definition": def.to_string(), "roleArn": role}),
        )
        .await
        .unwrap();
        arns.push(v["stateMachineArn"].as_str().unwrap().to_owned());
    }
    let new_pass =
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"b": 2}, "End": true}}});
    crate::http::call(
        &svc,
        "UpdateStateMachine",
        &json!({"stateMachineArn": arns[0], "definition": new_pass.to_string()}),
    )
    .await
    .unwrap();
    crate::http::call(
        &svc,
        "TagResource",
        &json!({"resourceArn": arns[1], "tags": [{"key": "team", "value": "data"}]}),
    )
    .await
    .unwrap();
    crate::http::call(&svc, "CreateActivity", &json!({"name": "resize"})).await.unwrap();
    let mut executions = Vec::new();
    for (i, machine) in [&arns[0], &arns[0], &arns[1], &arns[2]].into_iter().enumerate() {
        let input = json!({"n": i, "text": "x".repeat(40 * i)}).to_string();
        let v = crate::http::call(
            &svc,
            "StartExecution",
            &json!({"stateMachineArn": machine, "name": format!("e{i}"), "input": input}),
        )
        .await
        .unwrap();
        executions.push(v["executionArn"].as_str().unwrap().to_owned());
    }
    for arn in &executions[..3] {
        for _ in 0..400 {
            let d =
                crate::http::call(&svc, "DescribeExecution", &json!({"executionArn": arn})).await.unwrap();
            if d["status"] != "RUNNING" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    crate::http::call(
        &svc,
        "StopExecution",
        &json!({"executionArn": executions[3], "error": "E", "cause": "stopped"}),
    )
    .await
    .unwrap();
    svc.close().await;
    drop(server);
    dir
}

/// A copy of a state directory's journal (and the record of its last commit beside it).
fn copy_journal(from: &Path, tag: &str) -> PathBuf {
    let dir = temp(tag);
    std::fs::create_dir_all(&dir).unwrap();
    let file = from.join(JOURNAL_FILE);
    std::fs::copy(&file, dir.join(JOURNAL_FILE)).unwrap();
    let sidecar = store::sidecar_path(&file);
    if sidecar.exists() {
        std::fs::copy(&sidecar, store::sidecar_path(&dir.join(JOURNAL_FILE))).unwrap();
    }
    dir
}

/// A small deterministic generator (xorshift), so every run flips the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn is_damaged(e: &ServerError) -> bool {
    matches!(e, ServerError::Journal { .. })
        && e.to_string().contains("sfn journal salvage")
        && e.to_string().contains("sfn journal check")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_journal_file_is_refused_and_a_missing_one_starts_empty() {
    let dir = temp("empty");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(JOURNAL_FILE), b"").unwrap();
    let e = Journal::open(&dir).unwrap_err();
    assert!(is_damaged(&e), "{e}");
    assert!(e.to_string().contains("empty (0 bytes)"), "{e}");
    assert_eq!(std::fs::metadata(dir.join(JOURNAL_FILE)).unwrap().len(), 0, "the file is left as it was");
    let c = check(&dir).unwrap();
    assert!(!c.intact() && c.problems[0].contains("empty"), "{c:?}");
    assert!(salvage(&dir, &temp("empty-out")).is_err());

    let fresh = temp("fresh");
    let (j, s) = Journal::open(&fresh).unwrap();
    assert!(s.machines.is_empty() && s.executions.is_empty());
    j.close().await;
    let c = check(&fresh).unwrap();
    assert!(c.intact() && c.format == Some(store::FORMAT), "{c:?}");
    for d in [dir, fresh] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_whose_checksum_fails_is_refused_by_name() {
    let original = real_journal().await;
    let expected = open_and_dump(&original).await.unwrap();
    // Alter a record behind the journal's back, the way redb itself would write it (redb's own page
    // checksums then hold): only the seal can tell.
    for (table, alter) in [("executions", 0), ("events", 1), ("versions", 2)] {
        let dir = copy_journal(&original, "altered");
        {
            let db = Database::open(dir.join(JOURNAL_FILE)).unwrap();
            let w = db.begin_write().unwrap();
            match alter {
                0 => {
                    let mut t = w.open_table(EXECUTIONS).unwrap();
                    let (k, v) = {
                        let first = t.iter().unwrap().next().unwrap().unwrap();
                        (first.0.value().to_owned(), first.1.value().to_owned())
                    };
                    t.insert(k.as_str(), v.replacen("\"name\":\"e", "\"name\":\"x", 1).as_str()).unwrap();
                }
                1 => {
                    let mut t = w.open_table(EVENTS).unwrap();
                    let (arn, id, v) = {
                        let first = t.iter().unwrap().next().unwrap().unwrap();
                        let (arn, id) = first.0.value();
                        (arn.to_owned(), id, first.1.value().to_owned())
                    };
                    t.insert((arn.as_str(), id), v.replacen("\"id\":1", "\"id\":1,\"x\":0", 1).as_str())
                        .unwrap();
                }
                _ => {
                    // The version of `wait`, which its machine and an execution name.
                    let mut t = w.open_table(VERSIONS).unwrap();
                    let id = t
                        .iter()
                        .unwrap()
                        .map(|r| r.unwrap())
                        .find(|(_, v)| v.value().contains("\"machine\":\"wait\""))
                        .map(|(k, _)| k.value().to_owned())
                        .unwrap();
                    t.remove(id.as_str()).unwrap();
                }
            }
            drop(w.open_table(META).unwrap());
            w.commit().unwrap();
        }
        let e = open_and_dump(&dir).await.map(|_| ()).expect_err(table);
        assert!(is_damaged(&e), "{table}: {e}");
        let c = check(&dir).unwrap();
        assert!(!c.intact(), "{table}: {c:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_eq!(open_and_dump(&original).await.unwrap(), expected);
    let _ = std::fs::remove_dir_all(&original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_format_1_journal_is_sealed_in_place_and_reads_the_same() {
    let original = real_journal().await;
    let expected = open_and_dump(&original).await.unwrap();
    // Unseal every record and drop the meta table: what the previous build wrote.
    let dir = copy_journal(&original, "legacy");
    {
        let db = Database::open(dir.join(JOURNAL_FILE)).unwrap();
        let w = db.begin_write().unwrap();
        for def in [MACHINES, VERSIONS, EXECUTIONS, ACTIVITIES] {
            let mut t = w.open_table(def).unwrap();
            let rows: Vec<(String, String)> = t
                .iter()
                .unwrap()
                .map(|r| {
                    let (k, v) = r.unwrap();
                    (k.value().to_owned(), v.value().to_owned())
                })
                .collect();
            for (k, v) in rows {
                t.insert(k.as_str(), v.split_once('\n').unwrap().1).unwrap();
            }
        }
        let mut t = w.open_table(EVENTS).unwrap();
        let rows: Vec<(String, u64, String)> = t
            .iter()
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                (k.value().0.to_owned(), k.value().1, v.value().to_owned())
            })
            .collect();
        for (arn, id, v) in rows {
            t.insert((arn.as_str(), id), v.split_once('\n').unwrap().1).unwrap();
        }
        drop(t);
        w.delete_table(META).unwrap();
        w.commit().unwrap();
    }
    // The previous build kept no record of its commits beside the journal.
    std::fs::remove_file(store::sidecar_path(&dir.join(JOURNAL_FILE))).unwrap();
    let c = check(&dir).unwrap();
    assert!(c.intact() && c.format == Some(store::LEGACY_FORMAT), "{c:?}");
    assert_eq!(open_and_dump(&dir).await.unwrap(), expected, "read the same");
    let c = check(&dir).unwrap();
    assert!(c.intact() && c.format == Some(store::FORMAT), "sealed in place: {c:?}");
    assert_eq!(open_and_dump(&dir).await.unwrap(), expected, "and again");
    for d in [dir, original] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// What happened to one flipped copy.
enum Outcome {
    /// Opened with every record as it was (the flip hit unused space).
    Same,
    /// Refused with the clear error.
    Refused,
}

/// Flips `mask` into the byte at `offset` of a copy of `original`'s journal and opens it: identical data or
/// the clear error, never a panic, never altered records. `Err` describes a violation.
async fn flip_and_open(original: &Path, expected: &Value, offset: u64, mask: u8) -> Result<Outcome, String> {
    let dir = copy_journal(original, "flip");
    let path = dir.join(JOURNAL_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[usize::try_from(offset).unwrap()] ^= mask;
    std::fs::write(&path, &bytes).unwrap();
    let opened = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || std::panic::catch_unwind(|| Journal::open(&dir).map(|(j, s)| (dump(&j, &s), j)))
    })
    .await
    .unwrap();
    let result = match opened {
        Err(_) => Err("panicked".to_owned()),
        Ok(Ok((data, j))) => {
            j.close().await;
            if &data == expected {
                Ok(Outcome::Same)
            } else {
                Err(format!("opened with altered records: {data}"))
            }
        }
        // Refused, with every page left as it was for a salvage (redb may have rewritten the layout in its
        // header while trying to recover the file; nothing else).
        Ok(Err(e)) if is_damaged(&e) => {
            let after = std::fs::read(&path).unwrap();
            if after.len() == bytes.len() && after[320..] == bytes[320..] {
                Ok(Outcome::Refused)
            } else {
                let first = after.iter().zip(&bytes).position(|(a, b)| a != b);
                Err(format!(
                    "refused, but its pages changed: {} -> {} bytes, first at {first:?}",
                    bytes.len(),
                    after.len()
                ))
            }
        }
        Ok(Err(e)) => Err(format!("refused without the clear error: {e}")),
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A journal as a kill -9 leaves it: its last commit adds a record, and nothing closed the file after it.
fn killed_journal(from: &Path) -> PathBuf {
    let dir = copy_journal(from, "killed");
    let db = Database::open(dir.join(JOURNAL_FILE)).unwrap();
    let w = store::begin_write(&db).unwrap();
    let n = store::bump_commits(&w).unwrap();
    {
        let mut t = w.open_table(MACHINES).unwrap();
        let m = MachineRecord {
            name: "late".into(),
            version: String::new(),
            creation_ms: 5,
            tags: Vec::new(),
            published: Vec::new(),
            last_version: 0,
            aliases: Vec::new(),
        };
        let (_, v) = {
            let first = t.iter().unwrap().next().unwrap().unwrap();
            (first.0.value().to_owned(), first.1.value().to_owned())
        };
        let version = serde_json::from_str::<MachineRecord>(v.split_once('\n').unwrap().1).unwrap().version;
        let m = MachineRecord { version, ..m };
        let text = serde_json::to_string(&m).unwrap();
        t.insert("late", store::seal(n, T_MACHINES, "late", &text).as_str()).unwrap();
    }
    w.commit().unwrap();
    store::Sidecar::open(&dir.join(JOURNAL_FILE)).unwrap().record().unwrap();
    // No close: what a killed process leaves.
    std::mem::forget(db);
    dir
}

/// The flips of one run: every bit of the god byte (which commit slot is current, whether recovery is
/// needed, two-phase commit), one bit of every other byte of the header (magic number, region geometry,
/// both commit slots), and one bit at `per_page` places of every page after it.
fn flips(len: u64, seed: u64, per_page: usize) -> Vec<(u64, u8)> {
    let mut rng = Rng(seed);
    let mut flips: Vec<(u64, u8)> = (0..8).map(|b| (9, 1u8 << b)).collect();
    for offset in (0..320).filter(|&o| o != 9) {
        flips.push((offset, 1u8 << (rng.next() % 8)));
    }
    for page in 1..len / 4096 {
        for _ in 0..per_page {
            flips.push((page * 4096 + rng.next() % 4096, 1u8 << (rng.next() % 8)));
        }
    }
    flips
}

/// Flips bytes of a journal as a closing server leaves it and of one as a kill -9 leaves it (whose last
/// commit a flipped header bit could silently undo, were it not for the commit record beside it); every
/// open gives identical records or the clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bytes_never_panic_or_alter_records() {
    let closed = real_journal().await;
    let killed = killed_journal(&closed);
    for (label, original, seed, per_page) in
        [("closed", &closed, 0x5eed_cafe_f00d_1234, 2), ("killed", &killed, 0x0dd_ba11, 1)]
    {
        let expected = expected_of(original).await;
        let len = std::fs::metadata(original.join(JOURNAL_FILE)).unwrap().len();
        let (mut same, mut refused, mut violations) = (0, 0, Vec::new());
        let started = std::time::Instant::now();
        for (offset, mask) in flips(len, seed, per_page) {
            match flip_and_open(original, &expected, offset, mask).await {
                Ok(Outcome::Same) => same += 1,
                Ok(Outcome::Refused) => refused += 1,
                Err(why) => violations.push(format!("offset {offset} ^ {mask:#04x}: {why}")),
            }
        }
        eprintln!(
            "{label} journal of {len} bytes: {same} flips opened with identical records, {refused} refused, {} violations ({:.1?})",
            violations.len(),
            started.elapsed()
        );
        assert!(
            violations.is_empty(),
            "{label}: {} violations:\n{}",
            violations.len(),
            violations.join("\n")
        );
        assert!(refused > 0 && same > 0);
    }
    for d in [closed, killed] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A journal cut short (at page boundaries and inside pages) is refused, or reads the same when only
/// unused space was cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_journals_are_refused() {
    let original = real_journal().await;
    let expected = expected_of(&original).await;
    let len = std::fs::metadata(original.join(JOURNAL_FILE)).unwrap().len();
    let mut cuts: Vec<u64> = (1..len / 4096).map(|p| p * 4096).collect();
    cuts.extend([1, 9, 10, 64, 191, 320, 4095, len / 2 + 17, len - 1]);
    let mut violations = Vec::new();
    for cut in cuts {
        let dir = copy_journal(&original, "cut");
        let file = std::fs::OpenOptions::new().write(true).open(dir.join(JOURNAL_FILE)).unwrap();
        file.set_len(cut).unwrap();
        drop(file);
        match open_and_dump(&dir).await {
            Ok(data) if data == expected => {}
            Ok(_) => violations.push(format!("cut at {cut}: opened with altered records")),
            Err(e) if is_damaged(&e) => {}
            Err(e) => violations.push(format!("cut at {cut}: {e}")),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    let _ = std::fs::remove_dir_all(&original);
}

/// Whether every record of `salvaged` is one of `expected`, unchanged (or, for an execution, as its start
/// recorded it: a salvage from raw bytes may find only that copy, and none of its final event), and every
/// history a prefix of the original.
fn subset(salvaged: &Value, expected: &Value) -> Result<(), String> {
    for table in ["activities", "machines", "versions", "executions"] {
        for r in salvaged[table].as_array().unwrap() {
            let started = |e: &Value| {
                let mut e = e.clone();
                e["status"] = json!("RUNNING");
                for k in ["stop_ms", "output", "error", "cause"] {
                    e[k] = Value::Null;
                }
                e
            };
            let original = expected[table].as_array().unwrap();
            let as_started = table == "executions" && original.iter().any(|e| &started(e) == r);
            if !original.contains(r) && !as_started {
                return Err(format!("{table}: {r} is not an original record"));
            }
        }
    }
    for (arn, events) in salvaged["events"].as_object().unwrap() {
        let original = expected["events"][arn].as_array().ok_or_else(|| format!("{arn} has no history"))?;
        let events = events.as_array().unwrap();
        if original.len() < events.len() || original[..events.len()] != events[..] {
            return Err(format!("the history of {arn} is not a prefix of the original"));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salvage_copies_every_intact_record_and_reports_the_rest() {
    let original = real_journal().await;
    std::fs::write(original.join("sim-tasks.jsonl"), "{}\n").unwrap();
    let expected = expected_of(&original).await;
    let dir = copy_journal(&original, "damaged");
    std::fs::copy(original.join("sim-tasks.jsonl"), dir.join("sim-tasks.jsonl")).unwrap();
    // Damage event 2 of e0 and the record of e2, behind the journal's back.
    let e0 = "arn:aws:states:us-east-1:123456789012:execution:pass:e0";
    let e2 = "arn:aws:states:us-east-1:123456789012:execution:fail:e2";
    {
        let db = Database::open(dir.join(JOURNAL_FILE)).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut t = w.open_table(EVENTS).unwrap();
            let v = t.get((e0, 2)).unwrap().unwrap().value().replace("PassStateEntered", "PassStateExited");
            t.insert((e0, 2), v.as_str()).unwrap();
            let mut t = w.open_table(EXECUTIONS).unwrap();
            let v = t.get(e2).unwrap().unwrap().value().replace("\"name\":\"e2\"", "\"name\":\"x2\"");
            t.insert(e2, v.as_str()).unwrap();
        }
        w.commit().unwrap();
    }
    let c = check(&dir).unwrap();
    assert_eq!(c.problems.len(), 2, "{c:?}");
    assert!(c.problems.iter().any(|p| p.contains(e0) && p.contains("event 2")), "{c:?}");
    assert!(c.problems.iter().any(|p| p.contains(e2) && p.contains("checksum")), "{c:?}");

    let out = temp("salvaged");
    let report = salvage(&dir, &out).unwrap();
    assert!(
        report.skipped.iter().any(|s| s.contains(e0) && s.contains("kept its first 1 event(s)")),
        "{report:?}"
    );
    assert!(report.skipped.iter().any(|s| s.contains(e2)), "{report:?}");
    assert!(report.notes.iter().any(|n| n.contains("sim-tasks.jsonl")), "{report:?}");
    assert_eq!(std::fs::read_to_string(out.join("sim-tasks.jsonl")).unwrap(), "{}\n");
    assert_eq!(report.copied.executions, 3);
    assert_eq!(report.copied.machines, 3);
    let salvaged = open_and_dump(&out).await.unwrap();
    subset(&salvaged, &expected).unwrap();
    assert_eq!(salvaged["events"][e0].as_array().unwrap().len(), 1);
    assert!(salvaged["events"].get(e2).is_none());
    assert_eq!(salvaged["versions"], expected["versions"]);
    assert_eq!(salvaged["activities"], expected["activities"]);
    assert_eq!(salvaged["activities"][0]["name"], "resize");
    assert!(salvage(&dir, &out).is_err(), "never into a directory that holds something");
    for d in [original, dir, out] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Salvaging a journal that flipped bytes made unusable copies only original records, and the copy opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salvage_of_flipped_journals_copies_only_original_records() {
    let closed = real_journal().await;
    let original = killed_journal(&closed);
    let expected = expected_of(&original).await;
    let len = std::fs::metadata(original.join(JOURNAL_FILE)).unwrap().len();
    let (mut salvaged, mut whole, mut unsalvageable, mut violations) = (0, 0, 0, Vec::new());
    for (offset, mask) in flips(len, 0xfeed, 2).into_iter().step_by(3) {
        let dir = copy_journal(&original, "flip-salvage");
        let path = dir.join(JOURNAL_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[usize::try_from(offset).unwrap()] ^= mask;
        std::fs::write(&path, &bytes).unwrap();
        if Journal::open(&dir).is_ok() {
            let _ = std::fs::remove_dir_all(&dir);
            continue;
        }
        let out = temp("flip-salvaged");
        let result = tokio::task::spawn_blocking({
            let (dir, out) = (dir.clone(), out.clone());
            move || std::panic::catch_unwind(|| salvage(&dir, &out))
        })
        .await
        .unwrap();
        match result {
            Err(_) => violations.push(format!("offset {offset} ^ {mask:#04x}: salvage panicked")),
            Ok(Err(e)) if is_damaged(&e) => unsalvageable += 1,
            Ok(Err(e)) => violations.push(format!("offset {offset} ^ {mask:#04x}: {e}")),
            Ok(Ok(_)) => match open_and_dump(&out).await {
                Ok(data) => match subset(&data, &expected) {
                    Ok(()) => {
                        salvaged += 1;
                        if data == expected {
                            whole += 1;
                        } else if offset < 4096 {
                            // A damaged header loses no record: they are all in the pages.
                            violations.push(format!(
                                "offset {offset} ^ {mask:#04x}: records lost to a header flip: {data} vs {expected}"
                            ));
                        }
                    }
                    Err(why) => violations.push(format!("offset {offset} ^ {mask:#04x}: {why}")),
                },
                Err(e) => {
                    violations.push(format!("offset {offset} ^ {mask:#04x}: the copy does not open: {e}"))
                }
            },
        }
        for d in [dir, out] {
            let _ = std::fs::remove_dir_all(d);
        }
    }
    eprintln!(
        "{salvaged} damaged journals salvaged ({whole} with every record), {unsalvageable} beyond salvage, {} violations",
        violations.len()
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    assert!(salvaged > 0);
    for d in [closed, original] {
        let _ = std::fs::remove_dir_all(d);
    }
}
