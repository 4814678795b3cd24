//! State machine diagrams: Mermaid flowcharts, Graphviz DOT and a laid-out SVG (what the console draws).
//! Parallel branches and Map processors are subgraphs (nested boxes in the SVG), Catch edges are dashed,
//! Choice edges carry their rule, and Task states show their integration and pattern (`ecs:runTask.sync`).
//!
//! The SVG is laid out here, not by a layout crate: a layered top-to-bottom layout (`layered`: back-edges
//! broken by a depth-first search, longest-path layers, long edges bundled into trunks, barycenter
//! crossing reduction, least-squares coordinates) of each scope, nested inside out for Map and Parallel (`layout`), drawn by `draw`. The
//! graphs are small and specific (nested boxes with their own start and end, loops routed around the
//! side, labels on Choice and Catch edges), and a general crate such as `layout-rs` lays out neither
//! nested clusters nor ports on a box's border; the whole is a few hundred lines with linear or
//! `O(E log E)` steps, deterministic to the byte (a 500-state machine with 450 Catches and 50 loops: about
//! 30 ms in a release build; the whole real-world corpus, 214 machines: about 30 ms).
//! [`layout`] is the geometry on its own (boxes, polylines, layers), for tests and other renderers.
//!
//! ```
//! let machine = sfn::asl::parse(br#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}"#).unwrap();
//! let text = sfn::graph::mermaid(&machine);
//! assert!(text.starts_with("flowchart TD"));
//! assert!(text.contains("A --> __end"));
//! let svg = sfn::graph::svg(&machine, &|_| Some(sfn::graph::StateStatus::Succeeded));
//! assert!(svg.contains(r#"<g class="state succeeded pass" data-state="A""#));
//! ```

mod draw;
mod layered;
mod layout;

pub use draw::{StateStatus, xml_text};
pub use layout::{Edge, EdgeKind, Layout, MAX_NAME_CHARS, Node, NodeKind, Rect, layout};

use std::fmt::Write as _;

use sfn_asl::{
    Branch, CompareKind, CompareOp, Condition, Operand, State, StateKind, StateMachine, States, Test,
    TypeTest,
};
use sfn_patterns::Resource;

/// A node id that is safe in both Mermaid and DOT: the scope path and name, non-alphanumerics as `_`,
/// with a hash suffix when sanitizing changed the name (so `a b` and `a_b` stay distinct).
fn node_id(scope: &str, name: &str) -> String {
    let raw = if scope.is_empty() { name.to_owned() } else { format!("{scope}/{name}") };
    let mut id: String = raw.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if id != raw {
        let h = raw
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        let _ = write!(id, "_{:x}", h & 0xffff);
    }
    if id.starts_with(|c: char| c.is_ascii_digit()) || id.starts_with('_') {
        id.insert(0, 'n');
    }
    id
}

/// What a Task state calls, as shown in the diagram.
pub fn task_label(resource: &str) -> String {
    match Resource::parse(resource) {
        Ok(Resource::Service(r)) => {
            let svc = if r.sdk { format!("aws-sdk:{}", r.service) } else { r.service.clone() };
            format!("{svc}:{}{}", r.action, r.pattern.suffix())
        }
        Ok(Resource::LambdaFunction(_)) => "lambda function".to_owned(),
        Ok(Resource::Activity(_)) => "activity".to_owned(),
        Err(_) => resource.to_owned(),
    }
}

fn op(kind: CompareKind, op: CompareOp) -> String {
    let sym = match op {
        CompareOp::Equals => "==",
        CompareOp::LessThan => "<",
        CompareOp::LessThanEquals => "<=",
        CompareOp::GreaterThan => ">",
        CompareOp::GreaterThanEquals => ">=",
    };
    match kind {
        CompareKind::Timestamp => format!("{sym} (time)"),
        _ => sym.to_owned(),
    }
}

