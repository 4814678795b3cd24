//! CloudWatch Logs for container output (`X-Amz-Target: Logs_20140328.*`, awsJson1_1, on the server's
//! port): `GetLogEvents`, `FilterLogEvents`, `DescribeLogStreams` and `DescribeLogGroups` over a [`LogStore`] that the ECS
//! backend fills (each container with an `awslogs` configuration writes to `group`/`prefix/container/task-id`,
//! as on ECS), so `aws logs get-log-events --endpoint-url …`, `aws logs tail` and boto3 read it unchanged.
//! Each stream keeps its newest [`STREAM_BYTES`]; older events are dropped first.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::error::ApiError;

/// Bytes of messages kept per stream (as the local backend keeps per container).
pub const STREAM_BYTES: usize = 1 << 20;
/// The target prefix of CloudWatch Logs operations.
pub const TARGET_PREFIX: &str = "Logs_20140328.";
/// Events per page unless `limit` says fewer (GetLogEvents' and FilterLogEvents' maximum: 10,000).
const MAX_EVENTS: usize = 10_000;

#[derive(Debug, Clone)]
struct Event {
    seq: u64,
    timestamp: i64,
    ingestion: i64,
    message: String,
}

#[derive(Debug, Default)]
struct Stream {
    events: VecDeque<Event>,
    bytes: usize,
    next_seq: u64,
    created: i64,
}

