//! Payload templates: Parameters, ItemSelector, ResultSelector and JSONPath Assign.

use serde_json::{Map, Value};

use crate::ast::{Arg, Call, Expr, Path, Root, Template};
use crate::error::{EvalError, TemplateError};
use crate::eval::Scope;

/// Deepest template nesting accepted at parse time (deeper JSON is rejected with a located error).
const MAX_TEMPLATE_DEPTH: usize = 128;

/// RFC 6901 token escaping; the shared one is `sfn_asl::pointer`, out of reach here (sfn-path depends on
/// nothing of ours).
fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Template {
    /// Parses a template: every key ending in `.$` must hold a path or intrinsic call; subtrees without
    /// such keys are kept as literal JSON.
    ///
    /// ```
    /// use serde_json::json;
    /// use sfn_path::{Scope, Template};
    /// let t = Template::parse(&json!({"greeting.$": "States.Format('Hi {}', $.who)", "fixed": [1, 2]})).unwrap();
    /// let input = json!({"who": "Ana"});
    /// assert_eq!(t.eval(&Scope::input(&input)).unwrap(), json!({"greeting": "Hi Ana", "fixed": [1, 2]}));
    /// let bad = Template::parse(&json!({"x.$": "not a path"})).unwrap_err();
    /// assert_eq!(bad.pointer, "/x.$");
    /// ```
    pub fn parse(value: &Value) -> Result<Template, TemplateError> {
        let mut pointer = String::new();
        parse_at(value, &mut pointer, 0)
    }

    /// True when the template has no `.$` member anywhere.
    pub fn is_literal(&self) -> bool {
        matches!(self, Template::Literal(_))
    }

    /// True when evaluating it reads the context object (`$$`), so callers can skip building one.
    pub fn needs_context(&self) -> bool {
        match self {
            Template::Literal(_) => false,
            Template::Object(m) => m.iter().any(|(_, t)| t.needs_context()),
            Template::Array(a) => a.iter().any(Template::needs_context),
            Template::Expr { expr, .. } => expr.needs_context(),
        }
    }

    /// Every path and call in the template, for static checks.
    pub fn exprs(&self) -> Vec<(&str, &Expr)> {
        let mut out = Vec::new();
        collect(self, &mut out);
        out
    }

    /// Builds the payload.
    pub fn eval(&self, scope: &Scope<'_>) -> Result<Value, EvalError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(members) => {
                let mut out = Map::with_capacity(members.len());
                for (k, t) in members {
                    out.insert(k.to_string(), t.eval(scope)?);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => {
                items.iter().map(|t| t.eval(scope)).collect::<Result<_, _>>().map(Value::Array)
            }
            Template::Expr { field, expr } => match expr {
                Expr::Path(p) => p.eval(scope).map(std::borrow::Cow::into_owned).map_err(|_| {
                    if let Some(why) = p.compile_error() {
                        return EvalError::runtime(format!(
                            "The JSONPath '{}' specified for the field '{field}' could not be evaluated: {why}",
                            p.source()
                        ));
                    }
                    // AWS names the state's input for a context path too
                    // (`scenarios/test_base_scenarios__test_invalid_jsonpath__INVALID_JSONPATH_IN_STRING_EXPR_CONTEXTPATH`).
                    let whence = match p.root() {
                        Root::Variable(_) => "the variables".to_owned(),
                        Root::Context | Root::Input => {
                            format!("the input '{}'", serde_json::to_string(scope.input).unwrap_or_default())
                        }
                    };
                    EvalError::runtime(format!(
                        "The JSONPath '{}' specified for the field '{field}' could not be found in {whence}",
                        p.source()
                    ))
                }),
                Expr::Call(c) => c.eval(scope),
            },
        }
    }
}

