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
//! units); keys in one bucket iterate in the order they were put. Not modelled: a bucket of 64+ that Java
//! turns into a tree (nine keys with one hash remainder), whose order then follows the tree's links.

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
    const TREEIFY_THRESHOLD: usize = 8;
    const MIN_TREEIFY_CAPACITY: usize = 64;
    let mut table: Vec<Vec<(usize, u32)>> = vec![Vec::new(); 16];
    let mut size = 0usize;
    for (i, key) in keys.into_iter().enumerate() {
        let h = spread_hash(key);
        let buckets = table.len();
        let bin = &mut table[h as usize & (buckets - 1)];
        bin.push((i, h));
        let mut grow = bin.len() > TREEIFY_THRESHOLD && table.len() < MIN_TREEIFY_CAPACITY;
        if grow {
            table = resized(&table);
            grow = false;
        }
        size += 1;
        grow |= size > table.len() / 4 * 3;
        if grow {
            table = resized(&table);
        }
    }
    table.into_iter().flatten().map(|(i, _)| i).collect()
}

/// The table doubled: each bucket splits in two, its keys keeping their order (`HashMap.resize`).
fn resized(table: &[Vec<(usize, u32)>]) -> Vec<Vec<(usize, u32)>> {
    let buckets = table.len() * 2;
    let mut out = vec![Vec::new(); buckets];
    for &(i, h) in table.iter().flatten() {
        out[h as usize & (buckets - 1)].push((i, h));
    }
    out
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

    /// 120 random key sets (1 to 100 keys, ASCII and non-ASCII, colliding "Aa"/"BB" pairs) and the
    /// order `java.util.HashMap<String, Integer>` iterated them after `put` in line order, printed
    /// by OpenJDK 17 with `for (String k : m.keySet()) print(m.get(k))`. Two lines per set: the
    /// keys separated by tabs, then their indexes in iteration order.
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
        assert_eq!(sets, 120);
    }
}
