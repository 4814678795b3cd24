//! A layered (Sugiyama-style) top-to-bottom layout of one scope's graph, knowing nothing of states:
//! nodes are boxes of a given size, edges are pairs of node indices.
//!
//! 1. Cycles are broken by a depth-first search from the source (then from every node not reached, in
//!    index order): an edge to a node on the search's stack is a back-edge (self-loops included).
//! 2. Layers: the longest path from a source over the remaining DAG (Kahn's order); the sink, when
//!    given, goes below everything else.
//! 3. An edge spanning several layers gets a dummy node in each layer it crosses; long edges into the same
//!    node in the same bundle (the Catches into one Fail) share them, one trunk, so dummies grow with
//!    targets times layers, not edges times layers.
//! 4. Crossings: barycenter sweeps down and up over the layers, keeping the order with the fewest
//!    crossings (counted with a Fenwick tree, `O(E log V)` per sweep).
//! 5. X: each layer is placed closest (least squares) to the mean of its neighbours' centres under the
//!    order and a minimum gap — isotonic regression by pool-adjacent-violators, `O(n)` per layer —
//!    in alternating sweeps; a box follows boxes and a trunk follows its own dummies (else a chain of
//!    Tasks drifts sideways toward its Catch trunk layer after layer). Y: layer bands, a node centred in
//!    its band.
//! 6. Routes: a forward edge leaves its node's bottom border and enters the target's top border (ports
//!    at most `PORT_GAP` apart around the middle, in the order of where the edges go, the one to the
//!    node right below in the middle), through its dummies' bands; a
//!    back-edge leaves the bottom, runs in the gap below its layer to a lane at the right of the scope,
//!    up to the gap above its target and into the target's top. Lanes are shared by back-edges whose
//!    layer spans do not overlap (interval partitioning).
//!
//! Every step is linear or `O(E log E)` in the nodes and edges including dummies; iteration counts are
//! fixed; only `Vec`s and sorts with total orders and index tie-breaks are used, so the same graph always
//! gives the same coordinates.

use std::collections::BTreeMap;

/// Gap between two layers' bands (room for an edge label).
pub(super) const RANK_GAP: f64 = 56.0;
/// Horizontal gap between two boxes of a layer.
const NODE_GAP: f64 = 28.0;
/// Horizontal gap next to a dummy node (a long edge passing through a layer).
const DUMMY_GAP: f64 = 12.0;
/// Width a long edge takes in the layers it passes through.
const DUMMY_W: f64 = 4.0;
/// Distance between back-edge lanes, and from the widest box to the first lane.
pub(super) const LANE_GAP: f64 = 14.0;
/// Distance between two edges' ends on a border.
const PORT_GAP: f64 = 22.0;
/// Barycenter sweeps (each one down or up).
const ORDER_SWEEPS: usize = 8;
/// Coordinate sweeps.
const X_SWEEPS: usize = 8;

/// The graph of one scope.
pub(super) struct Graph {
    /// Width and height of each node.
    pub(super) sizes: Vec<(f64, f64)>,
    /// Edges (from, to), in the order routes are returned.
    pub(super) edges: Vec<(usize, usize)>,
    /// The node the search starts at (the start marker).
    pub(super) source: Option<usize>,
    /// A node placed below every other (the end marker).
    pub(super) sink: Option<usize>,
    /// Nodes whose edges meet in one point of their border (small round markers).
    pub(super) point_ports: Vec<bool>,
    /// Each edge's bundle: long edges into the same node with the same bundle share their dummies (one
    /// trunk down to the target, as Graphviz's `concentrate`), so twenty Catches into one Fail add one
    /// line per layer, not twenty.
    pub(super) bundle: Vec<u8>,
}

/// Where [`layout`] put things: top-left corners, layers and each edge's polyline.
pub(super) struct Placed {
    /// Top-left corner of each node.
    pub(super) pos: Vec<(f64, f64)>,
    /// The layer of each node (0 at the top).
    pub(super) layer: Vec<usize>,
    /// Each edge's points, from a point of its source's border to a point of its target's border.
    pub(super) routes: Vec<Vec<(f64, f64)>>,
    /// Whether each edge is a back-edge (routed around the right side).
    pub(super) back: Vec<bool>,
    /// Width and height of the whole drawing.
    pub(super) size: (f64, f64),
}