fn collect<'t>(t: &'t Template, out: &mut Vec<(&'t str, &'t Expr)>) {
    match t {
        Template::Literal(_) => {}
        Template::Object(m) => m.iter().for_each(|(_, t)| collect(t, out)),
        Template::Array(a) => a.iter().for_each(|t| collect(t, out)),
        Template::Expr { field, expr } => out.push((field, expr)),
    }
}

fn parse_at(value: &Value, pointer: &mut String, depth: usize) -> Result<Template, TemplateError> {
    if depth > MAX_TEMPLATE_DEPTH {
        return Err(TemplateError {
            pointer: pointer.clone(),
            field: String::new(),
            error: crate::error::ParseError::new(
                "",
                0,
                format!("nested deeper than {MAX_TEMPLATE_DEPTH} levels"),
            ),
        });
    }
    match value {
        Value::Object(m) => {
            let mut members = Vec::with_capacity(m.len());
            let mut dynamic = false;
            for (k, v) in m {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_pointer(k));
                let t = if let Some(stripped) = k.strip_suffix(".$") {
                    let Value::String(src) = v else {
                        return Err(TemplateError {
                            pointer: pointer.clone(),
                            field: k.clone(),
                            error: crate::error::ParseError::new(
                                "",
                                0,
                                "the value of a '.$' field must be a string",
                            ),
                        });
                    };
                    let expr = Expr::parse(src).map_err(|error| TemplateError {
                        pointer: pointer.clone(),
                        field: k.clone(),
                        error,
                    })?;
                    dynamic = true;
                    members.push((stripped.into(), Template::Expr { field: k.as_str().into(), expr }));
                    pointer.truncate(len);
                    continue;
                } else {
                    parse_at(v, pointer, depth + 1)?
                };
                pointer.truncate(len);
                dynamic |= !t.is_literal();
                members.push((k.as_str().into(), t));
            }
            if dynamic { Ok(Template::Object(members)) } else { Ok(Template::Literal(value.clone())) }
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut dynamic = false;
            for (i, v) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                let t = parse_at(v, pointer, depth + 1)?;
                pointer.truncate(len);
                dynamic |= !t.is_literal();
                out.push(t);
            }
            if dynamic { Ok(Template::Array(out)) } else { Ok(Template::Literal(value.clone())) }
        }
        other => Ok(Template::Literal(other.clone())),
    }
}

impl Path {
    /// For a `$$` path, the first member it reads (`Execution` in `$$.Execution.Id`); `Some(None)` for
    /// `$$` alone or a non-name first step (the whole context object); `None` for other roots.
    pub fn context_head(&self) -> Option<Option<&str>> {
        if *self.root() != Root::Context {
            return None;
        }
        Some(match self.segments().first() {
            Some(crate::ast::Segment::Child(crate::ast::Selector::Name(n))) => Some(n.as_ref()),
            _ => None,
        })
    }
}

/// Calls `f` for every path inside a call, nested calls included.
fn call_paths<'t>(c: &'t Call, f: &mut dyn FnMut(&'t Path)) {
    for a in &c.args {
        match a {
            Arg::Path(p) => f(p),
            Arg::Call(c) => call_paths(c, f),
            _ => {}
        }
    }
}

impl Template {
    /// Calls `f` for every path the template evaluates (in `.$` values and intrinsic arguments).
    pub fn for_each_path<'t>(&'t self, f: &mut dyn FnMut(&'t Path)) {
        match self {
            Template::Literal(_) => {}
            Template::Object(m) => m.iter().for_each(|(_, t)| t.for_each_path(f)),
            Template::Array(a) => a.iter().for_each(|t| t.for_each_path(f)),
            Template::Expr { expr, .. } => expr.for_each_path(f),
        }
    }
}

impl Expr {
    /// Calls `f` for every path the expression evaluates.
    pub fn for_each_path<'t>(&'t self, f: &mut dyn FnMut(&'t Path)) {
        match self {
            Expr::Path(p) => f(p),
            Expr::Call(c) => call_paths(c, f),
        }
    }

