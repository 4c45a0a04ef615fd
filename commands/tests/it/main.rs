//! The integration tests of the command handlers through `Workflows`, one module a
//! concern, linked into one binary: a test binary per file cost a link of the whole
//! dependency tree each, the larger part of the suite's build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod deadlines;
mod inspector;
mod properties;
mod sync;
mod sync_continuous;
mod workflows;