/// A short, human summary of a Choice condition.
pub fn condition_label(c: &Condition) -> String {
    match c {
        Condition::And(cs) => cs.iter().map(condition_label).collect::<Vec<_>>().join(" and "),
        Condition::Or(cs) => cs.iter().map(condition_label).collect::<Vec<_>>().join(" or "),
        Condition::Not(c) => format!("not ({})", condition_label(c)),
        Condition::Jsonata(e) => e.source().to_owned(),
        Condition::Test { variable, test } => match test {
            Test::Compare { kind, op: o, operand } => {
                let rhs = match operand {
                    Operand::Value(v) => v.to_string(),
                    Operand::Path(p) => p.source().to_owned(),
                };
                format!("{} {} {rhs}", variable.source(), op(*kind, *o))
            }
            Test::StringMatches(p) => format!("{} matches {p}", variable.source()),
            Test::Type(t, b) => {
                let what = match t {
                    TypeTest::IsNull => "null",
                    TypeTest::IsPresent => "present",
                    TypeTest::IsNumeric => "numeric",
                    TypeTest::IsString => "string",
                    TypeTest::IsBoolean => "boolean",
                    TypeTest::IsTimestamp => "timestamp",
                };
                format!("{} {} {what}", variable.source(), if *b { "is" } else { "is not" })
            }
        },
    }
}

/// An edge of the diagram.
struct Arrow {
    from: String,
    to: String,
    label: Option<String>,
    dashed: bool,
}

/// A node or a subgraph.
enum Item {
    Node { id: String, label: String, kind: &'static str },
    Group { id: String, label: String, items: Vec<Item> },
}

struct Builder {
    edges: Vec<Arrow>,
}

impl Builder {
    /// The id a transition into `state` points at (a Map/Parallel state is its subgraph).
    fn target(scope: &str, state: &State) -> String {
        node_id(scope, &state.name)
    }

    fn scope(&mut self, scope: &str, start_at: &str, states: &States, entry: &str, exit: &str) -> Vec<Item> {
        let mut items = Vec::new();
        if let Some(first) = states.get(start_at) {
            self.edges.push(Arrow {
                from: entry.to_owned(),
                to: Self::target(scope, first),
                label: None,
                dashed: false,
            });
        }
        for s in states {
            let id = node_id(scope, &s.name);
            let to = |name: &str| {
                states.get(name).map(|t| Self::target(scope, t)).unwrap_or_else(|| node_id(scope, name))
            };
            if let Some(n) = &s.next {
                self.edges.push(Arrow { from: id.clone(), to: to(n), label: None, dashed: false });
            }
            if s.end {
                self.edges.push(Arrow { from: id.clone(), to: exit.to_owned(), label: None, dashed: false });
            }
            let catches: &[sfn_asl::Catcher] = s.recovery().map_or(&[], |r| &r.catch);
            for c in catches {
                self.edges.push(Arrow {
                    from: id.clone(),
                    to: to(&c.next),
                    label: Some(c.error_equals.join(", ")),
                    dashed: true,
                });
            }
            match &s.kind {
                StateKind::Choice(c) => {
                    for r in &c.choices {
                        self.edges.push(Arrow {
                            from: id.clone(),
                            to: to(&r.next),
                            label: Some(condition_label(&r.condition)),
                            dashed: false,
                        });
                    }
                    if let Some(d) = &c.default {
                        self.edges.push(Arrow {
                            from: id.clone(),
                            to: to(d),
                            label: Some("Default".into()),
                            dashed: false,
                        });
                    }
                    items.push(Item::Node { id, label: s.name.clone(), kind: "choice" });
                }
                StateKind::Task(t) => items.push(Item::Node {
                    id,
                    label: format!("{}\n{}", s.name, task_label(&t.resource)),
                    kind: "task",
                }),
                StateKind::Succeed => items.push(Item::Node { id, label: s.name.clone(), kind: "succeed" }),
                StateKind::Fail(_) => items.push(Item::Node { id, label: s.name.clone(), kind: "fail" }),
                StateKind::Parallel(p) => {
                    let inner_scope = format!("{}/{}", scope, s.name);
                    let mut groups = Vec::new();
                    for (i, b) in p.branches.iter().enumerate() {
                        let bscope = format!("{inner_scope}/{i}");
                        groups.push(self.branch(&bscope, b, &format!("Branch {}", i + 1)));
                    }
                    items.push(Item::Group { id, label: format!("Parallel: {}", s.name), items: groups });
                }
                StateKind::Map(m) => {
                    let inner_scope = format!("{}/{}", scope, s.name);
                    let g = self.branch(&inner_scope, &m.processor, "Iteration");
                    items.push(Item::Group { id, label: format!("Map: {}", s.name), items: vec![g] });
                }
                StateKind::Pass(_) | StateKind::Wait(_) => {
                    items.push(Item::Node { id, label: s.name.clone(), kind: "pass" });
                }
            }
        }
        items
    }