/// A chain of layout nodes: an edge and the dummies it passes through.
struct Chain {
    nodes: Vec<usize>,
}

/// Lays the graph out.
pub(super) fn layout(g: &Graph) -> Placed {
    let n = g.sizes.len();
    let back = back_edges(g);
    let layer = layers(g, &back);
    let n_layers = layer.iter().max().map_or(0, |m| m + 1);

    // Layout nodes: the real ones, then dummies; `up`/`down` link adjacent layers.
    let mut lsize: Vec<(f64, f64)> = g.sizes.clone();
    let mut llayer = layer.clone();
    let mut chains: Vec<Option<Chain>> = Vec::with_capacity(g.edges.len());
    // (target, bundle) → the trunk's dummy in each layer.
    let mut trunks: BTreeMap<(usize, u8), Vec<Option<usize>>> = BTreeMap::new();
    for (i, &(u, v)) in g.edges.iter().enumerate() {
        if back[i] || u >= n || v >= n {
            chains.push(None);
            continue;
        }
        let mut nodes = vec![u];
        if layer[v] > layer[u] + 1 {
            let bundle = g.bundle.get(i).copied().unwrap_or(0);
            let trunk = trunks.entry((v, bundle)).or_insert_with(|| vec![None; n_layers]);
            for (l, slot) in trunk.iter_mut().enumerate().take(layer[v]).skip(layer[u] + 1) {
                let d = *slot.get_or_insert_with(|| {
                    lsize.push((DUMMY_W, 0.0));
                    llayer.push(l);
                    lsize.len() - 1
                });
                nodes.push(d);
            }
        }
        nodes.push(v);
        chains.push(Some(Chain { nodes }));
    }
    let total = lsize.len();
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); total];
    for c in chains.iter().flatten() {
        for w in c.nodes.windows(2) {
            // Shared trunk segments are linked once.
            if !down[w[0]].contains(&w[1]) {
                down[w[0]].push(w[1]);
                up[w[1]].push(w[0]);
            }
        }
    }

    // Initial order: real nodes in depth-first discovery order, dummies in edge order.
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); n_layers];
    for v in discovery_order(g).into_iter().chain(n..total) {
        layers[llayer[v]].push(v);
    }
    let order = reduce_crossings(layers, &up, &down, total);

    // X coordinates (centres), then Y bands.
    let is_dummy = |v: usize| v >= n;
    let cx = x_coordinates(&order, &lsize, &up, &down, &is_dummy, total);
    let mut band_top = vec![0.0; n_layers];
    let mut band_h = vec![0.0_f64; n_layers];
    for (l, vs) in order.iter().enumerate() {
        band_h[l] = vs.iter().map(|&v| lsize[v].1).fold(0.0, f64::max);
    }
    // Room above the first band when a back-edge enters it.
    let top_pad = if g.edges.iter().zip(&back).any(|(&(_, v), &b)| b && v < n && layer[v] == 0) {
        RANK_GAP / 2.0
    } else {
        0.0
    };
    let mut y = top_pad;
    for l in 0..n_layers {
        band_top[l] = y;
        y += band_h[l] + RANK_GAP;
    }
    let last = n_layers.checked_sub(1);
    let bottom_pad = if g.edges.iter().zip(&back).any(|(&(u, _), &b)| b && u < n && Some(layer[u]) == last) {
        RANK_GAP / 2.0
    } else {
        0.0
    };
    let height = if n_layers == 0 { 0.0 } else { y - RANK_GAP + bottom_pad };

    let left = (0..total).map(|v| cx[v] - lsize[v].0 / 2.0).fold(f64::INFINITY, f64::min);
    let left = if left.is_finite() { left } else { 0.0 };
    let pos: Vec<(f64, f64)> = (0..total)
        .map(|v| {
            let l = llayer[v];
            (cx[v] - lsize[v].0 / 2.0 - left, band_top[l] + (band_h[l] - lsize[v].1) / 2.0)
        })
        .collect();
    let content_right = (0..total).map(|v| pos[v].0 + lsize[v].0).fold(0.0, f64::max);

    // Back-edge lanes: interval partitioning over their layer spans.
    let mut lane_of = vec![0usize; g.edges.len()];
    let mut spans: Vec<(usize, usize, usize)> = g
        .edges
        .iter()
        .enumerate()
        .filter(|&(i, &(u, v))| back[i] && u < n && v < n)
        .map(|(i, &(u, v))| (layer[v].min(layer[u]), layer[v].max(layer[u]), i))
        .collect();
    spans.sort_unstable();
    let mut lane_end: Vec<usize> = Vec::new();
    for &(lo, hi, i) in &spans {
        let lane = match lane_end.iter().position(|&end| end < lo) {
            Some(k) => k,
            None => {
                lane_end.push(0);
                lane_end.len() - 1
            }
        };
        lane_end[lane] = hi;
        lane_of[i] = lane;
    }
    let lanes = lane_end.len();
    let width = content_right + if lanes > 0 { LANE_GAP * (lanes as f64 + 1.0) } else { 0.0 };

    // Ports: the x of each edge's end on its source's bottom and its target's top.
    let lane_x = |i: usize| content_right + LANE_GAP * (lane_of[i] as f64 + 1.0);
    let centre = |v: usize| pos[v].0 + lsize[v].0 / 2.0;
    let mut out_port = vec![0.0; g.edges.len()];
    let mut in_port = vec![0.0; g.edges.len()];
    let mut outs: Vec<Vec<(f64, usize)>> = vec![Vec::new(); n];
    let mut ins: Vec<Vec<(f64, usize)>> = vec![Vec::new(); n];
    for (i, &(u, v)) in g.edges.iter().enumerate() {
        if u >= n || v >= n {
            continue;
        }
        let (toward, from) = match &chains[i] {
            Some(c) => (centre(c.nodes[1]), centre(c.nodes[c.nodes.len() - 2])),
            None => (lane_x(i), lane_x(i)),
        };
        outs[u].push((toward, i));
        ins[v].push((from, i));
    }
    for v in 0..n {
        let (x, w) = (pos[v].0, lsize[v].0);
        let point = g.point_ports.get(v).copied().unwrap_or(false);
        for (list, ports) in [(&mut outs[v], &mut out_port), (&mut ins[v], &mut in_port)] {
            list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            // Around the middle, at most PORT_GAP apart, never nearer the corners than the inset.
            let k = list.len() as f64;
            let inset = (w / 4.0).min(16.0);
            let gap = ((w - 2.0 * inset) / k).min(PORT_GAP);
            let mid = x + w / 2.0;
            let spread = |j: usize| if point { mid } else { mid + (j as f64 - (k - 1.0) / 2.0) * gap };
            // The edge whose other end is right above or below keeps the middle, so a chain stays straight.
            let straight = list
                .iter()
                .enumerate()
                .filter(|(_, (other, _))| (other - mid).abs() < gap / 2.0)
                .min_by(|a, b| (a.1.0 - mid).abs().total_cmp(&(b.1.0 - mid).abs()).then(a.0.cmp(&b.0)))
                .map(|(j, _)| j);
            let shift = match (straight, list.len()) {
                (Some(j), n) if n > 1 && !point => {
                    (mid - spread(j)).clamp(x + inset - spread(0), x + w - inset - spread(n - 1))
                }
                _ => 0.0,
            };
            for (j, &(_, i)) in list.iter().enumerate() {
                ports[i] = spread(j) + shift;
            }
        }
    }

    let mut routes = Vec::with_capacity(g.edges.len());
    for (i, &(u, v)) in g.edges.iter().enumerate() {
        if u >= n || v >= n {
            routes.push(Vec::new());
            continue;
        }
        let start = (out_port[i], pos[u].1 + lsize[u].1);
        let end = (in_port[i], pos[v].1);
        let mut pts = vec![start];
        match &chains[i] {
            Some(c) => {
                for &d in &c.nodes[1..c.nodes.len() - 1] {
                    let l = llayer[d];
                    pts.push((pos[d].0 + DUMMY_W / 2.0, band_top[l]));
                    pts.push((pos[d].0 + DUMMY_W / 2.0, band_top[l] + band_h[l]));
                }
            }
            None => {
                let offset = 10.0 + 6.0 * (lane_of[i] % 4) as f64;
                let below = band_top[layer[u]] + band_h[layer[u]] + offset;
                let above = band_top[layer[v]] - offset;
                let lx = lane_x(i);
                pts.extend([(start.0, below), (lx, below), (lx, above), (end.0, above)]);
            }
        }
        pts.push(end);
        routes.push(if back[i] { pts } else { simplify(pts) });
    }

    Placed { pos: pos[..n].to_vec(), layer, routes, back, size: (width, height) }
}

