//! `cargo xtask bench`: our engine (in process through `sfn bench`, and through `sfn run`) against
//! aws-local-stepfunctions (`../shared/peers/js`, copied to and installed in `TARGET/peers`) on the same
//! files (`fixtures/bench/{loop,map}.json` and their inputs, given to the peer as well), in one run. Prints, per benchmark, `bench <name>: sfn=<transitions/s> peer=<transitions/s>
//! ratio=<min>–<median>–<max>x` (after `bench cold-validate: runs=<n> min_ms=<a> median_ms=<b>
//! max_ms=<c>`, the wall time of a whole `sfn validate` process) and `bench <name> history: events=<n> bytes_per_event=<b> heap_bytes_per_event=<h>`
//! (what the resident set grows by per history event kept, and what the histories hold per event counted
//! as asked of the allocator, `History::heap_bytes`: the first moves with the allocator's pages from run
//! to run, the second does not), then `bench ecs-scale: tasks=<N> describe_calls=<C>
//! rounds=<R> peak_rss_mib=<M> wall_s=<W>` and `bench distributed-map: items=<N> batches=<B>
//! peak_rss_mib=<M> wall_s=<W>` (10,000 and 100,000 items).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Where the peer (its scripts, and its own `ecs_like` definition) comes from.
const PEERS: &str = "../shared/peers";

/// The benchmark definitions in the repository.
const BENCH: &str = "fixtures/bench";

/// The benchmarks both engines run from the repository's files (`BENCH/NAME.json`, `BENCH/NAME.input.json`).
const SHARED_CASES: [&str; 2] = ["loop", "map"];

/// The target directory cargo builds into (`CARGO_TARGET_DIR` when set).
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

/// The release binary `cargo build --release -p sfn-cli` just made.
pub(crate) fn sfn() -> PathBuf {
    target_dir().join("release/sfn")
}

fn json_line(out: &[u8]) -> Result<Value> {
    let text = String::from_utf8_lossy(out);
    let line = text.lines().rev().find(|l| l.trim_start().starts_with('{')).context("no JSON output")?;
    Ok(serde_json::from_str(line)?)
}

/// One benchmark's timed runs, as `sfn bench` and the peer's `bench.mjs` both report them.
#[derive(Clone, Copy, Default)]
struct Timings {
    transitions: f64,
    min_ms: f64,
    median_ms: f64,
    max_ms: f64,
}

impl Timings {
    fn from_json(j: &Value) -> Self {
        let f = |k: &str| j[k].as_f64().unwrap_or(0.0);
        Timings {
            transitions: f("transitions"),
            min_ms: f("min_ms"),
            median_ms: f("median_ms"),
            max_ms: f("max_ms"),
        }
    }

    fn rate(self, ms: f64) -> f64 {
        if ms > 0.0 { self.transitions / (ms / 1000.0) } else { 0.0 }
    }

    /// The ratio of our throughput to the peer's over one run of both, as a range: the low end sets our slowest
    /// run against the peer's fastest, the middle compares medians, the high end our fastest with its slowest.
    fn ratio_range(self, peer: Timings) -> [f64; 3] {
        let r = |ours: f64, theirs: f64| {
            let p = peer.rate(theirs);
            if p > 0.0 { self.rate(ours) / p } else { 0.0 }
        };
        [r(self.max_ms, peer.min_ms), r(self.median_ms, peer.median_ms), r(self.min_ms, peer.max_ms)]
    }
}

/// In-process throughput through `sfn bench`.
fn ours(def: &Path, input: &Path, runs: usize, extra: &[&str]) -> Result<Value> {
    let out = Command::new(sfn())
        .arg("bench")
        .arg(def)
        .arg("--input")
        .arg(input)
        .args(["--runs", &runs.to_string()])
        .args(extra)
        .output()
        .context("cannot run sfn bench")?;
    if !out.status.success() {
        bail!("sfn bench {} failed: {}", def.display(), String::from_utf8_lossy(&out.stderr));
    }
    json_line(&out.stdout)
}

