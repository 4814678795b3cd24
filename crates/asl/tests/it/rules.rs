//! Static rules: every problem reported at once, each located.

use sfn_asl::{ProcessorMode, Severity, StateKind, ValidateOptions, codes, validate};

fn diags(def: &str) -> Vec<(String, String)> {
    validate(def.as_bytes(), ValidateOptions::default())
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code, d.pointer))
        .collect()
}

/// Every error as (code, pointer, message).
fn errors(def: &str) -> Vec<(String, String, String)> {
    validate(def.as_bytes(), ValidateOptions::default())
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code, d.pointer, d.message))
        .collect()
}

fn error(code: &str, pointer: &str, message: &str) -> (String, String, String) {
    (code.to_owned(), pointer.to_owned(), message.to_owned())
}

#[test]
fn serde_errors_are_located_per_state() {
    let v = validate(
        br#"{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask","Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":"3"}],"End":true},
            "Other":{"Type":"Pass","Next":"Run","Bogus":1}}}"#,
        ValidateOptions::default(),
    );
    let errors: Vec<_> = v.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.iter().any(|d| d.pointer == "/States/Run/Retry/0/MaxAttempts"), "{errors:?}");
    assert!(errors.iter().any(|d| d.pointer == "/States/Other/Bogus"), "{errors:?}");
}

#[test]
fn transitions_and_reachability() {
    let d = diags(
        r#"{"StartAt":"A","States":{
            "A":{"Type":"Pass","Next":"Nowhere"},
            "B":{"Type":"Pass","End":true},
            "C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"Missing"}],"Default":"B"},
            "D":{"Type":"Pass"},
            "E":{"Type":"Fail","Next":"B"}}}"#,
    );
    assert!(d.contains(&(codes::MISSING_TRANSITION_TARGET.into(), "/States/A/Next".into())), "{d:?}");
    assert!(
        d.contains(&(codes::MISSING_TRANSITION_TARGET.into(), "/States/C/Choices/0/Next".into())),
        "{d:?}"
    );
    // AWS: `MISSING_TRANSITION_TARGET: State "B" is not reachable. at /States/B` (CloudFormation's error in
    // aws-cloudformation/cfn-lint#4073; localstack/localstack#12487).
    assert!(d.contains(&(codes::MISSING_TRANSITION_TARGET.into(), "/States/B".into())), "{d:?}");
    let v = sfn_asl::validate(
        br#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"U":{"Type":"Pass","End":true}}}"#,
        Default::default(),
    );
    assert_eq!(v.diagnostics.len(), 1, "{:?}", v.diagnostics);
    assert_eq!(v.diagnostics[0].message, r#"State "U" is not reachable."#);
    assert!(d.contains(&(codes::SCHEMA_VALIDATION_FAILED.into(), "/States/D".into())), "{d:?}");
    assert!(d.contains(&(codes::SCHEMA_VALIDATION_FAILED.into(), "/States/E".into())), "{d:?}");
}

#[test]
fn nested_scopes_are_checked_on_their_own() {
    let d = diags(
        r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
            {"StartAt":"X","States":{"X":{"Type":"Pass","Next":"Outer"}}}]},
            "Outer":{"Type":"Succeed"}}}"#,
    );
    assert!(
        d.contains(&(codes::MISSING_TRANSITION_TARGET.into(), "/States/P/Branches/0/States/X/Next".into())),
        "{d:?}"
    );
}

#[test]
fn retry_rules_and_ranges() {
    let d = diags(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask","End":true,
            "Retry":[{"ErrorEquals":["States.ALL","X"],"MaxAttempts":-1,"BackoffRate":0.5},{"ErrorEquals":["Y"],"IntervalSeconds":0}],
            "Catch":[{"ErrorEquals":[],"Next":"T"}]}}}"#,
    );
    for p in [
        "/States/T/Retry/0/ErrorEquals",
        "/States/T/Retry/0/MaxAttempts",
        "/States/T/Retry/0/BackoffRate",
        "/States/T/Retry/1/IntervalSeconds",
        "/States/T/Catch/0/ErrorEquals",
    ] {
        assert!(d.iter().any(|(_, ptr)| ptr == p), "{p} missing in {d:?}");
    }
}