    fn branch(&mut self, scope: &str, b: &Branch, label: &str) -> Item {
        let id = node_id(scope, "branch");
        let start = node_id(scope, "__start");
        let end = node_id(scope, "__end");
        let mut items = vec![
            Item::Node { id: start.clone(), label: String::new(), kind: "start" },
            Item::Node { id: end.clone(), label: String::new(), kind: "end" },
        ];
        items.extend(self.scope(scope, &b.start_at, &b.states, &start, &end));
        Item::Group { id, label: label.to_owned(), items }
    }
}

fn build(machine: &StateMachine) -> (Vec<Item>, Vec<Arrow>) {
    let mut b = Builder { edges: Vec::new() };
    let mut items = vec![
        Item::Node { id: "__start".into(), label: String::new(), kind: "start" },
        Item::Node { id: "__end".into(), label: String::new(), kind: "end" },
    ];
    items.extend(b.scope("", &machine.start_at, &machine.states, "__start", "__end"));
    (items, b.edges)
}

fn collect_fails(list: &[Item], out: &mut Vec<String>) {
    for it in list {
        match it {
            Item::Node { id, kind: "fail", .. } => out.push(id.clone()),
            Item::Group { items, .. } => collect_fails(items, out),
            Item::Node { .. } => {}
        }
    }
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;").replace('\n', "<br/>")
}

/// The state machine as a Mermaid flowchart.
pub fn mermaid(machine: &StateMachine) -> String {
    fn items(out: &mut String, list: &[Item], depth: usize) {
        let pad = "    ".repeat(depth);
        for it in list {
            match it {
                Item::Node { id, label, kind } => {
                    let l = mermaid_text(label);
                    let _ = match *kind {
                        "start" | "end" => writeln!(out, "{pad}{id}(( ))"),
                        "choice" => writeln!(out, "{pad}{id}{{\"{l}\"}}"),
                        "succeed" | "fail" => writeln!(out, "{pad}{id}([\"{l}\"])"),
                        "task" => writeln!(out, "{pad}{id}[\"{l}\"]"),
                        _ => writeln!(out, "{pad}{id}(\"{l}\")"),
                    };
                }
                Item::Group { id, label, items: inner } => {
                    let _ = writeln!(out, "{pad}subgraph {id}[\"{}\"]", mermaid_text(label));
                    items(out, inner, depth + 1);
                    let _ = writeln!(out, "{pad}end");
                }
            }
        }
    }
    let (list, edges) = build(machine);
    let mut out = String::from("flowchart TD\n");
    items(&mut out, &list, 1);
    for e in &edges {
        let _ = match (&e.label, e.dashed) {
            (Some(l), true) => writeln!(out, "    {} -. \"{}\" .-> {}", e.from, mermaid_text(l), e.to),
            (None, true) => writeln!(out, "    {} -.-> {}", e.from, e.to),
            (Some(l), false) => writeln!(out, "    {} -->|\"{}\"| {}", e.from, mermaid_text(l), e.to),
            (None, false) => writeln!(out, "    {} --> {}", e.from, e.to),
        };
    }
    let mut fails = Vec::new();
    collect_fails(&list, &mut fails);
    if !fails.is_empty() {
        let _ = writeln!(out, "    classDef fail fill:#fdd,stroke:#c33");
        let _ = writeln!(out, "    class {} fail", fails.join(","));
    }
    out
}

fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The state machine as a Graphviz DOT digraph.
pub fn dot(machine: &StateMachine) -> String {
    fn items(out: &mut String, list: &[Item], depth: usize) {
        let pad = "  ".repeat(depth);
        for it in list {
            match it {
                Item::Node { id, label, kind } => {
                    let l = dot_text(label);
                    let attrs = match *kind {
                        "start" => {
                            "shape=circle, label=\"\", width=0.2, style=filled, fillcolor=black".to_owned()
                        }
                        "end" => "shape=doublecircle, label=\"\", width=0.2".to_owned(),
                        "choice" => format!("shape=diamond, label=\"{l}\""),
                        "succeed" => {
                            format!("shape=box, style=\"rounded,filled\", fillcolor=\"#dfd\", label=\"{l}\"")
                        }
                        "fail" => {
                            format!("shape=box, style=\"rounded,filled\", fillcolor=\"#fdd\", label=\"{l}\"")
                        }
                        "task" => format!("shape=box, label=\"{l}\""),
                        _ => format!("shape=box, style=rounded, label=\"{l}\""),
                    };
                    let _ = writeln!(out, "{pad}{id} [{attrs}];");
                }
                Item::Group { id, label, items: inner } => {
                    let _ = writeln!(out, "{pad}subgraph cluster_{id} {{");
                    let _ = writeln!(out, "{pad}  label=\"{}\";", dot_text(label));
                    // An invisible anchor lets edges point at the whole group.
                    let _ = writeln!(out, "{pad}  {id} [shape=point, style=invis];");
                    items(out, inner, depth + 1);
                    let _ = writeln!(out, "{pad}}}");
                }
            }
        }
    }
    let (list, edges) = build(machine);
    let mut out =
        String::from("digraph state_machine {\n  compound=true;\n  node [fontname=\"Helvetica\"];\n");
    items(&mut out, &list, 1);
    for e in &edges {
        let mut attrs = Vec::new();
        if let Some(l) = &e.label {
            attrs.push(format!("label=\"{}\"", dot_text(l)));
        }
        if e.dashed {
            attrs.push("style=dashed".to_owned());
        }
        let attrs = if attrs.is_empty() { String::new() } else { format!(" [{}]", attrs.join(", ")) };
        let _ = writeln!(out, "  {} -> {}{attrs};", e.from, e.to);
    }
    out.push_str("}\n");
    out
}

/// Every state's diagram node id (nested states included), as [`mermaid`] and [`dot`] name them.
fn state_ids(scope: &str, states: &States, out: &mut Vec<(String, String)>) {
    for s in states {
        out.push((node_id(scope, &s.name), s.name.clone()));
        let inner = format!("{}/{}", scope, s.name);
        match &s.kind {
            StateKind::Parallel(p) => {
                for (i, b) in p.branches.iter().enumerate() {
                    state_ids(&format!("{inner}/{i}"), &b.states, out);
                }
            }
            StateKind::Map(m) => state_ids(&inner, &m.processor.states, out),
            _ => {}
        }
    }
}

/// [`mermaid`] with each state's node in a class: `class_of(state name)` names it (`None`: unclassed), and
/// `class_defs` are `(class, style)` pairs (`("covered", "fill:#cfc")`). `sfn test` colours coverage so.
pub fn mermaid_classed(
    machine: &StateMachine,
    class_of: &dyn Fn(&str) -> Option<&'static str>,
    class_defs: &[(&str, &str)],
) -> String {
    let mut out = mermaid(machine);
    for (class, style) in class_defs {
        let _ = writeln!(out, "    classDef {class} {style}");
    }
    let mut ids = Vec::new();
    state_ids("", &machine.states, &mut ids);
    for (id, name) in ids {
        if let Some(class) = class_of(&name) {
            let _ = writeln!(out, "    class {id} {class}");
        }
    }
    out
}

/// The definition as a standalone SVG document, laid out as the AWS console's graph view: states top to
/// bottom from a start marker to an end marker, Map and Parallel states as boxes holding their states, Choice
/// and Catch edges labelled, loops routed around the side. One `<g class="state STATUS TYPE"
/// data-state="NAME" data-type="Type" tabindex="0">` per state (nested states included), `status_of(state
/// name)` giving STATUS ([`StateStatus::class`]; `None`: `not-entered`). The same machine always gives the
/// same bytes.
pub fn svg(machine: &StateMachine, status_of: &dyn Fn(&str) -> Option<StateStatus>) -> String {
    draw::render(&layout(machine), status_of)
}
