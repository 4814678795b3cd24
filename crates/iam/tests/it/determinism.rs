//! Same input → byte-identical output: shuffling the order of states (at every level) and of the task
//! definitions changes nothing in any rendering.

use serde_json::Value;
use sfn_iam::{CloudFormationFormat, Policy, TerraformStyle};

use crate::common::{corpus, machine};

/// A small deterministic generator (no dependency, same sequence on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// The same definition with the members of every `States` object in another order.
fn shuffle_states(v: &Value, rng: &mut Lcg) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> =
                m.iter().map(|(k, x)| (k.clone(), shuffle_states(x, rng))).collect();
            if m.values().all(|x| x.get("Type").is_some()) && !m.is_empty() {
                for i in (1..entries.len()).rev() {
                    entries.swap(i, rng.next(i + 1));
                }
                entries.reverse();
            }
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| shuffle_states(x, rng)).collect()),
        other => other.clone(),
    }
}

fn renderings(p: &Policy) -> Vec<String> {
    vec![
        p.to_json(),
        p.to_cloudformation("m", CloudFormationFormat::Json),
        p.to_cloudformation("m", CloudFormationFormat::Yaml),
        p.to_terraform("m", TerraformStyle::PolicyDocument),
        p.to_terraform("m", TerraformStyle::JsonEncode),
        p.explain(),
    ]
}

#[test]
fn shuffled_states_and_task_definitions_give_the_same_bytes() {
    let mut rng = Lcg(0x5eed);
    for c in corpus() {
        let expected = renderings(&sfn_iam::generate(&machine(&c.definition), &c.options));
        let expected_task = renderings(&sfn_iam::task_role_policy(&machine(&c.definition), &c.options));
        for _ in 0..3 {
            let shuffled = shuffle_states(&c.definition, &mut rng);
            let mut options = c.options.clone();
            options.task_definitions.reverse();
            let m = machine(&shuffled);
            assert_eq!(renderings(&sfn_iam::generate(&m, &options)), expected, "{}", c.name);
            assert_eq!(renderings(&sfn_iam::task_role_policy(&m, &options)), expected_task, "{}", c.name);
        }
    }
}

#[test]
fn the_shuffle_really_reorders() {
    let def = crate::common::chain(vec![
        ("A", serde_json::json!({"Type": "Pass", "End": true})),
        ("B", serde_json::json!({"Type": "Pass", "End": true})),
        ("C", serde_json::json!({"Type": "Pass", "End": true})),
    ]);
    let shuffled = shuffle_states(&def, &mut Lcg(1));
    let keys = |v: &Value| v["States"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_ne!(keys(&def), keys(&shuffled));
}