/// Drops the inner points of vertical runs (a trunk's straight stretch): the same line, fewer points.
fn simplify(pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let same_x = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() < 0.05;
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(pts.len());
    for p in pts {
        if out.len() >= 2 && same_x(out[out.len() - 2], out[out.len() - 1]) && same_x(out[out.len() - 1], p) {
            out.pop();
        }
        out.push(p);
    }
    out
}

/// Marks the back-edges of a depth-first search from the source, then from every unvisited node.
fn back_edges(g: &Graph) -> Vec<bool> {
    let n = g.sizes.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &(u, v)) in g.edges.iter().enumerate() {
        if u < n && v < n {
            out[u].push(i);
        }
    }
    let mut back = vec![false; g.edges.len()];
    // 0: unvisited, 1: on the stack, 2: done.
    let mut state = vec![0u8; n];
    let roots = g.source.into_iter().chain(0..n);
    for root in roots {
        if root >= n || state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(top) = stack.last_mut() {
            let (u, k) = *top;
            if let Some(&e) = out[u].get(k) {
                top.1 += 1;
                let v = g.edges[e].1;
                match state[v] {
                    0 => {
                        state[v] = 1;
                        stack.push((v, 0));
                    }
                    1 => back[e] = true,
                    _ => {}
                }
            } else {
                state[u] = 2;
                stack.pop();
            }
        }
    }
    back
}