/// Wall-clock throughput of a whole `sfn run` process (median of `runs`).
fn via_cli(def: &Path, input: &Path, transitions: f64, runs: usize) -> Result<f64> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let out = Command::new(sfn())
            .arg("run")
            .arg(def)
            .arg("--input")
            .arg(input)
            .args(["--ecs", "sim", "--no-quotas", "--format", "json"])
            .output()?;
        if !out.status.success() {
            bail!("sfn run {} failed: {}", def.display(), String::from_utf8_lossy(&out.stdout));
        }
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(transitions / times[times.len() / 2])
}

/// The peer's scripts and benchmark definitions, copied into the target directory (`peers/js`,
/// `peers/bench`) so that its packages install there and not into `../shared`; the definitions both engines
/// run (`SHARED_CASES`) are the repository's, written over the peer's.
fn peer_dir() -> Result<PathBuf> {
    let root = target_dir().join("peers");
    for sub in ["js", "bench"] {
        let (from, to) = (Path::new(PEERS).join(sub), root.join(sub));
        std::fs::create_dir_all(&to).with_context(|| format!("cannot create {}", to.display()))?;
        for entry in std::fs::read_dir(&from).with_context(|| format!("cannot read {}", from.display()))? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                copy_writable(&entry.path(), &to.join(entry.file_name()))?;
            }
        }
    }
    for name in SHARED_CASES {
        for file in [format!("{name}.json"), format!("{name}.input.json")] {
            copy_writable(&Path::new(BENCH).join(&file), &root.join("bench").join(&file))?;
        }
    }
    Ok(root.join("js"))
}

/// Copies `from` over `to`, which may be a read-only copy made earlier (`../shared` is read-only, and
/// `fs::copy` keeps the permissions).
fn copy_writable(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        std::fs::remove_file(to).with_context(|| format!("cannot replace {}", to.display()))?;
    }
    std::fs::copy(from, to).with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// The peer's figures (`node bench.mjs`), by benchmark name; installs its packages on first use.
