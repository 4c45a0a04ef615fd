//! Domain layer of hoso: the rules a command must satisfy before it may be
//! appended to the ledger.
//!
//! - [`calendar`]: the Vietnamese working-day calendar (lunar Tết and Hùng
//!   Kings day, Labour Code holidays, compensatory and swapped days) that
//!   every deadline is counted in.
//! - [`profile`]: province profiles as data — deadlines, approval windows,
//!   approval authority, report due dates and sync cadence of each
//!   provincial regulation (and a national one after Circular 06/2023).
//! - [`org`], [`account`], [`dossier`]: the three aggregates as pure
//!   deciders (`decide` / `evolve`). [`org::OrgTree`] answers the tree at
//!   any date.
//! - [`form`]: the résumé form's sections; [`person_id`]: the 12-digit
//!   identification number; [`credentials`]: DT 10 password rules and the
//!   argon2id credential table kept outside the log; [`signing`]: what an
//!   approval signature covers; [`restriction`]: the access-restriction
//!   level of each field (data in the profile) and a reader's clearance.
//! - [`workflows`]: the command handlers — load aggregates from the store,
//!   check who may do what, decide, append with optimistic concurrency, and
//!   carry out the follow-on events other aggregates need.

pub mod account;
pub mod calendar;
mod convert;
pub mod credentials;
pub mod dossier;
pub mod form;
pub mod org;
pub mod person_id;
pub mod profile;
pub mod restriction;
pub mod sealing;
pub mod signing;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod text;
pub mod workflows;
