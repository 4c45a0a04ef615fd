//! Idempotent retry, shared by the backends that assign positions themselves
//! (SQLite, PostgreSQL): an append whose events are stored already is answered with
//! the original result, provided it is exactly the same batch; anything else that
//! reuses a stored event id is refused. One rule, so the backends cannot drift apart
//! on what counts as a retry.

use uuid::Uuid;

use crate::envelope::NewEvent;
use crate::error::{StoreError, StoreResult};
use crate::store::AppendResult;

/// An event id found stored: in a committed row, or earlier in the group being
/// committed.
pub(crate) enum Stored {
    /// In the log.
    Row {
        stream: String,
        revision: u64,
        position: u64,
        event_type: String,
        schema_version: u32,
        payload: Vec<u8>,
    },
    /// Event `index` of request `request` of the current group.
    InGroup {
        request: usize,
        index: usize,
        revision: u64,
        position: u64,
    },
}

/// A request of a commit group, as the retry rule sees it.
pub(crate) trait Batch {
    /// The stream appended to.
    fn stream(&self) -> &str;
    /// The events, in order.
    fn events(&self) -> &[NewEvent];
}

/// Answers a retried append with the original result, provided the stored events are
/// exactly this batch: same ids, same stream, consecutive, same types and payloads.
/// `find` looks an event id up in the log and the group.
pub(crate) fn replay<B: Batch>(
    group: &[B],
    req: &B,
    mut find: impl FnMut(&Uuid) -> StoreResult<Option<Stored>>,
) -> StoreResult<AppendResult> {
    let mut result: Option<AppendResult> = None;
    for e in req.events() {
        let s = find(&e.event_id)?.ok_or_else(|| StoreError::InvalidInput {
            reason: format!(
                "event {} of this batch is new but earlier ones are stored: not a retry",
                e.event_id
            ),
        })?;
        let (stream, revision, position, same_content) = match &s {
            Stored::Row {
                stream,
                revision,
                position,
                event_type,
                schema_version,
                payload,
            } => (
                stream.as_str(),
                *revision,
                *position,
                *event_type == e.event_type
                    && *schema_version == e.schema_version
                    && *payload == e.payload,
            ),
            Stored::InGroup {
                request,
                index,
                revision,
                position,
            } => match group.get(*request) {
                Some(orig) => {
                    let same = orig.events().get(*index).is_some_and(|o| {
                        o.event_type == e.event_type
                            && o.schema_version == e.schema_version
                            && o.payload == e.payload
                    });
                    (orig.stream(), *revision, *position, same)
                }
                None => return Err(duplicate(e.event_id, &s, group)),
            },
        };
        let consecutive = match result {
            None => true,
            Some(r) => revision == r.stream_revision + 1 && position > r.last_position,
        };
        if stream != req.stream() || !same_content || !consecutive {
            return Err(duplicate(e.event_id, &s, group));
        }
        result = Some(match result {
            None => AppendResult {
                stream_revision: revision,
                first_position: position,
                last_position: position,
            },
            Some(r) => AppendResult {
                stream_revision: revision,
                last_position: position,
                ..r
            },
        });
    }
    result.ok_or_else(|| StoreError::InvalidInput {
        reason: "empty batch".into(),
    })
}

/// The refusal of a batch that reuses the stored event id `event_id`.
pub(crate) fn duplicate<B: Batch>(event_id: Uuid, stored: &Stored, group: &[B]) -> StoreError {
    let existing = match stored {
        Stored::Row {
            stream, revision, ..
        } => format!("{stream}@{revision}"),
        Stored::InGroup {
            request, revision, ..
        } => {
            let stream = group.get(*request).map_or("?", |r| r.stream());
            format!("{stream}@{revision}")
        }
    };
    StoreError::DuplicateEventId { event_id, existing }
}
