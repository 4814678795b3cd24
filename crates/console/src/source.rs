//! Where the pages read from: the Step Functions API and the CloudWatch Logs API, called in process. A
//! [`Source`] is [`sfn_server::Api`] for `sfn serve` (the same code path that answers its HTTP clients,
//! so the console shows what the API serves) or [`Finished`] for `sfn run --open` (one finished run,
//! answered in the API's shapes).

use std::sync::Arc;

use serde_json::{Value, json};
use sfn_server::{ApiError, LogStore};

/// The API the console reads: Step Functions operations (ListStateMachines, ListExecutions,
/// DescribeExecution, DescribeStateMachineForExecution, GetExecutionHistory, StopExecution) and
/// CloudWatch Logs operations (DescribeLogGroups, DescribeLogStreams, GetLogEvents), in their wire shapes.
#[async_trait::async_trait]
pub trait Source: Send + Sync {
    /// One Step Functions operation (`DescribeExecution`, …) on `input`.
    async fn call(&self, operation: &str, input: Value) -> Result<Value, ApiError>;
    /// One CloudWatch Logs operation (`GetLogEvents`, …) on `input`.
    fn call_logs(&self, operation: &str, input: &Value) -> Result<Value, ApiError>;
}

#[async_trait::async_trait]
impl Source for sfn_server::Api {
    async fn call(&self, operation: &str, input: Value) -> Result<Value, ApiError> {
        sfn_server::Api::call(self, operation, &input).await
    }

    fn call_logs(&self, operation: &str, input: &Value) -> Result<Value, ApiError> {
        sfn_server::Api::call_logs(self, operation, input)
    }
}

/// One finished execution (`sfn run --open`): its state machine, its DescribeExecution, its history and
/// its containers' logs, answered as the API would.
#[derive(Debug)]
pub struct Finished {
    machine: Value,
    execution: Value,
    events: Vec<Value>,
    logs: Arc<LogStore>,
}

impl Finished {
    /// `execution` is the run's DescribeExecution (`executionArn`, `stateMachineArn`, `name`, `status`,
    /// `startDate`, `stopDate`, `input`, `output`/`error`/`cause`); `definition` its machine's ASL text;
    /// `events` its history (GetExecutionHistory's events, oldest first); `logs` its containers' output.
    pub fn new(execution: Value, definition: &str, events: Vec<Value>, logs: Arc<LogStore>) -> Finished {
        let arn = execution["stateMachineArn"].as_str().unwrap_or_default().to_owned();
        let name = arn.rsplit(':').next().unwrap_or_default().to_owned();
        let machine = json!({
            "stateMachineArn": arn, "name": name, "type": "STANDARD",
            "creationDate": execution["startDate"], "definition": definition,
            "roleArn": "", "updateDate": execution["startDate"],
        });
        Finished { machine, execution, events, logs }
    }

    fn summary(&self) -> Value {
        let e = &self.execution;
        json!({"executionArn": e["executionArn"], "stateMachineArn": e["stateMachineArn"], "name": e["name"],
            "status": e["status"], "startDate": e["startDate"], "stopDate": e["stopDate"]})
    }

    fn check_arn(&self, input: &Value, key: &str, of: &Value) -> Result<(), ApiError> {
        let asked = input[key].as_str().unwrap_or_default();
        if asked == of[key].as_str().unwrap_or_default() {
            Ok(())
        } else if key == "executionArn" {
            Err(ApiError::execution_not_found(asked))
        } else {
            Err(ApiError::machine_not_found(asked))
        }
    }
}

#[async_trait::async_trait]
impl Source for Finished {
    async fn call(&self, operation: &str, input: Value) -> Result<Value, ApiError> {
        let m = &self.machine;
        match operation {
            "ListStateMachines" => Ok(json!({"stateMachines": [{"stateMachineArn": m["stateMachineArn"],
                "name": m["name"], "type": m["type"], "creationDate": m["creationDate"]}]})),
            "DescribeStateMachine" => {
                self.check_arn(&input, "stateMachineArn", m)?;
                Ok(m.clone())
            }
            "ListExecutions" => {
                self.check_arn(&input, "stateMachineArn", m)?;
                let wanted = input["statusFilter"].as_str();
                let status = self.execution["status"].as_str();
                let list: Vec<Value> =
                    if wanted.is_none() || wanted == status { vec![self.summary()] } else { Vec::new() };
                Ok(json!({"executions": list}))
            }
            "DescribeExecution" => {
                self.check_arn(&input, "executionArn", &self.execution)?;
                Ok(self.execution.clone())
            }
            "DescribeStateMachineForExecution" => {
                self.check_arn(&input, "executionArn", &self.execution)?;
                Ok(m.clone())
            }
            "GetExecutionHistory" => {
                self.check_arn(&input, "executionArn", &self.execution)?;
                let mut events = self.events.clone();
                if input["reverseOrder"] == true {
                    events.reverse();
                }
                // Pages as the API's (default 100, at most 1000 events); the token is the next position.
                let max =
                    input["maxResults"].as_u64().filter(|n| *n > 0).map_or(100, |n| n.min(1000)) as usize;
                let from = match input["nextToken"].as_str() {
                    Some(t) => {
                        t.parse::<usize>().ok().filter(|p| *p <= events.len()).ok_or_else(|| {
                            ApiError::client("InvalidToken", format!("Invalid Token: '{t}'"))
                        })?
                    }
                    None => 0,
                };
                let total = events.len();
                let page: Vec<Value> = events.into_iter().skip(from).take(max).collect();
                let mut out = json!({"events": page});
                if from + max < total {
                    out["nextToken"] = json!((from + max).to_string());
                }
                Ok(out)
            }
            // Finished already: StopExecution answers its stop date, as the API does for an ended execution.
            "StopExecution" => {
                self.check_arn(&input, "executionArn", &self.execution)?;
                Ok(json!({"stopDate": self.execution["stopDate"]}))
            }
            other => Err(ApiError::client(
                "UnknownOperationException",
                format!("The operation {other} is not supported by this endpoint"),
            )),
        }
    }

    fn call_logs(&self, operation: &str, input: &Value) -> Result<Value, ApiError> {
        self.logs.call(operation, input)
    }
}
