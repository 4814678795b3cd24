//! A [`Layout`] as a standalone SVG document, each state coloured by its [`StateStatus`].
//!
//! The DOM is a contract with the console (`sfn serve`'s pages and their browser tests): one
//! `<g class="state STATUS TYPE" data-state="NAME" data-type="Type" tabindex="0">` per state, nested ones
//! included (siblings after their Map's or Parallel's group, never inside it, so a status class styles one
//! state only), with a `<title>` holding the whole name; the root `<svg>` has `viewBox`, `role="img"` and
//! an `aria-label`. The style sheet is embedded, its selectors under `.sfn-graph` so the document can be
//! inlined into a page; the running highlight is a static halo (no animation), and the same halo, dark, is
//! the keyboard focus ring (and the ring of a state the page marks `selected`).

use std::fmt::Write as _;

use super::layout::{CHOICE_SLANT, Edge, HEADER_H, Layout, MAX_LABEL_CHARS, MAX_NAME_CHARS, Node, NodeKind};

/// What happened to a state in one execution, as the console colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateStatus {
    /// Entered and left normally.
    Succeeded,
    /// Failed, and the failure was not caught.
    Failed,
    /// Failed, and a `Catch` took the error.
    Caught,
    /// Entered and not yet left.
    Running,
    /// Entered and ended by a stop, a timeout or a sibling's failure.
    Aborted,
}

impl StateStatus {
    /// The CSS class of a node with this status (`not-entered` is the class of a state without one).
    pub fn class(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Caught => "caught",
            Self::Running => "running",
            Self::Aborted => "aborted",
        }
    }
}

const STYLE: &str = "\
.sfn-graph{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif}\
.sfn-graph text{fill:#16191f}\
.sfn-graph .name{font-size:13px}\
.sfn-graph .detail,.sfn-graph .tag{font-size:11px;fill:#5f6b7a}\
.sfn-graph .box-name{font-size:13px;font-weight:600}\
.sfn-graph .shape{fill:#fff;stroke:#8d99a8;stroke-width:1.5}\
.sfn-graph .halo{fill:none;stroke:none}\
.sfn-graph .map>.shape,.sfn-graph .parallel>.shape{fill:#f8f9fa}\
.sfn-graph .branch>.shape{fill:#fff;fill-opacity:.6;stroke:#b6bec9;stroke-dasharray:4 3}\
.sfn-graph .branch>text{font-size:11px;fill:#5f6b7a}\
.sfn-graph .succeeded>.shape{fill:#e9f7ec;stroke:#1d8102}\
.sfn-graph .failed>.shape{fill:#fde8e8;stroke:#d13212}\
.sfn-graph .caught>.shape{fill:#fff2e0;stroke:#ec7211}\
.sfn-graph .running>.shape{fill:#e6f2ff;stroke:#0972d3;stroke-width:2.5}\
.sfn-graph .running>.halo{stroke:#0972d3;stroke-opacity:.35;stroke-width:6}\
.sfn-graph .aborted>.shape{fill:#eceff2;stroke:#7d8998;stroke-dasharray:6 3}\
.sfn-graph .not-entered>.shape{fill:#fff;stroke:#8d99a8}\
.sfn-graph .state{cursor:pointer}\
.sfn-graph .state:focus{outline:none}\
.sfn-graph .state:focus>.shape,.sfn-graph .state.selected>.shape{stroke-width:3}\
.sfn-graph .state:focus>.halo,.sfn-graph .state.selected>.halo{stroke:#033160;stroke-width:2;stroke-opacity:1}\
.sfn-graph .marker{fill:#414d5c;stroke:#414d5c}\
.sfn-graph .marker.end{fill:#fff;stroke-width:2}\
.sfn-graph .marker.end .dot{fill:#414d5c;stroke:none}\
.sfn-graph .edge path{fill:none;stroke:#5f6b7a;stroke-width:1.3}\
.sfn-graph .edge.catch path{stroke:#c45500;stroke-dasharray:5 4}\
.sfn-graph .edge text{font-size:10px;fill:#414d5c;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}\
.sfn-graph .arrow{fill:#5f6b7a}\
.sfn-graph .arrow.catch{fill:#c45500}";

