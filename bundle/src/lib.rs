//! Offline dossier bundles for audit inspectors.
//!
//! A bundle is one file holding a dossier's events exactly as stored (sealed fields
//! stay ciphertext), the key registrations of the accounts that signed its approvals,
//! the attachment hashes it cites, an inclusion proof for every one of these events
//! against one signed tree head, and that head. [`export()`] builds one from a store,
//! its Merkle tree and a head; [`verify()`] checks one with nothing but its bytes and,
//! to authenticate it, the province's published ledger public key; [`timeline()`]
//! turns a verified bundle into the dossier's history. The format is specified in
//! `docs/bundle-format.md` so that others can write their own verifier.

pub mod export;
pub mod format;
pub mod timeline;
pub mod verify;

pub use export::{ExportError, export};
pub use format::{Attachment, Bundle, BundleDocument, BundleEvent, FORMAT};
pub use timeline::{
    FieldChange, Lang, SEALED, SignatureMark, TimelineEntry, timeline, timeline_in,
};
pub use verify::{
    ApprovalCheck, Authentication, BundleError, EventRef, Report, Section, VerifiedEvent, verify,
};
