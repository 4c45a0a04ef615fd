//! The rules of hoso, pure: what a command must satisfy before it may become an
//! event, and what the events mean once folded.
//!
//! Nothing here does I/O, holds a lock or reads the system time: every function
//! takes the facts it decides on (the state folded from a stream, today's date, the
//! profile) and answers events or a rejection naming the rule. The handlers in
//! `hoso-commands` load, authorise, seal and append around these deciders; the
//! projections fold the same events with the same types.
//!
//! - [`clock`]: the one source of "now", injected everywhere ([`clock::SystemClock`]
//!   in the binary, [`clock::ManualClock`] in tests).
//! - [`calendar`]: the Vietnamese working-day calendar (lunar Tết and Hùng Kings day,
//!   Labour Code holidays, compensatory and swapped days) every deadline is counted in.
//! - [`profile`]: province profiles as data — deadlines, approval windows, approval
//!   authority, report due dates and sync cadence of each provincial regulation (and a
//!   national one after Circular 06/2023/TT-BNV).
//! - [`org`], [`account`], [`dossier`]: the three aggregates as pure deciders
//!   (`decide` / `evolve`). [`org::OrgTree`] answers the tree at any date.
//! - [`review`]: the review cycle of a dossier's declarations, the one state machine
//!   the deciders, the read models and the API share.
//! - [`form`]: the résumé form's sections; [`person_id`]: the 12-digit
//!   identification number; [`text`]: folding Vietnamese text for search and
//!   uniqueness; [`signing`]: what an approval signature covers; [`restriction`]:
//!   the access-restriction level of each field and a reader's clearance;
//!   [`input`]: the text and date rules every input passes before it may reach
//!   the log (NFC, no controls or invisible characters, bounded lengths).

pub mod account;
pub mod calendar;
pub mod clock;
mod convert;
pub mod dossier;
pub mod form;
pub mod input;
pub mod org;
pub mod person_id;
pub mod profile;
pub mod restriction;
pub mod review;
pub mod signing;
pub mod text;
