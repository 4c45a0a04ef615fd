//! The integration tests of the read models and the national exchange format, one
//! module a concern, linked into one binary: a test binary per file cost a link of the
//! whole dependency tree each, the larger part of the suite's build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod budget;
mod exchange;
mod exchange_levels;
mod readmodel;
