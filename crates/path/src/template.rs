//! Payload templates: Parameters, ItemSelector, ResultSelector and JSONPath Assign.

use serde_json::{Map, Value};

use crate::ast::{Arg, Call, Expr, Members, Path, Root, Segment, Selector, Template};
use crate::error::{EvalError, TemplateError};
use crate::eval::{Scope, resolve_index, step};

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
                if let Some(prototype) = members.prototype() {
                    // The keys are unique: the prototype's places, filled in the members' order.
                    let mut out = prototype.clone();
                    for ((_, t), v) in members.iter().zip(out.values_mut()) {
                        *v = t.eval(scope)?;
                    }
                    return Ok(Value::Object(out));
                }
                let mut out = Map::with_capacity(members.len());
                for (k, t) in members {
                    out.insert(String::from(k.as_ref()), t.eval(scope)?);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => {
                items.iter().map(|t| t.eval(scope)).collect::<Result<_, _>>().map(Value::Array)
            }
            Template::Expr { field, expr } => match expr {
                Expr::Path(p) => p
                    .eval(scope)
                    .map(std::borrow::Cow::into_owned)
                    .map_err(|_| self.path_error(field, p, scope)),
                Expr::Call(c) => c.eval(scope),
            },
        }
    }
}

impl Template {
    /// Builds the payload from an input the caller gives up (a ResultSelector's result, a Pass state's
    /// input when its ResultPath is `$`): a definite `$` path that selects an array, an object or a
    /// string moves that node out of `input` instead of copying it. The result, errors included, is
    /// [`Template::eval`]'s on the same input: the payload is built in the template's order against the
    /// whole input (the nodes to move left as null), then the nodes are moved into place; a node that
    /// two such paths select, or one inside another's, is copied for each of them.
    ///
    /// ```
    /// use serde_json::json;
    /// use sfn_path::{Scope, Template};
    /// let t = Template::parse(&json!({"all.$": "$", "n.$": "States.ArrayLength($)"})).unwrap();
    /// let input = json!([{"id": 1}, {"id": 2}]);
    /// let out = t.eval_owned(input.clone(), &Scope::input(&serde_json::Value::Null)).unwrap();
    /// assert_eq!(out, json!({"all": [{"id": 1}, {"id": 2}], "n": 2}));
    /// ```
    ///
    /// `scope.input` is ignored: `$` is `input`.
    pub fn eval_owned(&self, input: Value, scope: &Scope<'_>) -> Result<Value, EvalError> {
        if let Template::Literal(v) = self {
            return Ok(v.clone());
        }
        let mut moves: Vec<(usize, &Path)> = Vec::new();
        let mut out = {
            let scope = Scope { input: &input, ..*scope };
            self.build(&scope, &mut 0, &mut moves)?
        };
        if moves.is_empty() {
            return Ok(out);
        }
        let mut input = input;
        // Overlapping nodes are copied (all of them, before anything moves); the others move.
        let shared: Vec<bool> = moves
            .iter()
            .enumerate()
            .map(|(k, (_, p))| {
                moves.iter().enumerate().any(|(j, (_, q))| j != k && overlap(p.segments(), q.segments()))
            })
            .collect();
        let mut values: Vec<(usize, Value)> = Vec::with_capacity(moves.len());
        for (&(slot, p), &copy) in moves.iter().zip(&shared) {
            let v = match copy {
                true => select_ref(&input, p.segments()).cloned().unwrap_or_default(),
                false => Value::Null,
            };
            values.push((slot, v));
        }
        for ((&(_, p), &copy), (_, v)) in moves.iter().zip(&shared).zip(values.iter_mut()) {
            if !copy {
                *v = take_mut(&mut input, p.segments());
            }
        }
        let mut values = values.into_iter().peekable();
        self.place(&mut out, &mut 0, &mut values);
        Ok(out)
    }

