//! `sfn-path`: the Step Functions JsonPath dialect, reference paths, payload templates and intrinsic functions.