    /// True when evaluating it reads the context object.
    pub fn needs_context(&self) -> bool {
        match self {
            Expr::Path(p) => *p.root() == Root::Context,
            Expr::Call(c) => c.needs_context(),
        }
    }
}

impl Call {
    /// True when evaluating it reads the context object.
    pub fn needs_context(&self) -> bool {
        self.args.iter().any(|a| match a {
            Arg::Path(p) => *p.root() == Root::Context,
            Arg::Call(c) => c.needs_context(),
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dot_brackets_and_bare_words_in_templates() {
        // ResultSelector / Parameters shapes from deployed definitions.
        let t = Template::parse(&json!({
            "first.$": "$.[0]",
            "payloads.$": "$.[*].Payload",
            "data.$": "States.StringToJson($.[0].body)"
        }))
        .unwrap();
        let input = json!([{"Payload": 1, "body": "{\"a\":[1]}"}, {"Payload": 2}]);
        assert_eq!(
            t.eval(&Scope::input(&input)).unwrap(),
            json!({"first": {"Payload": 1, "body": "{\"a\":[1]}"}, "payloads": [1, 2], "data": {"a": [1]}})
        );
        let t =
            Template::parse(&json!({"f.$": "$..QualityResults[?(@.constraint_status==Failure)]"})).unwrap();
        let e = t.eval(&Scope::input(&json!({"QualityResults": []}))).unwrap_err();
        assert_eq!(e.error_name(), "States.Runtime");
        assert_eq!(
            e.message(),
            "The JSONPath '$..QualityResults[?(@.constraint_status==Failure)]' specified for the field 'f.$' \
             could not be evaluated: Failed to parse filter: [?(@.constraint_status==Failure)], error on \
             position: 24, char: F"
        );
    }

    #[test]
    fn literal_subtrees_stay_literal() {
        let t = Template::parse(&json!({"a": {"b": [1, {"c": 2}]}})).unwrap();
        assert!(t.is_literal());
        let t = Template::parse(&json!({"a": [{"c.$": "$.x"}]})).unwrap();
        assert!(!t.is_literal());
    }

    #[test]
    fn nested_objects_and_arrays() {
        let t = Template::parse(&json!({
            "Overrides": {"ContainerOverrides": [{"Name": "app", "Command.$": "$.commands"}]},
            "Token.$": "$$.Task.Token"
        }))
        .unwrap();
        assert!(t.needs_context());
        let input = json!({"commands": ["echo", "hi"]});
        let ctx = json!({"Task": {"Token": "tok"}});
        let out = t.eval(&Scope { input: &input, context: &ctx, variables: &() }).unwrap();
        assert_eq!(
            out,
            json!({"Overrides": {"ContainerOverrides": [{"Name": "app", "Command": ["echo", "hi"]}]}, "Token": "tok"})
        );
    }

    #[test]
    fn located_errors() {
        let e = Template::parse(&json!({"a": [{"b": {"c.$": "States.Nope()"}}]})).unwrap_err();
        assert_eq!(e.pointer, "/a/0/b/c.$");
        assert_eq!(e.field, "c.$");
        let e = Template::parse(&json!({"x/y.$": 3})).unwrap_err();
        assert_eq!(e.pointer, "/x~1y.$");
    }

    #[test]
    fn missing_path_message_matches_aws() {
        let t = Template::parse(&json!({"value.$": "$.no_such_jsonpath"})).unwrap();
        let input = json!({"int-literal": 0});
        let e = t.eval(&Scope::input(&input)).unwrap_err();
        assert_eq!(e.error_name(), "States.Runtime");
        assert_eq!(
            e.message(),
            "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"int-literal\":0}'"
        );
    }

    #[test]
    fn deep_json_is_rejected_not_overflowed() {
        let mut v = json!(1);
        for _ in 0..(MAX_TEMPLATE_DEPTH + 10) {
            v = json!({ "a": v });
        }
        assert!(Template::parse(&v).is_err());
    }
}
