//! `sfn-server`: the Step Functions API over HTTP.
