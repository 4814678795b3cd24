//! The order in which a `java.util.HashMap` iterates its keys.
//!
//! AWS's Step Functions runs on the JVM, and two of its JSONPath results list their members in the order
//! of a `HashMap` of their names, not in the definition's order:
//! - a payload template's `.$` fields (Parameters, ItemSelector, ResultSelector, Assign): the fields without
//!   a path first, in the template's order, then the `.$` fields in hash order. AWS records
//!   `{"Iterations": 3, "Values.$": …}` as `{"Iterations":…,"Values":…}`, `{"Iterations.$": …, "Values.$": …}`
//!   as `{"Values":…,"Iterations":…}`, and the thirteen `.$` fields of
//!   `base/test_base__test_query_context_object_values` in the order of a 32-bucket table;
//! - `States.JsonMerge`'s result (`intrinsic_functions/test_json_manipulation__test_json_merge_escaped_argument`).
//!
//! Data the state machine reads keeps its order (a `LinkedHashMap` in Jackson): only the objects AWS
//! builds itself are in hash order.
//!
//! The model is OpenJDK's `HashMap` filled by `put` from the default constructor: 16 buckets, doubled when
//! the map holds more than ¾ of its buckets or when one bucket would hold a ninth key while the table has
//! fewer than 64; a bucket is `(h ^ (h >>> 16)) & (buckets - 1)` of `String.hashCode` (over UTF-16 code
//! units); keys in one bucket iterate in the order they were put, until a bucket of a table of 64 or more holds a
//! ninth: Java then makes it a red-black tree whose links (root first, each new key after its tree
//! parent) give the order, modelled here as OpenJDK 17 writes it.

/// `String.hashCode`, spread as `HashMap.hash` spreads it.
fn spread_hash(key: &str) -> u32 {
    let h = key.encode_utf16().fold(0u32, |h, unit| h.wrapping_mul(31).wrapping_add(u32::from(unit)));
    h ^ (h >> 16)
}

/// The positions of `keys` (distinct, in the order they are put) in the order a `HashMap` that was given
/// them one by one iterates them.
///
/// ```text
/// hash_map_order(["Iterations", "Values"]) == [1, 0]
/// ```
pub(crate) fn hash_map_order<'k>(keys: impl IntoIterator<Item = &'k str>) -> Vec<usize> {
    let mut map = JavaHashMap { table: vec![Bin::List(Vec::new()); 16], nodes: Vec::new(), keys: Vec::new() };
    for key in keys {
        map.put(key);
    }
    let mut order = Vec::with_capacity(map.keys.len());
    for bin in &map.table {
        map.push_order(bin, &mut order);
    }
    order
}

/// `HashMap.TREEIFY_THRESHOLD`, `UNTREEIFY_THRESHOLD` and `MIN_TREEIFY_CAPACITY`.
const TREEIFY_THRESHOLD: usize = 8;
const UNTREEIFY_THRESHOLD: usize = 6;
const MIN_TREEIFY_CAPACITY: usize = 64;

/// A bucket. A list (at most a few keys: a ninth grows the table or makes a tree) holds its keys (node
/// ids, which are the keys' positions) in iteration order; a tree holds its first node, its root
/// (`TreeNode.moveRootToFront`), the others following by the nodes' `next` links, so that a key is
/// linked in after its tree parent in constant time whatever the bucket's size.
#[derive(Clone)]
enum Bin {
    List(Vec<usize>),
    Tree(usize),
}

/// A key's `TreeNode` links (unused while its bucket is a list).
#[derive(Clone, Copy)]
struct Node {
    hash: u32,
    red: bool,
    parent: Option<usize>,
    left: Option<usize>,
    right: Option<usize>,
    prev: Option<usize>,
    next: Option<usize>,
}

/// OpenJDK 17's `HashMap<String, _>` as far as `put` of new keys shapes its iteration order: `putVal`,
/// `resize`, `treeifyBin`, and `TreeNode`'s `treeify`, `putTreeVal`, `split` and red-black balancing.
struct JavaHashMap<'k> {
    table: Vec<Bin>,
    nodes: Vec<Node>,
    keys: Vec<&'k str>,
}

impl<'k> JavaHashMap<'k> {
    fn put(&mut self, key: &'k str) {
        let id = self.nodes.len();
        let hash = spread_hash(key);
        self.nodes.push(Node {
            hash,
            red: false,
            parent: None,
            left: None,
            right: None,
            prev: None,
            next: None,
        });
        self.keys.push(key);
        let i = self.index(hash);
        let treeify = match &mut self.table[i] {
            Bin::List(order) => {
                order.push(id);
                order.len() > TREEIFY_THRESHOLD
            }
            Bin::Tree(_) => {
                self.put_tree_val(i, id);
                false
            }
        };
        if treeify {
            self.treeify_bin(i);
        }
        if self.keys.len() > self.table.len() / 4 * 3 {
            self.resize();
        }
    }

