//! `sfn::graph::svg` and `layout`: properties of the layout (no overlap, nested boxes hold their states,
//! edges end on their nodes' borders, layers follow `Next`, loops go around the side), the SVG's DOM
//! contract with the console (one group per state, escaped names, a well-formed document), on hand-made
//! machines, every definition of the real-world corpus and generated ones.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use sfn::graph::{Layout, NodeKind, Rect, StateStatus};

const EPS: f64 = 0.01;

fn machine(def: &Value) -> sfn::asl::StateMachine {
    sfn::asl::validate_value(def, Default::default()).into_result().unwrap()
}

/// Is `(x, y)` on the border of `r`?
fn on_border(r: &Rect, (x, y): (f64, f64)) -> bool {
    let inside = x >= r.x - EPS && x <= r.right() + EPS && y >= r.y - EPS && y <= r.bottom() + EPS;
    let near = (x - r.x).abs() < EPS
        || (x - r.right()).abs() < EPS
        || (y - r.y).abs() < EPS
        || (y - r.bottom()).abs() < EPS;
    inside && near
}

fn ancestors(l: &Layout, mut i: usize) -> Vec<usize> {
    let mut out = Vec::new();
    while let Some(p) = l.nodes[i].parent {
        out.push(p);
        i = p;
    }
    out
}

/// The layout's invariants; every failure is listed.
fn check_layout(l: &Layout) -> Vec<String> {
    let mut bad = Vec::new();
    let label = |i: usize| format!("{:?} {:?}", l.nodes[i].kind, l.nodes[i].name);
    let whole = Rect { x: 0.0, y: 0.0, w: l.width, h: l.height };
    let anc: Vec<Vec<usize>> = (0..l.nodes.len()).map(|i| ancestors(l, i)).collect();
    for (i, n) in l.nodes.iter().enumerate() {
        let r = &n.rect;
        if ![r.x, r.y, r.w, r.h].iter().all(|v| v.is_finite()) || r.w <= 0.0 || r.h <= 0.0 {
            bad.push(format!("{}: bad rect {r:?}", label(i)));
        }
        if !whole.contains(r) {
            bad.push(format!("{}: outside the drawing {r:?}", label(i)));
        }
        if let Some(p) = n.parent {
            if !l.nodes[p].rect.contains(r) {
                bad.push(format!("{} not inside its box {}", label(i), label(p)));
            }
        }
        for j in i + 1..l.nodes.len() {
            let related = anc[i].contains(&j) || anc[j].contains(&i);
            if !related && r.overlaps(&l.nodes[j].rect) {
                bad.push(format!("{} overlaps {}", label(i), label(j)));
            }
        }
    }
    for e in &l.edges {
        let (Some(first), Some(last)) = (e.points.first(), e.points.last()) else {
            bad.push(format!("edge {} -> {} has no points", label(e.from), label(e.to)));
            continue;
        };
        if !on_border(&l.nodes[e.from].rect, *first) {
            bad.push(format!("edge {} -> {} starts off its border at {first:?}", label(e.from), label(e.to)));
        }
        if !on_border(&l.nodes[e.to].rect, *last) {
            bad.push(format!("edge {} -> {} ends off its border at {last:?}", label(e.from), label(e.to)));
        }
        if e.points.iter().any(|&(x, y)| !whole.contains(&Rect { x, y, w: 0.0, h: 0.0 })) {
            bad.push(format!("edge {} -> {} leaves the drawing", label(e.from), label(e.to)));
        }
        // Between its ends, an edge passes through no box but those its scope is drawn in.
        let mut around: Vec<usize> = e.scope.map(|s| ancestors(l, s)).unwrap_or_default();
        around.extend(e.scope);
        for &p in &e.points[1..e.points.len() - 1] {
            let strictly_inside = |r: &Rect| {
                p.0 > r.x + EPS && p.0 < r.right() - EPS && p.1 > r.y + EPS && p.1 < r.bottom() - EPS
            };
            if let Some(i) =
                (0..l.nodes.len()).find(|i| !around.contains(i) && strictly_inside(&l.nodes[*i].rect))
            {
                bad.push(format!("edge {} -> {} passes through {}", label(e.from), label(e.to), label(i)));
            }
        }
        // A label sits in its scope: the box the edge is drawn in, or the drawing.
        let scope_rect = e.scope.map_or(whole, |s| l.nodes[s].rect);
        match (&e.label, e.label_at) {
            (Some(_), Some((x, y))) if scope_rect.contains(&Rect { x, y, w: 0.0, h: 0.0 }) => {}
            (None, None) => {}
            (label_text, at) => bad.push(format!("label {label_text:?} at {at:?}, outside {scope_rect:?}")),
        }
        if !e.back && l.nodes[e.to].layer <= l.nodes[e.from].layer {
            bad.push(format!("forward edge {} -> {} does not go down a layer", label(e.from), label(e.to)));
        }
    }
    bad
}

