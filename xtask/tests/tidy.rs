//! Tidy: the architecture of `ARCHITECTURE.md` as a test, in rust-analyzer's `tidy` style — `cargo test`
//! alone catches drift, no extra CI step.
//!
//! - The crate graph (`cargo metadata --no-deps`): which workspace crate may depend on which ([`ALLOWED`],
//!   the same edges as ARCHITECTURE.md's "Crate graph", every one pointing down its code map); test-only
//!   edges ([`TEST_ONLY`]) are named one by one.
//! - `aws-*` crates (the SDK and its runtime) only in `sfn-ecs` and `sfn-s3`, plus the named test-only uses
//!   ([`AWS_TEST_ONLY`]).
//! - A `//!` doc at the top of every module file of the libraries, the CLI, the examples and xtask.
//! - No unused dependency: each declared dependency's crate name appears in the sources that can use it
//!   (`use name`, `name::`, `extern crate name`), and a dev-dependency that repeats a normal one adds
//!   something (features); exceptions are listed with their reason ([`USED_WITHOUT_NAME`]).
//!
//! - Every crate that can be published has what a registry shows (description, license, repository,
//!   documentation, readme that exists, keywords, categories), and its dependencies on workspace crates
//!   carry versions, and its sources include no file from outside the crate (`cargo xtask ci` packages
//!   them without a verify build, so this is what would break a published crate).
//!
//! The checks are plain functions over the metadata value, so a test of the test can run them on doctored
//! metadata ([`forbidden_edges_are_caught`]).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test: a broken workspace fails loudly")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Workspace crate → the workspace crates it may depend on (normal and build dependencies; dev-dependencies
/// too). Dependencies point down only: each edge goes further down ARCHITECTURE.md's code map (checked), and
/// the table is ARCHITECTURE.md's "Crate graph" (checked).
const ALLOWED: &[(&str, &[&str])] = &[
    ("sfn-examples", &["sfn"]),
    ("sfn-cli", &["sfn", "sfn-console", "sfn-server"]),
    ("sfn-console", &["sfn", "sfn-server"]),
    ("sfn-server", &["sfn-engine", "sfn-patterns", "sfn-asl"]),
    ("sfn", &["sfn-engine", "sfn-s3", "sfn-ecs", "sfn-iam", "sfn-patterns", "sfn-asl", "sfn-path"]),
    ("sfn-s3", &["sfn-engine"]),
    ("sfn-engine", &["sfn-patterns", "sfn-asl", "sfn-path"]),
    ("sfn-ecs", &["sfn-patterns", "sfn-asl"]),
    ("sfn-iam", &["sfn-patterns", "sfn-asl", "sfn-path"]),
    ("sfn-patterns", &["sfn-asl", "sfn-path"]),
    ("sfn-asl", &["sfn-path"]),
    ("sfn-path", &[]),
    ("xtask", &[]),
];

/// Dev-dependency edges on top of [`ALLOWED`]: a crate's tests may drive it through a crate above it (cargo
/// allows such cycles for tests only).
const TEST_ONLY: &[(&str, &[&str])] = &[
    // The ECS integration tested end to end through the interpreter.
    ("sfn-ecs", &["sfn-engine"]),
    // The server's tests run `.sync` tasks on the simulator.
    ("sfn-server", &["sfn-ecs"]),
];

/// The only crates whose (normal) dependencies may be `aws-*` crates: the SDK is named nowhere else
/// (`sfn-ecs`: aws-sdk-ecs; `sfn-s3`: aws-sdk-s3).
const AWS_CRATES: &[&str] = &["sfn-ecs", "sfn-s3"];

/// `aws-*` dev-dependencies of other crates, each a test-only use.
const AWS_TEST_ONLY: &[(&str, &str)] = &[
    // The server's tests talk to it with the Rust SDK's Step Functions client, as users do.
    ("sfn-server", "aws-sdk-sfn"),
    // ... over the SDK's plain-HTTP hyper client (no TLS stack).
    ("sfn-server", "aws-smithy-http-client"),
];

/// Packages whose library is named differently from the package (`--no-deps` metadata does not say).
const LIB_NAMES: &[(&str, &str)] = &[("md-5", "md5")];

/// (crate, dependency, reason): dependencies used without their name appearing in the sources.
const USED_WITHOUT_NAME: &[(&str, &str, &str)] = &[];

