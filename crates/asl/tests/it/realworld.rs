//! The real-world corpus (`/work/shared/realworld`, read in place, never copied here): state machines
//! public projects deploy. Each must be valid or invalid exactly as AWS judged it (`aws_verdict` of
//! `SOURCES.tsv`: `valid` for deployed definitions, `invalid` for the one AWS refuses).

use std::path::Path;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/realworld");

#[test]
fn every_realworld_definition_gets_awss_verdict() {
    let root = Path::new(CORPUS);
    let Ok(sources) = std::fs::read_to_string(root.join("SOURCES.tsv")) else {
        eprintln!("skipped: the real-world corpus is not at {}", root.display());
        return;
    };
    let mut lines = sources.lines().map(|l| l.trim_end_matches('\r'));
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let column =
        |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} column"));
    let (file_col, verdict_col) = (column("file"), column("aws_verdict"));
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = line.split('\t').collect();
        let (file, verdict) = (cells[file_col], cells[verdict_col]);
        let text = std::fs::read(root.join("defs").join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let v = sfn_asl::validate(&text, Default::default());
        let expected = match verdict {
            "valid" => true,
            "invalid" => false,
            other => panic!("{file}: unknown verdict {other:?}"),
        };
        if v.is_valid() != expected {
            let errors: Vec<String> =
                v.diagnostics.iter().filter(|d| d.is_error()).map(ToString::to_string).collect();
            wrong.push(format!("{file} (AWS: {verdict}): {errors:?}"));
        }
        checked += 1;
    }
    assert_eq!(checked, 215, "SOURCES.tsv lists every file of defs/");
    assert!(
        wrong.is_empty(),
        "{} of {checked} definitions differ from AWS:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