fn peer(runs: usize, names: &[&str]) -> Result<Vec<(String, Timings)>> {
    let dir = peer_dir()?;
    if !dir.join("node_modules").is_dir() {
        let st = Command::new("npm")
            .arg("ci")
            .current_dir(&dir)
            .status()
            .context("cannot run npm (Node.js is needed for the peer)")?;
        if !st.success() {
            bail!("npm ci failed in {}", dir.display());
        }
    }
    let out =
        Command::new("node").arg("bench.mjs").arg(runs.to_string()).args(names).current_dir(&dir).output()?;
    if !out.status.success() {
        bail!("node bench.mjs failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let mut v = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with('{')) {
        let j: Value = serde_json::from_str(line)?;
        v.push((j["name"].as_str().unwrap_or_default().to_owned(), Timings::from_json(&j)));
    }
    Ok(v)
}

/// The seed definitions `bench cold-validate` validates, one process each.
const COLD_VALIDATE: [&str; 2] = ["fixtures/seed/run-job.asl.json", "fixtures/seed/callback.asl.json"];

/// `bench cold-validate`: the wall time of whole `sfn validate FILE` processes (21 per seed definition,
/// alternating), min, median and max — the cold start editors and scripts pay per file.
pub(crate) fn cold_validate() -> Result<()> {
    let mut ms = Vec::new();
    for _ in 0..21 {
        for def in COLD_VALIDATE {
            let t0 = Instant::now();
            let out =
                Command::new(sfn()).args(["validate", def]).output().context("cannot run sfn validate")?;
            ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            if !out.status.success() {
                bail!("sfn validate {def} failed: {}", String::from_utf8_lossy(&out.stdout));
            }
        }
    }
    ms.sort_by(f64::total_cmp);
    let (min, median, max) = (ms[0], ms[ms.len() / 2], ms[ms.len() - 1]);
    println!("bench cold-validate: runs={} min_ms={min:.2} median_ms={median:.2} max_ms={max:.2}", ms.len());
    Ok(())
}

/// Runs every benchmark.
pub(crate) fn run(scale_tasks: usize) -> Result<()> {
    cold_validate()?;
    let bench = Path::new(BENCH);
    let cases: [(&str, PathBuf, PathBuf); 3] = [
        (SHARED_CASES[0], bench.join("loop.json"), bench.join("loop.input.json")),
        (SHARED_CASES[1], bench.join("map.json"), bench.join("map.input.json")),
        ("ecs_like", bench.join("ecs_like.json"), bench.join("ecs_like.input.json")),
    ];
    let peers = peer(5, &["loop", "map", "ecs_like"])?;
    for (name, def, input) in &cases {
        let j = ours(def, input, 5, &[])?;
        let t = Timings::from_json(&j);
        let cli = via_cli(def, input, t.transitions, 3)?;
        let pt = peers.iter().find(|(n, _)| n == name).map(|(_, t)| *t).unwrap_or_default();
        let (rate, p) = (t.rate(t.median_ms), pt.rate(pt.median_ms));
        let [lo, mid, hi] = t.ratio_range(pt);
        println!("bench {name}: sfn={rate:.0} peer={p:.0} ratio={lo:.1}–{mid:.1}–{hi:.1}x");
        println!(
            "bench {name} via sfn run: sfn={cli:.0} peer={p:.0} ratio={:.1}",
            if p > 0.0 { cli / p } else { 0.0 }
        );
        println!(
            "bench {name} history: events={} bytes_per_event={:.0} heap_bytes_per_event={:.0}",
            j["history_events"],
            j["history_bytes_per_event"].as_f64().unwrap_or(0.0),
            j["history_heap_bytes_per_event"].as_f64().unwrap_or(0.0)
        );
    }
    // ecs-scale: N concurrent .sync tasks on the simulator, 60 s of (virtual) task time each.
    let input = std::env::temp_dir().join(format!("sfn-ecs-scale-{scale_tasks}.json"));
    let jobs: Vec<Value> =
        (0..scale_tasks).map(|i| serde_json::json!({"commands": ["echo", format!("job-{i}")]})).collect();
    std::fs::write(&input, serde_json::to_vec(&serde_json::json!({"jobs": jobs}))?)?;
    let t0 = Instant::now();
    let r = ours(Path::new("fixtures/bench/ecs_scale.json"), &input, 0, &["--sim-run-seconds", "60"])?;
    let wall = t0.elapsed().as_secs_f64();
    println!(
        "bench ecs-scale: tasks={} describe_calls={} rounds={} peak_rss_mib={:.0} wall_s={wall:.2}",
        r["tasks"],
        r["describe_calls"],
        r["rounds"],
        r["peak_rss_mib"].as_f64().unwrap_or(0.0)
    );
    let (tasks, calls, rounds) = (
        r["tasks"].as_f64().unwrap_or(0.0),
        r["describe_calls"].as_f64().unwrap_or(0.0),
        r["rounds"].as_f64().unwrap_or(1.0),
    );
    if calls > rounds * (tasks / 100.0).ceil() {
        bail!("DescribeTasks calls per round exceed ceil(N/100)");
    }
    for items in [10_000, 100_000] {
        distributed_map(items)?;
    }
    Ok(())
}

/// `distributed-map`: `sfn run --s3 DIR --ecs sim` of `fixtures/bench/distributed_map.json` over `items`
/// JSONL items (batches of 100, one `.sync` task each, a ResultWriter); its peak RSS from `/usr/bin/time -v`.
fn distributed_map(items: usize) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("sfn-bench-dmap-{}-{items}", std::process::id()));
    std::fs::create_dir_all(dir.join("in"))?;
    std::fs::create_dir_all(dir.join("out"))?;
    let lines: String = (0..items).map(|i| format!("{{\"id\":{i},\"file\":\"f{i}.csv\"}}\n")).collect();
    std::fs::write(dir.join("in/items.jsonl"), lines)?;
    let t0 = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(sfn())
        .args(["run", "fixtures/bench/distributed_map.json", "--ecs", "sim", "--task-definitions"])
        .arg("fixtures/seed/task-definitions")
        .arg("--s3")
        .arg(&dir)
        .args(["--format", "json"])
        .output()
        .context("cannot run /usr/bin/time -v sfn run")?;
    let wall = t0.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let v = json_line(&out.stdout)?;
    if v["status"] != "SUCCEEDED" {
        bail!("the distributed map bench failed: {v}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kib: f64 = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0.0);
    println!(
        "bench distributed-map: items={items} batches={} peak_rss_mib={:.0} wall_s={wall:.2}",
        items.div_ceil(100),
        kib / 1024.0
    );
    Ok(())
}
