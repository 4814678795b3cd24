//! `sfn-iam`: least-privilege IAM policies for a state machine role.
