//! Snapshots of every ECS pattern × static/dynamic `TaskDefinition` × with/without task definitions ×
//! top level / Map processor / Parallel branch.

use crate::common::{machine, matrix, summary};

#[test]
fn every_pattern_by_task_definition_by_task_definitions_by_nesting() {
    let cases = matrix();
    assert_eq!(cases.len(), 3 * 2 * 2 * 3);
    for c in cases {
        let policy = sfn_iam::generate(&machine(&c.definition), &c.options);
        insta::assert_json_snapshot!(c.name.clone(), summary(&policy));
    }
}

#[test]
fn nesting_changes_only_the_state_paths() {
    // The same task at the top, in a Map and in a Parallel branch grants the same document.
    for c in matrix().chunks(3) {
        let docs: Vec<_> =
            c.iter().map(|c| sfn_iam::generate(&machine(&c.definition), &c.options).document()).collect();
        assert!(docs.windows(2).all(|w| w[0] == w[1]), "{}", c[0].name);
    }
}