/// Draws the layout; `status_of(state name)` colours each state (`None`: `not-entered`).
pub(super) fn render(layout: &Layout, status_of: &dyn Fn(&str) -> Option<StateStatus>) -> String {
    let states = layout.nodes.iter().filter(|n| matches!(n.kind, NodeKind::State { .. })).count();
    let (w, h) = (num(layout.width), num(layout.height));
    let mut out = String::with_capacity(512 + layout.nodes.len() * 400 + layout.edges.len() * 200);
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sfn-graph\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" \
         height=\"{h}\" role=\"img\" aria-label=\"State machine graph, {states} state{}\">",
        if states == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "<style>{STYLE}</style>");
    out.push_str(
        "<defs><marker id=\"sfn-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path class=\"arrow\" d=\"M0,0L10,5L0,10z\"/></marker>\
         <marker id=\"sfn-arrow-catch\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path class=\"arrow catch\" d=\"M0,0L10,5L0,10z\"/>\
         </marker></defs>\n",
    );

    // Edges by scope (index 0: the machine's), drawn before the first node of their scope.
    let mut by_scope: Vec<Vec<&Edge>> = vec![Vec::new(); layout.nodes.len() + 1];
    for e in &layout.edges {
        if let Some(list) = by_scope.get_mut(e.scope.map_or(0, |s| s + 1)) {
            list.push(e);
        }
    }
    let mut drawn = vec![false; by_scope.len()];
    for node in &layout.nodes {
        let s = node.parent.map_or(0, |p| p + 1);
        if let Some(false) = drawn.get(s).copied() {
            drawn[s] = true;
            for e in &by_scope[s] {
                edge(&mut out, layout, e);
            }
        }
        match &node.kind {
            NodeKind::Start | NodeKind::End => marker(&mut out, node),
            NodeKind::Branch => branch(&mut out, node),
            NodeKind::State { type_name, detail } => {
                let status = status_of(&node.name).map_or("not-entered", StateStatus::class);
                state(&mut out, node, type_name, detail.as_deref(), status);
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

fn marker(out: &mut String, node: &Node) {
    let r = &node.rect;
    let (cx, cy, radius) = (num(r.x + r.w / 2.0), num(r.y + r.h / 2.0), num(r.w / 2.0 - 1.0));
    if node.kind == NodeKind::Start {
        let _ = writeln!(
            out,
            "<g class=\"marker start\"><title>Start</title><circle cx=\"{cx}\" cy=\"{cy}\" r=\"{radius}\"/></g>"
        );
    } else {
        let _ = writeln!(
            out,
            "<g class=\"marker end\"><title>End</title><circle cx=\"{cx}\" cy=\"{cy}\" r=\"{radius}\"/>\
             <circle class=\"dot\" cx=\"{cx}\" cy=\"{cy}\" r=\"{}\"/></g>",
            num(r.w / 4.0)
        );
    }
}

fn branch(out: &mut String, node: &Node) {
    let r = &node.rect;
    let _ = writeln!(
        out,
        "<g class=\"branch\"><rect class=\"shape\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\"/>\
         <text x=\"{}\" y=\"{}\">{}</text></g>",
        num(r.x),
        num(r.y),
        num(r.w),
        num(r.h),
        num(r.x + 8.0),
        num(r.y + 15.0),
        xml_text(&node.name)
    );
}

fn state(out: &mut String, node: &Node, type_name: &str, detail: Option<&str>, status: &str) {
    let r = &node.rect;
    let name = xml_text(&node.name);
    let kind = type_name.to_ascii_lowercase();
    let distributed = if type_name == "Map" && detail.is_some() { " distributed" } else { "" };
    let _ = write!(
        out,
        "<g class=\"state {status} {kind}{distributed}\" data-state=\"{name}\" data-type=\"{type_name}\" \
         tabindex=\"0\"><title>{name}</title>"
    );
    let (x, y, w, h) = (num(r.x), num(r.y), num(r.w), num(r.h));
    let (hx, hy, hw, hh) = (num(r.x - 3.0), num(r.y - 3.0), num(r.w + 6.0), num(r.h + 6.0));
    let shown = xml_text(&truncate(&node.name, MAX_NAME_CHARS));
    let cx = num(r.x + r.w / 2.0);
    match type_name {
        "Map" | "Parallel" => {
            let _ = write!(
                out,
                "<rect class=\"halo\" x=\"{hx}\" y=\"{hy}\" width=\"{hw}\" height=\"{hh}\" rx=\"10\"/>\
                 <rect class=\"shape\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"8\"/>\
                 <text class=\"box-name\" x=\"{cx}\" y=\"{}\" text-anchor=\"middle\">{shown}</text>\
                 <text class=\"tag\" x=\"{cx}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                num(r.y + 18.0),
                num(r.y + HEADER_H - 8.0),
                match (type_name, detail.is_some()) {
                    ("Map", true) => "Map · Distributed",
                    ("Map", false) => "Map",
                    _ => "Parallel",
                }
            );
        }
        _ => {
            let shape = match type_name {
                "Choice" => {
                    let (l, t, rt, b, my) = (r.x, r.y, r.right(), r.bottom(), r.y + r.h / 2.0);
                    let s = CHOICE_SLANT;
                    let pts = [(l + s, t), (rt - s, t), (rt, my), (rt - s, b), (l + s, b), (l, my)];
                    let pts: Vec<String> =
                        pts.iter().map(|&(px, py)| format!("{},{}", num(px), num(py))).collect();
                    let hpts = [
                        (l + s - 2.0, t - 3.0),
                        (rt - s + 2.0, t - 3.0),
                        (rt + 4.0, my),
                        (rt - s + 2.0, b + 3.0),
                        (l + s - 2.0, b + 3.0),
                        (l - 4.0, my),
                    ];
                    let hpts: Vec<String> =
                        hpts.iter().map(|&(px, py)| format!("{},{}", num(px), num(py))).collect();
                    format!(
                        "<polygon class=\"halo\" points=\"{}\"/><polygon class=\"shape\" points=\"{}\"/>",
                        hpts.join(" "),
                        pts.join(" ")
                    )
                }
                _ => {
                    let rx = match type_name {
                        "Succeed" | "Fail" => r.h / 2.0,
                        "Task" => 4.0,
                        _ => 10.0,
                    };
                    format!(
                        "<rect class=\"halo\" x=\"{hx}\" y=\"{hy}\" width=\"{hw}\" height=\"{hh}\" rx=\"{}\"/>\
                         <rect class=\"shape\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"{}\"/>",
                        num(rx + 3.0),
                        num(rx)
                    )
                }
            };
            out.push_str(&shape);
            match detail {
                Some(d) => {
                    let _ = write!(
                        out,
                        "<text class=\"name\" x=\"{cx}\" y=\"{}\" text-anchor=\"middle\">{shown}</text>\
                         <text class=\"detail\" x=\"{cx}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                        num(r.y + 21.0),
                        num(r.y + 38.0),
                        xml_text(&truncate(d, MAX_LABEL_CHARS))
                    );
                }
                None => {
                    let _ = write!(
                        out,
                        "<text class=\"name\" x=\"{cx}\" y=\"{}\" text-anchor=\"middle\">{shown}</text>",
                        num(r.y + r.h / 2.0 + 4.5)
                    );
                }
            }
        }
    }
    out.push_str("</g>\n");
}

fn edge(out: &mut String, layout: &Layout, e: &Edge) {
    let Some(&first) = e.points.first() else {
        return;
    };
    let mut d = format!("M{},{}", num(first.0), num(first.1));
    for w in e.points.windows(2) {
        let (a, b) = (w[0], w[1]);
        if e.back || num(a.0) == num(b.0) {
            let _ = write!(d, "L{},{}", num(b.0), num(b.1));
        } else {
            // Vertical tangents at both ends: a smooth S from one layer to the next.
            let my = num((a.1 + b.1) / 2.0);
            let _ = write!(d, "C{},{my} {},{my} {},{}", num(a.0), num(b.0), num(b.0), num(b.1));
        }
    }
    let name_of = |i: usize| layout.nodes.get(i).filter(|n| matches!(n.kind, NodeKind::State { .. }));
    let mut attrs = String::new();
    if let Some(n) = name_of(e.from) {
        let _ = write!(attrs, " data-from=\"{}\"", xml_text(&n.name));
    }
    if let Some(n) = name_of(e.to) {
        let _ = write!(attrs, " data-to=\"{}\"", xml_text(&n.name));
    }
    let back = if e.back { " back" } else { "" };
    let arrow = if e.kind == super::EdgeKind::Catch { "sfn-arrow-catch" } else { "sfn-arrow" };
    let _ = write!(
        out,
        "<g class=\"edge {}{back}\"{attrs}><path d=\"{d}\" marker-end=\"url(#{arrow})\"/>",
        e.kind.class()
    );
    if let (Some(label), Some((lx, ly))) = (&e.label, e.label_at) {
        // The baseline a little below the centre (10 px text).
        let ly = ly + 3.5;
        let shown = truncate(label, MAX_LABEL_CHARS);
        let title =
            if shown == *label { String::new() } else { format!("<title>{}</title>", xml_text(label)) };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{title}{}</text>",
            num(lx),
            num(ly),
            xml_text(&shown)
        );
    }
    out.push_str("</g>\n");
}

/// `s` cut to `max` characters, the last one an ellipsis, when it is longer.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A coordinate with at most one decimal (`12`, `12.5`), the same for the same value on every platform.
fn num(v: f64) -> String {
    let tenths = (v * 10.0).round();
    let tenths = if tenths.is_finite() { tenths as i64 } else { 0 };
    if tenths % 10 == 0 {
        format!("{}", tenths / 10)
    } else {
        let sign = if tenths < 0 { "-" } else { "" };
        format!("{sign}{}.{}", tenths.abs() / 10, tenths.abs() % 10)
    }
}

/// Text escaped for XML (and HTML) content and attribute values; characters XML 1.0 cannot hold at all (most
/// control characters) become U+FFFD. The console's pages and `sfn test`'s reports escape with it too.
pub fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_one_decimal_at_most() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.25), "12.3");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(-1.5), "-1.5");
        assert_eq!(num(-0.5), "-0.5");
        assert_eq!(num(f64::NAN), "0");
    }

    #[test]
    fn long_names_end_in_an_ellipsis() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("ééééé", 4), "ééé…");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(xml_text("a<b&c\"d'e>"), "a&lt;b&amp;c&quot;d&#39;e&gt;");
        assert_eq!(xml_text("x\u{1}y"), "x\u{FFFD}y");
    }
}