    /// [`Template::eval`], except that a movable path's node is left as null and listed in `moves` with
    /// its slot (the `.$` members counted in order).
    fn build<'t>(
        &'t self,
        scope: &Scope<'_>,
        slot: &mut usize,
        moves: &mut Vec<(usize, &'t Path)>,
    ) -> Result<Value, EvalError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(members) => {
                if let Some(prototype) = members.prototype() {
                    let mut out = prototype.clone();
                    for ((_, t), v) in members.iter().zip(out.values_mut()) {
                        *v = t.build(scope, slot, moves)?;
                    }
                    return Ok(Value::Object(out));
                }
                let mut out = Map::with_capacity(members.len());
                for (k, t) in members {
                    out.insert(String::from(k.as_ref()), t.build(scope, slot, moves)?);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => {
                items.iter().map(|t| t.build(scope, slot, moves)).collect::<Result<_, _>>().map(Value::Array)
            }
            Template::Expr { field, expr } => {
                let here = *slot;
                *slot += 1;
                match expr {
                    Expr::Path(p) if movable(p) => match p.select_in(scope.input, scope) {
                        Err(_) => Err(self.path_error(field, p, scope)),
                        Ok(node) => match node.as_ref() {
                            Value::Array(_) | Value::Object(_) | Value::String(_) => {
                                moves.push((here, p));
                                Ok(Value::Null)
                            }
                            scalar => Ok(scalar.clone()),
                        },
                    },
                    _ => self.eval(scope),
                }
            }
        }
    }

    /// Puts the moved nodes into the payload [`Template::build`] made, at their slots.
    fn place(
        &self,
        out: &mut Value,
        slot: &mut usize,
        values: &mut std::iter::Peekable<std::vec::IntoIter<(usize, Value)>>,
    ) {
        match (self, out) {
            (Template::Literal(_), _) => {}
            (Template::Object(members), Value::Object(map)) => {
                for (i, (k, t)) in members.iter().enumerate() {
                    // A key given twice (`a` and `a.$`) holds the later member's value.
                    let last = !members[i + 1..].iter().any(|(k2, _)| k2 == k);
                    match map.get_mut(k.as_ref()) {
                        Some(v) if last => t.place(v, slot, values),
                        _ => t.place(&mut Value::Null, slot, values),
                    }
                }
            }
            (Template::Array(items), Value::Array(a)) => {
                for (t, v) in items.iter().zip(a.iter_mut()) {
                    t.place(v, slot, values);
                }
            }
            (Template::Expr { .. }, out) => {
                if let Some((_, v)) = values.next_if(|(s, _)| *s == *slot) {
                    *out = v;
                }
                *slot += 1;
            }
            (Template::Object(_) | Template::Array(_), _) => {}
        }
    }

    /// Why a `.$` path selected nothing, in AWS's words.
    fn path_error(&self, field: &str, p: &Path, scope: &Scope<'_>) -> EvalError {
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
    }
}

/// A path whose node can be moved out of an owned input: definite, on `$`.
fn movable(p: &Path) -> bool {
    *p.root() == Root::Input && p.is_definite() && p.compile_error().is_none()
}

/// Whether two definite paths may select the same node or one inside the other: one is a prefix of
/// the other (an index from the end may be any index).
fn overlap(a: &[Segment], b: &[Segment]) -> bool {
    for (x, y) in a.iter().zip(b) {
        match (x, y) {
            (Segment::Child(Selector::Name(m)), Segment::Child(Selector::Name(n))) if m != n => return false,
            (Segment::Child(Selector::Index(i)), Segment::Child(Selector::Index(j)))
                if i != j && (*i < 0) == (*j < 0) =>
            {
                return false;
            }
            (Segment::Child(Selector::Name(_)), Segment::Child(Selector::Index(_)))
            | (Segment::Child(Selector::Index(_)), Segment::Child(Selector::Name(_))) => return false,
            _ => {}
        }
    }
    true
}

fn select_ref<'v>(v: &'v Value, segments: &[Segment]) -> Option<&'v Value> {
    let mut cur = v;
    for seg in segments {
        cur = step(cur, seg)?;
    }
    Some(cur)
}

/// Moves the node a definite path selects out of `v` (null left in its place; null when missing).
fn take_mut(v: &mut Value, segments: &[Segment]) -> Value {
    let mut cur = v;
    for seg in segments {
        let next = match (seg, cur) {
            (Segment::Child(Selector::Name(n)), Value::Object(m)) => m.get_mut(n.as_ref()),
            (Segment::Child(Selector::Index(ix)), Value::Array(a)) => {
                let len = a.len();
                resolve_index(*ix, len).and_then(|k| a.get_mut(k))
            }
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return Value::Null,
        }
    }
    std::mem::take(cur)
}

fn collect<'t>(t: &'t Template, out: &mut Vec<(&'t str, &'t Expr)>) {
    match t {
        Template::Literal(_) => {}
        Template::Object(m) => m.iter().for_each(|(_, t)| collect(t, out)),
        Template::Array(a) => a.iter().for_each(|t| collect(t, out)),
        Template::Expr { field, expr } => out.push((field, expr)),
    }
}

