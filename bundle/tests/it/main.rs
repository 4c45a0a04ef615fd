//! The integration tests of dossier bundles: the format and the mutation corpus, one
//! module a concern, linked into one binary: a test binary per file cost a link of the
//! whole dependency tree each, the larger part of the suite's build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bundle;
mod mutation;