/// The SVG's contract: a well-formed standalone document, one `data-state` group per state (by name, nested
/// states included), each with a `<title>` holding the name; returns each state's group classes.
fn check_svg(svg: &str, m: &sfn::asl::StateMachine) -> BTreeMap<String, String> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    assert_eq!(root.attribute("role"), Some("img"));
    assert!(root.attribute("aria-label").is_some_and(|a| !a.is_empty()));
    let vb: Vec<f64> = root.attribute("viewBox").unwrap().split(' ').map(|v| v.parse().unwrap()).collect();
    assert_eq!(vb.len(), 4);
    let mut groups = BTreeMap::new();
    for g in root.descendants().filter(|n| n.has_tag_name("g") && n.attribute("data-state").is_some()) {
        let name = g.attribute("data-state").unwrap().to_owned();
        let class = g.attribute("class").unwrap().to_owned();
        assert!(class.starts_with("state "), "{class}");
        assert_eq!(g.attribute("tabindex"), Some("0"));
        let title = g.children().find(|c| c.has_tag_name("title")).and_then(|t| t.text());
        assert_eq!(title, Some(name.as_str()), "{name}: its title");
        assert!(groups.insert(name.clone(), class).is_none(), "two groups for {name:?}");
    }
    let states: Vec<&str> = m.states.every().iter().map(|s| s.name.as_str()).collect();
    let mut names: Vec<&str> = groups.keys().map(String::as_str).collect();
    let mut expected = states.clone();
    expected.sort_unstable();
    expected.dedup();
    names.sort_unstable();
    assert_eq!(names, expected, "one group per state");
    groups
}

fn seedlike() -> sfn::asl::StateMachine {
    machine(&json!({"StartAt": "Run job", "States": {
        "Run job": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {"Cluster": "c", "TaskDefinition": "t"},
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Failed"}], "Next": "Fan out"},
        "Fan out": {"Type": "Parallel", "Next": "Check", "Branches": [
            {"StartAt": "Notify", "States": {"Notify": {"Type": "Pass", "End": true}}},
            {"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "One", "States": {"One": {"Type": "Pass", "Next": "Two"}, "Two": {"Type": "Pass", "End": true}}}}}}]},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$[0].ok", "BooleanEquals": true, "Next": "Done"}], "Default": "Failed"},
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "JobFailed"}}}))
}

fn node<'a>(l: &'a Layout, name: &str) -> (usize, &'a sfn::graph::Node) {
    l.nodes.iter().enumerate().find(|(_, n)| n.name == name).unwrap()
}

#[test]
fn nested_boxes_hold_their_states_and_nothing_overlaps() {
    let m = seedlike();
    let l = sfn::graph::layout(&m);
    assert_eq!(check_layout(&l), Vec::<String>::new());
    let (fan, fan_node) = node(&l, "Fan out");
    let (each, each_node) = node(&l, "Each");
    let (_, one) = node(&l, "One");
    assert!(each_node.rect.contains(&one.rect) && fan_node.rect.contains(&each_node.rect));
    assert!(ancestors(&l, node(&l, "One").0).starts_with(&[each]));
    assert!(ancestors(&l, each).contains(&fan));
    // Two branch columns, side by side in the Parallel's box.
    let branches: Vec<_> =
        l.nodes.iter().filter(|n| n.kind == NodeKind::Branch && n.parent == Some(fan)).collect();
    assert_eq!(branches.len(), 2);
    assert!(branches[0].rect.right() <= branches[1].rect.x);
    // Edges into and out of the Parallel end on its box.
    let into = l.edges.iter().find(|e| e.to == fan).unwrap();
    assert_eq!(into.from, node(&l, "Run job").0);
    assert!(l.edges.iter().any(|e| e.from == fan && l.nodes[e.to].name == "Check"));
    // The catch edge and the Choice's rules are labelled.
    let catch = l.edges.iter().find(|e| e.kind == sfn::graph::EdgeKind::Catch).unwrap();
    assert_eq!(catch.label.as_deref(), Some("States.TaskFailed"));
    assert!(l.edges.iter().any(|e| e.label.as_deref() == Some("$[0].ok == true")));

    let svg = sfn::graph::svg(&m, &|_| None);
    let groups = check_svg(&svg, &m);
    assert_eq!(groups["Run job"], "state not-entered task");
    assert_eq!(groups["Each"], "state not-entered map distributed");
    assert!(svg.contains(">ecs:runTask.sync</text>"), "a Task's integration is its second line");
    assert!(svg.contains("Map · Distributed"));
    assert!(svg.contains(">JobFailed</text>"), "a Fail shows its error");
    assert!(svg.contains("class=\"edge catch\""));
}

