//! Snapshots of every rendering of one policy: JSON document, CloudFormation JSON and YAML, Terraform
//! (policy document data source and jsonencode), and the `--explain` text.

use sfn_iam::{CloudFormationFormat, TerraformStyle};

use crate::common::{machine, specials};

fn policy(name: &str) -> sfn_iam::Policy {
    let c = specials().into_iter().find(|c| c.name == name).unwrap();
    sfn_iam::generate(&machine(&c.definition), &c.options)
}

#[test]
fn every_format_of_a_three_pattern_machine() {
    let p = policy("one-cluster-many-states");
    insta::assert_snapshot!("json", p.to_json());
    insta::assert_snapshot!(
        "cloudformation_json",
        p.to_cloudformation("nightly-report", CloudFormationFormat::Json)
    );
    insta::assert_snapshot!(
        "cloudformation_yaml",
        p.to_cloudformation("nightly-report", CloudFormationFormat::Yaml)
    );
    insta::assert_snapshot!("terraform", p.to_terraform("nightly-report", TerraformStyle::PolicyDocument));
    insta::assert_snapshot!(
        "terraform_jsonencode",
        p.to_terraform("nightly-report", TerraformStyle::JsonEncode)
    );
    insta::assert_snapshot!("explain", p.explain());
}

#[test]
fn explain_with_warnings() {
    insta::assert_snapshot!("explain_warnings", policy("overrides-dynamic").explain());
}

#[test]
fn the_yaml_template_is_the_json_template() {
    // A YAML reading of the block style we emit: `key: "json string"`, nested by indentation, `- ` items.
    // Instead of a YAML parser, check the shape line by line against the JSON rendering's leaves.
    let p = policy("tags");
    let yaml = p.to_cloudformation("m", CloudFormationFormat::Yaml);
    let json: serde_json::Value =
        serde_json::from_str(&p.to_cloudformation("m", CloudFormationFormat::Json)).unwrap();
    fn leaves(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => m.values().for_each(|x| leaves(x, out)),
            serde_json::Value::Array(a) => a.iter().for_each(|x| leaves(x, out)),
            other => out.push(other.to_string()),
        }
    }
    let mut expected = Vec::new();
    leaves(&json, &mut expected);
    let found: Vec<String> = yaml
        .lines()
        .filter_map(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            let v = t.split_once(": ").map_or(t, |(_, v)| v);
            v.starts_with('"').then(|| v.to_owned())
        })
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn an_empty_policy_still_renders() {
    let m = machine(&serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}));
    let p = sfn_iam::generate(&m, &crate::common::options(false));
    assert!(p.is_empty());
    assert_eq!(p.to_json(), "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}\n");
    assert!(
        p.to_terraform("m", TerraformStyle::PolicyDocument)
            .starts_with("data \"aws_iam_policy_document\" \"m_state_machine\" {\n}\n")
    );
}
