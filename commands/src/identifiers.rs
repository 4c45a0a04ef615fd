//! Identification numbers at rest: sealed in every event that names a person,
//! looked up by a keyed hash.
//!
//! The domain is pure and holds no key, so its events carry the number in
//! clear (`person_id`, a consent's `subject_person_id`). On the way to the
//! log, [`seal_events`] (run by every append of [`Workflows`]) seals the number under the data key
//! of the aggregate whose stream carries the event (the dossier, or the
//! account) and writes its person key ([`Keyring::person_key`], an HMAC under
//! the identifier key) beside it; the clear field is left empty. On the way
//! back, [`open_event`] opens it into the clear field before an aggregate's
//! events are folded, and [`key_event`] only makes sure the person key is
//! there (the handlers' index needs nothing more).
//!
//! Events written before identifiers were sealed carry the number in clear
//! and no person key: they are read as they are (the log is never
//! rewritten), and their person key is computed from the number, so lookups
//! and uniqueness work across old and new events alike.

use hoso_domain::{account, dossier};
use hoso_schemas::DomainEvent;

use crate::error::Result;
use crate::sealing::{Keyring, PERSON_ID_CONTEXT, SealError, consent_subject_context};
use crate::workflows::Workflows;

/// The parts of an event that carry an identification number: the clear
/// field, the sealed one, the person key, and the seal's context.
struct Identifier<'a> {
    plain: &'a mut String,
    sealed: &'a mut Vec<u8>,
    key: &'a mut String,
    context: Vec<u8>,
}

fn identifier_of(event: &mut DomainEvent) -> Option<Identifier<'_>> {
    use DomainEvent as E;
    let person = |plain, sealed, key| Identifier {
        plain,
        sealed,
        key,
        context: PERSON_ID_CONTEXT.to_vec(),
    };
    match event {
        E::DossierOpened(e) => Some(person(
            &mut e.person_id,
            &mut e.person_id_sealed,
            &mut e.person_key,
        )),
        E::DossierImported(e) => Some(person(
            &mut e.person_id,
            &mut e.person_id_sealed,
            &mut e.person_key,
        )),
        // Only a personal account names a person.
        E::AccountIssued(e) if !e.person_id.is_empty() || !e.person_id_sealed.is_empty() => Some(
            person(&mut e.person_id, &mut e.person_id_sealed, &mut e.person_key),
        ),
        E::ConsentGranted(e) => Some(Identifier {
            context: consent_subject_context(&e.consent_id),
            plain: &mut e.subject_person_id,
            sealed: &mut e.subject_person_id_sealed,
            key: &mut e.subject_key,
        }),
        _ => None,
    }
}

/// Whose data key seals the numbers of events on `stream`: the dossier's or
/// the account's (data keys are keyed by any id).
fn owner_of(stream: &str) -> &str {
    stream
        .strip_prefix(dossier::STREAM_PREFIX)
        .or_else(|| stream.strip_prefix(account::STREAM_PREFIX))
        .unwrap_or(stream)
}

/// Seals, in place, the identification number of every event bound for
/// `stream`, writes its person key, and empties the clear field, so that no
/// number reaches the log in clear. [`Workflows`] does this on every append;
/// it is public for tools that write events without the handlers (the
/// benchmarks' generated logs).
pub fn seal_events(keyring: &Keyring, stream: &str, events: &mut [DomainEvent]) -> Result<()> {
    let owner = owner_of(stream);
    for event in events.iter_mut() {
        let Some(id) = identifier_of(event) else {
            continue;
        };
        if id.plain.is_empty() {
            continue;
        }
        *id.key = keyring.person_key(id.plain);
        // Stable: the same number in the same place seals to the same bytes,
        // as the read side seals an older event's clear number.
        *id.sealed = keyring.seal_stable(owner, &id.context, id.plain.as_bytes())?;
        id.plain.clear();
    }
    Ok(())
}

/// Makes a stored event of `stream` whole for folding: its number opened
/// into the clear field and its person key present (computed for an event
/// written before identifiers were sealed).
pub fn open_event(keyring: &Keyring, stream: &str, event: &mut DomainEvent) -> Result<()> {
    key_event(keyring, event);
    let Some(id) = identifier_of(event) else {
        return Ok(());
    };
    if id.plain.is_empty() && !id.sealed.is_empty() {
        let owner = owner_of(stream);
        let plain = keyring.open_sealed(owner, &id.context, id.sealed)?;
        *id.plain = String::from_utf8(plain).map_err(|_| SealError::Malformed {
            dossier_id: owner.to_owned(),
            problem: "sealed identification number is not UTF-8".to_owned(),
        })?;
    }
    Ok(())
}

/// The person key of a stored event, computed from the clear number when the
/// event predates sealed identifiers; the number stays sealed.
pub fn key_event(keyring: &Keyring, event: &mut DomainEvent) {
    if let Some(id) = identifier_of(event)
        && id.key.is_empty()
        && !id.plain.is_empty()
    {
        *id.key = keyring.person_key(id.plain);
    }
}

impl Workflows {
    /// The person key of an identification number (see
    /// [`Keyring::person_key`]): what to look a number up by.
    pub fn person_key(&self, person_id: &str) -> String {
        self.keyring.person_key(person_id)
    }

    /// [`seal_events`] with this node's keys.
    pub(crate) fn seal_identifiers(&self, stream: &str, events: &mut [DomainEvent]) -> Result<()> {
        seal_events(&self.keyring, stream, events)
    }

    /// [`open_event`] with this node's keys.
    pub(crate) fn open_identifiers(&self, stream: &str, event: &mut DomainEvent) -> Result<()> {
        open_event(&self.keyring, stream, event)
    }

    /// [`key_event`] with this node's keys.
    pub(crate) fn key_identifiers(&self, event: &mut DomainEvent) {
        key_event(&self.keyring, event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_the_aggregate_ids() {
        assert_eq!(owner_of("dossier-d1"), "d1");
        assert_eq!(owner_of("account-a1"), "a1");
        assert_eq!(owner_of("pid-x"), "pid-x");
    }

    #[test]
    fn only_personal_accounts_carry_an_identifier() {
        let mut specialist: DomainEvent = hoso_schemas::pb::account::AccountIssued {
            username: "u".into(),
            ..Default::default()
        }
        .into();
        assert!(identifier_of(&mut specialist).is_none());
        let mut personal: DomainEvent = hoso_schemas::pb::account::AccountIssued {
            person_id: "033090001234".into(),
            ..Default::default()
        }
        .into();
        assert!(identifier_of(&mut personal).is_some());
    }
}
