//! The `sfn` command line.
fn main() {}