/// Where the workspace is.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `cargo metadata --format-version 1 --no-deps`, parsed.
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root())
        .output()
        .expect("cannot run cargo metadata");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("cargo metadata printed no JSON")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

/// The workspace's packages (name → package).
fn packages(metadata: &Value) -> BTreeMap<&str, &Value> {
    metadata["packages"].as_array().into_iter().flatten().map(|p| (str_of(p, "name"), p)).collect()
}

fn dependencies(package: &Value) -> impl Iterator<Item = &Value> {
    package["dependencies"].as_array().into_iter().flatten()
}

fn is_dev(dep: &Value) -> bool {
    dep["kind"].as_str() == Some("dev")
}

fn table(t: &[(&'static str, &[&'static str])]) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    t.iter().map(|(k, v)| (*k, v.iter().copied().collect())).collect()
}

/// The crate graph: every edge between workspace crates allowed by [`ALLOWED`] (or, for a dev-dependency,
/// [`TEST_ONLY`]); every workspace crate in the table; `aws-*` crates only where allowed. One line per
/// problem.
fn check_graph(metadata: &Value) -> Vec<String> {
    let allowed = table(ALLOWED);
    let test_only = table(TEST_ONLY);
    let packages = packages(metadata);
    let mut problems = Vec::new();
    for (name, package) in &packages {
        let Some(may) = allowed.get(name) else {
            problems.push(format!(
                "{name} is not in the crate graph (ALLOWED in xtask/tests/tidy.rs, ARCHITECTURE.md)"
            ));
            continue;
        };
        for dep in dependencies(package) {
            let dep_name = str_of(dep, "name");
            if packages.contains_key(dep_name) || dep.get("path").is_some_and(Value::is_string) {
                let ok = may.contains(dep_name)
                    || (is_dev(dep) && test_only.get(name).is_some_and(|t| t.contains(dep_name)));
                if !ok {
                    let kind = if is_dev(dep) { "dev-dependency" } else { "dependency" };
                    problems.push(format!(
                        "{name} → {dep_name} ({kind}) is not an edge of the crate graph (ARCHITECTURE.md)"
                    ));
                }
            }
            if dep_name.starts_with("aws-") && !AWS_CRATES.contains(name) {
                let ok = is_dev(dep) && AWS_TEST_ONLY.contains(&(name, dep_name));
                if !ok {
                    problems.push(format!(
                        "{name} depends on {dep_name}: only {} name aws-* crates",
                        AWS_CRATES.join(" and ")
                    ));
                }
            }
        }
    }
    problems
}

/// The code map's crates, top to bottom (`### \`crates/cli\` — \`sfn-cli\`` → `sfn-cli`; `### \`xtask\``).
fn code_map_order(architecture: &str) -> Vec<String> {
    architecture
        .lines()
        .filter_map(|l| l.strip_prefix("### `"))
        .map(|l| {
            let names: Vec<&str> = l.split('`').step_by(2).collect();
            names.get(1).map_or(names[0], |n| n).to_owned()
        })
        .collect()
}

/// ARCHITECTURE.md's "Crate graph" list: `` - `a` → `b`, `c` `` (and `tests: `d``, test-only edges).
fn documented_graph(
    architecture: &str,
) -> (BTreeMap<String, BTreeSet<String>>, BTreeMap<String, BTreeSet<String>>) {
    let section =
        architecture.split("## Crate graph").nth(1).expect("ARCHITECTURE.md has no \"## Crate graph\"");
    let section = section.split("\n## ").next().unwrap_or_default();
    let (mut allowed, mut test_only) = (BTreeMap::new(), BTreeMap::new());
    for line in section.lines().filter_map(|l| l.strip_prefix("- `")) {
        let (normal, tests) = line.split_once("tests:").unwrap_or((line, ""));
        let names = |s: &str| s.split('`').skip(1).step_by(2).map(str::to_owned).collect::<BTreeSet<_>>();
        let (name, rest) = normal.split_once('`').expect("- `crate` → ...");
        allowed.insert(name.to_owned(), names(rest));
        let t = names(tests);
        if !t.is_empty() {
            test_only.insert(name.to_owned(), t);
        }
    }
    (allowed, test_only)
}

fn owned(t: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    t.iter().map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect())).collect()
}

#[test]
fn crate_graph() {
    let problems = check_graph(&metadata());
    assert!(problems.is_empty(), "the crate graph drifted from ARCHITECTURE.md:\n{}", problems.join("\n"));
}

