//! Domain layer of hoso: the rules a command must satisfy before it may be
//! appended to the ledger.
//!
//! - [`calendar`]: the Vietnamese working-day calendar (lunar Tết and Hùng
//!   Kings day, Labour Code holidays, compensatory and swapped days) that
//!   every deadline is counted in.
//! - [`profile`]: province profiles as data — deadlines, approval windows,
//!   approval authority, report due dates and sync cadence of each
//!   provincial regulation (and a national one after Circular 06/2023).
//! - [`org`]: the organisation tree as a pure decider (`decide` / `evolve`)
//!   and [`org::OrgTree`], which answers the tree at any date (renames,
//!   mergers, splits, dissolutions are effective-dated).

pub mod calendar;
pub mod org;
pub mod profile;
