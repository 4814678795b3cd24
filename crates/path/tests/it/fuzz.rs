//! Fuzz targets for the parsers and evaluators: random and grammar-shaped input must never panic.
//!
//! `cargo test` runs a few hundred cases per target; `cargo xtask fuzz --seconds N` sets
//! `SFN_FUZZ_SECONDS` and each target then runs for that long (`fuzz_runner.rs`). A failing input is
//! printed; add it to the target's regressions below.

use proptest::prelude::*;
use serde_json::{Value, json};
use sfn_path::{Call, Expr, Path, ReferencePath, Scope, Template, jsonata};

use crate::fuzz_runner::fuzz;

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
        // A bare word on the right of a comparison (accepted, refused by Jayway at evaluation).
        "\\[\\?\\(@\\.[a-c] ?(==|!=|<) ?[A-Za-z_][a-zA-Z0-9_.\\-]{0,4}( && @\\.[a-c])?\\)\\]",
        // Jayway's other relational operators: regex, list, size and emptiness tests, strict equality.
        "\\[\\?\\(@\\.[a-c] =~ /[a-c.*+?|()\\[\\]\\\\]{0,4}/[imsdxuUg]{0,2}\\)\\]",
        "\\[\\?\\((/[a-c.]{0,3}/i?|'[a-c]'|[0-9]) =~ @\\.[a-c]( \\|\\| @\\.[a-c] (in|nin) \\$\\.[a-c])?\\)\\]",
        "\\[\\?\\(@(\\.[a-c])? (in|nin|subsetof|anyof|noneof|contains|all|IN|SubsetOf) \\[(('[a-c]'|[0-9]|[a-c]|true|null)(, ?)?){0,3}\\]\\)\\]",
        "\\[\\?\\(@\\.[a-c] (in|nin|anyof|noneof|subsetof|size|empty|contains|exists) (\\$\\.[a-c]|@\\.[a-c]|'[a-c]'|-?[0-9]|true|false|\\{[a-c]: ?1\\})\\)\\]",
        "\\[\\?\\(!?\\(?@\\.[a-c] (size [0-9]|empty (true|false)|=== ?[0-9]|!== ?'[a-c]'|type [0-9]|matches 1)\\)?( && @\\.[a-c])?\\)\\]",
        // Path functions, which Step Functions reads as member names.
        "\\.(length|sum|min|keys|first)\\(\\)",
        "\\[\\?\\(@\\.[a-c]\\.(length|size)\\(\\) ?(>|==) ?[0-9]\\)\\]",
        // A bracket after a dot (Jayway's readDotToken): `.[0]`, `.['a']`, `.[*]`, `.[?(…)]`, `..[0]`.
        "\\.\\[-?[0-9]{1,2}\\]",
        "\\.\\['[a-c]{0,2}'(,'[a-c]')?\\]",
        "\\.\\[\\*\\]",
        "\\.\\[\\?\\(@\\.[a-c] ?== ?([0-9]|[a-c]{1,2})\\)\\]",
        "\\.\\.\\[[0-9]\\]",
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
    vec![
        "$[?(",
        "$..",
        "$[:",
        "$['",
        "States.Format('\\",
        "$.a[?(!!!@.b)]",
        "$[-9223372036854775808]",
        "$.[",
        "$.[?(@.a==",
        "$.[?(@.a==b",
        "$[?(@.a==é)]",
        "$[?(@.a==$.[?(@.b==c)])]",
        "$[?(@.a =~ /",
        "$[?(@.a =~ /\\",
        "$[?(@.a in [",
        "$[?(@.a in ['",
        "$[?(@.a in {",
        "$.a.length(",
        "$[?(@.a.b( == 1)]",
        "$[?(@ =~ /(?i)/)]",
        "$[?(@ =~ /\\0/)]",
        "$[?(@ =~ /\\p{/)]",
        "$[?(@ =~ /\\Q/)]",
        "$[?(@.a in [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])]",
    ]
}

/// Property: a path that parses evaluates like `take` on the input, its normalized form parses back to
/// the same normalized form, and writing through a reference path then reading it gives what was written.
#[test]
fn path_parse_and_eval() {
    for r in regressions() {
        let _ = Path::parse(r);
    }
    fuzz(
        "path",
        (prop_oneof![path_text(), ".{0,24}"], json(), any::<bool>()),
        400,
        |(text, doc, grammar)| {
            if let Ok(p) = Path::parse(text) {
                if let Some(why) = p.compile_error() {
                    let e = p.eval(&Scope::input(doc)).expect_err("a path Jayway refuses evaluates");
                    assert_eq!(e.error_name(), "States.Runtime");
                    assert_eq!(e.message(), format!("Invalid path '{text}' : {why}"));
                    assert_jayway_position(why);
                }
                let normalized = p.normalized();
                let vars = serde_json::Map::from_iter([("abc".to_owned(), doc.clone())]);
                let _ = p.eval(&Scope { input: doc, context: doc, variables: &vars });
                let scope = Scope::input(doc);
                let by_ref = p.eval(&scope).map(std::borrow::Cow::into_owned).map_err(|e| e.to_string());
                let taken = p.take(doc.clone(), &scope).map_err(|e| e.to_string());
                if p.is_definite() || by_ref.is_err() {
                    assert_eq!(by_ref, taken, "eval and take disagree on {text}");
                }
                let plain =
                    |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || "$[]'.,:*- ".contains(c));
                if *grammar && plain(&normalized) {
                    let again = Path::parse(&normalized).unwrap_or_else(|e| {
                        panic!("normalized form {normalized} of {text} does not parse: {e}")
                    });
                    assert_eq!(again.normalized(), normalized);
                }
            }
            if let Ok(rp) = ReferencePath::parse(text) {
                let _ = rp.get(doc);
                let marker = json!({"written": text});
                if let Ok(written) = rp.set(doc.clone(), marker.clone()) {
                    assert_eq!(rp.get(&written).ok(), Some(&marker), "set then get on {text}");
                }
            }
        },
    );
}

