//! The state graph as boxes and lines: each scope (the machine, a Map's processor, a Parallel's branch)
//! is one layered layout (`layered`) of a start marker, its states and an end marker; a Map or Parallel
//! is a box sized by the layouts inside it (a Map's processor in it, each Parallel branch a column box),
//! laid out inside out, then placed outside in.
//!
//! Sizes come from text length, about 7 px a character (no font metrics here); names longer than
//! [`MAX_NAME_CHARS`] are cut with an ellipsis.

use sfn_asl::{Dynamic, ProcessorMode, State, StateKind, StateMachine, States, Text, Wait};

use super::layered::{self, Graph};
use super::{condition_label, task_label};

/// A name longer than this many characters is cut with an ellipsis (the `<title>` keeps it whole).
pub const MAX_NAME_CHARS: usize = 48;
/// An edge label or a Task's integration longer than this is cut too.
pub(super) const MAX_LABEL_CHARS: usize = 28;
/// Estimated width of a character of a 13 px name.
const CHAR_W: f64 = 7.0;
/// Estimated width of a character of a Map's or Parallel's bold name.
const BOLD_CHAR_W: f64 = 7.8;
/// Estimated width of a character of the smaller second line.
const SMALL_CHAR_W: f64 = 6.2;
const MIN_W: f64 = 110.0;
const TEXT_PAD: f64 = 14.0;
const ONE_LINE_H: f64 = 36.0;
const TWO_LINE_H: f64 = 50.0;
/// A Choice's slanted sides.
pub(super) const CHOICE_SLANT: f64 = 12.0;
const MARKER: f64 = 18.0;
const INNER_MARKER: f64 = 12.0;
/// A Map or Parallel box: the header band and the padding around what is inside.
pub(super) const HEADER_H: f64 = 40.0;
const BOX_PAD: f64 = 14.0;
/// A Parallel branch's column box: its header and padding, the gap between columns.
pub(super) const BRANCH_HEADER_H: f64 = 22.0;
const BRANCH_PAD: f64 = 10.0;
const BRANCH_GAP: f64 = 14.0;
/// Margin around the whole drawing.
const MARGIN: f64 = 16.0;

/// A rectangle in SVG user units (px), origin at the top left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// Right edge.
    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    /// Bottom edge.
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }

    /// True when `other` lies within this rectangle (borders included).
    pub fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }

    /// True when the two rectangles share more than a border.
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.right() && other.x < self.right() && self.y < other.bottom() && other.y < self.bottom()
    }
}

/// What a box of the layout is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// A scope's start marker (the machine's, a branch's, a Map processor's).
    Start,
    /// A scope's end marker.
    End,
    /// A state; Map and Parallel states are boxes holding their scopes.
    State {
        /// The `Type` (`Task`, `Map`, …).
        type_name: &'static str,
        /// A second line: a Task's integration (`ecs:runTask.sync`), what a Wait waits for (`5 s`), a Fail's
        /// error, `Distributed` for a distributed Map.
        detail: Option<String>,
    },
    /// One branch of a Parallel (`Branch 1`, …): a column box inside the Parallel's box.
    Branch,
}

/// A box of the layout.
#[derive(Debug, Clone)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// The state's name (`Branch N` for a branch box, empty for markers).
    pub name: String,
    /// Where it is.
    pub rect: Rect,
    /// The box it is drawn in: its Map or Parallel, or its branch box (`None`: the machine's scope).
    pub parent: Option<usize>,
    /// Its layer in its scope, 0 at the top (the start marker's); a branch box's is its Parallel's.
    pub layer: usize,
}

/// Why an edge is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// From a start marker to `StartAt`.
    Start,
    /// `Next`.
    Next,
    /// `End: true`, a Succeed or a Fail, into the end marker.
    End,
    /// A Choice rule.
    Choice,
    /// A Choice's `Default`.
    Default,
    /// A `Catch` (drawn dashed).
    Catch,
}

impl EdgeKind {
    /// Its CSS class.
    pub fn class(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Next => "next",
            Self::End => "end",
            Self::Choice => "choice",
            Self::Default => "default",
            Self::Catch => "catch",
        }
    }
}

/// An edge of the layout: a polyline from a point on its source's border to a point on its target's.
#[derive(Debug, Clone)]
pub struct Edge {
    /// Index of the source node.
    pub from: usize,
    /// Index of the target node.
    pub to: usize,
    /// Why it is there.
    pub kind: EdgeKind,
    /// A Choice rule, `Default` or a Catch's error names.
    pub label: Option<String>,
    /// Its points; the first on `from`'s border, the last on `to`'s.
    pub points: Vec<(f64, f64)>,
    /// A back-edge of a loop, routed around the right side of its scope.
    pub back: bool,
    /// Where the label's centre is (on the edge, clear of the scope's other labels when there is room).
    pub label_at: Option<(f64, f64)>,
    /// The box whose scope it belongs to (as [`Node::parent`]).
    pub scope: Option<usize>,
}

