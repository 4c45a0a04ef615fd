//! The integration tests of the API crate's pieces driven from outside (attachments
//! store, time), one module a concern, linked into one binary: a test binary per file
//! cost a link of the whole dependency tree each, the larger part of the suite's build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attachments;
mod openapi;
mod time;