#[test]
fn layers_follow_next_edges_in_an_acyclic_machine() {
    let mut states = serde_json::Map::new();
    // A diamond of Choices over twelve states: every path goes down.
    for i in 0..12 {
        let state = match i % 3 {
            0 if i + 2 < 12 => json!({"Type": "Choice", "Choices": [
                {"Variable": "$.x", "NumericEquals": i, "Next": format!("S{}", i + 2)}], "Default": format!("S{}", i + 1)}),
            _ if i == 11 => json!({"Type": "Succeed"}),
            _ => json!({"Type": "Pass", "Next": format!("S{}", i + 1)}),
        };
        states.insert(format!("S{i}"), state);
    }
    let m = machine(&json!({"StartAt": "S0", "States": states}));
    let l = sfn::graph::layout(&m);
    assert_eq!(check_layout(&l), Vec::<String>::new());
    assert!(l.edges.iter().all(|e| !e.back), "no back-edge without a cycle");
    for e in &l.edges {
        let (a, b) = (&l.nodes[e.from], &l.nodes[e.to]);
        assert!(b.layer > a.layer && b.rect.y >= a.rect.bottom(), "{} -> {}", a.name, b.name);
    }
    // S(i+1) is below S(i) for every i: the chain is the longest path.
    for i in 0..11 {
        assert!(node(&l, &format!("S{}", i + 1)).1.layer > node(&l, &format!("S{i}")).1.layer);
    }
}

