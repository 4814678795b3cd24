//! `sfn`: validate, run, test and secure Step Functions state machines that run ECS tasks.
