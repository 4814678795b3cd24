//! State machine and execution ARNs, and the naming rules of state machines and executions.

use crate::error::ApiError;

/// What an ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Named<'a> {
    /// `…:stateMachine:<name>` (a `:<version-or-alias>` suffix is kept in `qualifier`).
    StateMachine { name: &'a str, qualifier: Option<&'a str> },
    /// `…:execution:<machine>:<name>`.
    Execution { machine: &'a str, name: &'a str },
    /// `…:express:<machine>:<name>:<id>`.
    Express,
    /// `…:mapRun:<machine>/<label>:<id>`.
    MapRun,
    /// Any other resource type.
    Other(&'a str),
}

/// A parsed `arn:<partition>:states:<region>:<account>:<type>:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
    pub(crate) named: Named<'a>,
}

/// Parses a Step Functions ARN; `InvalidArn` when it is not one.
pub(crate) fn parse(arn: &str) -> Result<Arn<'_>, ApiError> {
    if !arn.starts_with("arn:") {
        return Err(ApiError::invalid_arn(format_args!("Invalid ARN prefix: {arn}")));
    }
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 7 || parts[2] != "states" || parts[1].is_empty() {
        return Err(ApiError::invalid_arn(format_args!("Invalid ARN: {arn}")));
    }
    let (region, account, kind, rest) = (parts[3], parts[4], parts[5], &parts[6..]);
    let named = match (kind, rest) {
        ("stateMachine", [name]) => Named::StateMachine { name, qualifier: None },
        ("stateMachine", [name, q]) => Named::StateMachine { name, qualifier: Some(q) },
        ("execution", [machine, name]) => Named::Execution { machine, name },
        ("express", [_, _, _]) => Named::Express,
        ("mapRun", [machine, _]) if machine.contains('/') => Named::MapRun,
        ("stateMachine" | "execution" | "express" | "mapRun", _) => {
            return Err(ApiError::invalid_arn(format_args!("Invalid ARN: {arn}")));
        }
        (other, _) => Named::Other(other),
    };
    Ok(Arn { region, account, named })
}

fn wrong_type(kind: &str) -> ApiError {
    ApiError::invalid_arn(format_args!("Resource type not valid in this context: {kind}"))
}

impl Named<'_> {
    fn kind(&self) -> &str {
        match self {
            Named::StateMachine { .. } => "stateMachine",
            Named::Execution { .. } => "execution",
            Named::Express => "express",
            Named::MapRun => "mapRun",
            Named::Other(k) => k,
        }
    }
}

/// The state machine name of a state machine ARN (`InvalidArn` for any other resource type); `None` when the
/// ARN is well formed but cannot name one of ours (another region or account, a version or alias).
pub(crate) fn machine_name<'a>(
    arn: &'a str,
    region: &str,
    account: &str,
) -> Result<Option<&'a str>, ApiError> {
    let a = parse(arn)?;
    match a.named {
        Named::StateMachine { name, qualifier } => {
            Ok((a.region == region && a.account == account && qualifier.is_none()).then_some(name))
        }
        other => Err(wrong_type(other.kind())),
    }
}

/// Checks that `arn` is an execution ARN (standard or express); `InvalidArn` otherwise. Returns true for express.
pub(crate) fn execution_kind(arn: &str) -> Result<bool, ApiError> {
    match parse(arn)?.named {
        Named::Execution { .. } => Ok(false),
        Named::Express => Ok(true),
        other => Err(wrong_type(other.kind())),
    }
}

/// Checks that `arn` is a map run ARN; `InvalidArn` otherwise.
pub(crate) fn map_run(arn: &str) -> Result<(), ApiError> {
    match parse(arn)?.named {
        Named::MapRun => Ok(()),
        other => Err(wrong_type(other.kind())),
    }
}

/// `arn:aws:states:<region>:<account>:stateMachine:<name>`.
pub(crate) fn machine_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:states:{region}:{account}:stateMachine:{name}")
}

/// `arn:aws:states:<region>:<account>:execution:<machine>:<name>`.
pub(crate) fn execution_arn(region: &str, account: &str, machine: &str, name: &str) -> String {
    format!("arn:aws:states:{region}:{account}:execution:{machine}:{name}")
}

/// `arn:aws:states:<region>:<account>:express:<machine>:<name>:<id>`.
pub(crate) fn express_arn(region: &str, account: &str, machine: &str, name: &str, id: &str) -> String {
    format!("arn:aws:states:{region}:{account}:express:{machine}:{name}:{id}")
}

/// Whether a (length-checked) state machine or execution name uses only allowed characters: no white
/// space, no `< > { } [ ]`, no `? *`, none of `" # % \ ^ | ~ ` $ & , ; : /`, no control characters.
/// (`sfn run --name` checks its names with it too.)
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| {
            !c.is_whitespace()
                && !c.is_control()
                && !matches!(
                    c,
                    '<' | '>'
                        | '{'
                        | '}'
                        | '['
                        | ']'
                        | '?'
                        | '*'
                        | '"'
                        | '#'
                        | '%'
                        | '\\'
                        | '^'
                        | '|'
                        | '~'
                        | '`'
                        | '$'
                        | '&'
                        | ','
                        | ';'
                        | ':'
                        | '/'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arns() {
        let e = parse("not_a_valid_arn").unwrap_err();
        assert_eq!(e.message, "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'");
        assert_eq!(
            machine_name("arn:aws:states:us-east-1:123456789012:stateMachine:m", "us-east-1", "123456789012")
                .unwrap(),
            Some("m")
        );
        assert_eq!(
            machine_name("arn:aws:states:eu-west-1:123456789012:stateMachine:m", "us-east-1", "123456789012")
                .unwrap(),
            None
        );
        let e = machine_name("arn:aws:states:us-east-1:1:execution:m:e", "us-east-1", "1").unwrap_err();
        assert_eq!(e.message, "Invalid Arn: 'Resource type not valid in this context: execution'");
        assert!(!execution_kind("arn:aws:states:us-east-1:1:execution:m:e").unwrap());
        assert!(execution_kind("arn:aws:states:us-east-1:1:express:m:e:id").unwrap());
        assert_eq!(
            execution_kind("arn:aws:states:us-east-1:1:stateMachine:m").unwrap_err().code,
            "InvalidArn"
        );
        assert_eq!(parse("arn:aws:s3:::bucket").unwrap_err().code, "InvalidArn");
        assert!(map_run("arn:aws:states:us-east-1:1:mapRun:m/Map:5e9b").is_ok());
        for bad in
            ["arn:aws:states:us-east-1:1:mapRun:m:5e9b", "arn:aws:states:us-east-1:1:execution:m:e", "x"]
        {
            assert_eq!(map_run(bad).unwrap_err().code, "InvalidArn", "{bad}");
        }
    }

    #[test]
    fn names() {
        for ok in ["a", "Hello-World_1", "ünïcode", "a.b+c=d@e!"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "a b", "a\tb", "a/b", "a:b", "a*", "a?", "{a}", "a\u{7f}", "a\u{85}b", "a\"b", "a$b"]
        {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }
}