    /// Appends the keys of `bin` in iteration order.
    fn push_order(&self, bin: &Bin, order: &mut Vec<usize>) {
        match bin {
            Bin::List(keys) => order.extend_from_slice(keys),
            Bin::Tree(first) => {
                let mut n = Some(*first);
                while let Some(k) = n {
                    order.push(k);
                    n = self.nodes[k].next;
                }
            }
        }
    }

    /// Links `order` by `next` and `prev`; its first node.
    fn link(&mut self, order: &[usize]) -> Option<usize> {
        for (k, &n) in order.iter().enumerate() {
            self.nodes[n].prev = k.checked_sub(1).map(|p| order[p]);
            self.nodes[n].next = order.get(k + 1).copied();
        }
        order.first().copied()
    }

    /// `TreeNode.moveRootToFront`: `root` unlinked from its place and put before `first`; the new first.
    fn move_root_to_front(&mut self, first: usize, root: usize) -> usize {
        if root != first {
            let (rp, rn) = (self.nodes[root].prev, self.nodes[root].next);
            if let Some(rn) = rn {
                self.nodes[rn].prev = rp;
            }
            if let Some(rp) = rp {
                self.nodes[rp].next = rn;
            }
            self.nodes[first].prev = Some(root);
            self.nodes[root].next = Some(first);
            self.nodes[root].prev = None;
        }
        root
    }

    fn index(&self, hash: u32) -> usize {
        hash as usize & (self.table.len() - 1)
    }

    /// Where `x` goes below `p`: `Less` to the left. By hash as a signed `int`, then by
    /// `String.compareTo` (UTF-16 code units); distinct keys never tie.
    fn dir(&self, x: usize, p: usize) -> std::cmp::Ordering {
        let (h, ph) = (self.nodes[x].hash as i32, self.nodes[p].hash as i32);
        h.cmp(&ph).then_with(|| self.keys[x].encode_utf16().cmp(self.keys[p].encode_utf16()))
    }

    /// `treeifyBin`: a small table grows instead.
    fn treeify_bin(&mut self, i: usize) {
        if self.table.len() < MIN_TREEIFY_CAPACITY {
            self.resize();
        } else if let Bin::List(order) = std::mem::replace(&mut self.table[i], Bin::List(Vec::new())) {
            self.table[i] = self.treeify(&order);
        }
    }

    /// `TreeNode.treeify`: a tree built by inserting the keys in list order, its root moved to the front.
    fn treeify(&mut self, order: &[usize]) -> Bin {
        let Some(first) = self.link(order) else { return Bin::List(Vec::new()) };
        let mut root: Option<usize> = None;
        for &x in order {
            self.nodes[x].left = None;
            self.nodes[x].right = None;
            match root {
                None => {
                    self.nodes[x].parent = None;
                    self.nodes[x].red = false;
                    root = Some(x);
                }
                Some(r) => {
                    let xp = self.attach(r, x);
                    self.nodes[x].parent = Some(xp);
                    root = Some(self.balance_insertion(r, x));
                }
            }
        }
        Bin::Tree(self.move_root_to_front(first, root.unwrap_or(first)))
    }

    /// Descends from `root` to the free child slot `x` belongs in, links `x` there and returns its parent.
    fn attach(&mut self, root: usize, x: usize) -> usize {
        let mut p = root;
        loop {
            let left = self.dir(x, p).is_le();
            let child = if left { self.nodes[p].left } else { self.nodes[p].right };
            match child {
                Some(c) => p = c,
                None => {
                    if left {
                        self.nodes[p].left = Some(x);
                    } else {
                        self.nodes[p].right = Some(x);
                    }
                    return p;
                }
            }
        }
    }

    /// `putTreeVal` of a new key: linked after its tree parent, then the tree balanced and its root
    /// moved to the front.
    fn put_tree_val(&mut self, i: usize, x: usize) {
        let Bin::Tree(root) = self.table[i] else { return };
        let xp = self.attach(root, x);
        let xpn = self.nodes[xp].next;
        self.nodes[x].parent = Some(xp);
        self.nodes[x].prev = Some(xp);
        self.nodes[x].next = xpn;
        if let Some(xpn) = xpn {
            self.nodes[xpn].prev = Some(x);
        }
        self.nodes[xp].next = Some(x);
        let balanced = self.balance_insertion(root, x);
        self.table[i] = Bin::Tree(self.move_root_to_front(root, balanced));
    }

