//! `sfn-asl`: the Amazon States Language as typed values, parsed with locations and statically validated.
