//! The definition as serde reads it: one union of every state field, checked for types and unknown names.
//! `lower` turns it into the model with the rules that depend on the state type and query language (the
//! table in `schema`, which names the fields of [`RawState`] in the same order).

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// A field that distinguishes absent, `null` and a value.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Nullable<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Nullable::Null,
            Some(v) => Nullable::Value(v),
        })
    }
}

/// A field whose `null` is a value (`"Output": null` outputs null), unlike `Option`'s default.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// `T` read from a JSON object only. Serde's derived structs also accept an array of their fields in order
/// (`"ProcessorConfig": ["DISTRIBUTED"]` would read as `Mode`), which AWS rejects as a type error.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(ObjectVisitor(PhantomData)).map(Object)
    }
}

/// An optional object field (see [`Object`]).
fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Ok(Option::<Object<T>>::deserialize(d)?.map(|o| o.0))
}

/// An optional array of objects (see [`Object`]).
fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Vec<T>>, D::Error> {
    Ok(Option::<Vec<Object<T>>>::deserialize(d)?.map(|v| v.into_iter().map(|o| o.0).collect()))
}

impl<T> Nullable<T> {
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, Nullable::Absent)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub(crate) struct RawMachine {
    pub(crate) comment: Option<String>,
    pub(crate) start_at: Option<String>,
    pub(crate) states: Option<Map<String, Value>>,
    pub(crate) timeout_seconds: Option<u64>,
    pub(crate) version: Option<String>,
    pub(crate) query_language: Option<RawQueryLanguage>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub(crate) enum RawQueryLanguage {
    #[serde(rename = "JSONPath")]
    JsonPath,
    #[serde(rename = "JSONata")]
    Jsonata,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub(crate) struct RawState {
    #[serde(rename = "Type")]
    pub(crate) kind: Option<String>,
    pub(crate) comment: Option<String>,
    pub(crate) query_language: Option<RawQueryLanguage>,
    pub(crate) next: Option<String>,
    pub(crate) end: Option<bool>,
    #[serde(default)]
    pub(crate) input_path: Nullable<String>,
    #[serde(default)]
    pub(crate) output_path: Nullable<String>,
    #[serde(default)]
    pub(crate) result_path: Nullable<String>,
    pub(crate) parameters: Option<Value>,
    pub(crate) arguments: Option<Value>,
    pub(crate) result_selector: Option<Value>,
    #[serde(default)]
    pub(crate) result: Nullable<Value>,
    pub(crate) assign: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) output: Option<Value>,
    pub(crate) resource: Option<String>,
    pub(crate) timeout_seconds: Option<Value>,
    pub(crate) timeout_seconds_path: Option<String>,
    pub(crate) heartbeat_seconds: Option<Value>,
    pub(crate) heartbeat_seconds_path: Option<String>,
    pub(crate) credentials: Option<Value>,
    #[serde(default, deserialize_with = "objects")]
    pub(crate) retry: Option<Vec<RawRetrier>>,
    #[serde(default, deserialize_with = "objects")]
    pub(crate) catch: Option<Vec<RawCatcher>>,
    #[allow(dead_code, reason = "type-checked by serde; lowered from the JSON to keep every rule's pointer")]
    pub(crate) choices: Option<Vec<Value>>,
    pub(crate) default: Option<String>,
    pub(crate) seconds: Option<Value>,
    pub(crate) seconds_path: Option<String>,
    pub(crate) timestamp: Option<String>,
    pub(crate) timestamp_path: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) error_path: Option<String>,
    pub(crate) cause: Option<String>,
    pub(crate) cause_path: Option<String>,
    #[serde(default, deserialize_with = "objects")]
    pub(crate) branches: Option<Vec<RawBranch>>,
    #[serde(default, deserialize_with = "object")]
    pub(crate) item_processor: Option<RawBranch>,
    #[serde(default, deserialize_with = "object")]
    pub(crate) iterator: Option<RawBranch>,
    pub(crate) items_path: Option<String>,
    pub(crate) items: Option<Value>,
    pub(crate) item_selector: Option<Value>,
    pub(crate) item_reader: Option<Value>,
    pub(crate) item_batcher: Option<Value>,
    pub(crate) result_writer: Option<Value>,
    pub(crate) max_concurrency: Option<Value>,
    pub(crate) max_concurrency_path: Option<String>,
    pub(crate) tolerated_failure_count: Option<Value>,
    pub(crate) tolerated_failure_count_path: Option<String>,
    pub(crate) tolerated_failure_percentage: Option<Value>,
    pub(crate) tolerated_failure_percentage_path: Option<String>,
    pub(crate) label: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub(crate) struct RawRetrier {
    pub(crate) error_equals: Vec<String>,
    pub(crate) interval_seconds: Option<Value>,
    pub(crate) max_attempts: Option<Value>,
    pub(crate) backoff_rate: Option<Value>,
    pub(crate) max_delay_seconds: Option<Value>,
    pub(crate) jitter_strategy: Option<String>,
    pub(crate) comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub(crate) struct RawCatcher {
    pub(crate) error_equals: Vec<String>,
    pub(crate) next: String,
    #[serde(default)]
    pub(crate) result_path: Nullable<String>,
    pub(crate) assign: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) output: Option<Value>,
    pub(crate) comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub(crate) struct RawBranch {
    pub(crate) start_at: Option<String>,
    #[allow(dead_code, reason = "emptied before serde runs; nested states are lowered one by one")]
    pub(crate) states: Option<Map<String, Value>>,
    pub(crate) comment: Option<String>,
    #[serde(default, deserialize_with = "object")]
    pub(crate) processor_config: Option<RawProcessorConfig>,
    /// Not allowed here (the states inside inherit the machine's language); read only to report it as AWS does.
    pub(crate) query_language: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub(crate) struct RawProcessorConfig {
    pub(crate) mode: Option<String>,
    pub(crate) execution_type: Option<String>,
}
