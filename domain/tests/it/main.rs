//! The integration tests of the pure domain rules, one module a concern, linked into
//! one binary: a test binary per file cost a link of the whole dependency tree each,
//! the larger part of the suite's build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account;
mod calendar;
mod dossier;
mod org;
mod profiles;
mod support;