/// Log groups and their streams, in memory.
#[derive(Debug, Default)]
pub struct LogStore {
    groups: Mutex<BTreeMap<String, BTreeMap<String, Stream>>>,
    region: String,
    account: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl LogStore {
    /// An empty store whose ARNs name `region` and `account`.
    pub fn new(region: &str, account: &str) -> Self {
        LogStore { groups: Mutex::default(), region: region.to_owned(), account: account.to_owned() }
    }

    /// Appends one event (creating the group and the stream on first use, as the awslogs driver does
    /// with `awslogs-create-group`).
    pub fn append(&self, group: &str, stream: &str, timestamp: i64, message: &str) {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let s = groups
            .entry(group.to_owned())
            .or_default()
            .entry(stream.to_owned())
            .or_insert_with(|| Stream { created: now_ms(), ..Stream::default() });
        s.bytes += message.len();
        s.events.push_back(Event {
            seq: s.next_seq,
            timestamp,
            ingestion: now_ms(),
            message: message.to_owned(),
        });
        s.next_seq += 1;
        while s.bytes > STREAM_BYTES {
            let Some(old) = s.events.pop_front() else { break };
            s.bytes -= old.message.len();
        }
    }

    /// The messages of a stream, oldest first (`sfn logs`, tests).
    pub fn messages(&self, group: &str, stream: &str) -> Vec<String> {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups
            .get(group)
            .and_then(|g| g.get(stream))
            .map(|s| s.events.iter().map(|e| e.message.clone()).collect())
            .unwrap_or_default()
    }

    /// Answers one `Logs_20140328.<op>` request (`op` without the prefix), as the endpoint does.
    pub fn call(&self, op: &str, body: &Value) -> Result<Value, ApiError> {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let group_name = body
            .get("logGroupName")
            .or_else(|| body.get("logGroupIdentifier"))
            .and_then(Value::as_str)
            .map(|g| g.rsplit_once(":log-group:").map_or(g, |(_, n)| n).trim_end_matches(":*"));
        let group = || {
            let name = group_name.ok_or_else(|| invalid("logGroupName"))?;
            groups.get(name).ok_or_else(|| not_found("The specified log group does not exist."))
        };
        match op {
            "DescribeLogGroups" => {
                let prefix = body.get("logGroupNamePrefix").and_then(Value::as_str).unwrap_or_default();
                let list: Vec<Value> = groups
                    .keys()
                    .filter(|g| g.starts_with(prefix))
                    .map(|g| {
                        let arn = format!("arn:aws:logs:{}:{}:log-group:{g}", self.region, self.account);
                        json!({"logGroupName": g, "arn": format!("{arn}:*"), "logGroupArn": arn, "storedBytes": 0})
                    })
                    .collect();
                Ok(json!({"logGroups": list}))
            }
            "GetLogEvents" => {
                let stream_name = body
                    .get("logStreamName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("logStreamName"))?;
                let stream = group()?
                    .get(stream_name)
                    .ok_or_else(|| not_found("The specified log stream does not exist."))?;
                Ok(get_log_events(stream, body))
            }
            "FilterLogEvents" => Ok(filter_log_events(group()?, body)),
            "DescribeLogStreams" => {
                let name = group_name.unwrap_or_default();
                Ok(self.describe_log_streams(name, group()?, body))
            }
            other => Err(ApiError::client(
                "UnknownOperationException",
                format!("The operation {other} is not supported by this endpoint"),
            )),
        }
    }

    fn describe_log_streams(&self, group: &str, streams: &BTreeMap<String, Stream>, body: &Value) -> Value {
        let prefix = body.get("logStreamNamePrefix").and_then(Value::as_str).unwrap_or_default();
        let by_time = body.get("orderBy").and_then(Value::as_str) == Some("LastEventTime");
        let descending = body.get("descending").and_then(Value::as_bool).unwrap_or(false);
        let limit = body.get("limit").and_then(Value::as_u64).map_or(50, |l| l.clamp(1, 50) as usize);
        let mut list: Vec<(&String, &Stream)> =
            streams.iter().filter(|(n, _)| n.starts_with(prefix)).collect();
        if by_time {
            list.sort_by_key(|(_, s)| s.events.back().map(|e| e.timestamp));
        }
        if descending {
            list.reverse();
        }
        let items: Vec<Value> = list
            .into_iter()
            .take(limit)
            .map(|(name, s)| {
                let mut v = json!({
                    "logStreamName": name,
                    "creationTime": s.created,
                    "arn": format!("arn:aws:logs:{}:{}:log-group:{group}:log-stream:{name}", self.region, self.account),
                    "storedBytes": 0,
                });
                if let (Some(first), Some(last)) = (s.events.front(), s.events.back()) {
                    v["firstEventTimestamp"] = json!(first.timestamp);
                    v["lastEventTimestamp"] = json!(last.timestamp);
                    v["lastIngestionTime"] = json!(last.ingestion);
                }
                v
            })
            .collect();
        json!({"logStreams": items})
    }
}

fn invalid(field: &str) -> ApiError {
    ApiError::client("InvalidParameterException", format!("Missing required parameter {field}"))
}

fn not_found(message: &str) -> ApiError {
    ApiError::client("ResourceNotFoundException", message)
}

fn limit(body: &Value) -> usize {
    body.get("limit").and_then(Value::as_u64).map_or(MAX_EVENTS, |l| (l as usize).clamp(1, MAX_EVENTS))
}

fn in_window(e: &Event, body: &Value) -> bool {
    let start = body.get("startTime").and_then(Value::as_i64);
    let end = body.get("endTime").and_then(Value::as_i64);
    start.is_none_or(|s| e.timestamp >= s) && end.is_none_or(|t| e.timestamp <= t)
}

/// GetLogEvents: the newest `limit` events (the oldest with `startFromHead`), or from a token:
/// `f/<seq>` continues forward, `b/<seq>` goes back from there. An empty page returns the same token, the
/// end of the stream as the AWS CLI and SDK paginators expect it.
fn get_log_events(s: &Stream, body: &Value) -> Value {
    let n = limit(body);
    let events: Vec<&Event> = s.events.iter().filter(|e| in_window(e, body)).collect();
    let token = body.get("nextToken").and_then(Value::as_str);
    let from_head = body.get("startFromHead").and_then(Value::as_bool).unwrap_or(false);
    let page: Vec<&Event> = match token.and_then(|t| t.split_once('/')) {
        Some(("f", seq)) => {
            let seq: u64 = seq.parse().unwrap_or(0);
            events.into_iter().filter(|e| e.seq >= seq).take(n).collect()
        }
        Some(("b", seq)) => {
            let seq: u64 = seq.parse().unwrap_or(0);
            let before: Vec<&Event> = events.into_iter().filter(|e| e.seq < seq).collect();
            before[before.len().saturating_sub(n)..].to_vec()
        }
        _ if from_head => events.into_iter().take(n).collect(),
        _ => events[events.len().saturating_sub(n)..].to_vec(),
    };
    let forward = page.last().map_or_else(
        || token.map(str::to_owned).unwrap_or_else(|| format!("f/{}", s.next_seq)),
        |e| format!("f/{}", e.seq + 1),
    );
    let backward = page.first().map_or_else(|| format!("b/{}", s.next_seq), |e| format!("b/{}", e.seq));
    let items: Vec<Value> = page
        .iter()
        .map(|e| json!({"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion}))
        .collect();
    json!({"events": items, "nextForwardToken": forward, "nextBackwardToken": backward})
}

/// Whether `message` matches a filter pattern: every term (a word, or a `"quoted phrase"`) occurs in it;
/// an empty pattern matches everything (CloudWatch Logs' unstructured-term patterns; the `?term`, `-term`
/// and JSON/space-delimited forms are not supported and match as plain text).
fn matches(pattern: &str, message: &str) -> bool {
    let mut rest = pattern.trim();
    while !rest.is_empty() {
        let (term, tail) = if let Some(q) = rest.strip_prefix('"') {
            q.split_once('"').unwrap_or((q, ""))
        } else {
            rest.split_once(char::is_whitespace).unwrap_or((rest, ""))
        };
        if !message.contains(term) {
            return false;
        }
        rest = tail.trim_start();
    }
    true
}

/// FilterLogEvents over the group's streams (all, `logStreamNames`, or `logStreamNamePrefix`), by time.
fn filter_log_events(streams: &BTreeMap<String, Stream>, body: &Value) -> Value {
    let names: Option<Vec<&str>> = body
        .get("logStreamNames")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let prefix = body.get("logStreamNamePrefix").and_then(Value::as_str).unwrap_or_default();
    let pattern = body.get("filterPattern").and_then(Value::as_str).unwrap_or_default();
    let chosen: Vec<(&String, &Stream)> = streams
        .iter()
        .filter(|(n, _)| names.as_ref().is_none_or(|ns| ns.contains(&n.as_str())) && n.starts_with(prefix))
        .collect();
    let mut events: Vec<(&String, &Event)> = chosen
        .iter()
        .flat_map(|(n, s)| s.events.iter().map(move |e| (*n, e)))
        .filter(|(_, e)| in_window(e, body) && matches(pattern, &e.message))
        .collect();
    events.sort_by_key(|(n, e)| (e.timestamp, (*n).clone(), e.seq));
    // The token is how many events of this query were handed out already.
    let skip: usize = body.get("nextToken").and_then(Value::as_str).and_then(|t| t.parse().ok()).unwrap_or(0);
    let n = limit(body);
    let page: Vec<Value> = events
        .iter()
        .skip(skip)
        .take(n)
        .map(|(name, e)| {
            json!({"logStreamName": name, "timestamp": e.timestamp, "message": e.message,
                "ingestionTime": e.ingestion, "eventId": format!("{}-{}", e.seq, e.timestamp)})
        })
        .collect();
    let mut out = json!({
        "events": page,
        "searchedLogStreams": chosen.iter().map(|(n, _)| json!({"logStreamName": n, "searchedCompletely": true})).collect::<Vec<_>>(),
    });
    if skip + n < events.len() {
        out["nextToken"] = json!((skip + n).to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> LogStore {
        let s = LogStore::new("us-east-1", "123456789012");
        for i in 0..5 {
            s.append("/ecs/job", "ecs/app/t1", 1000 + i, &format!("line {i}"));
        }
        s.append("/ecs/job", "ecs/side/t1", 1002, "side ERROR here");
        s
    }

    #[test]
    fn get_log_events_pages_forward_and_ends_with_the_same_token() {
        let s = store();
        let first = s.call("GetLogEvents", &json!({"logGroupName": "/ecs/job", "logStreamName": "ecs/app/t1", "startFromHead": true, "limit": 3})).unwrap();
        let msgs: Vec<&str> =
            first["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
        assert_eq!(msgs, ["line 0", "line 1", "line 2"]);
        let token = first["nextForwardToken"].as_str().unwrap();
        let second = s
            .call(
                "GetLogEvents",
                &json!({"logGroupName": "/ecs/job", "logStreamName": "ecs/app/t1", "nextToken": token}),
            )
            .unwrap();
        assert_eq!(second["events"].as_array().unwrap().len(), 2);
        let t2 = second["nextForwardToken"].as_str().unwrap();
        let third = s
            .call(
                "GetLogEvents",
                &json!({"logGroupName": "/ecs/job", "logStreamName": "ecs/app/t1", "nextToken": t2}),
            )
            .unwrap();
        assert!(third["events"].as_array().unwrap().is_empty());
        assert_eq!(third["nextForwardToken"], t2);
    }

    #[test]
    fn missing_groups_and_streams_are_resource_not_found() {
        let s = store();
        let e = s.call("GetLogEvents", &json!({"logGroupName": "/nope", "logStreamName": "x"})).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ResourceNotFoundException", "The specified log group does not exist.")
        );
        let e =
            s.call("GetLogEvents", &json!({"logGroupName": "/ecs/job", "logStreamName": "x"})).unwrap_err();
        assert_eq!(e.message, "The specified log stream does not exist.");
    }

    #[test]
    fn filter_and_describe() {
        let s = store();
        let f = s
            .call("FilterLogEvents", &json!({"logGroupName": "/ecs/job", "filterPattern": "ERROR"}))
            .unwrap();
        assert_eq!(f["events"][0]["logStreamName"], "ecs/side/t1");
        assert_eq!(f["events"].as_array().unwrap().len(), 1);
        let all = s.call("FilterLogEvents", &json!({"logGroupName": "/ecs/job", "limit": 4})).unwrap();
        assert_eq!(all["nextToken"], "4");
        let d = s
            .call(
                "DescribeLogStreams",
                &json!({"logGroupName": "/ecs/job", "logStreamNamePrefix": "ecs/app"}),
            )
            .unwrap();
        assert_eq!(d["logStreams"][0]["logStreamName"], "ecs/app/t1");
        assert_eq!(d["logStreams"][0]["lastEventTimestamp"], 1004);
    }

    #[test]
    fn each_stream_keeps_its_newest_bytes() {
        let s = LogStore::new("us-east-1", "1");
        let line = "x".repeat(1000);
        for _ in 0..3000 {
            s.append("g", "s", 0, &line);
        }
        let kept = s.messages("g", "s");
        assert!(kept.len() * 1000 <= STREAM_BYTES && kept.len() * 1000 > STREAM_BYTES - 1000);
    }
}