/// The positions of an object template's members in the order AWS builds them (see
/// [`crate::java_order`]): the fields without a path in the template's order (a nested object with `.$`
/// fields inside among them: `assign/…BASE_ASSIGN_FROM_INTRINSIC_FUNCTION` records it so), then the `.$`
/// fields in the order of a Java `HashMap` of their names. They are evaluated in that order too.
pub(crate) fn aws_member_order(members: &[(Box<str>, Template)]) -> Vec<usize> {
    let is_path = |k: &usize| matches!(members[*k].1, Template::Expr { .. });
    let (paths, mut order): (Vec<usize>, Vec<usize>) = (0..members.len()).partition(is_path);
    let hashed = crate::java_order::hash_map_order(paths.iter().map(|&k| members[k].0.as_ref()));
    order.extend(hashed.into_iter().map(|i| paths[i]));
    order
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
            if dynamic {
                Ok(Template::Object(Members::new(members)))
            } else {
                Ok(Template::Literal(value.clone()))
            }
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

    /// The member names of what `template` builds from `input`, in order.
    fn built_names(template: Value, input: &Value) -> Vec<String> {
        let t = Template::parse(&template).unwrap();
        let out = t.eval(&Scope::input(input)).unwrap();
        let owned = t.eval_owned(input.clone(), &Scope::input(&Value::Null)).unwrap();
        assert_eq!(
            out.as_object().unwrap().keys().collect::<Vec<_>>(),
            owned.as_object().unwrap().keys().collect::<Vec<_>>()
        );
        out.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn templates_build_their_members_in_aws_order() {
        let input = json!({"a": 1, "b": [2], "c": "3"});
        // scenarios/test_base_scenarios__test_map_state_legacy_reentrant: a constant before a path, and two
        // paths in Java `HashMap` order.
        assert_eq!(
            built_names(json!({"Iterations": 3, "Values.$": "$.b"}), &input),
            ["Iterations", "Values"]
        );
        assert_eq!(
            built_names(json!({"Values.$": "$.b", "Iterations": 3}), &input),
            ["Iterations", "Values"]
        );
        assert_eq!(
            built_names(json!({"Iterations.$": "$.a", "Values.$": "$.b"}), &input),
            ["Values", "Iterations"]
        );
        // scenarios/test_base_scenarios__test_map_state_item_selector__MAP_STATE_ITEM_SELECTOR.
        assert_eq!(
            built_names(
                json!({"original_input.$": "$", "iteration_input_value.$": "$.b", "iteration_index.$": "$.a",
                       "from_input_constant.$": "$.c", "constant_value": "HelloWorld"}),
                &input
            ),
            [
                "constant_value",
                "iteration_input_value",
                "from_input_constant",
                "iteration_index",
                "original_input"
            ]
        );
        // A nested object with paths inside stays with the constants, in the template's order; its own
        // members follow the same rule (assign/…BASE_ASSIGN_FROM_INTRINSIC_FUNCTION).
        let t = Template::parse(&json!({"z": {"Values.$": "$.b", "Iterations.$": "$.a", "k": 0},
                                        "x.$": "$.c", "y": 1}))
        .unwrap();
        let out = t.eval(&Scope::input(&input)).unwrap();
        assert_eq!(out.as_object().unwrap().keys().collect::<Vec<_>>(), ["z", "y", "x"]);
        assert_eq!(out["z"].as_object().unwrap().keys().collect::<Vec<_>>(), ["k", "Values", "Iterations"]);
        // A template that names a field twice keeps its order, and its later field wins.
        assert_eq!(built_names(json!({"Values.$": "$.b", "Values": 0}), &input), ["Values"]);
        assert_eq!(
            Template::parse(&json!({"Values.$": "$.b", "Values": 0}))
                .unwrap()
                .eval(&Scope::input(&input))
                .unwrap(),
            json!({"Values": 0})
        );
    }

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

    /// `eval_owned` gives what `eval` gives, errors included, whatever moves.
    fn same_as_eval(template: Value, input: Value) -> Result<Value, String> {
        let t = Template::parse(&template).unwrap();
        let ctx = json!({"Execution": {"Name": "x"}});
        let scope = Scope { input: &input, context: &ctx, variables: &() };
        let borrowed = t.eval(&scope).map_err(|e| e.message().to_owned());
        let owned = t
            .eval_owned(input.clone(), &Scope { input: &Value::Null, ..scope })
            .map_err(|e| e.message().to_owned());
        assert_eq!(owned, borrowed, "{template}");
        owned
    }

    #[test]
    fn objects_take_aws_member_order_and_a_repeated_key_holds_the_later_member() {
        let input = json!({"a": 1, "b": {"c": 2}});
        // Unique keys: the members without `.$` first, in the template's order (a nested object
        // among them), then the `.$` members in Java HashMap order, at every level.
        let t = Template::parse(&json!({"z.$": "$.a", "m": {"y.$": "$.b.c", "k": 0}, "a": "lit"})).unwrap();
        let out = t.eval(&Scope::input(&input)).unwrap();
        assert_eq!(serde_json::to_string(&out).unwrap(), r#"{"m":{"k":0,"y":2},"a":"lit","z":1}"#);
        assert_eq!(t.eval_owned(input.clone(), &Scope::input(&Value::Null)).unwrap(), out);
        // `a` and `a.$`: one key, in its first place, holding the later member's value.
        for (template, text) in [
            (json!({"a": 0, "x": 1, "a.$": "$.b"}), r#"{"a":{"c":2},"x":1}"#),
            (json!({"a.$": "$.b", "x": 1, "a": 0}), r#"{"a":0,"x":1}"#),
        ] {
            let t = Template::parse(&template).unwrap();
            let out = t.eval(&Scope::input(&input)).unwrap();
            assert_eq!(serde_json::to_string(&out).unwrap(), text, "{template}");
            assert_eq!(t.eval_owned(input.clone(), &Scope::input(&Value::Null)).unwrap(), out, "{template}");
        }
    }

    #[test]
    fn owned_evaluation_moves_what_it_can_and_copies_shared_nodes() {
        let input = json!({"a": {"b": [1, {"c": "x"}], "d": "e"}, "l": [1, 2, 3], "n": 7});
        // The whole input with its length (the map bench's ResultSelector).
        assert_eq!(
            same_as_eval(json!({"all.$": "$", "count.$": "States.ArrayLength($.l)"}), input.clone()).unwrap(),
            json!({"all": input, "count": 3})
        );
        // One node under another's, one node twice, a negative index beside a positive one.
        assert_eq!(
            same_as_eval(
                json!({"a.$": "$.a", "c.$": "$.a.b[1].c", "n1.$": "$.n", "n2.$": "$.n", "last.$": "$.l[-1]", "first.$": "$.l[2]"}),
                input.clone()
            )
            .unwrap(),
            json!({"a": input["a"], "c": "x", "n1": 7, "n2": 7, "last": 3, "first": 3})
        );
        // Disjoint paths, nested in objects and arrays, with literals, calls and the context object.
        assert_eq!(
            same_as_eval(
                json!({"o": {"d.$": "$.a.d", "k": 1, "arr": [{"l.$": "$.l"}, "lit"]}, "f.$": "States.Format('{}-{}', $.a.d, $.n)", "name.$": "$$.Execution.Name"}),
                input.clone()
            )
            .unwrap(),
            json!({"o": {"d": "e", "k": 1, "arr": [{"l": [1, 2, 3]}, "lit"]}, "f": "e-7", "name": "x"})
        );
        // A single path, `$` alone, a literal template.
        assert_eq!(
            same_as_eval(json!({"x.$": "$.a.b"}), input.clone()).unwrap(),
            json!({"x": [1, {"c": "x"}]})
        );
        assert_eq!(same_as_eval(json!({"k": [1]}), input.clone()).unwrap(), json!({"k": [1]}));
        assert_eq!(same_as_eval(json!({"s.$": "$.l[0:2]"}), input.clone()).unwrap(), json!({"s": [1, 2]}));
    }

    #[test]
    fn owned_evaluation_fails_like_eval_and_in_the_same_order() {
        let input = json!({"a": 1, "s": "t"});
        // The first failing member in AWS's member order (`x` hashes before `y`), whatever the
        // template's order and whether it moves or not.
        for template in [
            json!({"x.$": "$.missing", "y.$": "States.MathAdd($.s, 1)"}),
            json!({"y.$": "States.MathAdd($.s, 1)", "x.$": "$.missing"}),
        ] {
            let e = same_as_eval(template, input.clone());
            assert!(e.unwrap_err().contains("'$.missing' specified for the field 'x.$' could not be found"));
        }
        let e = same_as_eval(json!({"b.$": "States.MathAdd($.s, 1)", "x.$": "$.missing"}), input.clone());
        assert!(e.unwrap_err().contains("States.MathAdd"));
        let e = same_as_eval(json!({"x.$": "$.a.b"}), input.clone());
        assert!(e.unwrap_err().contains("could not be found in the input '{\"a\":1,\"s\":\"t\"}'"));
        let e = same_as_eval(json!({"x.$": "$.a", "f.$": "$[?(@.a==b)]"}), input);
        assert!(e.unwrap_err().contains("could not be evaluated: Failed to parse filter"));
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
