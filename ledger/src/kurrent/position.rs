//! How a ledger position (one `u64`) maps onto a KurrentDB `$all` position (a commit and
//! prepare pair) and back.
//!
//! What the server returns: every event written by a gRPC append (single events and
//! multi-event batches alike) is a prepare record flagged as committed, and `$all`
//! reports it at `commit == prepare == its own log position`. So the commit position
//! alone identifies an event and strictly increases in `$all` order, also inside a
//! batch. (Only the legacy TCP "explicit transactions", which this backend never
//! writes, share one commit position between events; reads refuse those.)
//!
//! The server can only start a read at the first byte of a record, but callers
//! routinely resume at "the last position I saw, plus one". A ledger position is
//! therefore twice the commit position: an even value names the event at `value / 2`
//! (reads start there, inclusive), an odd value means "just after the event at
//! `value / 2`" (reads start there and drop that event). Both always translate to a
//! record boundary the server accepts. Positions stay strictly increasing and sparse.

use kurrentdb::{Position, StreamPosition};

/// The ledger position of the event whose `$all` commit position is `commit`, or `None`
/// when the server did not report a position (`u64::MAX`) or it is out of range.
pub(super) fn from_commit(commit: u64) -> Option<u64> {
    // The server keeps positions as i64; anything above is its "no position" marker.
    if commit > i64::MAX as u64 {
        return None;
    }
    commit.checked_mul(2)
}

/// Where a forward `$all` read for ledger positions `>= from` starts. The caller still
/// drops events below `from` (the one event at the start of an odd `from`).
pub(super) fn read_start(from: u64) -> StreamPosition<Position> {
    if from == 0 {
        return StreamPosition::Start;
    }
    let commit = from / 2;
    StreamPosition::Position(Position {
        commit,
        prepare: commit,
    })
}

/// The exclusive checkpoint from which a `$all` subscription delivers exactly the events
/// at ledger positions `>= from`.
///
/// The server sends what lies strictly after the checkpoint. For an even `from` the
/// event at `from / 2` must be included, so the checkpoint is `(c, c - 1)`: it sorts just
/// before `(c, c)`, keeps `commit >= prepare` as the server demands, and the server
/// resumes reading at commit `c`, a record boundary.
pub(super) fn subscription_start(from: u64) -> StreamPosition<Position> {
    if from == 0 {
        return StreamPosition::Start;
    }
    let commit = from / 2;
    if from.is_multiple_of(2) {
        StreamPosition::Position(Position {
            commit,
            prepare: commit - 1,
        })
    } else {
        StreamPosition::Position(Position {
            commit,
            prepare: commit,
        })
    }
}

/// The server position of the event at ledger position `position` (even by construction),
/// used to page backwards from it.
pub(super) fn of_event(position: u64) -> Position {
    let commit = position / 2;
    Position {
        commit,
        prepare: commit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(commit: u64, prepare: u64) -> StreamPosition<Position> {
        StreamPosition::Position(Position { commit, prepare })
    }

    #[test]
    fn event_positions_are_even_and_keep_order() {
        assert_eq!(from_commit(0), Some(0));
        assert_eq!(from_commit(1_234), Some(2_468));
        assert!(from_commit(10) < from_commit(11));
        assert_eq!(from_commit(i64::MAX as u64), Some(u64::MAX - 1));
    }

    #[test]
    fn missing_or_out_of_range_commit_positions_are_refused() {
        assert_eq!(from_commit(u64::MAX), None);
        assert_eq!(from_commit(i64::MAX as u64 + 1), None);
    }

    #[test]
    fn reads_start_at_a_record_boundary() {
        assert_eq!(read_start(0), StreamPosition::Start);
        // The event itself, inclusive.
        assert_eq!(read_start(2_468), at(1_234, 1_234));
        // Just after it: same boundary, the caller drops the event at it.
        assert_eq!(read_start(2_469), at(1_234, 1_234));
        assert_eq!(read_start(1), at(0, 0));
    }

    #[test]
    fn subscriptions_include_an_even_start_and_exclude_an_odd_one() {
        assert_eq!(subscription_start(0), StreamPosition::Start);
        // Include the event at commit 1 234: the checkpoint sorts just before it.
        let inclusive = subscription_start(2_468);
        assert_eq!(inclusive, at(1_234, 1_233));
        // Exclude it: the checkpoint is the event itself.
        assert_eq!(subscription_start(2_469), at(1_234, 1_234));
        // Every checkpoint keeps commit >= prepare, which the server insists on.
        for from in [1, 2, 3, 4, 1_000, u64::MAX - 1, u64::MAX] {
            if let StreamPosition::Position(p) = subscription_start(from) {
                assert!(p.commit >= p.prepare, "{from}: {p}");
                // And it orders strictly before the first event the feed must deliver.
                let first = Position {
                    commit: from.div_ceil(2),
                    prepare: from.div_ceil(2),
                };
                assert!(p < first, "{from}: {p} vs {first}");
            }
        }
    }

    #[test]
    fn round_trip_through_event_positions() {
        for commit in [0, 1, 77, 1 << 40] {
            let pos = from_commit(commit).unwrap_or_default();
            assert_eq!(
                of_event(pos),
                Position {
                    commit,
                    prepare: commit
                }
            );
        }
    }
}