#[test]
fn fields_by_type_and_language() {
    // A field of another state type: `Field 'Seconds' is not supported` at the state (floci-io/floci#2735,
    // measured on AWS).
    let d = diags(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Seconds":3,"End":true}}}"#);
    assert_eq!(d, vec![(codes::SCHEMA_VALIDATION_FAILED.to_owned(), "/States/A".to_owned())]);
    let v = sfn_asl::validate(
        br#"{"StartAt":"A","States":{"A":{"Type":"Pass","Seconds":3,"End":true}}}"#,
        Default::default(),
    );
    assert_eq!(v.diagnostics[0].message, "Field 'Seconds' is not supported");
    // A JSONPath-only field in a JSONata state, at the state with AWS's wording (floci-io/floci's recorded
    // ValidateStateMachineDefinition answers).
    let text = r#"{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.x","End":true}}}"#;
    let d = diags(text);
    assert_eq!(d, vec![(codes::SCHEMA_VALIDATION_FAILED.to_owned(), "/States/A".to_owned())]);
    assert_eq!(
        sfn_asl::validate(text.as_bytes(), Default::default()).diagnostics[0].message,
        "The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for the 'JSONPath' QueryLanguage"
    );
    // A JSONata-only field in a JSONPath state is reported at the state (floci-io/floci#2968, measured on AWS).
    let d = diags(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Output":{},"End":true}}}"#);
    assert_eq!(d, vec![(codes::SCHEMA_VALIDATION_FAILED.to_owned(), "/States/A".to_owned())]);
    // States inside a Map or Parallel inherit the machine's language, not the Map's (same source).
    let d = diags(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","QueryLanguage":"JSONata","ItemProcessor":{"StartAt":"P",
            "States":{"P":{"Type":"Pass","Output":"{% 1 %}","End":true}}},"End":true}}}"#,
    );
    assert_eq!(
        d,
        vec![(codes::SCHEMA_VALIDATION_FAILED.to_owned(), "/States/M/ItemProcessor/States/P".to_owned())]
    );
    // A processor cannot declare a language at all (same source).
    let d = diags(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"QueryLanguage":"JSONata","StartAt":"P",
            "States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#,
    );
    assert_eq!(d, vec![(codes::SCHEMA_VALIDATION_FAILED.to_owned(), "/States/M/ItemProcessor".to_owned())]);
}

#[test]
fn paths_are_parsed_at_load_time() {
    let d = diags(
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","OutputPath":"$.[","End":true}}}"#,
    );
    assert!(d.iter().any(|(_, p)| p == "/States/A/ResultPath"), "{d:?}");
    assert!(d.iter().any(|(_, p)| p == "/States/A/OutputPath"), "{d:?}");
    let d = diags(
        r#"{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":"1","Next":"A"},{"Variable":"$.x","StringEqualz":"1","Next":"A"}]}}}"#,
    );
    assert!(d.iter().any(|(_, p)| p == "/States/A/Choices/0/NumericEquals"), "{d:?}");
    assert!(d.iter().any(|(_, p)| p == "/States/A/Choices/1/StringEqualz"), "{d:?}");
}

#[test]
fn warnings_do_not_invalidate() {
    let v = validate(
        br#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"Value":"$.foo"},"End":true}}}"#,
        ValidateOptions::default(),
    );
    assert!(v.is_valid());
    assert_eq!(v.diagnostics[0].code, codes::NO_DOLLAR);
    assert_eq!(v.diagnostics[0].pointer, "/States/A/Parameters/Value");
}

/// AWS parses every JSONata expression at definition time (floci-io/floci#2745 quotes
/// `INVALID_JSONATA_EXPRESSION: Unexpected end of expression at /States/Main/Output`); only a string that
/// starts with `{%` and ends with `%}` is an expression (conformance: outputdecl BASE_LITERALS).
#[test]
fn jsonata_expressions_are_parsed_at_load_time() {
    let d = diags(
        r#"{"QueryLanguage": "JSONata", "StartAt": "Main", "States": {"Main": {"Type": "Pass",
            "Output": {"v": "{% 1 + %}", "ok": "{% $states.input %}", "plain": " {% 1 + %} "}, "End": true}}}"#,
    );
    assert_eq!(d, vec![(codes::INVALID_JSONATA_EXPRESSION.to_owned(), "/States/Main/Output/v".to_owned())]);
    let d = diags(
        r#"{"QueryLanguage": "JSONata", "StartAt": "C", "States": {"C": {"Type": "Choice",
            "Choices": [{"Condition": "{% $states.input.a = %}", "Next": "E"}], "Default": "E"},
            "E": {"Type": "Succeed"}}}"#,
    );
    assert_eq!(
        d,
        vec![(codes::INVALID_JSONATA_EXPRESSION.to_owned(), "/States/C/Choices/0/Condition".to_owned())]
    );
}

