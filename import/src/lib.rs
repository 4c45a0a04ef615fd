//! Bulk import of a province's existing personnel records from the XLSX or
//! CSV file its current HR software exports, one row per person (the format:
//! `docs/import-format.md`).
//!
//! - [`columns`]: the format's columns, their Vietnamese headers, machine keys
//!   and the form items they fill.
//! - [`read`]: a CSV or XLSX file into a [`read::Table`].
//! - [`rows`]: every row checked by the same input and form rules as the API,
//!   all problems collected.
//! - [`run`]: the dry run and the real run over the handlers: the whole file
//!   checked before the first append, deterministic ids, idempotent reruns.

pub mod columns;
pub mod read;
pub mod rows;
pub mod run;

pub use read::{FileKind, ReadError, Table, XLSX_MEDIA_TYPE};
pub use rows::Problem;
pub use run::{DEFAULT_SOURCE, ImportError, Options, Phase, Report, run};
