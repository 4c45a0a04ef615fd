//! The people of the synthetic province and the accounts that act on their dossiers.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use ed25519_dalek::SigningKey;
use hoso_commands::workflows::{Actor, Workflows};
use hoso_domain::dossier::StateDecision;
use hoso_ledger::SourceDocument;
use hoso_schemas::pb::dossier::FieldEntry;

use crate::synth::{Person, Province, Synth};

/// Generates the people: the first few are seated where the story needs someone
/// (a move, transfers, the merged school), the rest drawn by weight.
pub(super) fn generate_people(synth: &mut Synth, province: &Province, n: usize) -> Vec<Person> {
    let dept = |i: usize| format!("000.{i:02}.00.H33");
    let seats = [
        format!("001.{:02}.00.H33", 2),
        format!("001.{:02}.00.H33", 5),
        format!("002.{:02}.00.H33", 6),
        // The school that merges into the first one (the demo logins' school).
        "102.03.00.H33".to_owned(),
        "102.03.00.H33".to_owned(),
        format!("002.{:02}.00.H33", 7),
        dept(8),
        // In the delegating department, so the deputy has a dossier to sign.
        format!("003.{:02}.00.H33", 4),
        format!("002.{:02}.00.H33", 4),
    ];
    (0..n)
        .map(|i| {
            let seat = seats.get(i).map(String::as_str);
            synth.person(i, province, seat)
        })
        .collect()
}

/// A head and the key it signs with.
#[derive(Clone)]
pub(super) struct Signer {
    pub(super) actor: Actor,
    pub(super) key_id: String,
    pub(super) key: SigningKey,
}

/// The accounts of one agency.
#[derive(Clone)]
pub(super) struct AgencyStaff {
    pub(super) head: Signer,
    pub(super) focal: Actor,
}

/// A deputy holding a head's delegation.
pub(super) struct Deputy {
    pub(super) agency: String,
    pub(super) username: String,
    pub(super) signer: Signer,
}

/// The staff accounts of the province.
pub(super) struct Staff {
    pub(super) agencies: BTreeMap<String, AgencyStaff>,
    pub(super) deputy: Option<Deputy>,
}

impl Staff {
    pub(super) fn of(&self, agency: &str) -> anyhow::Result<&AgencyStaff> {
        self.agencies
            .get(agency)
            .with_context(|| format!("no staff accounts for {agency}"))
    }
}

/// A person whose dossier and personal account exist.
pub(super) struct Member {
    pub(super) person: Person,
    pub(super) dossier: String,
    pub(super) account: Actor,
    pub(super) passwords: Option<(String, String)>,
}

/// A decision of the state to record: its kind, content, effective date and document.
pub(super) type Decision = (&'static str, StateDecision, NaiveDate, SourceDocument);

/// What a person does after recruitment, drawn in advance so the run is
/// deterministic whatever order the commands complete in.
pub(super) struct Plan {
    pub(super) sections: Vec<(&'static str, Vec<FieldEntry>)>,
    /// The focal point returns the identity section once (item 7 left out).
    pub(super) returned: bool,
    pub(super) decisions: Vec<Decision>,
    pub(super) change: (&'static str, Vec<FieldEntry>, [u8; 32]),
}

/// Everything the per-person phases share.
pub(super) struct People {
    pub(super) wf: Arc<Workflows>,
    pub(super) staff: Arc<Staff>,
    pub(super) members: Vec<Member>,
    pub(super) plans: Vec<Plan>,
}

impl People {
    pub(super) fn focal(&self, i: usize) -> anyhow::Result<&Actor> {
        Ok(&self.staff.of(&self.members[i].person.managing_unit)?.focal)
    }
}