#[test]
fn allowed_edges_are_the_architecture() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let order = code_map_order(&architecture);
    let position = |n: &str| order.iter().position(|o| o == n);
    for name in packages(&metadata()).keys() {
        assert!(position(name).is_some(), "{name} has no section in ARCHITECTURE.md's code map");
    }
    for (from, tos) in ALLOWED {
        for to in *tos {
            let (f, t) = (position(from), position(to));
            assert!(f < t, "{from} → {to} does not point down ARCHITECTURE.md's code map ({order:?})");
        }
    }
    let (allowed, test_only) = documented_graph(&architecture);
    assert_eq!(allowed, owned(ALLOWED), "ARCHITECTURE.md's crate graph and ALLOWED differ");
    assert_eq!(test_only, owned(TEST_ONLY), "ARCHITECTURE.md's test-only edges and TEST_ONLY differ");
}

/// The test of the test: the checker refuses an upward edge, an edge to a crate below that is not in the
/// table, an unknown workspace crate and the SDK outside `sfn-ecs`.
#[test]
fn forbidden_edges_are_caught() {
    let mut m = metadata();
    assert!(check_graph(&m).is_empty());
    let packages = m["packages"].as_array_mut().unwrap();
    let path = packages.iter_mut().find(|p| p["name"] == "sfn-path").unwrap();
    path["dependencies"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "sfn-engine", "kind": null, "path": "/work/crates/engine"}));
    let engine = packages.iter_mut().find(|p| p["name"] == "sfn-engine").unwrap();
    let deps = engine["dependencies"].as_array_mut().unwrap();
    deps.push(serde_json::json!({"name": "aws-sdk-s3", "kind": null}));
    deps.push(serde_json::json!({"name": "sfn-ecs", "kind": "dev", "path": "/work/crates/ecs"}));
    let mut stray = packages[0].clone();
    stray["name"] = "sfn-stray".into();
    packages.push(stray);
    let problems = check_graph(&m);
    let expected = [
        "sfn-path → sfn-engine (dependency) is not an edge of the crate graph (ARCHITECTURE.md)",
        "sfn-engine depends on aws-sdk-s3: only sfn-ecs and sfn-s3 name aws-* crates",
        "sfn-engine → sfn-ecs (dev-dependency) is not an edge of the crate graph (ARCHITECTURE.md)",
        "sfn-stray is not in the crate graph (ALLOWED in xtask/tests/tidy.rs, ARCHITECTURE.md)",
    ];
    for e in expected {
        assert!(problems.iter().any(|p| p == e), "missing {e:?} in {problems:#?}");
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn package_dir(package: &Value) -> PathBuf {
    Path::new(str_of(package, "manifest_path")).parent().unwrap().to_path_buf()
}

/// Module files that do not start with a `//!` doc.
fn check_module_docs(metadata: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for package in packages(metadata).values() {
        for file in rust_files(&package_dir(package).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            if !text.starts_with("//!") {
                problems.push(format!("{} does not start with a `//!` doc", file.display()));
            }
        }
    }
    problems
}

#[test]
fn module_docs() {
    let problems = check_module_docs(&metadata());
    assert!(problems.is_empty(), "say what each module is for:\n{}", problems.join("\n"));
}

/// The name code uses for a dependency (its rename, else its library name).
fn crate_ident(dep: &Value) -> String {
    if let Some(r) = dep["rename"].as_str() {
        return r.replace('-', "_");
    }
    let name = str_of(dep, "name");
    LIB_NAMES.iter().find(|(p, _)| *p == name).map_or(name, |(_, l)| l).replace('-', "_")
}

/// True when `text` names crate `ident` as a path (`ident::`), in a `use` or in an `extern crate`.
fn mentions(text: &str, ident: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(ident).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = &text[i + ident.len()..];
        if before.is_some_and(is_ident) || before == Some(':') {
            return false;
        }
        let preceded_by = |w: &str| text[..i].trim_end().ends_with(w);
        after.starts_with("::")
            || ((preceded_by("use") || preceded_by("extern crate"))
                && !after.chars().next().is_some_and(is_ident))
    })
}