#[test]
fn a_polling_loop_is_one_back_edge_around_the_side() {
    let m = machine(&json!({"StartAt": "Start job", "States": {
        "Start job": {"Type": "Pass", "Next": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": 5, "Next": "Get status"},
        "Get status": {"Type": "Pass", "Next": "Done?"},
        "Done?": {"Type": "Choice", "Choices": [
            {"Variable": "$.status", "StringEquals": "RUNNING", "Next": "Wait"},
            {"Variable": "$.status", "StringEquals": "FAILED", "Next": "Retry self"}], "Default": "Done"},
        "Retry self": {"Type": "Choice", "Choices": [{"Variable": "$.again", "BooleanEquals": true, "Next": "Retry self"}], "Default": "Failed"},
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail"}}}));
    let l = sfn::graph::layout(&m);
    assert_eq!(check_layout(&l), Vec::<String>::new());
    let back: Vec<_> = l.edges.iter().filter(|e| e.back).collect();
    let names: Vec<(&str, &str)> =
        back.iter().map(|e| (l.nodes[e.from].name.as_str(), l.nodes[e.to].name.as_str())).collect();
    assert_eq!(names, [("Done?", "Wait"), ("Retry self", "Retry self")]);
    let right = l.nodes.iter().map(|n| n.rect.right()).fold(0.0, f64::max);
    for e in back {
        // Its vertical run is right of every box of the scope.
        let max_x = e.points.iter().map(|p| p.0).fold(0.0, f64::max);
        assert!(max_x > right, "{max_x} <= {right}");
    }
    assert_eq!(l.edges.iter().find(|e| e.back).unwrap().label.as_deref(), Some("$.status == \"RUNNING\""));
    // The loop does not push the rest out of order.
    let layer = |n: &str| node(&l, n).1.layer;
    assert!(layer("Start job") < layer("Wait") && layer("Wait") < layer("Get status"));
    assert!(layer("Get status") < layer("Done?") && layer("Done?") < layer("Done"));
    let svg = sfn::graph::svg(&m, &|_| None);
    check_svg(&svg, &m);
    assert!(svg.contains(">5 s</text>"), "a Wait shows how long");
}

#[test]
fn names_are_escaped_and_long_ones_cut() {
    let odd = "<a & \"b\" 'c'>";
    let long = "A state whose name goes on and on well past what a box can hold";
    let m = machine(&json!({"StartAt": odd, "States": {
        odd: {"Type": "Pass", "Next": long},
        long: {"Type": "Choice", "Choices": [{"Variable": "$.v", "StringEquals": "<&>", "Next": odd}], "Default": "end"},
        "end": {"Type": "Succeed"}}}));
    let svg = sfn::graph::svg(&m, &|_| None);
    let groups = check_svg(&svg, &m);
    assert!(groups.contains_key(odd) && groups.contains_key(long));
    assert!(svg.contains("data-state=\"&lt;a &amp; &quot;b&quot; &#39;c&#39;&gt;\""));
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let g = doc.descendants().find(|n| n.attribute("data-state") == Some(long)).unwrap();
    let shown = g.descendants().find(|n| n.attribute("class") == Some("name")).unwrap().text().unwrap();
    assert_eq!(shown.chars().count(), sfn::graph::MAX_NAME_CHARS);
    assert!(shown.ends_with('…') && long.starts_with(shown.trim_end_matches('…')));
    // The rule's label is escaped too.
    assert!(svg.contains("$.v == &quot;&lt;&amp;&gt;&quot;"));
}

#[test]
fn statuses_colour_the_states() {
    let m = seedlike();
    let status = |name: &str| match name {
        "Run job" => Some(StateStatus::Caught),
        "Fan out" | "Notify" => Some(StateStatus::Succeeded),
        "Each" => Some(StateStatus::Running),
        "One" => Some(StateStatus::Aborted),
        "Failed" => Some(StateStatus::Failed),
        _ => None,
    };
    let svg = sfn::graph::svg(&m, &status);
    let groups = check_svg(&svg, &m);
    for (name, class) in &groups {
        let expected = status(name).map_or("not-entered", StateStatus::class);
        assert_eq!(class.split(' ').nth(1), Some(expected), "{name}: {class}");
    }
    for class in ["succeeded", "failed", "caught", "running", "aborted", "not-entered"] {
        assert!(svg.contains(&format!(".sfn-graph .{class}>.shape{{")), "no style for {class}");
    }
    assert!(!svg.contains("<animate") && !svg.contains("animation"), "the running highlight does not move");
}

#[test]
fn the_same_definition_gives_the_same_bytes() {
    // Parsed twice: two `States` indexes with their own hash seeds.
    let a = sfn::graph::svg(&seedlike(), &|_| None);
    let b = sfn::graph::svg(&seedlike(), &|_| None);
    assert_eq!(a, b);
}

#[test]
fn a_small_machine_snapshot() {
    let m = machine(&json!({"StartAt": "Run", "States": {
        "Run": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {"Cluster": "c", "TaskDefinition": "t"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Oops"}], "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Oops": {"Type": "Fail"}}}));
    insta::assert_snapshot!(
        "small_svg",
        sfn::graph::svg(&m, &|n| (n == "Run").then_some(StateStatus::Caught))
    );
}

/// A machine of `n` states: Tasks with a Catch to one Fail, a polling loop every 10 states and a Parallel
/// of three branches every 50 — many long edges and back-edges.
fn big(n: usize) -> Value {
    let mut states = serde_json::Map::new();
    let name = |i: usize| format!("State {i}");
    for i in 0..n {
        let next = if i + 1 < n { name(i + 1) } else { "Failed".to_owned() };
        let state = if i % 10 == 9 {
            json!({"Type": "Choice", "Choices": [{"Variable": "$.again", "BooleanEquals": true, "Next": name(i - 3)}], "Default": next})
        } else if i % 50 == 25 {
            let branch = |b: usize| {
                json!({"StartAt": format!("B{i}.{b}"), "States": {
                    format!("B{i}.{b}"): {"Type": "Pass", "Next": format!("B{i}.{b}x")},
                    format!("B{i}.{b}x"): {"Type": "Pass", "End": true}}})
            };
            json!({"Type": "Parallel", "Branches": [branch(0), branch(1), branch(2)], "Next": next})
        } else {
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}], "Next": next})
        };
        states.insert(name(i), state);
    }
    states.insert("Failed".into(), json!({"Type": "Fail"}));
    json!({"StartAt": name(0), "States": states})
}

#[test]
fn five_hundred_states_lay_out() {
    let m = machine(&big(500));
    let started = std::time::Instant::now();
    let svg = sfn::graph::svg(&m, &|_| None);
    let took = started.elapsed();
    eprintln!("500 states: {} bytes of SVG in {took:?}", svg.len());
    check_svg(&svg, &m);
    let l = sfn::graph::layout(&m);
    assert!(l.edges.iter().filter(|e| e.back).count() >= 50);
    let bad = check_layout(&l);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/realworld/defs");

#[test]
fn every_realworld_definition_renders() {
    let Ok(dir) = std::fs::read_dir(CORPUS) else {
        eprintln!("skipped: the real-world corpus is not at {CORPUS}");
        return;
    };
    let mut files: Vec<_> = dir.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    let (mut rendered, mut refused) = (0, 0);
    let mut problems = Vec::new();
    let mut drawing = std::time::Duration::ZERO;
    for path in &files {
        let text = std::fs::read(path).unwrap();
        // AWS refuses one of them; the rest are deployed machines.
        let Ok(m) = sfn::asl::parse(&text) else {
            refused += 1;
            continue;
        };
        let started = std::time::Instant::now();
        let svg = sfn::graph::svg(&m, &|_| Some(StateStatus::Succeeded));
        drawing += started.elapsed();
        check_svg(&svg, &m);
        let file = Path::new(path).file_name().unwrap().to_string_lossy().into_owned();
        problems.extend(check_layout(&sfn::graph::layout(&m)).into_iter().map(|p| format!("{file}: {p}")));
        rendered += 1;
    }
    eprintln!("{rendered} real-world definitions drawn in {drawing:?}");
    assert_eq!(rendered + refused, files.len());
    assert!(rendered >= 200 && refused <= 1, "{rendered} rendered, {refused} refused");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A small machine: a chain of states (so every state is reachable), with Choice rules, Catches and
/// nested Map/Parallel scopes pointing anywhere in their scope, back included.
fn arb_machine() -> impl Strategy<Value = Value> {
    fn scope(prefix: String, kinds: &[(u8, usize, usize)], depth: usize) -> Value {
        let n = kinds.len();
        let name = |i: usize| format!("{prefix}{i}");
        let mut states = serde_json::Map::new();
        for (i, &(kind, a, b)) in kinds.iter().enumerate() {
            let next = (i + 1 < n).then(|| name(i + 1));
            let mut s = match kind % 6 {
                0 => json!({"Type": "Pass"}),
                1 => json!({"Type": "Choice", "Choices": [
                    {"Variable": "$.x", "NumericEquals": 1, "Next": name(a % n)},
                    {"Variable": "$.y", "IsPresent": true, "Next": name(b % n)}],
                    "Default": next.clone().unwrap_or_else(|| name(a % n))}),
                2 => json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
                    "Parameters": {"Cluster": "c", "TaskDefinition": "t"},
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": name(a % n)}]}),
                3 if depth < 2 => json!({"Type": "Map", "ItemProcessor":
                    scope(format!("{prefix}{i}m"), &kinds[..(a % 3 + 1).min(n)], depth + 1)}),
                4 if depth < 2 => json!({"Type": "Parallel", "Branches": (0..(b % 3 + 1))
                    .map(|k| scope(format!("{prefix}{i}p{k}<&>"), &kinds[..(a % 3 + 1).min(n)], depth + 1))
                    .collect::<Vec<_>>()}),
                5 => json!({"Type": "Fail"}),
                _ => json!({"Type": "Wait", "Seconds": 1}),
            };
            let terminal = matches!(s["Type"].as_str(), Some("Choice" | "Fail"));
            if !terminal {
                match &next {
                    Some(nx) => s["Next"] = json!(nx),
                    None => s["End"] = json!(true),
                }
            }
            states.insert(name(i), s);
        }
        json!({"StartAt": name(0), "States": states})
    }
    proptest::collection::vec((any::<u8>(), 0..12usize, 0..12usize), 1..12)
        .prop_map(|kinds| scope("S'\"".to_owned(), &kinds, 0))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn generated_machines_lay_out_without_overlap(def in arb_machine()) {
        // Whatever the validator says (a Fail mid-chain leaves states unreachable), the machine it read is drawn.
        let v = sfn::asl::validate_value(&def, Default::default());
        let m = v.machine.unwrap();
        let l = sfn::graph::layout(&m);
        let bad = check_layout(&l);
        prop_assert!(bad.is_empty(), "{}\n{}", bad.join("\n"), def);
        check_svg(&sfn::graph::svg(&m, &|_| Some(StateStatus::Running)), &m);
    }
}