/// State names are unique in the whole machine, nested scopes included (ASL: "state names MUST be unique
/// within the scope of the whole state machine"). AWS's wording: `DUPLICATE_STATE_NAME: Duplicate State
/// name: MissingValue at /States/MissingValue`, quoted from CreateStateMachine in LocalStack's
/// tests/aws/services/stepfunctions/legacy/test_stepfunctions_legacy.py. Where a nested duplicate
/// points is not recorded; it is reported at the second occurrence in document order.
#[test]
fn duplicate_state_names() {
    let dup = |ptr: &str, name: &str| {
        error(codes::DUPLICATE_STATE_NAME, ptr, &format!("Duplicate State name: {name}"))
    };
    // Twice in one States object: a duplicate JSON key.
    let d = errors(r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"},"A":{"Type":"Succeed"}}}"#);
    assert_eq!(d, [dup("/States/A", "A")]);
    // In a Parallel branch and at the top level.
    let d = errors(
        r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"A","Branches":[
            {"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}]},
            "A":{"Type":"Succeed"}}}"#,
    );
    assert_eq!(d, [dup("/States/A", "A")]);
    // In two branches.
    let d = errors(
        r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
            {"StartAt":"X","States":{"X":{"Type":"Pass","End":true}}},
            {"StartAt":"X","States":{"X":{"Type":"Pass","End":true}}}]}}}"#,
    );
    assert_eq!(d, [dup("/States/P/Branches/1/States/X", "X")]);
    // In a Map's ItemProcessor and elsewhere: the Map's own name, a top-level state after it.
    let d = errors(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","Next":"Y","ItemProcessor":{"StartAt":"M",
            "States":{"M":{"Type":"Pass","Next":"Y"},"Y":{"Type":"Succeed"}}}},
            "Y":{"Type":"Succeed"}}}"#,
    );
    assert_eq!(d, [dup("/States/M/ItemProcessor/States/M", "M"), dup("/States/Y", "Y")]);
    // In a legacy Iterator nested in a branch.
    let d = errors(
        r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
            {"StartAt":"I","States":{"I":{"Type":"Map","End":true,"Iterator":{"StartAt":"P",
                "States":{"P":{"Type":"Pass","End":true}}}}}}]}}}"#,
    );
    assert_eq!(d, [dup("/States/P/Branches/0/States/I/Iterator/States/P", "P")]);
}

