//! Every path, template expression and intrinsic call in the deployed definitions of
//! `../shared/realworld/defs` (outside the repository; the test is skipped when they are absent) parses.
//! Those definitions were accepted by AWS, so none of their paths may be refused.

use std::path::PathBuf;

use serde_json::Value;
use sfn_path::{Expr, Path};

fn defs_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/realworld/defs");
    dir.is_dir().then_some(dir)
}

/// Every `(key, string)` pair whose string is a path (`$…`) or a `.$` member's expression.
fn expressions<'v>(key: &str, v: &'v Value, out: &mut Vec<(String, &'v str)>) {
    match v {
        Value::String(s) if key.ends_with(".$") || s.starts_with('$') => out.push((key.to_owned(), s)),
        Value::Object(m) => m.iter().for_each(|(k, v)| expressions(k, v, out)),
        Value::Array(a) => a.iter().for_each(|v| expressions(key, v, out)),
        _ => {}
    }
}

#[test]
fn realworld_paths_parse() {
    let Some(dir) = defs_dir() else {
        eprintln!("skipped: no real-world definitions at ../shared/realworld/defs");
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let (mut checked, mut failures) = (0usize, Vec::new());
    let mut seen = std::collections::BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let def: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut found = Vec::new();
        expressions("", &def, &mut found);
        for (key, src) in found {
            let parsed =
                if key.ends_with(".$") { Expr::parse(src).map(|_| ()) } else { Path::parse(src).map(|_| ()) };
            checked += 1;
            seen.insert(src.to_owned());
            if let Err(e) = parsed {
                failures.push(format!("{}: {key}: {e}", file.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} expressions do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The forms this crate had to learn, as the deployed definitions write them.
    for form in [
        "States.StringToJson($.[0].body)",
        "$.[0]",
        "$.[?(@.OU > 0)]",
        "$..QualityResults[?(@.constraint_status==Failure)]",
        "$[?(@.TargetLanguageCode==es)].TranslatedText",
    ] {
        assert!(seen.contains(form), "{form} is no longer in the real-world definitions");
    }
    let bare = Path::parse("$..QualityResults[?(@.constraint_status==Failure)]").unwrap();
    assert!(bare.compile_error().is_some());
    println!("{checked} expressions in {} definitions parse", files.len());
}