/// A laid-out state graph: what [`super::svg`] draws.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Width of the drawing.
    pub width: f64,
    /// Height of the drawing.
    pub height: f64,
    /// Boxes: each scope's nodes in order, a Map's or Parallel's contents right after it.
    pub nodes: Vec<Node>,
    /// Edges, scope by scope.
    pub edges: Vec<Edge>,
}

/// A scope laid out in its own coordinates.
struct Scope {
    size: (f64, f64),
    items: Vec<Item>,
    edges: Vec<ScopeEdge>,
}

struct ScopeEdge {
    from: usize,
    to: usize,
    kind: EdgeKind,
    label: Option<String>,
    points: Vec<(f64, f64)>,
    back: bool,
    label_at: Option<(f64, f64)>,
}

/// A node of a scope, at its place in the scope.
struct Item {
    kind: NodeKind,
    name: String,
    pos: (f64, f64),
    size: (f64, f64),
    layer: usize,
    inner: Inner,
}

/// What a box holds, placed relative to its top left.
enum Inner {
    None,
    Map(Box<Scope>, (f64, f64)),
    /// Each branch: its column box (relative to the Parallel) and its scope (relative to the column).
    Parallel(Vec<((f64, f64, f64, f64), Scope)>),
}

/// The number of characters of `s` as drawn (cut at `max`).
fn drawn_chars(s: &str, max: usize) -> usize {
    s.chars().count().min(max)
}

/// Lays the machine out.
pub fn layout(machine: &StateMachine) -> Layout {
    let root = scope(&machine.states, &machine.start_at, false);
    let mut out = Layout {
        width: root.size.0 + 2.0 * MARGIN,
        height: root.size.1 + 2.0 * MARGIN,
        nodes: Vec::new(),
        edges: Vec::new(),
    };
    place(&root, (MARGIN, MARGIN), None, &mut out);
    out
}

/// Lays a scope out: its nested boxes first (their sizes), then its own layers.
fn scope(states: &States, start_at: &str, inner: bool) -> Scope {
    let marker = if inner { INNER_MARKER } else { MARKER };
    let mut items = vec![Item {
        kind: NodeKind::Start,
        name: String::new(),
        pos: (0.0, 0.0),
        size: (marker, marker),
        layer: 0,
        inner: Inner::None,
    }];
    for s in states {
        items.push(state_item(s));
    }
    let end = items.len();
    items.push(Item {
        kind: NodeKind::End,
        name: String::new(),
        pos: (0.0, 0.0),
        size: (marker, marker),
        layer: 0,
        inner: Inner::None,
    });

    let index = |name: &str| states.position(name).map(|i| i + 1);
    let mut edges: Vec<(usize, usize, EdgeKind, Option<String>)> = Vec::new();
    if let Some(first) = index(start_at) {
        edges.push((0, first, EdgeKind::Start, None));
    }
    for (i, s) in states.iter().enumerate() {
        let me = i + 1;
        if let Some(to) = s.next.as_deref().and_then(index) {
            edges.push((me, to, EdgeKind::Next, None));
        }
        if let StateKind::Choice(c) = &s.kind {
            for r in &c.choices {
                if let Some(to) = index(&r.next) {
                    edges.push((me, to, EdgeKind::Choice, Some(condition_label(&r.condition))));
                }
            }
            if let Some(to) = c.default.as_deref().and_then(index) {
                edges.push((me, to, EdgeKind::Default, Some("Default".to_owned())));
            }
        }
        for c in s.recovery().map_or(&[][..], |r| &r.catch) {
            if let Some(to) = index(&c.next) {
                edges.push((me, to, EdgeKind::Catch, Some(c.error_equals.join(", "))));
            }
        }
        if s.end || matches!(s.kind, StateKind::Succeed | StateKind::Fail(_)) {
            edges.push((me, end, EdgeKind::End, None));
        }
    }

    let graph = Graph {
        sizes: items.iter().map(|it| it.size).collect(),
        edges: edges.iter().map(|e| (e.0, e.1)).collect(),
        source: Some(0),
        sink: Some(end),
        point_ports: items.iter().map(|it| matches!(it.kind, NodeKind::Start | NodeKind::End)).collect(),
        bundle: edges.iter().map(|e| u8::from(e.2 == EdgeKind::Catch)).collect(),
    };
    let placed = layered::layout(&graph);
    for ((it, &p), &l) in items.iter_mut().zip(&placed.pos).zip(&placed.layer) {
        it.pos = p;
        it.layer = l;
    }
    let mut edges: Vec<ScopeEdge> = edges
        .into_iter()
        .zip(placed.routes)
        .zip(placed.back)
        .map(|(((from, to, kind, label), points), back)| ScopeEdge {
            from,
            to,
            kind,
            label,
            points,
            back,
            label_at: None,
        })
        .collect();
    place_labels(&mut edges, placed.size.0);
    Scope { size: placed.size, items, edges }
}

