//! The review cycle of a dossier's declarations (HY 10.1–10.4, BT 6, DL 9.1): the
//! person declares sections, the focal point returns or verifies them, the dossier is
//! locked after review and the head's signature approves it.
//!
//! This is the one definition of that state machine. The decider of
//! [`crate::dossier`], the read models and the API all name a state with
//! [`ReviewState`] and move it with [`ReviewState::after`], so the three can never
//! disagree on what an event does to the cycle, nor on the name the API shows.

use std::fmt;
use std::str::FromStr;

use hoso_schemas::DomainEvent;

/// Where a dossier stands in its review cycle.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// Opened; nothing declared yet.
    #[default]
    AwaitingDeclaration,
    /// Sections declared and waiting for review.
    Declaring,
    /// Sent back with reasons; the person corrects and declares again.
    Returned,
    /// The focal point checked the declaration against the papers.
    Verified,
    /// Locked after review (HY 10.3): waits for the head's signature.
    Locked,
    /// Signed; nothing pending.
    Approved,
}

impl ReviewState {
    /// Every state, in the order of the cycle.
    pub const ALL: [Self; 6] = [
        Self::AwaitingDeclaration,
        Self::Declaring,
        Self::Returned,
        Self::Verified,
        Self::Locked,
        Self::Approved,
    ];

    /// The state of a dossier just opened or imported: declaring when it arrived
    /// with sections that still have to be reviewed (BT 11.1), waiting otherwise.
    pub fn opened(with_sections: bool) -> Self {
        if with_sections {
            Self::Declaring
        } else {
            Self::AwaitingDeclaration
        }
    }

    /// The state after `event`. `pending_after` says whether declared sections are
    /// still waiting for review once the event is applied: a return of the last
    /// pending section sends the dossier back, a return of one of several keeps it
    /// in declaration. Events that are not steps of the cycle leave it as it is.
    pub fn after(self, event: &DomainEvent, pending_after: bool) -> Self {
        use DomainEvent as E;
        match event {
            E::DeclarationSubmitted(_) => Self::Declaring,
            E::DeclarationReturned(_) if pending_after => Self::Declaring,
            E::DeclarationReturned(_) => Self::Returned,
            E::DeclarationVerified(_) => Self::Verified,
            E::DossierLocked(_) => Self::Locked,
            E::ApprovalSigned(_) => Self::Approved,
            _ => self,
        }
    }

    /// The name the API and the read models use (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingDeclaration => "awaiting_declaration",
            Self::Declaring => "declaring",
            Self::Returned => "returned",
            Self::Verified => "verified",
            Self::Locked => "locked",
            Self::Approved => "approved",
        }
    }
}

impl fmt::Display for ReviewState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a review state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown review state {0:?}")]
pub struct UnknownReviewState(pub String);

impl FromStr for ReviewState {
    type Err = UnknownReviewState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownReviewState(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoso_schemas::pb::dossier as pb;

    #[test]
    fn names_round_trip() {
        for state in ReviewState::ALL {
            assert_eq!(state.as_str().parse::<ReviewState>(), Ok(state));
        }
        assert!("approving".parse::<ReviewState>().is_err());
    }

    #[test]
    fn hy_10_3_a_return_of_the_last_pending_section_sends_the_dossier_back() {
        let returned = DomainEvent::from(pb::DeclarationReturned::default());
        let s = ReviewState::Declaring;
        assert_eq!(s.after(&returned, false), ReviewState::Returned);
        assert_eq!(s.after(&returned, true), ReviewState::Declaring);
    }

    #[test]
    fn the_cycle_runs_declare_verify_lock_approve() {
        let steps = [
            DomainEvent::from(pb::DeclarationSubmitted::default()),
            DomainEvent::from(pb::DeclarationVerified::default()),
            DomainEvent::from(pb::DossierLocked::default()),
            DomainEvent::from(pb::ApprovalSigned::default()),
        ];
        let mut s = ReviewState::opened(false);
        let mut seen = vec![s];
        for e in &steps {
            s = s.after(e, true);
            seen.push(s);
        }
        assert_eq!(
            seen,
            [
                ReviewState::AwaitingDeclaration,
                ReviewState::Declaring,
                ReviewState::Verified,
                ReviewState::Locked,
                ReviewState::Approved
            ]
        );
        let other = DomainEvent::from(pb::AttachmentAdded::default());
        assert_eq!(s.after(&other, false), ReviewState::Approved);
    }
}