    /// The table doubled (`resize`): each bucket splits in two keeping its order; a tree half of at
    /// most six keys becomes a list, a larger one is built again when the other half is not empty.
    fn resize(&mut self) {
        let old = std::mem::take(&mut self.table);
        let bit = old.len();
        self.table = vec![Bin::List(Vec::new()); bit * 2];
        for (j, bin) in old.into_iter().enumerate() {
            let tree = matches!(bin, Bin::Tree(_));
            let mut keys = Vec::new();
            self.push_order(&bin, &mut keys);
            let (lo, hi): (Vec<usize>, Vec<usize>) =
                keys.into_iter().partition(|&n| self.nodes[n].hash as usize & bit == 0);
            let split = !lo.is_empty() && !hi.is_empty();
            for (k, half) in [(j, lo), (j + bit, hi)] {
                self.table[k] = if !tree || half.len() <= UNTREEIFY_THRESHOLD {
                    Bin::List(half)
                } else if split {
                    self.treeify(&half)
                } else {
                    // All of the tree went one way: it stays as it is, its root first.
                    Bin::Tree(half[0])
                };
            }
        }
    }

    /// The child of `n` on the right (`right`) or on the left.
    fn child(&self, n: usize, right: bool) -> Option<usize> {
        if right { self.nodes[n].right } else { self.nodes[n].left }
    }

    fn set_child(&mut self, n: usize, right: bool, child: Option<usize>) {
        if right {
            self.nodes[n].right = child;
        } else {
            self.nodes[n].left = child;
        }
    }

    /// `TreeNode.balanceInsertion`: the root after `x` was inserted. One arm for both of Java's mirrored
    /// ones: `left` says whether `x`'s parent is its grandparent's left child.
    fn balance_insertion(&mut self, mut root: usize, mut x: usize) -> usize {
        self.nodes[x].red = true;
        loop {
            let Some(xp) = self.nodes[x].parent else {
                self.nodes[x].red = false;
                return x;
            };
            let Some(xpp) = self.nodes[xp].parent.filter(|_| self.nodes[xp].red) else { return root };
            let left = self.nodes[xpp].left == Some(xp);
            let uncle = self.child(xpp, left);
            if let Some(u) = uncle.filter(|&u| self.nodes[u].red) {
                self.nodes[u].red = false;
                self.nodes[xp].red = false;
                self.nodes[xpp].red = true;
                x = xpp;
                continue;
            }
            let (mut xp, mut xpp) = (Some(xp), Some(xpp));
            if let Some(parent) = xp.filter(|&p| self.child(p, left) == Some(x)) {
                x = parent;
                root = self.rotate(root, x, left);
                xp = self.nodes[x].parent;
                xpp = xp.and_then(|p| self.nodes[p].parent);
            }
            if let Some(xp) = xp {
                self.nodes[xp].red = false;
                if let Some(xpp) = xpp {
                    self.nodes[xpp].red = true;
                    root = self.rotate(root, xpp, !left);
                }
            }
        }
    }

    /// `TreeNode.rotateLeft` (`left`) or `rotateRight` of `p`: its child on the other side takes its
    /// place; the root after.
    fn rotate(&mut self, mut root: usize, p: usize, left: bool) -> usize {
        let Some(up) = self.child(p, left) else { return root };
        let inner = self.child(up, !left);
        self.set_child(p, left, inner);
        if let Some(inner) = inner {
            self.nodes[inner].parent = Some(p);
        }
        let pp = self.nodes[p].parent;
        self.nodes[up].parent = pp;
        match pp {
            None => {
                root = up;
                self.nodes[up].red = false;
            }
            Some(pp) => {
                let right = self.nodes[pp].right == Some(p);
                self.set_child(pp, right, Some(up));
            }
        }
        self.set_child(up, !left, Some(p));
        self.nodes[p].parent = Some(up);
        root
    }
}

#[cfg(test)]
mod tests {
    use super::hash_map_order;