/// Estimated width of a character of a 10 px edge label.
const LABEL_CHAR_W: f64 = 5.6;
const LABEL_H: f64 = 12.0;

/// Puts each label on its edge's first segment (a back-edge's first horizontal run), at the first of a few
/// points along it where it overlaps no label placed before (else halfway), inside the scope's width.
fn place_labels(edges: &mut [ScopeEdge], width: f64) {
    const ALONG: [f64; 5] = [0.5, 0.3, 0.7, 0.15, 0.85];
    let mut taken: Vec<Rect> = Vec::new();
    for e in edges.iter_mut() {
        let Some(label) = &e.label else { continue };
        let w = drawn_chars(label, MAX_LABEL_CHARS) as f64 * LABEL_CHAR_W;
        let at = |t: f64| -> Option<(f64, f64)> {
            if e.back {
                let (a, b) = (*e.points.get(1)?, *e.points.get(2)?);
                Some((a.0 + (b.0 - a.0) * t, a.1 - LABEL_H / 2.0))
            } else {
                let (a, b) = (*e.points.first()?, *e.points.get(1)?);
                // The cubic drawn between them: vertical tangents, control points at half height.
                let my = (a.1 + b.1) / 2.0;
                let u = 1.0 - t;
                let x = u * u * u * a.0 + 3.0 * u * u * t * a.0 + 3.0 * u * t * t * b.0 + t * t * t * b.0;
                let y = u * u * u * a.1 + 3.0 * u * u * t * my + 3.0 * u * t * t * my + t * t * t * b.1;
                Some((x, y))
            }
        };
        // Kept within the scope's width (its box, or the drawing) when it fits.
        let at =
            |t: f64| at(t).map(|(x, y)| (if w < width { x.clamp(w / 2.0, width - w / 2.0) } else { x }, y));
        let rect_at = |(x, y): (f64, f64)| Rect { x: x - w / 2.0, y: y - LABEL_H / 2.0, w, h: LABEL_H };
        let Some(middle) = at(0.5) else { continue };
        let spot = ALONG
            .iter()
            .filter_map(|&t| at(t))
            .find(|&p| !taken.iter().any(|r| r.overlaps(&rect_at(p))))
            .unwrap_or(middle);
        taken.push(rect_at(spot));
        e.label_at = Some(spot);
    }
}