/// In a `Failed to parse filter: <filter>, error on position: <n>, char: <c>` message, `<c>` is the
/// UTF-16 unit at `<n>` of `<filter>`, as Java's `CharacterIndex` reports it.
fn assert_jayway_position(message: &str) {
    let Some(rest) = message.strip_prefix("Failed to parse filter: ") else {
        assert!(["Expected character: )", "Expected path node"].contains(&message), "{message}");
        return;
    };
    let (criteria, tail) = rest.rsplit_once(", error on position: ").expect(message);
    let (position, c) = tail.split_once(", char: ").expect(message);
    let position: usize = position.parse().expect(message);
    let units: Vec<u16> = criteria.encode_utf16().collect();
    let at = char::decode_utf16(units[position..].iter().copied()).next().and_then(Result::ok);
    assert_eq!(at.map(String::from).as_deref(), Some(c), "{message}");
    assert!(criteria.starts_with('[') && criteria.ends_with(']'), "{message}");
}

/// Segments for the dot-bracket oracle: brackets (optionally written after a dot) and names.
fn bracket_segment() -> impl Strategy<Value = (String, bool)> {
    let bracket = prop_oneof![
        "\\[-?[0-9]\\]",
        "\\[[0-9],[0-9]\\]",
        "\\[[0-9]?:[0-9]?\\]",
        "\\['[a-c]'\\]",
        "\\['[a-c]','[a-c]'\\]",
        "\\[\\*\\]",
        "\\[\\?\\(@\\.[a-c] ?(==|>|<=) ?[0-9]\\)\\]",
        "\\[\\?\\(@\\.[a-c]\\)\\]",
        "\\[\\?\\(@\\.[a-c] == [A-Z][a-z]{0,2}\\)\\]",
    ];
    prop_oneof![
        3 => (bracket, any::<bool>()),
        1 => "\\.[a-c]".prop_map(|s| (s, false)),
        1 => "\\.\\.[a-c]".prop_map(|s| (s, false)),
        1 => "\\.\\.\\[[0-9]\\]".prop_map(|s| (s, false)),
    ]
}

/// Oracle: a bracket written after a dot (`$.[0]`, `$.a.[1]`, `$.[?(…)]`) is the same path as without
/// the dot, as in Jayway's PathCompiler: same segments, same compile error, same evaluation.
#[test]
fn dot_bracket_is_bracket() {
    let input =
        (prop_oneof!["\\$", "\\$\\$", "\\$v"], prop::collection::vec(bracket_segment(), 0..5), json());
    fuzz("dot-bracket", input, 300, |(root, segs, doc)| {
        let plain: String = segs.iter().map(|(s, _)| s.as_str()).collect();
        let dotted: String =
            segs.iter().map(|(s, dot)| if *dot { format!(".{s}") } else { s.clone() }).collect();
        let (plain, dotted) = (format!("{root}{plain}"), format!("{root}{dotted}"));
        let p = Path::parse(&plain).unwrap_or_else(|e| panic!("{plain}: {e}"));
        let d = Path::parse(&dotted).unwrap_or_else(|e| panic!("{dotted}: {e}"));
        assert_eq!(p.segments(), d.segments(), "{plain} vs {dotted}");
        assert_eq!(p.root(), d.root());
        assert_eq!(p.normalized(), d.normalized());
        assert_eq!(p.compile_error(), d.compile_error(), "{plain} vs {dotted}");
        assert_eq!(p.is_definite(), d.is_definite());
        let vars = serde_json::Map::from_iter([("v".to_owned(), doc.clone())]);
        let scope = Scope { input: doc, context: doc, variables: &vars };
        let unsourced = |q: &Path, src: &str| {
            q.eval(&scope)
                .map(std::borrow::Cow::into_owned)
                .map_err(|e| e.message().replacen(&format!("'{src}'"), "<path>", 1))
        };
        assert_eq!(unsourced(&p, &plain), unsourced(&d, &dotted), "{plain} vs {dotted} on {doc}");
        let call = |src: &str| {
            let c =
                Expr::parse(&format!("States.JsonToString({src})")).unwrap_or_else(|e| panic!("{src}: {e}"));
            c.eval(&scope)
                .map(std::borrow::Cow::into_owned)
                .map_err(|e| e.message().replacen(&format!("'{src}'"), "<path>", 1))
        };
        assert_eq!(call(&plain), call(&dotted), "States.JsonToString({plain}) vs ({dotted})");
    });
}

