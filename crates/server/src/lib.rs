//! `sfn-server`: the Step Functions API over HTTP (awsJson1_0: `POST /`, `X-Amz-Target:
//! AWSStepFunctions.<Operation>`), for boto3, the AWS CLI and every AWS SDK.
//!
//! Place in the workspace: above the engine; used by the CLI (`sfn serve`, and `sfn run`'s callback
//! endpoint for `.waitForTaskToken` containers).
//!
//! Invariants: binds loopback unless the caller asks otherwise; request bodies over 1 MiB are refused;
//! errors have AWS's shape (`{"__type", "message"}`); SendTask* has one implementation ([`send_task`]),
//! shared by every endpoint. Like Step Functions Local, requests are not SigV4-checked: the task token
//! is the credential.

mod callback;

pub use callback::{
    ApiError, MAX_BODY_BYTES, body_json, callback_router, operation, send_task, serve_callbacks,
};
