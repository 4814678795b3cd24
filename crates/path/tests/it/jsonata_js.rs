//! JSONata's regular-expression built-ins as jsonata-js 2 (the reference implementation, jsonata.org)
//! answers them: each row's expected value was printed by `jsonata@2` under Node.js 20 for the same
//! expression (an error row names jsonata-js's code).

use serde_json::{Value, json};
use sfn_path::jsonata;

/// What jsonata-js gave.
enum Js {
    Value(Value),
    Undefined,
    Error(&'static str),
}

#[test]
fn regex_built_ins_answer_as_jsonata_js() {
    let rows: Vec<(&str, Js)> = vec![
        ("$split(\"a,,b\", /,/)", Js::Value(json!(["a", "", "b"]))),
        ("$split(\",a,\", /,/)", Js::Value(json!(["", "a", ""]))),
        ("$split(\"a,,b\", /,/, 2)", Js::Value(json!(["a", ""]))),
        ("$split(\"a,b\", /,/, 0)", Js::Value(json!([]))),
        ("$replace(\"a,,b\", /,/, \"-\", 1)", Js::Value(json!("a-,b"))),
        ("$match(\"ab\", /$/)", Js::Value(json!({"match": "", "index": 2, "groups": []}))),
        ("$split(\"ab\", /$/)", Js::Value(json!(["ab", ""]))),
        ("$replace(\"ab\", /$/, \"-\")", Js::Value(json!("ab-"))),
        ("$match(\"b\", /a*/, 1)", Js::Error("D1004")),
        ("$match(\"b\", /a*/)", Js::Error("D1004")),
        ("$match(\"\", /a*/)", Js::Value(json!({"match": "", "index": 0, "groups": []}))),
        ("$match(\"ab\", /a|/)", Js::Error("D1004")),
        ("$split(\"ab\", /a*/)", Js::Error("D1004")),
        ("$replace(\"ab\", /b*/, \"-\")", Js::Error("D1004")),
        ("$replace(\"\", /b*/, \"-\")", Js::Value(json!("-"))),
        ("$split(\"\", /b*/)", Js::Value(json!(["", ""]))),
        ("$match(\"b\", /a*/, 0)", Js::Undefined),
        ("$match(\"a!\", /(a|ab)*/)", Js::Error("D1004")),
        ("$contains(\"b\", /a*/)", Js::Value(json!(true))),
        ("$match(\"aa\", /(?:|a)*/)", Js::Value(json!({"match": "aa", "index": 0, "groups": []}))),
        (
            "$match(\"ababbabbcc\", /a(b+)/)",
            Js::Value(
                json!([{"match": "ab", "index": 0, "groups": ["b"]}, {"match": "abb", "index": 2, "groups": ["bb"]}, {"match": "abb", "index": 5, "groups": ["bb"]}]),
            ),
        ),
        ("$match(\"ab\", /(?:(a)|b)+/)", Js::Value(json!({"match": "ab", "index": 0, "groups": [null]}))),
        ("$match(\"ba\", /(a|(b))+/)", Js::Value(json!({"match": "ba", "index": 0, "groups": ["a", null]}))),
        (
            "$match(\"xaby\", /(c)?(a)(b)/)",
            Js::Value(json!({"match": "ab", "index": 1, "groups": [null, "a", "b"]})),
        ),
        ("$match(\"é😀ab\", /a/)", Js::Value(json!({"match": "a", "index": 3, "groups": []}))),
        ("$match(\"\", /(\\w*)*/)", Js::Value(json!({"match": "", "index": 0, "groups": [null]}))),
        ("$match(\"aa\", /(a*)+/)", Js::Value(json!({"match": "aa", "index": 0, "groups": ["aa"]}))),
        ("$match(\"xaay\", /(a)\\1/)", Js::Value(json!({"match": "aa", "index": 1, "groups": ["a"]}))),
        ("$match(\"b\", /(a)?b\\1/)", Js::Value(json!({"match": "b", "index": 0, "groups": [null]}))),
        (
            "$match(\"ab-abb\", /a(b+)/)",
            Js::Value(
                json!([{"match": "ab", "index": 0, "groups": ["b"]}, {"match": "abb", "index": 3, "groups": ["bb"]}]),
            ),
        ),
        ("$replace(\"abcb\", /(b)/, \"[$1]\")", Js::Value(json!("a[b]c[b]"))),
        ("$replace(\"abcb\", /(x)?b/, \"[$1]\")", Js::Value(json!("a[]c[]"))),
    ];
    let mut wrong = Vec::new();
    for (src, js) in &rows {
        let got = jsonata::evaluate(src, &[]);
        let ok = match (js, &got) {
            (Js::Value(v), Ok(Some(g))) => v == g,
            (Js::Undefined, Ok(None)) => true,
            (Js::Error(code), Err(jsonata::JsonataError::Threw(m))) => m.starts_with(code),
            _ => false,
        };
        if !ok {
            wrong.push(format!("{src}: {got:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} differ from jsonata-js:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
}