/// A Map number and its `…Path` form together: AWS refuses each of the six pairs with `There should only
/// be one of the following fields: [MaxItems, MaxItemsPath]` (floci-io/floci#3733, measured with
/// ValidateStateMachineDefinition in us-east-1: "AWS rejects three shapes on every Map number field").
/// The location is not recorded there; it is the object that holds the pair. Same source: the path form
/// in a JSONata state, a literal below 0, and `ReaderConfig.MaxItems` above 100000000.
#[test]
fn map_numbers_and_their_paths() {
    let one_of = |ptr: &str, a: &str| {
        error(
            codes::SCHEMA_VALIDATION_FAILED,
            ptr,
            &format!("There should only be one of the following fields: [{a}, {a}Path]"),
        )
    };
    let d = errors(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,
            "MaxConcurrency":2,"MaxConcurrencyPath":"$.c",
            "ToleratedFailureCount":1,"ToleratedFailureCountPath":"$.n",
            "ToleratedFailurePercentage":5,"ToleratedFailurePercentagePath":"$.p",
            "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"b","Key":"k"},
                "ReaderConfig":{"InputType":"JSON","MaxItems":10,"MaxItemsPath":"$.max"}},
            "ItemBatcher":{"MaxItemsPerBatch":5,"MaxItemsPerBatchPath":"$.size",
                "MaxInputBytesPerBatch":1024,"MaxInputBytesPerBatchPath":"$.bytes"},
            "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},
                "StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}"#,
    );
    assert_eq!(
        d,
        [
            one_of("/States/M", "MaxConcurrency"),
            one_of("/States/M", "ToleratedFailureCount"),
            one_of("/States/M", "ToleratedFailurePercentage"),
            one_of("/States/M/ItemReader/ReaderConfig", "MaxItems"),
            one_of("/States/M/ItemBatcher", "MaxItemsPerBatch"),
            one_of("/States/M/ItemBatcher", "MaxInputBytesPerBatch"),
        ]
    );
    let d = errors(
        r#"{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","End":true,
            "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Arguments":{"Bucket":"b","Key":"k"},
                "ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW","MaxItems":100000001}},
            "ItemBatcher":{"MaxItemsPerBatchPath":"$.size","MaxInputBytesPerBatch":-1},
            "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},
                "StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}"#,
    );
    assert_eq!(
        d,
        [
            error(
                codes::SCHEMA_VALIDATION_FAILED,
                "/States/M/ItemReader/ReaderConfig/MaxItems",
                "Maximum value is 100000000"
            ),
            error(
                codes::SCHEMA_VALIDATION_FAILED,
                "/States/M/ItemBatcher",
                "The QueryLanguage is set to 'JSONata', but field 'MaxItemsPerBatchPath' is only supported for the 'JSONPath' QueryLanguage"
            ),
            error(
                codes::SCHEMA_VALIDATION_FAILED,
                "/States/M/ItemBatcher/MaxInputBytesPerBatch",
                "Minimum value is 0"
            ),
        ]
    );
}