/// Declared dependencies whose crate is not named in the sources that can use it: `src/` (and `build.rs`)
/// for normal ones, every `.rs` file of the package for dev-dependencies; and dev-dependencies that only
/// repeat a normal dependency.
fn check_unused(metadata: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, package) in packages(metadata) {
        let dir = package_dir(package);
        let read = |files: Vec<PathBuf>| -> String {
            files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect::<Vec<_>>().join("\n")
        };
        let mut src_files = rust_files(&dir.join("src"));
        src_files.extend(Some(dir.join("build.rs")).filter(|b| b.exists()));
        let src = read(src_files);
        let all = read(rust_files(&dir));
        let normal: Vec<&Value> = dependencies(package).filter(|d| !is_dev(d)).collect();
        for dep in dependencies(package) {
            let dep_name = str_of(dep, "name");
            if USED_WITHOUT_NAME.iter().any(|(c, d, _)| *c == name && *d == dep_name) {
                continue;
            }
            let ident = crate_ident(dep);
            let text = if is_dev(dep) { &all } else { &src };
            if !mentions(text, &ident) {
                problems.push(format!("{name}: {dep_name} is declared but `{ident}` is not used"));
            }
            if is_dev(dep) {
                let features = |d: &Value| -> BTreeSet<String> {
                    d["features"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|f| f.as_str().map(str::to_owned))
                        .collect()
                };
                let same = normal.iter().any(|n| {
                    str_of(n, "name") == dep_name
                        && n["optional"] != true
                        && n["uses_default_features"] == dep["uses_default_features"]
                        && features(dep).is_subset(&features(n))
                });
                if same {
                    problems.push(format!("{name}: dev-dependency {dep_name} only repeats the dependency"));
                }
            }
        }
    }
    problems
}

#[test]
fn no_unused_dependencies() {
    let problems = check_unused(&metadata());
    assert!(problems.is_empty(), "remove them (or say why in USED_WITHOUT_NAME):\n{}", problems.join("\n"));
}

#[test]
fn mentions_finds_uses_only() {
    assert!(mentions("use serde_json::Value;", "serde_json"));
    assert!(mentions("#[tokio::test]", "tokio"));
    assert!(mentions("extern crate md5;", "md5"));
    assert!(mentions("use insta;", "insta"));
    assert!(!mentions("use sfn_asl::x;", "asl"));
    assert!(!mentions("crate::rand::x", "rand"));
    assert!(!mentions("// the rand crate", "rand"));
    assert!(!mentions("use randomness::x", "rand"));
}

/// Publishable packages without what a registry shows, and their workspace dependencies without versions.
fn check_package_metadata(metadata: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let packages = packages(metadata);
    for (name, package) in &packages {
        if package["publish"].as_array().is_some_and(Vec::is_empty) {
            continue; // publish = false
        }
        for field in ["description", "license", "repository", "documentation", "readme"] {
            if package[field].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{name} has no `{field}`"));
            }
        }
        if let Some(readme) = package["readme"].as_str()
            && !package_dir(package).join(readme).is_file()
        {
            problems.push(format!("{name}: {readme} does not exist"));
        }
        for field in ["keywords", "categories"] {
            let n = package[field].as_array().map_or(0, Vec::len);
            if !(1..=5).contains(&n) {
                problems.push(format!("{name} has {n} {field} (crates.io takes 1 to 5)"));
            }
        }
        for dep in dependencies(package).filter(|d| !is_dev(d)) {
            let dep_name = str_of(dep, "name");
            if packages.contains_key(dep_name) && dep["req"] == "*" {
                problems.push(format!(
                    "{name}: the dependency on {dep_name} has no version (cargo package needs one)"
                ));
            }
        }
    }
    problems
}

/// `include_str!`/`include_bytes!` in a publishable crate's `src/` that reach outside the crate: the
/// packaged crate would not build.
fn check_self_contained(metadata: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, package) in packages(metadata) {
        if package["publish"].as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        let dir = package_dir(package).canonicalize().unwrap();
        for file in rust_files(&dir.join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            for mac in ["include_str!(\"", "include_bytes!(\""] {
                for (i, _) in text.match_indices(mac) {
                    let rest = &text[i + mac.len()..];
                    let Some(end) = rest.find('"') else { continue };
                    let target = file.parent().unwrap().join(&rest[..end]);
                    let inside = target.canonicalize().is_ok_and(|t| t.starts_with(&dir));
                    if !inside {
                        problems.push(format!(
                            "{name}: {} includes {} from outside the crate",
                            file.display(),
                            &rest[..end]
                        ));
                    }
                }
            }
        }
    }
    problems
}

#[test]
fn packages_can_be_published_one_by_one() {
    let metadata = metadata();
    let mut problems = check_package_metadata(&metadata);
    problems.extend(check_self_contained(&metadata));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
