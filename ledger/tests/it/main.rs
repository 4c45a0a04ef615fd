//! The integration tests of the event stores and the Merkle tree, one module a concern,
//! linked into one binary: a test binary per file cost a link of the whole dependency
//! tree each, the larger part of the suite's build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod kurrentdb;
mod merkle_tree;
mod postgres;
mod sealer;
mod sqlite;
