//! The integration tests of the bulk import through its public API over the
//! test province of `hoso_commands::testkit`, linked into one binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod run;