/// Every field AWS documents for a Distributed Map (ItemReader, ItemBatcher, ResultWriter, Label,
/// ProcessorConfig, ToleratedFailure*; docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html,
/// input-output-itembatcher.html, input-output-resultwriter.html) is accepted, in both query languages,
/// and kept in the model so the engine can refuse to run what it does not support.
#[test]
fn distributed_map_fields_are_accepted_and_kept() {
    let jsonpath = r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"Label":"Files",
        "MaxConcurrency":100,"ToleratedFailurePercentage":5,"ToleratedFailureCountPath":"$.failures",
        "ItemReader":{"Resource":"arn:aws:states:::s3:getObject",
            "Parameters":{"Bucket":"b","Key.$":"$.key"},
            "ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"GIVEN","CSVHeaders":["id","name"],
                "CSVDelimiter":"SEMICOLON","MaxItemsPath":"$.max"}},
        "ItemBatcher":{"MaxItemsPerBatchPath":"$.size","MaxInputBytesPerBatch":262144,
            "BatchInput":{"run.$":"$$.Execution.Id"}},
        "ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"out","Prefix":"r"},
            "WriterConfig":{"OutputType":"JSONL","Transformation":"FLATTEN"}},
        "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},
            "StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}"#;
    let v = validate(jsonpath.as_bytes(), ValidateOptions::default());
    assert!(v.is_valid(), "{:?}", v.diagnostics);
    let machine = v.machine.unwrap();
    let StateKind::Map(m) = &machine.states.get("M").unwrap().kind else { panic!("not a Map") };
    let def: serde_json::Value = serde_json::from_str(jsonpath).unwrap();
    let written = &def["States"]["M"];
    assert_eq!(m.mode, ProcessorMode::Distributed);
    assert_eq!(m.execution_type.as_deref(), Some("EXPRESS"));
    assert_eq!(m.item_reader.as_ref(), Some(&written["ItemReader"]));
    assert_eq!(m.item_batcher.as_ref(), Some(&written["ItemBatcher"]));
    assert_eq!(m.result_writer.as_ref(), Some(&written["ResultWriter"]));
    assert_eq!(m.label.as_deref(), Some("Files"));
    assert!(m.tolerated_failure_percentage.is_some() && m.tolerated_failure_count.is_some());

    let jsonata = r#"{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","End":true,
        "MaxConcurrency":"{% $states.input.c %}","ToleratedFailureCount":"{% 1 %}","ToleratedFailurePercentage":10,
        "ItemReader":{"Resource":"arn:aws:states:::s3:listObjectsV2",
            "Arguments":{"Bucket":"{% $states.input.bucket %}","Prefix":"in/"},
            "ReaderConfig":{"MaxItems":"{% $states.input.max %}"}},
        "ItemBatcher":{"MaxItemsPerBatch":"{% 2 %}","MaxInputBytesPerBatch":"{% 131072 %}",
            "BatchInput":{"at":"{% $now() %}"}},
        "ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Arguments":{"Bucket":"out","Prefix":"r"}},
        "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},
            "StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}"#;
    let v = validate(jsonata.as_bytes(), ValidateOptions::default());
    assert!(v.is_valid(), "{:?}", v.diagnostics);
    for input in [
        r#""InputType":"JSON""#,
        r#""InputType":"JSONL""#,
        r#""InputType":"MANIFEST","ManifestType":"S3_INVENTORY""#,
        r#""InputType":"PARQUET""#,
        r#""InputType":"CSV","CSVHeaderLocation":"FIRST_ROW","CSVDelimiter":"TAB""#,
    ] {
        let def = format!(
            r#"{{"StartAt":"M","States":{{"M":{{"Type":"Map","End":true,
            "ItemReader":{{"Resource":"arn:aws:states:::s3:getObject","Parameters":{{"Bucket":"b","Key":"k"}},
                "ReaderConfig":{{{input},"MaxItems":100000000}}}},
            "ResultWriter":{{"WriterConfig":{{"OutputType":"JSON","Transformation":"COMPACT"}}}},
            "ItemProcessor":{{"ProcessorConfig":{{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"}},
                "StartAt":"P","States":{{"P":{{"Type":"Pass","End":true}}}}}}}}}}}}"#
        );
        let v = validate(def.as_bytes(), ValidateOptions::default());
        assert!(v.is_valid(), "{input}: {:?}", v.diagnostics);
    }
}

/// `ReaderConfig` takes the fields and values AWS's "ItemReader (Map)" page documents
/// (docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html); anything else is refused
/// where it is written, an unknown field with a did-you-mean.
#[test]
fn reader_config_fields_and_values_are_checked() {
    let d = errors(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,
            "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"b","Key":"k"},
                "ReaderConfig":{"InputType":"XML","CsvDelimiter":"PIPE","CSVDelimiter":"COLON",
                    "ManifestType":"ORC","CSVHeaderLocation":"GIVEN","CSVHeaders":["a",1],"Compression":"GZIP"}},
            "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},
                "StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}"#,
    );
    let at = |f: &str| format!("/States/M/ItemReader/ReaderConfig/{f}");
    let e = |f: &str, m: &str| error(codes::SCHEMA_VALIDATION_FAILED, &at(f), m);
    let mut d = d;
    d.sort();
    let mut want = vec![
        e("CsvDelimiter", "unknown field CsvDelimiter, did you mean CSVDelimiter?"),
        e(
            "Compression",
            "unknown field Compression; expected one of: InputType, ManifestType, CSVHeaderLocation, CSVHeaders, CSVDelimiter, MaxItems, MaxItemsPath",
        ),
        e("InputType", "InputType must be one of CSV, JSON, JSONL, PARQUET, MANIFEST, got \"XML\""),
        e("ManifestType", "ManifestType must be one of S3_INVENTORY, ATHENA_DATA, got \"ORC\""),
        e("CSVDelimiter", "CSVDelimiter must be one of COMMA, PIPE, SEMICOLON, SPACE, TAB, got \"COLON\""),
        e("CSVHeaders", "CSVHeaders must be an array of strings"),
    ];
    want.sort();
    assert_eq!(d, want);
    let d = errors(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,
            "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"b","Key":"k"},
                "ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"GIVEN"}},
            "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},
                "StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}"#,
    );
    assert_eq!(d, [e("CSVHeaderLocation", "CSVHeaderLocation GIVEN needs CSVHeaders")]);
}

