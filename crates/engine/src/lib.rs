//! `sfn-engine`: the Step Functions interpreter.
