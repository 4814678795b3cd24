//! Fuzz targets for the parsers and evaluators: random and grammar-shaped input must never panic.
//!
//! `cargo test` runs a few hundred cases per target; `cargo xtask fuzz --seconds N` sets
//! `SFN_FUZZ_SECONDS` and each target then runs for that long (release build, no shrinking).
//! A failing input is printed; add it to `regressions()` below.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};
use sfn_path::{Call, Expr, Path, ReferencePath, Scope, Template};

/// Runs `check` on values drawn from `strategy` for the fuzz budget (or `cases` cases).
fn fuzz<S: Strategy>(name: &str, strategy: S, cases: usize, check: impl Fn(&S::Value))
where
    S::Value: std::fmt::Debug,
{
    let budget = std::env::var("SFN_FUZZ_SECONDS").ok().and_then(|s| s.parse::<u64>().ok());
    let deadline = budget.map(|s| Instant::now() + Duration::from_secs(s));
    let mut runner = TestRunner::deterministic();
    let mut n = 0usize;
    loop {
        match deadline {
            Some(d) if Instant::now() >= d => break,
            None if n >= cases => break,
            _ => {}
        }
        let value = strategy.new_tree(&mut runner).expect("strategy").current();
        if catch_unwind(AssertUnwindSafe(|| check(&value))).is_err() {
            panic!("fuzz target {name} panicked on input {value:?}");
        }
        n += 1;
    }
    if budget.is_some() {
        println!("fuzz {name}: {n} cases, no panic");
    }
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[a-z0-9 ,{}'\\\\\\-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-c]{1,2}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// JsonPath-shaped strings: mostly valid, often subtly broken.
fn path_text() -> impl Strategy<Value = String> {
    let seg = prop_oneof![
        "\\.[a-c]{1,2}",
        "\\.\\*",
        "\\.\\.[a-c]",
        "\\[-?[0-9]{1,2}\\]",
        "\\[[0-9]?:[0-9]?(:-?[0-9])?\\]",
        "\\['[a-c ]{0,3}'\\]",
        "\\[\\*\\]",
        "\\[[0-9],[0-9]\\]",
        "\\[\\?\\(@\\.[a-c] ?(==|<|>=|!=) ?([0-9]|'[a-c]')\\)\\]",
        "\\[\\?\\(@\\.[a-c]( && | \\|\\| )!@\\.[a-c]\\)\\]",
        "[\\[\\]().,'@?*$ ]",
    ];
    (prop_oneof!["\\$", "\\$\\$", "\\$[a-z]{1,3}"], prop::collection::vec(seg, 0..6))
        .prop_map(|(root, segs)| root + &segs.concat())
}

/// Intrinsic-call-shaped strings.
fn call_text() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "Format",
        "StringToJson",
        "JsonToString",
        "Array",
        "ArrayPartition",
        "ArrayContains",
        "ArrayRange",
        "ArrayGetItem",
        "ArrayLength",
        "ArrayUnique",
        "Base64Encode",
        "Base64Decode",
        "Hash",
        "JsonMerge",
        "MathRandom",
        "MathAdd",
        "StringSplit",
        "UUID",
        "Nope",
    ]);
    let arg = prop_oneof![
        "'[a-z{}\\\\' ]{0,6}'",
        "-?[0-9]{1,4}",
        "(true|false|null)",
        path_text(),
        Just("States.Array()".to_owned()),
        Just("States.ArrayRange(0, 3, 1)".to_owned()),
    ];
    (names, prop::collection::vec(arg, 0..4), any::<bool>()).prop_map(|(n, args, close)| {
        format!("States.{n}({}{}", args.join(", "), if close { ")" } else { "" })
    })
}

fn regressions() -> Vec<&'static str> {
    vec!["$[?(", "$..", "$[:", "$['", "States.Format('\\", "$.a[?(!!!@.b)]", "$[-9223372036854775808]"]
}

#[test]
fn path_parse_and_eval() {
    for r in regressions() {
        let _ = Path::parse(r);
    }
    fuzz("path", (prop_oneof![path_text(), ".{0,24}"], json()), 400, |(text, doc)| {
        if let Ok(p) = Path::parse(text) {
            let _ = p.normalized();
            let vars = serde_json::Map::from_iter([("abc".to_owned(), doc.clone())]);
            let _ = p.eval(&Scope { input: doc, context: doc, variables: &vars });
            let _ = p.take(doc.clone(), &Scope::input(doc));
        }
        if let Ok(rp) = ReferencePath::parse(text) {
            let _ = rp.get(doc);
            let _ = rp.set(doc.clone(), json!(1));
        }
    });
}

#[test]
fn intrinsic_parse_and_eval() {
    fuzz("intrinsics", (prop_oneof![call_text(), ".{0,24}"], json()), 400, |(text, doc)| {
        if let Ok(e) = Expr::parse(text) {
            let _ = e.eval(&Scope::input(doc));
        }
        let _ = Call::parse(text);
    });
}

#[test]
fn templates() {
    let template =
        (json(), prop::collection::vec(("[a-c]{1,2}\\.\\$", prop_oneof![path_text(), call_text()]), 0..4))
            .prop_map(|(base, dynamic)| {
                let mut m = serde_json::Map::new();
                m.insert("base".into(), base);
                for (k, v) in dynamic {
                    m.insert(k, Value::String(v));
                }
                Value::Object(m)
            });
    fuzz("templates", (template, json()), 300, |(t, doc)| {
        if let Ok(t) = Template::parse(t) {
            let _ = t.eval(&Scope::input(doc));
        }
    });
}
