//! End-to-end tests: the real binary against the emulator over HTTP on 127.0.0.1.
mod plan_props;
