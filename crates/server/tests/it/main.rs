//! Integration tests of `sfn-server` with real clients (boto3, aws-sdk-sfn) over loopback HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on unexpected values")]
