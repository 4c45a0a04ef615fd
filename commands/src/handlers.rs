//! The command handlers, one module per aggregate. Each states its rule in
//! an `authorize` step and leaves loading, sealing and appending to
//! [`crate::execute`].

pub mod account;
pub mod bulk_import;
pub mod dossier;
pub mod org;
pub mod sync;
pub mod sync_continuous;
pub mod sync_months;