/// Oracle: a comparison with an unquoted word parses, and evaluating the path fails with
/// `States.Runtime` whatever the input; quoting the word gives a path that evaluates.
#[test]
fn bare_word_fails_at_evaluation() {
    let word = "[A-Za-z_][a-zA-Z0-9_.\\-]{0,5}\\PC?"
        .prop_filter("a word, not a literal", |w| !["true", "false", "null"].contains(&w.as_str()))
        .prop_filter("no delimiters", |w| {
            w.chars().all(|c| !c.is_whitespace() && !"()[]'\",$@=!<>&|~\\".contains(c))
        });
    let op = prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]);
    let input = ("[a-c]{1,2}", op, word, any::<bool>(), any::<bool>(), json());
    fuzz("bare-word", input, 300, |(name, op, word, spaced, dotted, doc)| {
        let sp = if *spaced { " " } else { "" };
        let dot = if *dotted { "." } else { "" };
        let text = format!("$.{name}{dot}[?(@.{name}{sp}{op}{sp}{word})]");
        let p = Path::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let why = p.compile_error().unwrap_or_else(|| panic!("{text} has no compile error"));
        assert_jayway_position(why);
        let e = p.eval(&Scope::input(doc)).expect_err("a bare word fails");
        assert_eq!(e.error_name(), "States.Runtime");
        assert_eq!(e.message(), format!("Invalid path '{text}' : {why}"));
        let template = Template::parse(&json!({"x.$": text})).unwrap_or_else(|e| panic!("{text}: {e}"));
        let e = template.eval(&Scope::input(doc)).expect_err("a bare word fails in a template");
        assert!(e.message().ends_with(&format!("could not be evaluated: {why}")), "{e}");
        let quoted = format!("$.{name}{dot}[?(@.{name}{sp}{op}{sp}'{word}')]");
        let q = Path::parse(&quoted).unwrap_or_else(|e| panic!("{quoted}: {e}"));
        assert_eq!(q.compile_error(), None);
        if let Err(e) = q.eval(&Scope::input(doc)) {
            assert!(!e.message().contains("Failed to parse filter"), "{quoted}: {e}");
        }
    });
}

/// Items for the operator oracles: objects whose members `a`, `b`, `c` are any JSON, often missing.
fn items() -> impl Strategy<Value = Vec<Value>> {
    let member = prop_oneof![
        2 => json(),
        1 => "[a-c]{0,3}".prop_map(Value::String),
        1 => prop::collection::vec(prop_oneof!["[a-c]".prop_map(Value::String), (0i64..3).prop_map(|n| json!(n))], 0..4)
            .prop_map(Value::Array),
    ];
    let item = prop::collection::btree_map("[a-c]", member, 0..3)
        .prop_map(|m| Value::Object(m.into_iter().collect()));
    prop::collection::vec(item, 0..6)
}

