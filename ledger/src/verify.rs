//! Hash-chain verification: the incremental checker used by `verify`, `rebuild` and the
//! subscription consumers, and whole-stream / whole-log verification over any backend.

use std::collections::HashMap;

use crate::envelope::{GENESIS_HASH, Hash, RecordedEvent};

/// The first place where the log stops being what was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hash chain broken at position {position} (stream {stream}, revision {revision}): {kind}")]
pub struct ChainViolation {
    /// Global position of the offending event.
    pub position: u64,
    /// Its stream.
    pub stream: String,
    /// Its stream revision as stored.
    pub revision: u64,
    /// What is wrong.
    pub kind: ViolationKind,
}

/// The ways a chain can break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViolationKind {
    /// The stored hash does not match the event's content: the event was altered.
    #[error("content altered: stored hash {stored}, content hashes to {computed}")]
    ContentAltered {
        /// Hash as stored (hex).
        stored: String,
        /// Hash recomputed from the content (hex).
        computed: String,
    },
    /// `prev_hash` does not match the previous event of the stream: an event was altered,
    /// removed or inserted before this one.
    #[error(
        "prev_hash does not match the stream's previous event (revision {previous_revision:?})"
    )]
    LinkBroken {
        /// The previous revision seen, if any.
        previous_revision: Option<u64>,
    },
    /// Stream revisions are not dense.
    #[error("revision gap: expected revision {expected}")]
    RevisionGap {
        /// The revision that should have come next.
        expected: u64,
    },
    /// Global positions went backwards or skipped on a backend whose positions are dense.
    #[error("position out of order: expected {expected}")]
    PositionGap {
        /// The position that should have come next.
        expected: u64,
    },
}

/// Checks events fed in `$all` order against the per-stream chains seen so far.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    heads: HashMap<String, (u64, Hash)>,
    next_position: Option<u64>,
    dense: bool,
    position_hashed: bool,
    events: u64,
}

impl ChainVerifier {
    /// A verifier that also demands dense global positions starting at `first_position`.
    pub fn dense_from(first_position: u64) -> Self {
        Self {
            next_position: Some(first_position),
            dense: true,
            position_hashed: true,
            ..Self::default()
        }
    }

    /// A verifier that only demands strictly increasing positions (for one stream's
    /// events, or a backend with sparse positions); `position_hashed` as in
    /// [`RecordedEvent::compute_hash`].
    pub fn sparse(position_hashed: bool) -> Self {
        Self {
            position_hashed,
            ..Self::default()
        }
    }

    /// Checks one event; on success it becomes its stream's head.
    pub fn check(&mut self, e: &RecordedEvent) -> Result<(), ChainViolation> {
        let computed = e.compute_hash(self.position_hashed);
        self.check_hashed(e, &computed)
    }

    /// Whether the hashes this verifier expects cover the position (see
    /// [`RecordedEvent::compute_hash`]).
    pub(crate) fn position_hashed(&self) -> bool {
        self.position_hashed
    }

    /// [`check`](Self::check) with the content hash already computed as
    /// `e.compute_hash(self.position_hashed())`, so that hashing, which needs no
    /// chain state, can run on the threads that read the events while the checks that
    /// do need it stay in `$all` order here. Crate-private: a caller passing any other
    /// hash would verify nothing.
    pub(crate) fn check_hashed(
        &mut self,
        e: &RecordedEvent,
        computed: &Hash,
    ) -> Result<(), ChainViolation> {
        let violation = |kind| ChainViolation {
            position: e.position,
            stream: e.stream.clone(),
            revision: e.revision,
            kind,
        };
        if let Some(expected) = self.next_position {
            let in_order = if self.dense {
                e.position == expected
            } else {
                e.position >= expected
            };
            if !in_order {
                return Err(violation(ViolationKind::PositionGap { expected }));
            }
        }
        if *computed != e.hash {
            return Err(violation(ViolationKind::ContentAltered {
                stored: hex::encode(e.hash),
                computed: hex::encode(computed),
            }));
        }
        match self.heads.get_mut(e.stream.as_str()) {
            Some((rev, hash)) => {
                if e.revision != *rev + 1 {
                    return Err(violation(ViolationKind::RevisionGap { expected: *rev + 1 }));
                }
                if e.prev_hash != *hash {
                    return Err(violation(ViolationKind::LinkBroken {
                        previous_revision: Some(*rev),
                    }));
                }
                *rev = e.revision;
                *hash = e.hash;
            }
            None => {
                if e.revision != 0 {
                    return Err(violation(ViolationKind::RevisionGap { expected: 0 }));
                }
                if e.prev_hash != GENESIS_HASH {
                    return Err(violation(ViolationKind::LinkBroken {
                        previous_revision: None,
                    }));
                }
                self.heads.insert(e.stream.clone(), (0, e.hash));
            }
        }
        self.next_position = Some(e.position + 1);
        self.events += 1;
        Ok(())
    }

