//! Identification numbers in the read model: never in clear.
//!
//! A dossier's row keeps the number's person key (the keyed hash a search by
//! number looks up, computed by the API from the number asked for) and the
//! number sealed under the dossier's data key (opened by the API for a
//! reader cleared to see it). Events written since identifiers were sealed
//! carry both. Events written before carry the number in clear; the log
//! keeps them as they are, but the projector seals and keys them on the way
//! in ([`IdentifierSealer`]), so neither the `dossiers` table nor a history
//! body holds the number.
//!
//! The read side holds no key of its own: the node hands it an
//! [`IdentifierSealer`] (the field keyring) when it builds the read model.

use hoso_schemas::DomainEvent;

use crate::ProjectionError;

/// What the projector needs of the node's keys to store a number written in
/// clear by an older version.
pub trait IdentifierSealer: Send + Sync {
    /// The person key of `person_id`: the keyed hash lookups use.
    fn person_key(&self, person_id: &str) -> String;

    /// `person_id` sealed under `dossier_id`'s data key, as the commands
    /// layer seals it in new events (so the API opens both alike).
    fn seal_person_id(
        &self,
        dossier_id: &str,
        person_id: &str,
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>;
}

/// Seals and keys, in place, the clear number of a dossier's opening or
/// import written before identifiers were sealed; any other event is left
/// as it is.
pub(crate) fn seal_legacy(
    sealer: &dyn IdentifierSealer,
    stream: &str,
    event: &mut DomainEvent,
) -> Result<(), ProjectionError> {
    let Some(dossier_id) = stream.strip_prefix(hoso_domain::dossier::STREAM_PREFIX) else {
        return Ok(());
    };
    let (plain, sealed, key) = match event {
        DomainEvent::DossierOpened(e) => {
            (&mut e.person_id, &mut e.person_id_sealed, &mut e.person_key)
        }
        DomainEvent::DossierImported(e) => {
            (&mut e.person_id, &mut e.person_id_sealed, &mut e.person_key)
        }
        _ => return Ok(()),
    };
    if plain.is_empty() {
        return Ok(());
    }
    if key.is_empty() {
        *key = sealer.person_key(plain);
    }
    if sealed.is_empty() {
        *sealed = sealer
            .seal_person_id(dossier_id, plain)
            .map_err(|e| ProjectionError::Seal {
                dossier: dossier_id.to_owned(),
                problem: e.to_string(),
            })?;
    }
    plain.clear();
    Ok(())
}