/// Oracles for Jayway's operators, each against a form built from others (the identities Jayway's
/// evaluators give): `in` is a disjunction of `==`, `nin` its negation, `noneof` the negation of `anyof`
/// on arrays, `=~ /.*/s` selects every element, `=~` on a plain word is `==` on strings, and `size`,
/// `empty` agree on strings and arrays. Every filter parses; evaluation never panics.
#[test]
fn filter_operator_oracles() {
    let scalar = prop_oneof!["'[a-c]{0,2}'", "[0-2]", Just("true".to_owned()), Just("null".to_owned())];
    let input = (items(), "[a-c]", prop::collection::vec(scalar, 0..4), "[a-c]{0,3}", 0usize..4);
    fuzz("filter-operators", input, 300, |(items, m, list, word, n)| {
        let values: Vec<Value> = list
            .iter()
            .map(|l| match l.strip_prefix('\'') {
                Some(q) => Value::String(q.trim_end_matches('\'').to_owned()),
                None => serde_json::from_str(l).unwrap(),
            })
            .collect();
        let doc = json!({"items": items, "list": values});
        let sel = |filter: &str| {
            let src = format!("$.items[?({filter})]");
            let p = Path::parse(&src).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(p.compile_error(), None, "{src}");
            p.eval(&Scope::input(&doc)).map(std::borrow::Cow::into_owned).map_err(|e| e.message().to_owned())
        };
        let lits = list.join(", ");
        let ors = if list.is_empty() {
            "@.zz == 'never' && @.zz == 'twice'".to_owned()
        } else {
            list.iter().map(|l| format!("@.{m} == {l}")).collect::<Vec<_>>().join(" || ")
        };
        assert_eq!(sel(&format!("@.{m} in [{lits}]")), sel(&ors), "in [{lits}] on {doc}");
        assert_eq!(sel(&format!("@.{m} nin [{lits}]")), sel(&format!("!({ors})")), "nin [{lits}] on {doc}");
        // On arrays of scalars (the generated arrays hold letters and small numbers).
        let arrays: Vec<Value> = items
            .iter()
            .filter(|i| {
                i.get(m.as_str()).is_some_and(|v| {
                    v.as_array().is_some_and(|a| a.iter().all(|e| !e.is_array() && !e.is_object()))
                })
            })
            .cloned()
            .collect();
        let only_arrays = json!({"items": arrays, "list": doc["list"]});
        let sel_arrays = |filter: &str| {
            let p = Path::parse(&format!("$.items[?({filter})]")).unwrap();
            p.eval(&Scope::input(&only_arrays)).map(std::borrow::Cow::into_owned).ok()
        };
        assert_eq!(
            sel_arrays(&format!("@.{m} noneof [{lits}]")),
            sel_arrays(&format!("!(@.{m} anyof [{lits}])"))
        );
        assert_eq!(sel_arrays(&format!("@.{m} anyof $.list")), sel_arrays(&format!("@.{m} anyof [{lits}]")));
        assert_eq!(sel_arrays(&format!("@.{m} empty true")), sel_arrays(&format!("@.{m} size 0")));
        // Every element matches `.*` (a missing member is matched as the empty string), unless an array
        // holds an array or an object, which has no Jayway value type: then the path fails.
        let nested = items.iter().any(|i| {
            i.get(m.as_str())
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|e| e.is_array() || e.is_object()))
        });
        // (`s`: array elements lose their backslash escapes, Jayway's `Utils.unescape`, and may hold a newline.)
        let all = sel(&format!("@.{m} =~ /.*/s"));
        if nested {
            assert!(all.as_ref().is_err_and(|e| e.ends_with(" : Could not determine value type")), "{all:?}");
        } else {
            // An array matches when one of its elements does: an empty one never.
            let empty = |i: &&Value| i.get(m.as_str()).and_then(Value::as_array).is_some_and(Vec::is_empty);
            assert_eq!(all, Ok(Value::Array(items.iter().filter(|i| !empty(i)).cloned().collect())));
        }
        // On elements whose member is no array: a word as a pattern is equality on strings
        // (`contains ''` holds on strings only), and `size` on a string is its length.
        let flat: Vec<Value> =
            items.iter().filter(|i| !i.get(m.as_str()).is_some_and(Value::is_array)).cloned().collect();
        let flat_doc = json!({"items": flat});
        let sel_flat = |filter: &str| {
            let p = Path::parse(&format!("$.items[?({filter})]")).unwrap();
            p.eval(&Scope::input(&flat_doc)).map(std::borrow::Cow::into_owned).map_err(|e| e.to_string())
        };
        assert_eq!(
            sel_flat(&format!("@.{m} =~ /{word}/ && @.{m} contains ''")),
            sel_flat(&format!("@.{m} == '{word}' && @.{m} contains ''"))
        );
        let sized = flat.iter().filter(|i| {
            i.get(m.as_str()).and_then(Value::as_str).is_some_and(|s| s.encode_utf16().count() == *n)
        });
        assert_eq!(sel_flat(&format!("@.{m} size {n}")), Ok(Value::Array(sized.cloned().collect())));
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

/// Intrinsics against an oracle: arithmetic, JSON and base64 round trips, array lengths.
#[test]
fn intrinsic_oracles() {
    let input = (any::<i32>(), any::<i32>(), json(), "\\PC{0,40}", prop::collection::vec(json(), 0..8));
    fuzz("intrinsic-oracles", input, 300, |(a, b, doc, text, items)| {
        let input = json!({"a": a, "b": b, "doc": doc, "text": text, "items": items});
        let eval = |src: &str| {
            Expr::parse(src)
                .unwrap_or_else(|e| panic!("{src}: {e}"))
                .eval(&Scope::input(&input))
                .map(std::borrow::Cow::into_owned)
        };
        assert_eq!(eval("States.MathAdd($.a, $.b)").unwrap(), json!(i64::from(*a) + i64::from(*b)));
        assert_eq!(&eval("States.StringToJson(States.JsonToString($.doc))").unwrap(), doc);
        assert_eq!(eval("States.Base64Decode(States.Base64Encode($.text))").unwrap(), json!(text));
        assert_eq!(eval("States.ArrayLength($.items)").unwrap(), json!(items.len()));
        let unique = eval("States.ArrayUnique($.items)").unwrap();
        assert!(unique.as_array().unwrap().iter().all(|x| items.contains(x)));
        assert_eq!(eval("States.Format('{}', $.text)").unwrap(), json!(text));
    });
    // Found by this target: serde_json's default number parser was one ULP off (now `float_roundtrip`),
    // and `-0.0` came back as 0.
    for doc in [json!(-7.618211690031427e62), json!({"cb": -0.0}), json!([-0.0, "a6l-0, }-1g"])] {
        let input = json!({"doc": doc});
        let back = Expr::parse("States.StringToJson(States.JsonToString($.doc))").unwrap();
        let back = back.eval(&Scope::input(&input)).unwrap().into_owned();
        assert_eq!(back.to_string(), doc.to_string());
    }
}

/// Property: a template without `.$` keys is itself; a template that does not parse names an existing
/// member by its JSON pointer; a parsed template evaluates without panicking.
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
        match Template::parse(t) {
            Ok(parsed) => {
                let result = parsed.eval(&Scope::input(doc));
                if parsed.is_literal() {
                    assert_eq!(result.as_ref().ok(), Some(t), "a literal template is itself");
                }
                // Moving out of an owned input gives the same payload or the same error (random
                // functions aside).
                let text = t.to_string();
                if !text.contains("Random") && !text.contains("UUID") {
                    let owned = parsed.eval_owned(doc.clone(), &Scope::input(&Value::Null));
                    assert_eq!(
                        owned.map_err(|e| e.message().to_owned()),
                        result.map_err(|e| e.message().to_owned()),
                        "eval_owned of {t} on {doc}"
                    );
                }
            }
            Err(e) => assert!(t.pointer(&e.pointer).is_some(), "error pointer {} not in {t}", e.pointer),
        }
        if let Ok(literal) = Template::parse(doc) {
            let no_dollar = !doc.to_string().contains(".$\"");
            if no_dollar {
                assert_eq!(literal.eval(&Scope::input(t)).ok().as_ref(), Some(doc));
            }
        }
    });
}