    /// Whether `stream` has a head here (an event of it was checked or seeded).
    pub fn knows(&self, stream: &str) -> bool {
        self.heads.contains_key(stream)
    }

    /// Takes `(revision, hash)` as `stream`'s head without checking it: the last event of
    /// the stream before where this verification starts, which an earlier verification
    /// covered. The next event of the stream must link to it.
    pub fn seed(&mut self, stream: &str, revision: u64, hash: Hash) {
        self.heads.insert(stream.to_owned(), (revision, hash));
    }

    /// The streams of `page` whose first event there continues a stream this verifier has
    /// no head for, with the revision of the head each needs: what to [`seed`](Self::seed)
    /// before checking the page when verification starts after position 0.
    pub fn unseeded<'a>(&self, page: &'a [RecordedEvent]) -> Vec<(&'a str, u64)> {
        let mut seen = std::collections::HashSet::new();
        page.iter()
            .filter(|e| !self.heads.contains_key(e.stream.as_str()))
            .filter(|e| seen.insert(e.stream.as_str()))
            .filter_map(|e| e.revision.checked_sub(1).map(|r| (e.stream.as_str(), r)))
            .collect()
    }

    /// Events checked so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Distinct streams seen so far.
    pub fn streams(&self) -> usize {
        self.heads.len()
    }
}

/// Checks one stream's events, read forwards from revision 0; `position_hashed` as in
/// [`RecordedEvent::compute_hash`].
pub fn verify_stream_events<'a>(
    events: impl IntoIterator<Item = &'a RecordedEvent>,
    position_hashed: bool,
) -> Result<u64, ChainViolation> {
    let mut v = ChainVerifier::sparse(position_hashed);
    for e in events {
        v.check(e)?;
    }
    Ok(v.events())
}

/// What a whole-log verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Events verified.
    pub events: u64,
    /// Streams seen.
    pub streams: u64,
    /// Position of the last event verified.
    pub last_position: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{EnvelopeRef, NewEvent, chain_hash};
    use chrono::DateTime;

    fn chain(stream: &str, n: u64, first_position: u64) -> Vec<RecordedEvent> {
        let mut prev = GENESIS_HASH;
        (0..n)
            .map(|rev| {
                let ne = NewEvent::new("t.T", 1, vec![rev as u8; 8]);
                // Any instant will do: the chain covers it, whatever it is.
                let at = DateTime::from_timestamp(1_773_100_800 + rev as i64, 0).unwrap();
                let hash = chain_hash(
                    &prev,
                    &EnvelopeRef::of_new(stream, rev, Some(first_position + rev), at, &ne),
                    &ne.payload,
                );
                let e = RecordedEvent {
                    position: first_position + rev,
                    stream: stream.into(),
                    revision: rev,
                    event_id: ne.event_id,
                    event_type: ne.event_type,
                    schema_version: 1,
                    payload: ne.payload,
                    actor: ne.actor,
                    correlation_id: None,
                    causation_id: None,
                    recorded_at: at,
                    effective_at: None,
                    source_document: None,
                    prev_hash: prev,
                    hash,
                };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        let events = chain("s", 5, 0);
        assert_eq!(verify_stream_events(&events, true), Ok(5));
    }

    #[test]
    fn altered_payload_is_located() {
        let mut events = chain("s", 5, 0);
        events[3].payload[0] ^= 0xff;
        let err = verify_stream_events(&events, true).unwrap_err();
        assert_eq!(err.position, 3);
        assert!(matches!(err.kind, ViolationKind::ContentAltered { .. }));
    }

    #[test]
    fn removed_event_is_located() {
        let mut events = chain("s", 5, 0);
        events.remove(2);
        let err = verify_stream_events(&events, true).unwrap_err();
        assert_eq!(
            (err.position, err.kind),
            (3, ViolationKind::RevisionGap { expected: 2 })
        );
    }

    #[test]
    fn rehashed_forgery_breaks_the_next_link() {
        // An attacker who edits an event and recomputes its hash still breaks the link.
        let mut events = chain("s", 4, 0);
        events[1].payload[0] ^= 1;
        events[1].hash = events[1].compute_hash(true);
        let err = verify_stream_events(&events, true).unwrap_err();
        assert_eq!(err.position, 2);
        assert!(matches!(err.kind, ViolationKind::LinkBroken { .. }));
    }

    #[test]
    fn dense_positions_are_demanded() {
        let events = chain("s", 3, 0);
        let mut v = ChainVerifier::dense_from(0);
        v.check(&events[0]).unwrap();
        let err = v.check(&events[2]).unwrap_err();
        assert_eq!(err.kind, ViolationKind::PositionGap { expected: 1 });
    }
}
