//! How a recorded history (`expect.history`, a LocalStack snapshot of GetExecutionHistory) is compared with
//! the engine's, event by event: `run.py --history` of `../shared/conformance` ported rule for rule (its
//! README, "Histories"): type and order, `id`, `previousEventId`, the top-level and detail field names, each
//! field's kind, payload values (JSON text against the parsed recording; strings verbatim) through the
//! recording's masks (beyond run.py, for `../shared/recorded`: a numbered mask such as `<uuid:1>` or `<<task_token>:1>`, and `a_task_token`, stand
//! for one value throughout a history: each must be the same text wherever the recording repeats it; an
//! SDK response's `Content-Length` counts masked text, so it is compared as a length only, and an ECS
//! task's `AvailabilityZone` is its masked subnet's, so its zone letter is any letter; a MAC address whose
//! first octets the IP mask took is compared as a MAC), and
//! LocalStack's Parallel normalisation (`[0]` ids: branch blocks compared unordered).
//! `cargo xtask conformance` includes this file by path: it uses `serde_json` only.

use std::collections::BTreeMap;

use serde_json::Value;

/// What each numbered mask of a history stood for where it was first met.
type Masks = BTreeMap<String, String>;

/// Bare masks of the recordings (whole words), the account id last.
const BARE_MASKS: &[&str] = &[
    "timestamp",
    "date",
    "time",
    "snf_role_arn",
    "sfn_role_arn",
    "state_machine_role_arn",
    "map_run_arn",
    "cluster_arn",
    "task_definition_arn",
    "subnet_value",
    "sg_value",
    "eni_value",
    "ip_value",
    "mac_value",
    "log_group_name",
    "start-time",
    "entered-time",
    "RandomNumberGenerated",
    "start-date",
    "stop-date",
    "a_task_token",
    "111111111111",
];

/// Detail fields the API sends as objects (besides `…Details`).
const OBJECT_FIELDS: &[&str] = &["assignedVariables", "taskCredentials"];

const PARALLEL_END: &[&str] =
    &["ParallelStateSucceeded", "ParallelStateAborted", "ParallelStateExited", "ParallelStateFailed"];

/// JSON equality with numbers by value and object keys in any order (`sfn_path::json_eq`'s rule, written
/// here so that `cargo xtask conformance`, which depends on nothing of ours, can include this file).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Null => "null",
    }
}

fn short(v: &Value, n: usize) -> String {
    v.to_string().chars().take(n).collect()
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Length of a `<placeholder>` at the start of `s` (`<(?:[^<>]|<[^<>]*>)+>`).
fn placeholder_len(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'<') {
        return None;
    }
    let mut i = 1;
    let mut inner = 0;
    loop {
        match s.get(i)? {
            b'>' if inner > 0 => return Some(i + 1),
            b'>' => return None,
            b'<' => {
                let close = s[i + 1..].iter().position(|&c| c == b'>' || c == b'<')?;
                if s[i + 1 + close] != b'>' {
                    return None;
                }
                i += close + 2;
                inner += 1;
            }
            _ => {
                i += 1;
                inner += 1;
            }
        }
    }
}

/// Length of a bare mask at `i` of `s` (`\b(?:…)\b`).
fn bare_len(s: &[u8], i: usize) -> Option<usize> {
    let boundary = |j: usize| {
        let before = j > 0 && is_word(s[j - 1]);
        let after = j < s.len() && is_word(s[j]);
        before != after
    };
    BARE_MASKS.iter().find_map(|m| {
        let m = m.as_bytes();
        (s[i..].starts_with(m) && boundary(i) && boundary(i + m.len())).then_some(m.len())
    })
}

/// The literal parts of a recorded string between its masks (`None`: it holds no mask).
fn literal_parts(rec: &str) -> Option<Vec<&str>> {
    let s = rec.as_bytes();
    let (mut parts, mut pos, mut i) = (Vec::new(), 0, 0);
    while i < s.len() {
        match placeholder_len(&s[i..]).or_else(|| bare_len(s, i)) {
            Some(n) => {
                parts.push(&rec[pos..i]);
                i += n;
                pos = i;
            }
            None => i += 1,
        }
    }
    if parts.is_empty() {
        return None;
    }
    parts.push(&rec[pos..]);
    Some(parts)
}