/// Property: definite paths that select the same nodes, nodes inside one another or nothing, moved out
/// of an owned input ([`Template::eval_owned`]), give what [`Template::eval`] gives.
#[test]
fn owned_templates_overlap() {
    let seg = prop_oneof!["\\.[a-c]", "\\[-?[0-2]\\]"];
    let path = prop::collection::vec(seg, 0..4).prop_map(|s| format!("${}", s.concat()));
    let template = prop::collection::vec(("[a-d]", path), 1..6).prop_map(|members| {
        let mut m = serde_json::Map::new();
        for (k, p) in members {
            m.insert(format!("{k}.$"), Value::String(p));
        }
        m.insert("n".into(), json!({"len.$": "States.JsonToString($)"}));
        Value::Object(m)
    });
    fuzz("owned-templates", (template, json()), 300, |(t, doc)| {
        let parsed = Template::parse(t).unwrap_or_else(|e| panic!("{t}: {e}"));
        let borrowed = parsed.eval(&Scope::input(doc)).map_err(|e| e.message().to_owned());
        let owned =
            parsed.eval_owned(doc.clone(), &Scope::input(&Value::Null)).map_err(|e| e.message().to_owned());
        assert_eq!(owned, borrowed, "{t} on {doc}");
    });
}

/// JSONata-shaped source: tokens of the language in random order, often valid.
fn jsonata_text() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "1",
        "2.5",
        "-",
        "+",
        "*",
        "/",
        "%",
        "&",
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        " and ",
        " or ",
        " in ",
        "?",
        ":",
        "..",
        "[",
        "]",
        "{",
        "}",
        "(",
        ")",
        ",",
        ";",
        ":=",
        "~>",
        "^(",
        "#$i",
        "@$v",
        "**",
        ".",
        "\"s\"",
        "'t'",
        "$states",
        "$states.input",
        "$states.input.a",
        "$x",
        "$",
        "$$",
        "a",
        "b.c",
        "true",
        "null",
        "$sum(",
        "$count(",
        "$string(",
        "$map(",
        "$filter(",
        "$reduce(",
        "$range(",
        "$partition(",
        "$hash(",
        "$parse(",
        "$uuid()",
        "$random()",
        "$split(",
        "$join(",
        "$keys(",
        "$lookup(",
        "$merge(",
        "$sort(",
        "$reverse(",
        "$append(",
        "$exists(",
        "$not(",
        "$length(",
        "$substring(",
        "$number(",
        "$boolean(",
        "$eval(",
        "$now()",
        "$millis()",
        "$toMillis(",
        "$fromMillis(",
        "$match(",
        "$replace(",
        "$contains(",
        "function($v){",
        "/[a-z]+/",
        "`q`",
        " ",
        "\\",
        "\"",
    ]);
    prop::collection::vec(token, 0..24).prop_map(|t| t.concat())
}

/// A long chain of one construct (unary minus, paths, operators, conditionals): deep parser and
/// evaluator recursion without deep bracket nesting.
fn jsonata_chain() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        ("-", "1"),
        ("a.", "b"),
        ("1+", "1"),
        ("1&", "1"),
        ("true?", "1"),
        ("$x:=", "1"),
        ("1;", "1"),
        ("[1].", "a"),
        ("$.", "a"),
        ("1~>", "$string()"),
        ("$not(", "1)"),
        ("**.", "a"),
        ("1 or ", "1"),
    ]);
    (piece, 1usize..20_000).prop_map(|((head, tail), n)| head.repeat(n) + tail)
}

/// Crashes the jsonata targets found: each overflowed a 2 MiB stack (a tokio worker's, or a test
/// thread's) inside jsonata-rs's recursive parser before `jsonata::MAX_TOKENS` and the sized stack.
#[test]
fn jsonata_regressions() {
    for (head, tail, n) in
        [("-", "1", 1000), ("true?", "1", 100), ("$x:=", "1", 100), ("a.", "b", 1000), ("1+", "1", 1000)]
    {
        let src = head.repeat(n) + tail;
        let parsed = jsonata::check(&src);
        assert!(parsed.is_ok(), "{head}×{n}: {parsed:?}");
        let _ = jsonata::evaluate(&src, &[]);
    }
    // jsonata-rs's parser reaches an `unreachable!()` on this one.
    let odd = "$keys($substring(a/$substring($$'t'a>$uuid()#$i$split()a$count(";
    assert!(matches!(jsonata::check(odd), Err(jsonata::JsonataError::Syntax(_))));
    assert!(matches!(jsonata::evaluate(odd, &[]), Err(jsonata::JsonataError::Syntax(_))));
    let too_long = "-".repeat(jsonata::MAX_TOKENS + 1) + "1";
    let e = jsonata::check(&too_long).unwrap_err();
    assert_eq!(e.to_string(), format!("S0201: The expression has more than {} tokens", jsonata::MAX_TOKENS));
    assert!(matches!(jsonata::evaluate(&too_long, &[]), Err(jsonata::JsonataError::Syntax(_))));
}

