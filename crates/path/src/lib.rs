//! `sfn-path`: the Step Functions JsonPath dialect, reference paths, payload templates and intrinsic functions.
//!
//! Place in the workspace: the bottom layer; it depends on nothing of ours. `sfn-asl` parses every path,
//! template, intrinsic call and JSONata expression of a definition with this crate once, at load time;
//! `sfn-engine` evaluates the parsed forms and never re-parses a string while running, except that
//! jsonata-rs parses a JSONata source again at each evaluation ([`jsonata::Expression`] says why).
//!
//! Why hand-written: Step Functions' paths are Jayway JsonPath with Step Functions' own additions
//! (`$$` for the context object, `$name` for variables, `States.*` intrinsic calls with their own escapes,
//! `.$` template keys) and AWS's exact results (indefinite paths always produce arrays, Jayway's error
//! wording, Java's rounding and `toString` in intrinsics). No general JsonPath crate reproduces them.
//!
//! Objects AWS builds itself list their members as AWS's JVM does: a template's fields without `.$` in the
//! definition's order, then its `.$` fields in `java.util.HashMap` order of their names, and
//! `States.JsonMerge`'s result in that order too (`java_order.rs`, OpenJDK's `HashMap` modelled and checked
//! against OpenJDK 17). Data a state machine reads keeps its members' order.
//!
//! It also holds [`ErrorName`], the table of ASL error names (`States.Timeout`, …) and the Retry/Catch
//! matching rule, because every crate above needs it and this one is below them all.
//!
//! Invariants: no IO, no async, no panics on any input (parsers bound nesting and length); evaluation
//! borrows the selected node for definite paths instead of cloning the input.
//!
//! Filters (`[?(…)]`) take every Jayway relational operator (`==`, `=~`, `in`, `nin`, `subsetof`, `anyof`,
//! `noneof`, `size`, `empty`, `contains`, `===`, …, see [`CompareOp`]) with Jayway's type rules. Their
//! regular expressions are compiled once, when the path is parsed, by the backtracking `regress` engine
//! (Java's, which AWS runs, backtracks too): a pattern with nested quantifiers such as `(a+)+$` takes
//! time exponential in the subject's length. Patterns come from the state machine's author; subjects are
//! values of the state's input, bounded only by the payload size (256 KiB on AWS). Nothing here bounds the
//! matching time.
//!
//! ```
//! use serde_json::json;
//! use sfn_path::{Path, Scope, Template};
//! let input = json!({"commands": ["echo", "hello"]});
//! let params = Template::parse(&json!({"Command.$": "$.commands", "Name": "app"})).unwrap();
//! assert_eq!(params.eval(&Scope::input(&input)).unwrap(), json!({"Command": ["echo", "hello"], "Name": "app"}));
//! assert!(Path::parse("$.commands[0]").unwrap().is_definite());
//! ```

mod ast;
mod error;
mod error_name;
mod eval;
mod filter;
mod intrinsics;
mod java_order;
pub mod jsonata;
mod parse;
mod template;

pub use ast::{
    Arg, Call, CompareOp, Expr, Filter, Function, Members, Operand, Path, ReferencePath, Regex, Root,
    Segment, Selector, StrLit, Template,
};
pub use error::{EvalError, ParseError, TemplateError};
pub use error_name::{ErrorName, STATES_PREFIX};
pub use eval::{ContextObject, NotFound, Scope, Variables, json_eq};
pub use intrinsics::{MAX_RANGE_ITEMS, MAX_STRING_INPUT, type_name};

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
