//! The desired-state file: YAML in, a validated [`crate::model::StateFile`] out, with every
//! problem reported as a located diagnostic.