/// Property: never a panic or a stack overflow; `check` and `evaluate` agree on what parses; evaluation
/// ends within its time bound; arithmetic on literals is exact.
#[test]
fn jsonata_parse_and_eval() {
    let source = prop_oneof![4 => jsonata_text(), 1 => jsonata_chain(), 2 => "\\PC{0,40}"];
    let states = json!({"input": {"a": [1, 2, 3], "b": {"c": "x"}}, "context": {"Execution": {"Id": "e"}}});
    fuzz("jsonata", (source, json()), 300, |(src, doc)| {
        let started = std::time::Instant::now();
        let checked = jsonata::check(src);
        let evaluated = jsonata::evaluate(src, &[("states", &states), ("x", doc), ("v", doc)]);
        assert!(started.elapsed().as_millis() < (jsonata::MAX_MILLIS as u128) * 2, "{src} ran too long");
        let syntax = matches!(evaluated, Err(jsonata::JsonataError::Syntax(_)));
        assert_eq!(
            checked.is_err(),
            syntax,
            "check and evaluate disagree on {src}: {checked:?} / {evaluated:?}"
        );
    });
    fuzz("jsonata-arithmetic", (-1_000_000i64..1_000_000, -1_000_000i64..1_000_000), 200, |(a, b)| {
        let sum = jsonata::evaluate(&format!("{a} + {b}"), &[]);
        assert_eq!(sum, Ok(Some(json!(a + b))));
        let product = jsonata::evaluate("$x * $y", &[("x", &json!(a)), ("y", &json!(b))]);
        assert_eq!(product, Ok(Some(json!(a * b))));
    });
}

/// Expressions around what an expression reads: `$states` and its members used one way or another,
/// variables in code, strings, comments and regexes.
fn jsonata_reads_text() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "$states",
        "$states.input",
        "$states.result",
        "$states.errorOutput",
        "$states.context",
        "$states.`context`",
        ".",
        "input",
        "context",
        "'input'",
        "$keys(",
        "$lookup(",
        "$string(",
        "$exists(",
        "$map(",
        "$match(",
        "function($v){",
        "}",
        "(",
        ")",
        "[",
        "]",
        ",",
        ";",
        ":=",
        "&",
        "+",
        "=",
        "~>",
        "0",
        "a",
        "$x",
        "$v",
        "$i",
        "$",
        "'$x'",
        "\"$v\"",
        "/* $x */",
        "/x/",
        "`$v`",
        " ",
    ]);
    prop::collection::vec(token, 0..16).prop_map(|t| t.concat())
}

/// Property: binding only what an expression reads (the `$states` members and variables
/// `jsonata::Expression` finds when it parses it) gives what binding everything gives.
#[test]
fn jsonata_binds_what_it_reads() {
    let input = json!({"a": [1, 2], "input": "nested"});
    let result = json!({"r": true});
    let error_output = json!({"Error": "E", "Cause": "c"});
    let context = json!({"Execution": {"Id": "e"}});
    let states: [(&str, &Value); 4] =
        [("input", &input), ("result", &result), ("errorOutput", &error_output), ("context", &context)];
    let source = prop_oneof![2 => jsonata_reads_text(), 1 => jsonata_text()];
    fuzz("jsonata-reads", (source, json()), 300, |(src, doc)| {
        if ["$uuid", "$random", "$now", "$millis"].iter().any(|f| src.contains(f)) {
            return;
        }
        let Ok(e) = jsonata::Expression::parse(src) else { return };
        let vars: [(&str, &Value); 3] = [("x", doc), ("v", doc), ("i", doc)];
        let read: Vec<_> = vars.iter().copied().filter(|(n, _)| e.variables().any(|v| v == *n)).collect();
        let everything = || jsonata::evaluate_with_states(src, &states, &vars);
        let only = || e.evaluate(&states, &read);
        let timed_out = |r: &Result<_, jsonata::JsonataError>| matches!(r, Err(jsonata::JsonataError::Threw(m)) if m.starts_with("U1001"));
        let (first, second) = (everything(), only());
        if timed_out(&first) || timed_out(&second) {
            return;
        }
        // jsonata-rs's objects iterate in a random order (`$keys`, `$string` of an object, `*`), so a
        // result may vary from one evaluation to the next: compared in an order-free form, and when an
        // order picks a value (`$keys($states)[0]`) the two must share some outcome.
        let (first, second) = (order_free(&first), order_free(&second));
        if first == second {
            return;
        }
        let mut firsts = vec![first];
        let mut seconds = vec![second];
        for _ in 0..12 {
            firsts.push(order_free(&everything()));
            seconds.push(order_free(&only()));
        }
        assert!(
            firsts.iter().any(|r| seconds.contains(r)),
            "{src}: reads {:?}; binding everything gives {:?}, binding what it reads {:?}",
            e.variables().collect::<Vec<_>>(),
            firsts[0],
            seconds[0]
        );
    });
}

