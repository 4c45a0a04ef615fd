//! The integration tests of the `hoso` binary and its HTTP server, driven as operators
//! and clients drive them, one module a concern, linked into one binary: a test binary
//! per file cost a link of the whole dependency tree each, the larger part of the
//! suite's build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod at_rest;
mod attachments;
mod backup;
mod bulk_import;
mod bundle;
mod cli;
mod connection_key;
mod decisions;
mod delegations;
mod hardening;
mod health;
mod http;
mod init;
mod ledger_keys;
mod lifecycle;
mod malformed;
mod national_month;
mod portal;
mod portal_access;
mod portal_snv;
mod portal_year;
mod portal_year_head;
mod portal_year_hr;
mod problems;
mod reports;
mod restructure;
mod resume;
mod schema_run;
mod servant;
mod support;
mod sync;
mod sync_continuous;
mod sync_import;
mod sync_pull;
mod sync_pull_continuous;
mod transfers;
mod trust;
mod two_nodes;
mod web;