/// `ResultWriter` takes what AWS's "ResultWriter (Map)" page documents
/// (docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html): `Resource`
/// (`arn:aws:states:::s3:putObject`), `Parameters` (`Arguments` in JSONata), `WriterConfig` with
/// `Transformation` NONE/COMPACT/FLATTEN and `OutputType` JSON/JSONL, in the page's "Required field
/// combinations" (WriterConfig alone, Resource and Parameters, or all three). Anything else is refused
/// where it is written.
#[test]
fn result_writer_map_page_fields_combinations_and_writer_config() {
    let map = |ql: &str, writer: &str| {
        format!(
            r#"{{{ql}"StartAt":"M","States":{{"M":{{"Type":"Map","End":true,"ResultWriter":{writer},
            "ItemProcessor":{{"ProcessorConfig":{{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"}},
                "StartAt":"P","States":{{"P":{{"Type":"Pass","End":true}}}}}}}}}}}}"#
        )
    };
    let jp = |w: &str| errors(&map("", w));
    let ata = |w: &str| errors(&map(r#""QueryLanguage":"JSONata","#, w));
    let at = |f: &str| format!("/States/M/ResultWriter{f}");
    let e = |f: &str, m: &str| error(codes::SCHEMA_VALIDATION_FAILED, &at(f), m);
    for t in ["NONE", "COMPACT", "FLATTEN"] {
        for o in ["JSON", "JSONL"] {
            let cfg = format!(r#""WriterConfig":{{"Transformation":"{t}","OutputType":"{o}"}}"#);
            assert_eq!(jp(&format!("{{{cfg}}}")), [], "{cfg}");
            let all = format!(
                r#"{{"Resource":"arn:aws:states:::s3:putObject","Parameters":{{"Bucket":"b","Prefix.$":"$.p"}},{cfg}}}"#
            );
            assert_eq!(jp(&all), [], "{all}");
            let all = format!(
                r#"{{"Resource":"arn:aws:states:::s3:putObject","Arguments":{{"Bucket":"{{% $states.input.b %}}"}},{cfg}}}"#
            );
            assert_eq!(ata(&all), [], "{all}");
        }
    }
    let combination = |payload: &str| {
        e(
            "",
            &format!(
                "The ResultWriter needs WriterConfig, or Resource and {payload}, or all three (WriterConfig alone shapes the Map's output; Resource and {payload} write the results to S3)"
            ),
        )
    };
    assert_eq!(jp("{}"), [combination("Parameters")]);
    assert_eq!(jp(r#"{"Resource":"arn:aws:states:::s3:putObject"}"#), [combination("Parameters")]);
    assert_eq!(jp(r#"{"Parameters":{"Bucket":"b"},"WriterConfig":{}}"#), [combination("Parameters")]);
    assert_eq!(
        jp(r#"{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"b"}}"#),
        [e(
            "/Resource",
            "The ResultWriter's Resource must be arn:aws:states:::s3:putObject, got \"arn:aws:states:::s3:getObject\""
        )]
    );
    let mut d = jp(
        r#"{"WriterConfig":{"Transformation":"GZIP","OutputType":"CSV","Compression":"GZIP","outputType":"JSON"},"Writer":1}"#,
    );
    d.sort();
    let mut want = vec![
        e("/Writer", "unknown field Writer, did you mean WriterConfig?"),
        e(
            "/WriterConfig/Compression",
            "unknown field Compression; expected one of: Transformation, OutputType",
        ),
        e("/WriterConfig/outputType", "unknown field outputType, did you mean OutputType?"),
        e(
            "/WriterConfig/Transformation",
            "Transformation must be one of NONE, COMPACT, FLATTEN, got \"GZIP\"",
        ),
        e("/WriterConfig/OutputType", "OutputType must be one of JSON, JSONL, got \"CSV\""),
    ];
    want.sort();
    assert_eq!(d, want);
    assert_eq!(jp(r#"{"WriterConfig":"FLATTEN"}"#), [e("/WriterConfig", "WriterConfig must be an object")]);
    assert_eq!(jp("5"), [e("", "ResultWriter must be an object, got 5")]);
    // Each query language's payload field, and AWS's message for the other one.
    for (mut d, language, wrong, right, other) in [
        (
            ata(r#"{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"b"}}"#),
            "JSONata",
            "Parameters",
            "Arguments",
            "JSONPath",
        ),
        (
            jp(r#"{"Resource":"arn:aws:states:::s3:putObject","Arguments":{"Bucket":"b"}}"#),
            "JSONPath",
            "Arguments",
            "Parameters",
            "JSONata",
        ),
    ] {
        d.sort();
        let message = format!(
            "The QueryLanguage is set to '{language}', but field '{wrong}' is only supported for the '{other}' QueryLanguage"
        );
        let mut want = vec![e("", &message), combination(right)];
        want.sort();
        assert_eq!(d, want, "{language}");
    }
}

/// A JSONata expression is evaluated with no context item, so AWS refuses one that reads it:
/// `UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported. at
/// /States/E/Output/v` (floci-io/floci#2670, measured on AWS with every position and expression below,
/// floci's StepFunctionsTopLevelReferenceIntegrationTest and JsonataTopLevelReferencesTest): the first
/// step of a path, operands, function arguments (`$count(items)`), object keys, lambda bodies; one
/// diagnostic per distinct name. `$` is named '$'; `$$` is refused as `Reference to '$$' is not
/// supported.` (floci-io/floci#2745). AWS writes array indexes as `Choices[0]`; the pointers here are
/// JSON pointers.
#[test]
fn bare_top_level_jsonata_references() {
    let unsupported = |ptr: &str, name: &str| {
        error(
            codes::UNSUPPORTED_JSONATA_EXPRESSION,
            ptr,
            &format!("Reference to '{name}' at the top level is not supported."),
        )
    };
    let pass = |output: &str| {
        errors(&format!(
            r#"{{"QueryLanguage":"JSONata","StartAt":"E","States":{{"E":{{"Type":"Pass","Output":{output},"End":true}}}}}}"#
        ))
    };
    assert_eq!(pass(r#""{% phone %}""#), [unsupported("/States/E/Output", "phone")]);
    assert_eq!(pass(r#"{"v":"{% phone %}"}"#), [unsupported("/States/E/Output/v", "phone")]);
    assert_eq!(
        pass(r#"{"a":{"b":["{% phone[0].number %}"]}}"#),
        [unsupported("/States/E/Output/a/b/0", "phone")]
    );
    assert_eq!(
        pass(r#"{"v":"{% aaa + bbb %}"}"#),
        [unsupported("/States/E/Output/v", "aaa"), unsupported("/States/E/Output/v", "bbb")]
    );
    assert_eq!(pass(r#""{% $count(items) %}""#), [unsupported("/States/E/Output", "items")]);
    assert_eq!(pass(r#""{% {phone: 1} %}""#), [unsupported("/States/E/Output", "phone")]);
    assert_eq!(
        pass(r#""{% $map($states.input.a, function($y){ phone }) %}""#),
        [unsupported("/States/E/Output", "phone")]
    );
    assert_eq!(pass(r#""{% $.phone %}""#), [unsupported("/States/E/Output", "$")]);
    assert_eq!(
        pass(r#""{% $$ %}""#),
        [error(
            codes::UNSUPPORTED_JSONATA_EXPRESSION,
            "/States/E/Output",
            "Reference to '$$' is not supported."
        )]
    );
    for fine in [
        r#""{% $states.input.phone %}""#,
        r#""{% $x.phone %}""#,
        r#""{% $phone %}""#,
        r#""{% $count($states.input.items) %}""#,
        r#""{% $states.input.items[phone > 3] %}""#,
        r#""{% $map($states.input.a, function($x){ $x.phone }) %}""#,
        r#""{% 'phone' & $string(1) %}""#,
        r#"" {% phone %} ""#,
    ] {
        assert_eq!(pass(fine), [], "{fine}");
    }
    // Every JSONata field is checked, nested states included.
    let d = errors(
        r#"{"QueryLanguage":"JSONata","StartAt":"A","States":{
            "A":{"Type":"Pass","Assign":{"v":"{% a1 %}"},"Next":"C"},
            "C":{"Type":"Choice","Choices":[{"Condition":"{% c1 = 1 %}","Next":"W"}],"Default":"W"},
            "W":{"Type":"Wait","Seconds":"{% w1 %}","Next":"T"},
            "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"FunctionName":"{% t1 %}"},
                "Catch":[{"ErrorEquals":["States.ALL"],"Output":{"v":"{% t2 %}"},"Next":"F"}],"Next":"M"},
            "M":{"Type":"Map","Items":"{% m1 %}","Next":"P",
                "ItemBatcher":{"BatchInput":{"Comment":"{% m2 %}"}},
                "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Arguments":{"Bucket":"{% m3 %}","Key":"k"},
                    "ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"GIVEN","CSVHeaders":["{% not_an_expression %}"]}},
                "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"I",
                    "States":{"I":{"Type":"Pass","Output":{"v":"{% i1 %}"},"End":true}}}},
            "P":{"Type":"Parallel","Next":"F","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Output":"{% b1 %}","End":true}}}]},
            "F":{"Type":"Fail","Cause":"{% f1 %}"}}}"#,
    );
    assert_eq!(
        d,
        [
            unsupported("/States/A/Assign/v", "a1"),
            unsupported("/States/C/Choices/0/Condition", "c1"),
            unsupported("/States/W/Seconds", "w1"),
            unsupported("/States/T/Arguments/FunctionName", "t1"),
            unsupported("/States/T/Catch/0/Output/v", "t2"),
            unsupported("/States/M/ItemProcessor/States/I/Output/v", "i1"),
            unsupported("/States/M/ItemReader/Arguments/Bucket", "m3"),
            unsupported("/States/M/ItemBatcher/BatchInput/Comment", "m2"),
            unsupported("/States/M/Items", "m1"),
            unsupported("/States/P/Branches/0/States/B/Output", "b1"),
            unsupported("/States/F/Cause", "f1"),
        ]
    );
    // A JSONPath machine's `{% %}` text is not JSONata (same source).
    assert_eq!(
        errors(
            r#"{"StartAt":"E","States":{"E":{"Type":"Pass","Parameters":{"v":"{% phone %}"},"End":true}}}"#
        ),
        []
    );
}

/// A Distributed Map's ItemReader, its ReaderConfig and its ItemBatcher are objects (AWS's schema; a number was
/// accepted and the Map ran inline over its input).
#[test]
fn item_reader_reader_config_and_item_batcher_are_objects() {
    let map = |fields: &str| {
        format!(
            r#"{{"StartAt":"M","States":{{"M":{{"Type":"Map","End":true,{fields},
                "ItemProcessor":{{"ProcessorConfig":{{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"}},
                "StartAt":"P","States":{{"P":{{"Type":"Pass","End":true}}}}}}}}}}}}"#
        )
    };
    let schema = codes::SCHEMA_VALIDATION_FAILED;
    assert_eq!(
        errors(&map(r#""ItemReader":5"#)),
        [error(schema, "/States/M/ItemReader", "ItemReader must be an object, got 5")]
    );
    assert_eq!(
        errors(&map(r#""ItemBatcher":[1]"#)),
        [error(schema, "/States/M/ItemBatcher", "ItemBatcher must be an object, got [1]")]
    );
    assert_eq!(
        errors(&map(
            r#""ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":"JSON","Parameters":{"Bucket":"b","Key":"k"}}"#
        )),
        [error(schema, "/States/M/ItemReader/ReaderConfig", "ReaderConfig must be an object, got \"JSON\"")]
    );
    // An unknown member's pointer escapes its name (RFC 6901: `/` is `~1`).
    assert_eq!(
        errors(&map(
            r#""ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"Input/Type":"JSON"},"Parameters":{"Bucket":"b","Key":"k"}}"#
        )),
        [error(
            schema,
            "/States/M/ItemReader/ReaderConfig/Input~1Type",
            "unknown field Input/Type, did you mean InputType?"
        )]
    );
}