/// A recorded string holding masks against the engine's: each mask matches any text.
fn mask_match(rec: &str, got: &str) -> bool {
    let Some(parts) = literal_parts(rec) else { return false };
    let (first, rest) = parts.split_first().unwrap();
    let (last, middle) = rest.split_last().unwrap();
    let Some(mut tail) = got.strip_prefix(first) else { return false };
    for m in middle {
        match tail.find(m) {
            Some(at) => tail = &tail[at + m.len()..],
            None => return false,
        }
    }
    tail.ends_with(last)
}

fn whole_mask(s: &str) -> bool {
    BARE_MASKS.contains(&s) || (s.starts_with('<') && s.ends_with('>') && s.len() >= 2)
}

/// A mask that stands for one value within a history: numbered (`<uuid:1>`, `<<task_token>:1>`) or
/// `a_task_token` (LocalStack's name for the task token of `test_multiple_executions_and_heartbeat_notifications`).
fn bound_mask(s: &str) -> bool {
    let numbered = || {
        placeholder_len(s.as_bytes()) == Some(s.len())
            && s[..s.len() - 1]
                .rsplit_once(':')
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    s == "a_task_token" || numbered()
}

/// An SDK response's `Content-Length` header: the length of a body whose ARNs, ids and dates the
/// recording masks, so it is volatile too (compared as a decimal length).
fn content_length(path: &str, rec: &Value, got: &Value) -> bool {
    let digits =
        |v: &Value| v.as_str().is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    (path.ends_with("/Content-Length") || path.ends_with("/Content-Length/0")) && digits(rec) && digits(got)
}

/// An ECS task's `AvailabilityZone`: the zone of the subnet ECS placed it in, which the recording masks
/// (`subnet_value`), so only the region part is compared and the zone letter is any letter.
fn availability_zone(path: &str, rec: &Value, got: &Value) -> bool {
    let (Some(r), Some(g)) = (rec.as_str(), got.as_str()) else { return false };
    match (path.ends_with("/AvailabilityZone"), zone_region(r), zone_region(g)) {
        (true, Some(r), Some(g)) => r == g || mask_match(r, g),
        _ => false,
    }
}

/// A MAC address whose first four octets LocalStack's IP mask took (`ip_value:d2:a7`, the ENI's
/// `macAddress` in `test_run_task_sync_raise_failure`): the last two are the random MAC's too, so only
/// the shape is compared.
fn partly_masked_mac(rec: &Value, got: &Value) -> bool {
    let octets = |s: &str, n: usize| {
        let parts: Vec<&str> = s.split(':').collect();
        parts.len() == n && parts.iter().all(|o| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    match (rec.as_str(), got.as_str()) {
        (Some(r), Some(g)) => r.strip_prefix("ip_value:").is_some_and(|rest| octets(rest, 2)) && octets(g, 6),
        _ => false,
    }
}

/// An availability zone's region part: all but its last letter.
fn zone_region(zone: &str) -> Option<&str> {
    zone.strip_suffix(|c: char| c.is_ascii_lowercase())
}

fn vdiff(rec: &Value, got: &Value, path: &str, out: &mut Vec<String>, masks: &mut Masks) {
    if content_length(path, rec, got) || availability_zone(path, rec, got) || partly_masked_mac(rec, got) {
        return;
    }
    if let (Value::String(r), Value::String(g)) = (rec, got)
        && bound_mask(r)
    {
        match masks.get(r) {
            Some(before) if before != g => out.push(format!(
                "{path}: the mask {r} is {} here and {} before",
                short(got, 80),
                short(&Value::String(before.clone()), 80)
            )),
            Some(_) => {}
            None => {
                masks.insert(r.clone(), g.clone());
            }
        }
    }
    match (rec, got) {
        (Value::String(r), Value::String(g)) if r != g && !mask_match(r, g) => {
            out.push(format!("{path}: AWS {} vs sfn {}", short(rec, 160), short(got, 160)));
        }
        (Value::String(_), Value::String(_)) => {}
        (Value::String(r), Value::Number(_)) if whole_mask(r) => {}
        // A bare mask replaced the whole value by its key, whatever its kind (`"Date": "date"` for the
        // header list `["Tue, 01 Dec …"]`).
        (Value::String(r), _) if BARE_MASKS.contains(&r.as_str()) => {}
        (Value::String(_), _) => out.push(format!(
            "{path}: kind AWS string {} vs sfn {} {}",
            short(rec, 80),
            kind(got),
            short(got, 80)
        )),
        (Value::Object(r), Value::Object(g)) => {
            for k in r.keys().filter(|k| !g.contains_key(*k)) {
                out.push(format!("{path}/{k}: missing in sfn (AWS {})", short(&r[k], 100)));
            }
            for k in g.keys().filter(|k| !r.contains_key(*k)) {
                out.push(format!("{path}/{k}: extra in sfn ({})", short(&g[k], 100)));
            }
            for (k, v) in r {
                if let Some(gv) = g.get(k) {
                    vdiff(v, gv, &format!("{path}/{k}"), out, masks);
                }
            }
        }
        (Value::Array(r), Value::Array(g)) => {
            if r.len() != g.len() {
                out.push(format!("{path}: array length AWS {} vs sfn {}", r.len(), g.len()));
            }
            for (n, (a, b)) in r.iter().zip(g).enumerate() {
                vdiff(a, b, &format!("{path}/{n}"), out, masks);
            }
        }
        _ if kind(rec) != kind(got) => out.push(format!(
            "{path}: kind AWS {} {} vs sfn {} {}",
            kind(rec),
            short(rec, 80),
            kind(got),
            short(got, 80)
        )),
        _ if !json_eq(rec, got) => {
            out.push(format!("{path}: AWS {} vs sfn {}", short(rec, 160), short(got, 160)));
        }
        _ => {}
    }
}

/// The path to the first object whose members are in another order in `b` than in `a` (`run.py` compares
/// parsed JSON, which cannot see it; a user diffing the texts can).
pub(crate) fn order_differs(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            if x.len() == y.len() && !x.keys().eq(y.keys()) {
                return Some(format!(
                    "{at}: members AWS {:?} vs sfn {:?}",
                    x.keys().collect::<Vec<_>>(),
                    y.keys().collect::<Vec<_>>()
                ));
            }
            x.iter().find_map(|(k, v)| y.get(k).and_then(|w| order_differs(v, w, &format!("{at}/{k}"))))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.iter().zip(y).enumerate().find_map(|(i, (v, w))| order_differs(v, w, &format!("{at}/{i}")))
        }
        _ => None,
    }
}

/// One field of an `…EventDetails` object (or one value of `assignedVariables`).
fn field_diff(name: &str, rec: &Value, got: &Value, path: &str, out: &mut Vec<String>, masks: &mut Masks) {
    if name.ends_with("Details") || OBJECT_FIELDS.contains(&name) {
        let (Value::Object(r), Value::Object(g)) = (rec, got) else {
            out.push(format!("{path}: kind AWS {} vs sfn {}", kind(rec), kind(got)));
            return;
        };
        if name == "assignedVariables" {
            for k in r.keys().filter(|k| !g.contains_key(*k)) {
                out.push(format!("{path}/{k}: missing in sfn (AWS {})", short(&r[k], 100)));
            }
            for k in g.keys().filter(|k| !r.contains_key(*k)) {
                out.push(format!("{path}/{k}: extra in sfn ({})", short(&g[k], 100)));
            }
            for (k, v) in r {
                if let Some(gv) = g.get(k) {
                    field_diff("", v, gv, &format!("{path}/{k}"), out, masks);
                }
            }
            return;
        }
        vdiff(rec, got, path, out, masks);
    } else if rec.is_string() || (rec.is_number() && got.is_number()) {
        vdiff(rec, got, path, out, masks);
    } else if let Value::String(g) = got {
        // The API sends JSON text; the snapshot recorded it parsed.
        match serde_json::from_str::<Value>(g) {
            Ok(parsed) => {
                vdiff(rec, &parsed, path, out, masks);
                // A user diffing the texts sees the member order too.
                if let Some(d) = order_differs(rec, &parsed, path) {
                    out.push(format!("member order {d}"));
                }
            }
            Err(_) => out.push(format!(
                "{path}: AWS JSON {}, sfn text that is not JSON {:?}",
                short(rec, 80),
                g.chars().take(80).collect::<String>()
            )),
        }
    } else {
        out.push(format!(
            "{path}: kind AWS JSON text ({}) vs sfn {} {}",
            kind(rec),
            kind(got),
            short(got, 80)
        ));
    }
}

fn event_diff(rec: &Value, got: &Value, tag: &str, out: &mut Vec<String>, masks: &mut Masks) {
    for f in ["id", "previousEventId"] {
        if !json_eq(&rec[f], &got[f]) {
            out.push(format!("{tag}: {f} AWS {} vs sfn {}", rec[f], got[f]));
        }
    }
    if !matches!(got["timestamp"], Value::Number(_) | Value::String(_)) {
        out.push(format!("{tag}: timestamp is {}", kind(&got["timestamp"])));
    }
    let (Some(r), Some(g)) = (rec.as_object(), got.as_object()) else {
        out.push(format!("{tag}: not an object"));
        return;
    };
    let mut missing: Vec<&String> = r
        .keys()
        .filter(|k| !g.contains_key(*k) && !["id", "previousEventId", "type"].contains(&k.as_str()))
        .collect();
    missing.sort();
    for k in missing {
        out.push(format!("{tag}.{k}: missing in sfn (AWS {})", short(&r[k], 100)));
    }
    let mut extra: Vec<&String> = g.keys().filter(|k| !r.contains_key(*k)).collect();
    extra.sort();
    for k in extra {
        out.push(format!("{tag}.{k}: extra in sfn ({})", short(&g[k], 100)));
    }
    let mut shared: Vec<&String> =
        r.keys().filter(|k| g.contains_key(*k) && k.ends_with("Details")).collect();
    shared.sort();
    for k in shared {
        let (Value::Object(rd), Value::Object(gd)) = (&r[k], &g[k]) else {
            out.push(format!("{tag}.{k}: kind AWS {} vs sfn {}", kind(&r[k]), kind(&g[k])));
            continue;
        };
        for f in rd.keys().filter(|f| !gd.contains_key(*f)) {
            out.push(format!("{tag}.{k}.{f}: missing in sfn (AWS {})", short(&rd[f], 100)));
        }
        for f in gd.keys().filter(|f| !rd.contains_key(*f)) {
            out.push(format!("{tag}.{k}.{f}: extra in sfn ({})", short(&gd[f], 100)));
        }
        for (f, v) in rd {
            if let Some(gv) = gd.get(f) {
                field_diff(f, v, gv, &format!("{tag}.{k}.{f}"), out, masks);
            }
        }
    }
}

/// LocalStack's `SfnNoneRecursiveParallelTransformer`, step for step (as run.py applies it), including how
/// it rewrites the list while enumerating it.
fn parallel_normalise(events: &mut Vec<Value>) {
    let (mut start, mut sub, mut inside, mut i) = (0usize, Vec::<Value>::new(), false, 0usize);
    while i < events.len() {
        let t = events[i]["type"].as_str().map(str::to_owned);
        match t.as_deref() {
            None => inside = false,
            Some(t) if PARALLEL_END.contains(&t) => {
                let end = i.min(events.len());
                let begin = start.min(end);
                events.splice(begin..end, sub.iter().cloned());
                inside = false;
            }
            Some("ParallelStateStarted") => {
                inside = true;
                sub.clear();
                start = i + 1;
            }
            Some(_) if inside => {
                events[i]["id"] = serde_json::json!([0]);
                events[i]["previousEventId"] = serde_json::json!(0);
                sub.push(events[i].clone());
            }
            Some(_) => {}
        }
        i += 1;
    }
}

enum Segment<'a> {
    One(&'a Value),
    Branches(Vec<&'a Value>),
}

fn is_branch(e: &Value) -> bool {
    e["id"] == serde_json::json!([0])
}

fn segments(events: &[Value]) -> Vec<Segment<'_>> {
    let mut out: Vec<Segment<'_>> = Vec::new();
    for e in events {
        if is_branch(e) {
            if let Some(Segment::Branches(b)) = out.last_mut() {
                b.push(e);
                continue;
            }
            out.push(Segment::Branches(vec![e]));
        } else {
            out.push(Segment::One(e));
        }
    }
    out
}

fn types(b: &[&Value]) -> Vec<String> {
    let mut t: Vec<String> = b.iter().map(|e| e["type"].as_str().unwrap_or_default().to_owned()).collect();
    t.sort();
    t
}

fn label(s: &Segment<'_>) -> String {
    match s {
        Segment::One(e) => e["type"].as_str().unwrap_or_default().to_owned(),
        Segment::Branches(b) => format!("[branches: {}]", types(b).join(", ")),
    }
}

/// A case's recorded history (`expect.history`) as AWS writes it today: the recording with its
/// `expect.history_amendments` applied — each `{id, field, recorded, current}` sets that event's field
/// from the value it was recorded with to what AWS has written since it changed the rule (the reason and
/// the recording's date are beside them; `fixtures/conformance/README.md`). An amendment whose
/// `recorded` value is not the recording's is not applied, so a wrong one shows as a difference.
pub(crate) fn recorded_history(case: &Value) -> Option<Vec<Value>> {
    let mut events = case["expect"]["history"].as_array()?.clone();
    let amendments = case["expect"]["history_amendments"]["events"].as_array();
    for a in amendments.map(Vec::as_slice).unwrap_or_default() {
        let (Some(id), Some(field)) = (a["id"].as_u64(), a["field"].as_str()) else { continue };
        let event = events.iter_mut().find(|e| e["id"].as_u64() == Some(id));
        if let Some(e) = event.and_then(Value::as_object_mut)
            && e.get(field) == Some(&a["recorded"])
        {
            e.insert(field.to_owned(), a["current"].clone());
        }
    }
    Some(events)
}

/// Difference lines between a recorded history and the engine's (empty: identical, modulo masks).
pub(crate) fn history_diff(rec_events: &[Value], got_events: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    let mut masks = Masks::new();
    let mut got_events = got_events.to_vec();
    if rec_events.iter().any(is_branch) {
        parallel_normalise(&mut got_events);
    }
    let (rs, gs) = (segments(rec_events), segments(&got_events));
    let labels = |s: &[Segment<'_>]| s.iter().take(6).map(label).collect::<Vec<_>>().join(", ");
    for (n, (r, g)) in rs.iter().zip(&gs).enumerate() {
        match (r, g) {
            (Segment::One(r), Segment::One(g)) if r["type"] == g["type"] => {
                event_diff(
                    r,
                    g,
                    &format!("#{} {}", r["id"], r["type"].as_str().unwrap_or_default()),
                    &mut out,
                    &mut masks,
                );
            }
            (Segment::Branches(r), Segment::Branches(g)) if types(r) == types(g) => {
                let mut todo: Vec<&Value> = g.clone();
                for e in r {
                    let same_type: Vec<usize> =
                        (0..todo.len()).filter(|&i| todo[i]["type"] == e["type"]).collect();
                    let identical = same_type.iter().copied().find_map(|i| {
                        let (mut d, mut m) = (Vec::new(), masks.clone());
                        event_diff(e, todo[i], "", &mut d, &mut m);
                        d.is_empty().then_some((i, m))
                    });
                    match identical {
                        Some((i, m)) => {
                            masks = m;
                            todo.remove(i);
                        }
                        None => {
                            let x = todo.remove(same_type[0]);
                            let name = e
                                .as_object()
                                .and_then(|m| {
                                    m.iter().find_map(|(k, v)| {
                                        k.ends_with("Details").then(|| v["name"].as_str()).flatten()
                                    })
                                })
                                .unwrap_or_default();
                            let tag = format!("#(branch) {} {name}", e["type"].as_str().unwrap_or_default());
                            event_diff(e, x, tag.trim_end(), &mut out, &mut masks);
                        }
                    }
                }
            }
            _ => {
                out.push(format!(
                    "event {}: AWS {} vs sfn {}; AWS sequence [{}], sfn [{}]",
                    n + 1,
                    label(r),
                    label(g),
                    labels(&rs[n..]),
                    labels(&gs[n..])
                ));
                return out;
            }
        }
    }
    if rs.len() != gs.len() {
        out.push(format!(
            "AWS has {} events, sfn {}: AWS continues [{}], sfn [{}]",
            rec_events.len(),
            got_events.len(),
            labels(rs.get(gs.len()..).unwrap_or_default()),
            labels(gs.get(rs.len()..).unwrap_or_default())
        ));
    }
    out
}

/// A JSON value as Python's `json.dumps` writes it (`", "` and `": "` separators): the text `run.py`
/// gives `sfn run --input`, which AWS keeps verbatim for a non-object input.
/// The recorded content (`recorded-content`) of the test whose id ends with `::<test>` in the LocalStack
/// snapshot file `path` (`../shared/recorded/…`); `None` when the file is absent (or has no such test).
#[allow(
    dead_code,
    reason = "the sfn and cli tests of ../shared/recorded use it; the engine's and xtask's do not"
)]
pub(crate) fn recorded_content(path: &std::path::Path, test: &str) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let all: Value = serde_json::from_str(&text).ok()?;
    let suffix = format!("::{test}");
    let (_, entry) = all.as_object()?.iter().find(|(k, _)| k.ends_with(&suffix))?;
    Some(entry["recorded-content"].clone())
}

pub(crate) fn python_dumps(v: &Value) -> String {
    match v {
        Value::Array(a) => format!("[{}]", a.iter().map(python_dumps).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_dumps(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}