/// Found by `jsonata-reads` (case 105700): a focus or index binding on a `$states` step makes
/// jsonata-rs yield from `$states` itself, so such a step reads every member.
#[test]
fn jsonata_reads_regressions() {
    let input = json!({"a": [1, 2]});
    let result = json!({"r": true});
    let states: [(&str, &Value); 2] = [("input", &input), ("result", &result)];
    for src in ["$states.input@$v", "$states.input#$i"] {
        let e = jsonata::Expression::parse(src).unwrap();
        let vars: Vec<(&str, &Value)> = e.variables().map(|v| (v, &Value::Null)).collect();
        assert_eq!(
            order_free(&e.evaluate(&states, &vars)),
            order_free(&jsonata::evaluate_with_states(src, &states, &vars)),
            "{src}"
        );
    }
}

/// A result with every array's items and every string's characters sorted.
fn order_free(r: &Result<Option<Value>, jsonata::JsonataError>) -> String {
    fn value(v: &Value) -> String {
        match v {
            Value::String(s) => {
                let mut chars: Vec<char> = s.chars().collect();
                chars.sort_unstable();
                format!("s{}", chars.into_iter().collect::<String>())
            }
            Value::Array(items) => {
                let mut items: Vec<String> = items.iter().map(value).collect();
                items.sort();
                format!("[{}]", items.join(","))
            }
            Value::Object(m) => {
                let mut members: Vec<String> = m.iter().map(|(k, x)| format!("{k}:{}", value(x))).collect();
                members.sort();
                format!("{{{}}}", members.join(","))
            }
            other => other.to_string(),
        }
    }
    match r {
        Ok(Some(v)) => value(v),
        Ok(None) => "undefined".to_owned(),
        Err(e) => format!("error {}", value(&Value::String(e.to_string()))),
    }
}

/// ECMAScript patterns built from the pieces that make engines backtrack (nested quantifiers,
/// alternations, back-references, lookaround, named groups) and that the two engines read differently.
fn regex_pattern() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a"),
        Just("b"),
        Just("(a+)+"),
        Just("(a|a)*"),
        Just("(\\w*)*"),
        Just("(a|ab)*"),
        Just("\\1"),
        Just("\\2"),
        Just("(?=a)"),
        Just("(?!b)"),
        Just("(?<=a)"),
        Just("(?<!b)"),
        Just("(?<n>a*)"),
        Just("\\k<n>"),
        Just("."),
        Just("[ab]"),
        Just("[^a]"),
        Just("\\s"),
        Just("\\b"),
        Just("^"),
        Just("$"),
        Just("*"),
        Just("+"),
        Just("?"),
        Just("{2,}"),
        Just("|"),
        Just("("),
        Just(")"),
    ];
    (prop::collection::vec(piece, 1..10), "[im]{0,1}")
        .prop_map(|(pieces, flags)| format!("/{}/{flags}", pieces.concat()))
}

/// Every built-in that matches, over random patterns and subjects (long ones run the backtracking
/// budget out): never a panic (jsonata-rs's panics come back as `jsonata-rs failed`), an answer or a
/// JSONata error; on the linear-time engine, the same matches as the backtracking engine (regress,
/// unbounded, on a short subject).
#[test]
fn regex_builtins_never_panic_and_agree() {
    let subject = prop_oneof![
        "[ab \\n!]{0,12}",
        (1..3000usize, "[ab!]").prop_map(|(n, end)| format!("{}{end}", "a".repeat(n))),
    ];
    fuzz("regex_builtins_never_panic_and_agree", (regex_pattern(), subject), 48, |(regex, subject)| {
        let s = json!(subject);
        for call in ["$match($s, R)", "$contains($s, R)", "$split($s, R)", "$replace($s, R, '<$0>')"] {
            let src = call.replace('R', regex);
            match jsonata::evaluate(&src, &[("s", &s)]) {
                Ok(_) => {}
                Err(jsonata::JsonataError::Threw(m) | jsonata::JsonataError::Syntax(m)) => {
                    assert!(!m.contains("jsonata-rs failed"), "{src}: {m}")
                }
                Err(e) => panic!("{src}: {e:?}"),
            }
        }
        let pattern = &regex[1..regex.rfind('/').unwrap()];
        if regex.ends_with('/') && subject.len() <= 12 && jsonata_rs::regex_is_linear(pattern) {
            let reference = regress::Regex::new(pattern).unwrap();
            // Each match as jsonata-js gives it: where it starts, and every group in its place (null when
            // it took no part: ECMAScript resets a quantified group's captures at each iteration); its
            // iteration ends at the subject's end, and an empty match after the first is D1004.
            let mut expected = Ok(Vec::new());
            for m in reference.find_iter(subject) {
                let Ok(list) = &mut expected else { break };
                if m.range().is_empty() && !list.is_empty() {
                    expected = Err(());
                    break;
                }
                let groups: Vec<Value> =
                    m.groups().skip(1).map(|g| g.map_or(Value::Null, |r| json!(&subject[r]))).collect();
                list.push(json!({"match": &subject[m.range()], "index": m.start(), "groups": groups}));
                if m.end() >= subject.len() {
                    break;
                }
                if m.range().is_empty() {
                    // The next search starts at the same place and finds it again.
                    expected = Err(());
                    break;
                }
            }
            let got = jsonata::evaluate("[$match($s, R)]".replace('R', regex).as_str(), &[("s", &s)]);
            match expected {
                Ok(list) => assert_eq!(got, Ok(Some(Value::Array(list))), "{regex} on {subject:?}"),
                Err(()) => assert!(
                    matches!(&got, Err(jsonata::JsonataError::Threw(m)) if m.starts_with("D1004")),
                    "{regex} on {subject:?}: {got:?}"
                ),
            }
        }
    });
}

