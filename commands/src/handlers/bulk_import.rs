//! Imports of a province's existing records in bulk (`hoso-import`): the
//! same rules as [`Workflows::import_dossier`] (Sở Nội vụ only, an active
//! managing unit, one dossier per identification number, the decider's
//! checks), but under a dossier id and event ids the caller derives from
//! the record, so that importing the same record again finds what the first
//! run wrote instead of writing it twice, and a check that writes nothing
//! (the dry run).
//!
//! A record is two appends, as any import: the number's reservation
//! (`pid-…`, claimed first; a rerun with the same dossier id finds its own
//! claim) and the dossier's events, one atomic append whose event ids are
//! [`import_event_id`] of the caller's seed. The store answers a retried
//! append whose first event id is stored with the original result.

use hoso_domain::account::AccountKind;
use hoso_domain::dossier;
use hoso_ledger::{ExpectedRevision, NewEvent};
use hoso_schemas::DomainEvent;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{AccessRule, Result, ScopeRule};
use crate::handlers::dossier::ImportDossier;
use crate::index::Index;
use crate::workflows::{Actor, Receipt, Workflows};

/// The id of the `index`-th event of an import whose ids derive from `seed`
/// (a UUID of version 8: the first 16 bytes of a SHA-256, domain-separated).
pub fn import_event_id(seed: &[u8; 32], index: usize) -> Uuid {
    let mut h = Sha256::new();
    h.update(b"hoso-import-event/1\0");
    h.update(seed);
    h.update((index as u64).to_be_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

impl Workflows {
    /// Whether `import` would be imported as dossier `dossier_id` by
    /// [`Self::import_dossier_with_ids`] now: the actor's right, the unit,
    /// the number's one dossier, every rule of the decider. Writes nothing
    /// (no claim, no data key).
    pub async fn check_import(
        &self,
        actor: &Actor,
        dossier_id: &str,
        import: &ImportDossier,
    ) -> Result<()> {
        {
            let idx = self.catch_up().await?;
            self.authorize_import_as(&idx, actor, dossier_id, import)?;
        }
        dossier::decide_open(dossier_id, import.clone().into_change(), &self.ctx())?;
        Ok(())
    }

    /// Imports `import` as dossier `dossier_id`, its events under the ids
    /// [`import_event_id`] derives from `seed`. A rerun after a crash
    /// between the claim and the append finds its own claim and appends;
    /// one after the append is answered by the store with the first
    /// result, provided the events are the same.
    pub async fn import_dossier_with_ids(
        &self,
        actor: &Actor,
        dossier_id: &str,
        seed: &[u8; 32],
        import: ImportDossier,
    ) -> Result<Receipt> {
        let stream = dossier::stream_id(dossier_id);
        let result = self.import_as(actor, dossier_id, seed, import).await;
        self.about(&stream, result).await
    }

    async fn import_as(
        &self,
        actor: &Actor,
        dossier_id: &str,
        seed: &[u8; 32],
        import: ImportDossier,
    ) -> Result<Receipt> {
        {
            let idx = self.catch_up().await?;
            self.authorize_import_as(&idx, actor, dossier_id, &import)?;
        }
        let person_id = import.person_id.clone();
        let mut events = dossier::decide_open(dossier_id, import.into_change(), &self.ctx())?;
        self.seal_fields(dossier_id, &mut events)?;
        self.reserve(
            &actor.account_id,
            &dossier::person_id_stream(&self.person_key(&person_id)),
            hoso_schemas::pb::dossier::PersonIdReserved {
                dossier_id: dossier_id.to_owned(),
            }
            .into(),
            dossier_id,
            ScopeRule::PersonIdTaken,
        )
        .await?;
        self.append_with_ids(&actor.account_id, dossier_id, seed, events)
            .await
    }

    async fn append_with_ids(
        &self,
        actor: &str,
        dossier_id: &str,
        seed: &[u8; 32],
        mut events: Vec<DomainEvent>,
    ) -> Result<Receipt> {
        let stream = dossier::stream_id(dossier_id);
        self.seal_identifiers(&stream, &mut events)?;
        let events: Vec<NewEvent> = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                NewEvent::from_domain(e)
                    .with_actor(actor)
                    .with_id(import_event_id(seed, i))
            })
            .collect();
        let result = self
            .store
            .append(&stream, ExpectedRevision::NoStream, events)
            .await?;
        Ok(Receipt {
            stream,
            revision: result.stream_revision,
            position: result.last_position,
            warnings: Vec::new(),
        })
    }

    /// The import's rule (as [`Workflows::import_dossier`]'s), except that
    /// the number's dossier may be `dossier_id` itself: a rerun.
    fn authorize_import_as(
        &self,
        idx: &Index,
        actor: &Actor,
        dossier_id: &str,
        import: &ImportDossier,
    ) -> Result<()> {
        let a = self.acting_actor(idx, actor)?;
        if a.kind != AccountKind::SystemAdmin {
            return Err(AccessRule::SystemAdminOnly(
                "import the province's existing records (BT 11.1, HY 11.2)",
            )
            .into());
        }
        self.require_active_unit(idx, &import.managing_unit)?;
        if let Some(existing) = idx.by_person.get(&self.person_key(&import.person_id))
            && existing != dossier_id
        {
            return Err(ScopeRule::PersonIdTaken(existing.clone()).into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_stable_distinct_and_version_8() {
        let a = import_event_id(&[1; 32], 0);
        assert_eq!(a, import_event_id(&[1; 32], 0));
        assert_ne!(a, import_event_id(&[1; 32], 1));
        assert_ne!(a, import_event_id(&[2; 32], 0));
        assert_eq!(a.get_version_num(), 8);
    }
}