/// Nodes in the order a depth-first search from the source (then from the rest) discovers them.
fn discovery_order(g: &Graph) -> Vec<usize> {
    let n = g.sizes.len();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(u, v) in &g.edges {
        if u < n && v < n {
            out[u].push(v);
        }
    }
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    for root in g.source.into_iter().chain(0..n) {
        if root >= n || seen[root] {
            continue;
        }
        let mut stack = vec![root];
        while let Some(u) = stack.pop() {
            if seen[u] {
                continue;
            }
            seen[u] = true;
            order.push(u);
            stack.extend(out[u].iter().rev().filter(|&&v| !seen[v]));
        }
    }
    order
}

/// The longest path from a source over the edges that are not back-edges; the sink below all.
fn layers(g: &Graph, back: &[bool]) -> Vec<usize> {
    let n = g.sizes.len();
    let mut indeg = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &(u, v)) in g.edges.iter().enumerate() {
        if !back[i] && u < n && v < n && u != v {
            out[u].push(v);
            indeg[v] += 1;
        }
    }
    let mut layer = vec![0usize; n];
    let mut queue: std::collections::VecDeque<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    while let Some(u) = queue.pop_front() {
        for &v in &out[u] {
            layer[v] = layer[v].max(layer[u] + 1);
            indeg[v] -= 1;
            if indeg[v] == 0 {
                queue.push_back(v);
            }
        }
    }
    if let Some(s) = g.sink.filter(|&s| s < n) {
        let below = (0..n).filter(|&v| v != s).map(|v| layer[v] + 1).max().unwrap_or(0);
        layer[s] = layer[s].max(below);
    }
    layer
}