/// Found by `regex_builtins_never_panic_and_agree` (`$match($s, /.(?=a){2,}\2(\w*)*.a|/i)` read past the
/// capture groups, vendor/regress/PATCHED.md): a lookahead is no capture group, so with one group `\2` is
/// ECMAScript's legacy octal escape (U+0002), as `/(?=\x02)\2(a)/.exec("\x02a")` gives in JavaScript.
#[test]
fn a_lookahead_is_no_capture_group_for_a_back_reference() {
    let s = json!("\u{2}a");
    let got = jsonata::evaluate("$match($s, /(?=\\x02)\\2(a)/).match", &[("s", &s)]);
    assert_eq!(got, Ok(Some(json!("\u{2}a"))));
    let s = json!("aaaa");
    // jsonata-js 2: D1004 (the empty alternative matches after "aaaa").
    let got = jsonata::evaluate("$match($s, /.(?=a){2,}\\2(\\w*)*.a|/i).match", &[("s", &s)]);
    assert!(matches!(&got, Err(jsonata::JsonataError::Threw(m)) if m.starts_with("D1004")), "{got:?}");
}

/// Found by `regex_builtins_never_panic_and_agree` (`/(a|ab)*/` on "\n\na!b"): the linear-time engine
/// iterates as jsonata-js does, so an empty match right after a match is found — and, being empty after
/// the first, ends the iteration with D1004 (jsonata-js 2: `$match("a!", /(a|ab)*/)` throws D1004
/// "Regular expression matches zero length string").
#[test]
fn an_empty_match_right_after_a_match_is_d1004_as_in_jsonata_js() {
    let s = json!("a!");
    let got = jsonata::evaluate("[$match($s, /(a|ab)*/).match]", &[("s", &s)]);
    assert!(matches!(&got, Err(jsonata::JsonataError::Threw(m)) if m.starts_with("D1004")), "{got:?}");
}

/// A quantified group's captures are reset at each iteration in ECMAScript, so a group that took no part
/// in the last one is null (jsonata-js 2: `$match("ab", /(?:(a)|b)+/).groups` is `[null]`, and
/// `$match("ba", /(a|(b))+/).groups` is `["a", null]`); a linear-time engine keeps Perl's last capture,
/// so such a pattern matches on the ECMAScript engine.
#[test]
fn a_repeated_groups_captures_are_those_of_its_last_iteration() {
    for (subject, pattern, groups) in [
        ("ab", "(?:(a)|b)+", json!([null])),
        ("ba", "(a|(b))+", json!(["a", null])),
        ("abab", "(?:(a)|b){2,4}", json!([null])),
        ("aab", "(?:(a)|b)?", json!(["a"])),
        // An optional iteration that would match empty is refused: `/(\w*)*/.exec("")`.
        ("", "(\\w*)*", json!([null])),
        ("", "(a*)?", json!([null])),
        ("aa", "(a*)+", json!(["aa"])),
    ] {
        let s = json!(subject);
        let got = jsonata::evaluate(&format!("$match($s, /{pattern}/, 1).groups"), &[("s", &s)]);
        assert_eq!(got, Ok(Some(groups)), "/{pattern}/ on {subject:?}");
    }
    // Where the matches are is still found in linear time (only the groups come from regress).
    for p in ["(?:(a)|b)+", "((a))*", "(a|b)+", "(?:(a)|b)?", "(a+)+$", "(\\w*)*"] {
        assert!(jsonata_rs::regex_is_linear(p), "{p}");
    }
}

/// `$match`'s `index` is where a match starts, in UTF-16 code units, and a group that took no part keeps
/// its place as null (jsonata-js 2: `$match("ababbabbcc", /a(b+)/)` has indexes 0, 2 and 5;
/// `$match("é😀ab", /a/).index` is 3; `$match("xaby", /(c)?(a)(b)/).groups` is `[null, "a", "b"]`).
#[test]
fn match_index_is_the_offset_and_groups_keep_their_places() {
    let s = json!("ababbabbcc");
    let got = jsonata::evaluate("$match($s, /a(b+)/).index", &[("s", &s)]);
    assert_eq!(got, Ok(Some(json!([0, 2, 5]))));
    let s = json!("é😀ab");
    assert_eq!(jsonata::evaluate("$match($s, /a/).index", &[("s", &s)]), Ok(Some(json!(3))));
    let s = json!("xaby");
    let got = jsonata::evaluate("$match($s, /(c)?(a)(b)/).groups", &[("s", &s)]);
    assert_eq!(got, Ok(Some(json!([null, "a", "b"]))));
}