/// What a Wait waits for (`5 s`, `until $.when`) and the error a Fail ends with, shown under the name.
fn second_line(kind: &StateKind) -> Option<String> {
    match kind {
        StateKind::Wait(Wait::Seconds(d)) => Some(match d {
            Dynamic::Value(n) => format!("{n} s"),
            Dynamic::Path(p) => format!("{} s", p.source()),
            Dynamic::Jsonata(_) => "seconds from JSONata".to_owned(),
        }),
        StateKind::Wait(Wait::Timestamp(d)) => Some(match d {
            Dynamic::Value(t) => format!("until {t}"),
            Dynamic::Path(p) => format!("until {}", p.source()),
            Dynamic::Jsonata(_) => "until a JSONata time".to_owned(),
        }),
        StateKind::Fail(f) => match &f.error {
            Some(Text::Value(e)) => Some(e.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// A state's box: its size from its text, or from what it holds.
fn state_item(s: &State) -> Item {
    let type_name = s.type_name();
    let name_w = drawn_chars(&s.name, MAX_NAME_CHARS) as f64 * CHAR_W;
    let bold_w = drawn_chars(&s.name, MAX_NAME_CHARS) as f64 * BOLD_CHAR_W;
    let (detail, inner, size) = match &s.kind {
        StateKind::Map(m) => {
            let inner = scope(&m.processor.states, &m.processor.start_at, true);
            let distributed = m.mode == ProcessorMode::Distributed;
            let tag = if distributed { "Map · Distributed" } else { "Map" };
            let header_w = bold_w.max(tag.chars().count() as f64 * SMALL_CHAR_W) + 2.0 * TEXT_PAD;
            let w = (inner.size.0 + 2.0 * BOX_PAD).max(header_w).max(MIN_W);
            let h = HEADER_H + inner.size.1 + BOX_PAD;
            let at = ((w - inner.size.0) / 2.0, HEADER_H);
            (distributed.then(|| "Distributed".to_owned()), Inner::Map(Box::new(inner), at), (w, h))
        }
        StateKind::Parallel(p) => {
            let scopes: Vec<Scope> = p.branches.iter().map(|b| scope(&b.states, &b.start_at, true)).collect();
            let label_w = (format!("Branch {}", scopes.len()).len() as f64) * SMALL_CHAR_W + 2.0 * BRANCH_PAD;
            let col_w = |sc: &Scope| (sc.size.0 + 2.0 * BRANCH_PAD).max(label_w);
            let col_h = scopes.iter().map(|sc| BRANCH_HEADER_H + sc.size.1 + BRANCH_PAD).fold(0.0, f64::max);
            let cols_w: f64 =
                scopes.iter().map(col_w).sum::<f64>() + BRANCH_GAP * scopes.len().saturating_sub(1) as f64;
            let header_w = bold_w.max("Parallel".len() as f64 * SMALL_CHAR_W) + 2.0 * TEXT_PAD;
            let w = (cols_w + 2.0 * BOX_PAD).max(header_w).max(MIN_W);
            let h = HEADER_H + col_h + BOX_PAD;
            let mut x = (w - cols_w) / 2.0;
            let mut columns = Vec::with_capacity(scopes.len());
            for sc in scopes {
                let cw = col_w(&sc);
                columns.push(((x, HEADER_H, cw, col_h), sc));
                x += cw + BRANCH_GAP;
            }
            (None, Inner::Parallel(columns), (w, h))
        }
        StateKind::Task(t) => {
            let label = task_label(&t.resource);
            let detail_w = drawn_chars(&label, MAX_LABEL_CHARS) as f64 * SMALL_CHAR_W;
            let w = (name_w.max(detail_w) + 2.0 * TEXT_PAD).max(MIN_W);
            (Some(label), Inner::None, (w, TWO_LINE_H))
        }
        StateKind::Choice(_) => {
            let w = (name_w + 2.0 * TEXT_PAD + 2.0 * CHOICE_SLANT).max(MIN_W);
            (None, Inner::None, (w, ONE_LINE_H))
        }
        _ => match second_line(&s.kind) {
            Some(d) => {
                let detail_w = drawn_chars(&d, MAX_LABEL_CHARS) as f64 * SMALL_CHAR_W;
                (Some(d), Inner::None, ((name_w.max(detail_w) + 2.0 * TEXT_PAD).max(MIN_W), TWO_LINE_H))
            }
            None => (None, Inner::None, ((name_w + 2.0 * TEXT_PAD).max(MIN_W), ONE_LINE_H)),
        },
    };
    Item {
        kind: NodeKind::State { type_name, detail },
        name: s.name.clone(),
        pos: (0.0, 0.0),
        size,
        layer: 0,
        inner,
    }
}

/// Places a scope at `origin`: its nodes and edges into `out`, nested scopes right after their box.
fn place(sc: &Scope, origin: (f64, f64), parent: Option<usize>, out: &mut Layout) {
    let mut ids = Vec::with_capacity(sc.items.len());
    for it in &sc.items {
        let at = (origin.0 + it.pos.0, origin.1 + it.pos.1);
        let id = out.nodes.len();
        out.nodes.push(Node {
            kind: it.kind.clone(),
            name: it.name.clone(),
            rect: Rect { x: at.0, y: at.1, w: it.size.0, h: it.size.1 },
            parent,
            layer: it.layer,
        });
        ids.push(id);
        match &it.inner {
            Inner::None => {}
            Inner::Map(inner, rel) => place(inner, (at.0 + rel.0, at.1 + rel.1), Some(id), out),
            Inner::Parallel(cols) => {
                for (i, ((cx, cy, cw, ch), inner)) in cols.iter().enumerate() {
                    let col = out.nodes.len();
                    out.nodes.push(Node {
                        kind: NodeKind::Branch,
                        name: format!("Branch {}", i + 1),
                        rect: Rect { x: at.0 + cx, y: at.1 + cy, w: *cw, h: *ch },
                        parent: Some(id),
                        layer: it.layer,
                    });
                    let inner_at = (at.0 + cx + (cw - inner.size.0) / 2.0, at.1 + cy + BRANCH_HEADER_H);
                    place(inner, inner_at, Some(col), out);
                }
            }
        }
    }
    for e in &sc.edges {
        out.edges.push(Edge {
            from: ids[e.from],
            to: ids[e.to],
            kind: e.kind,
            label: e.label.clone(),
            points: e.points.iter().map(|&(x, y)| (origin.0 + x, origin.1 + y)).collect(),
            back: e.back,
            label_at: e.label_at.map(|(x, y)| (origin.0 + x, origin.1 + y)),
            scope: parent,
        });
    }
}