/// Barycenter sweeps; the order with the fewest crossings wins.
fn reduce_crossings(
    mut layers: Vec<Vec<usize>>,
    up: &[Vec<usize>],
    down: &[Vec<usize>],
    total: usize,
) -> Vec<Vec<usize>> {
    let mut pos = vec![0usize; total];
    let index = |layers: &[Vec<usize>], pos: &mut [usize]| {
        for vs in layers {
            for (i, &v) in vs.iter().enumerate() {
                pos[v] = i;
            }
        }
    };
    index(&layers, &mut pos);
    let mut best = layers.clone();
    let mut best_crossings = crossings(&layers, down, &pos);
    for sweep in 0..ORDER_SWEEPS {
        let downward = sweep % 2 == 0;
        let range: Vec<usize> = if downward {
            (1..layers.len()).collect()
        } else {
            (0..layers.len().saturating_sub(1)).rev().collect()
        };
        for l in range {
            let adj = if downward { up } else { down };
            let mut keyed: Vec<(f64, usize, usize)> = layers[l]
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let ns = &adj[v];
                    let key = if ns.is_empty() {
                        i as f64
                    } else {
                        ns.iter().map(|&u| pos[u] as f64).sum::<f64>() / ns.len() as f64
                    };
                    (key, i, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            layers[l] = keyed.into_iter().map(|(_, _, v)| v).collect();
            for (i, &v) in layers[l].iter().enumerate() {
                pos[v] = i;
            }
        }
        let c = crossings(&layers, down, &pos);
        if c < best_crossings {
            best_crossings = c;
            best = layers.clone();
        }
    }
    best
}

/// Edge crossings between adjacent layers: inversions of the lower ends, counted with a Fenwick tree.
fn crossings(layers: &[Vec<usize>], down: &[Vec<usize>], pos: &[usize]) -> u64 {
    let mut total = 0u64;
    for l in 0..layers.len().saturating_sub(1) {
        let width = layers[l + 1].len();
        let mut tree = vec![0u64; width + 1];
        let mut seen = 0u64;
        // Upper ends in order; for equal upper ends, lower ends ascending (they do not cross).
        for &u in &layers[l] {
            let mut lows: Vec<usize> = down[u].iter().map(|&v| pos[v]).collect();
            lows.sort_unstable();
            for &p in &lows {
                // Earlier segments whose lower end is right of p cross this one.
                let mut not_greater = 0u64;
                let mut i = p + 1;
                while i > 0 {
                    not_greater += tree[i];
                    i &= i - 1;
                }
                total += seen - not_greater;
                let mut i = p + 1;
                while i <= width {
                    tree[i] += 1;
                    i += i & i.wrapping_neg();
                }
                seen += 1;
            }
        }
    }
    total
}

/// Centres of every layout node: packed, then sweeps toward the neighbours' mean.
fn x_coordinates(
    order: &[Vec<usize>],
    size: &[(f64, f64)],
    up: &[Vec<usize>],
    down: &[Vec<usize>],
    is_dummy: &dyn Fn(usize) -> bool,
    total: usize,
) -> Vec<f64> {
    let mut cx = vec![0.0; total];
    let sep = |a: usize, b: usize| {
        let gap = if is_dummy(a) || is_dummy(b) { DUMMY_GAP } else { NODE_GAP };
        (size[a].0 + size[b].0) / 2.0 + gap
    };
    for vs in order {
        let mut x = 0.0;
        for (i, &v) in vs.iter().enumerate() {
            if i > 0 {
                x += sep(vs[i - 1], v);
            }
            cx[v] = x;
        }
        // Centred on 0, so layers start aligned on their middles.
        let mid = x / 2.0;
        for &v in vs {
            cx[v] -= mid;
        }
    }
    for sweep in 0..X_SWEEPS {
        let both = sweep >= X_SWEEPS - 2;
        let downward = sweep % 2 == 0;
        let range: Vec<usize> =
            if downward { (0..order.len()).collect() } else { (0..order.len()).rev().collect() };
        for l in range {
            let vs = &order[l];
            if vs.is_empty() {
                continue;
            }
            let mut desired = Vec::with_capacity(vs.len());
            let mut weight = Vec::with_capacity(vs.len());
            for &v in vs {
                let mut ns: Vec<usize> = Vec::new();
                if both || downward {
                    ns.extend(&up[v]);
                }
                if both || !downward {
                    ns.extend(&down[v]);
                }
                // A trunk follows itself, not the many edges joining it, and a box follows boxes, not the
                // long edges leaving it: both stay straight instead of drifting sideways layer by layer.
                if ns.iter().any(|&u| is_dummy(u) == is_dummy(v)) {
                    ns.retain(|&u| is_dummy(u) == is_dummy(v));
                }
                if ns.is_empty() {
                    desired.push(cx[v]);
                    weight.push(0.5);
                } else {
                    desired.push(ns.iter().map(|&u| cx[u]).sum::<f64>() / ns.len() as f64);
                    // Long edges pull harder, so they stay straight.
                    weight.push(if is_dummy(v) { 2.0 } else { 1.0 });
                }
            }
            let seps: Vec<f64> =
                (0..vs.len()).map(|i| if i == 0 { 0.0 } else { sep(vs[i - 1], vs[i]) }).collect();
            let placed = place_in_order(&desired, &weight, &seps);
            for (i, &v) in vs.iter().enumerate() {
                cx[v] = placed[i];
            }
        }
    }
    cx
}

/// Positions `x` minimizing `Σ w·(x − desired)²` with `x[i] ≥ x[i−1] + sep[i]`: isotonic regression of
/// `desired − offset` (pool adjacent violators), then the offsets added back.
fn place_in_order(desired: &[f64], weight: &[f64], sep: &[f64]) -> Vec<f64> {
    let mut offset = Vec::with_capacity(desired.len());
    let mut acc = 0.0;
    for s in sep {
        acc += s;
        offset.push(acc);
    }
    // Blocks of pooled values: (weighted sum, weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
    for i in 0..desired.len() {
        let w = weight[i].max(1e-9);
        blocks.push(((desired[i] - offset[i]) * w, w, 1));
        while blocks.len() > 1 {
            let (s1, w1, c1) = blocks[blocks.len() - 1];
            let (s0, w0, c0) = blocks[blocks.len() - 2];
            if s0 / w0 > s1 / w1 {
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (s0 + s1, w0 + w1, c0 + c1);
            } else {
                break;
            }
        }
    }
    let mut out = Vec::with_capacity(desired.len());
    for (s, w, c) in blocks {
        for _ in 0..c {
            out.push(s / w + offset[out.len()]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_keeps_order_and_gaps_and_meets_free_targets() {
        // Two nodes that both want 0: pushed apart symmetrically by their gap.
        let x = place_in_order(&[0.0, 0.0], &[1.0, 1.0], &[0.0, 10.0]);
        assert_eq!(x, vec![-5.0, 5.0]);
        // Far apart already: each gets what it wants.
        let x = place_in_order(&[0.0, 100.0], &[1.0, 1.0], &[0.0, 10.0]);
        assert_eq!(x, vec![0.0, 100.0]);
    }

    #[test]
    fn crossings_are_counted() {
        // Layer 0: a b; layer 1: c d; a→d, b→c cross once.
        let layers = vec![vec![0, 1], vec![2, 3]];
        let down = vec![vec![3], vec![2], vec![], vec![]];
        let pos = vec![0, 1, 0, 1];
        assert_eq!(crossings(&layers, &down, &pos), 1);
        let down = vec![vec![2], vec![3], vec![], vec![]];
        assert_eq!(crossings(&layers, &down, &pos), 0);
    }

    #[test]
    fn long_edges_into_one_node_share_a_trunk_unless_their_bundles_differ() {
        // A chain 0 → 1 → … → 6; 1 and 2 both jump to 6 (bundle 1, like two Catches), 1 to 5 in bundle 0.
        let mut edges: Vec<(usize, usize)> = (0..6).map(|i| (i, i + 1)).collect();
        edges.extend([(1, 6), (2, 6), (1, 5)]);
        let g = Graph {
            sizes: vec![(40.0, 20.0); 7],
            bundle: vec![0, 0, 0, 0, 0, 0, 1, 1, 0],
            edges,
            source: Some(0),
            sink: None,
            point_ports: vec![false; 7],
        };
        let p = layout(&g);
        assert_eq!(p.layer, vec![0, 1, 2, 3, 4, 5, 6]);
        // Where each long edge crosses layer 4's band.
        let at_layer_4 = |e: usize| {
            let band = p.pos[4].1;
            p.routes[e].iter().find(|pt| (pt.1 - band).abs() < 1e-9).map(|pt| pt.0)
        };
        let (a, b, c) = (at_layer_4(6), at_layer_4(7), at_layer_4(8));
        assert!(a.is_some() && a == b, "one trunk: {a:?} {b:?}");
        assert!(c.is_some() && c != a, "another bundle, another line: {c:?} {a:?}");
        // The trunk does not run through the chain's boxes.
        let box4 = (p.pos[4].0, p.pos[4].0 + 40.0);
        assert!(a.is_some_and(|x| x < box4.0 || x > box4.1));
    }

    #[test]
    fn a_cycle_has_one_back_edge_and_layers_follow_the_rest() {
        // 0 → 1 → 2 → 1, 2 → 3 (sink).
        let g = Graph {
            sizes: vec![(10.0, 10.0); 4],
            edges: vec![(0, 1), (1, 2), (2, 1), (2, 3)],
            source: Some(0),
            sink: Some(3),
            point_ports: vec![false; 4],
            bundle: vec![0; 4],
        };
        let p = layout(&g);
        assert_eq!(p.back, vec![false, false, true, false]);
        assert_eq!(p.layer, vec![0, 1, 2, 3]);
    }
}