    fn ordered<'k>(keys: &[&'k str]) -> Vec<&'k str> {
        hash_map_order(keys.iter().copied()).into_iter().map(|i| keys[i]).collect()
    }

    #[test]
    fn orders_as_the_recorded_executions_do() {
        // scenarios/test_base_scenarios__test_map_state_legacy_reentrant: {"Iterations.$", "Values.$"}.
        assert_eq!(ordered(&["Iterations", "Values"]), ["Values", "Iterations"]);
        // assign/…MAP_STATE_REFERENCE_IN_ITEMS_PATH: {"Question.$", "Answer.$"}.
        assert_eq!(ordered(&["Question", "Answer"]), ["Answer", "Question"]);
        // scenarios/test_base_scenarios__test_map_state_item_selector__MAP_STATE_ITEM_SELECTOR.
        assert_eq!(
            ordered(&["original_input", "iteration_input_value", "iteration_index", "from_input_constant"]),
            ["iteration_input_value", "from_input_constant", "iteration_index", "original_input"]
        );
        // assign/…BASE_ASSIGN_FROM_INTRINSIC_FUNCTION, the arrayOps variable's seven fields.
        assert_eq!(
            ordered(&[
                "simpleArray",
                "partitionedArray",
                "containsElement",
                "numberRange",
                "thirdElement",
                "arraySize",
                "uniqueValues"
            ]),
            [
                "uniqueValues",
                "simpleArray",
                "thirdElement",
                "partitionedArray",
                "arraySize",
                "containsElement",
                "numberRange"
            ]
        );
    }

    #[test]
    fn a_thirteenth_key_doubles_the_table() {
        // base/test_base__test_query_context_object_values: thirteen keys, so 32 buckets.
        let keys = [
            "context_object",
            "execution",
            "execution_id",
            "execution_input",
            "execution_name",
            "execution_rolearn",
            "execution_starttime",
            "state",
            "state_enteredtime",
            "state_name",
            "statemachine",
            "statemachine_id",
            "statemachine_name",
        ];
        assert_eq!(
            ordered(&keys),
            [
                "execution",
                "execution_rolearn",
                "execution_name",
                "statemachine_id",
                "execution_id",
                "execution_input",
                "execution_starttime",
                "state_name",
                "state_enteredtime",
                "statemachine",
                "state",
                "context_object",
                "statemachine_name"
            ]
        );
    }

    #[test]
    fn keys_in_one_bucket_keep_the_order_they_were_put_in() {
        // "Aa" and "BB" have the same String.hashCode (2112).
        assert_eq!(ordered(&["BB", "Aa"]), ["BB", "Aa"]);
        assert_eq!(ordered(&["Aa", "BB"]), ["Aa", "BB"]);
    }

    #[test]
    fn nine_keys_in_one_bucket_grow_a_small_table() {
        // "Aa"/"BB" combinations share one hash; the ninth pushes the table from 16 to 32 buckets, and
        // the bucket still iterates in insertion order.
        let keys: Vec<String> =
            (0..9u32).map(|n| (0..4).map(|b| if n >> b & 1 == 1 { "BB" } else { "Aa" }).collect()).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        assert_eq!(hash_map_order(refs.iter().copied()), (0..9).collect::<Vec<_>>());
    }

    #[test]
    fn non_ascii_keys_hash_over_utf16_units() {
        // "😀" is two UTF-16 units (0xD83D 0xDE00): 31*0xD83D+0xDE00 = 1772899, as OpenJDK 17 prints
        // "\uD83D\uDE00".hashCode().
        let h = super::spread_hash("😀");
        assert_eq!(h, 1_772_899 ^ (1_772_899 >> 16));
    }

    /// 160 key sets and the order `java.util.HashMap<String, Integer>` iterated them after `put` in
    /// line order, printed by OpenJDK 17 with `for (String k : m.keySet()) print(m.get(k))`: 120 random
    /// sets (1 to 100 keys, ASCII and non-ASCII, colliding "Aa"/"BB" pairs), then 40 of 54 to 134 keys
    /// where 9 to 40 share a bucket of a 64-bucket table (one hash, or only its low six bits), so that
    /// Java makes trees of them and splits them as the table grows. Two lines per set: the keys
    /// separated by tabs, then their indexes in iteration order.
    #[test]
    fn orders_as_openjdk_does_on_random_key_sets() {
        let fixture = include_str!("testdata/java_hashmap_orders.txt");
        let mut lines = fixture.lines();
        let mut sets = 0;
        while let (Some(keys), Some(order)) = (lines.next(), lines.next()) {
            let keys: Vec<&str> = keys.split('\t').collect();
            let java: Vec<usize> = order.split(' ').map(|i| i.parse().expect("an index")).collect();
            assert_eq!(hash_map_order(keys.iter().copied()), java, "{keys:?}");
            sets += 1;
        }
        assert_eq!(sets, 160);
    }

    proptest::proptest! {
        /// Whatever the keys (colliding ones included), the order is a permutation of their positions.
        #[test]
        fn the_order_is_a_permutation(keys in proptest::collection::hash_set("(Aa|BB|[a-c0-9é😀]){0,6}", 0..300)) {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let mut order = hash_map_order(keys.iter().copied());
            order.sort_unstable();
            proptest::prop_assert_eq!(order, (0..keys.len()).collect::<Vec<_>>());
        }
    }
}
