//! Reading stored events as catalogue types: the bridge from the log's bytes to the
//! domain, always through the registry (so old versions arrive upcast), and always
//! naming the position of an event that cannot be read.

use hoso_schemas::{DomainEvent, Registry, SchemaError};

use crate::envelope::RecordedEvent;

/// A stored event that does not decode as its declared type and version.
#[derive(Debug, thiserror::Error)]
#[error(
    "event at position {position} ({stream} revision {revision}, {event_type} v{schema_version}) cannot be read: {source}"
)]
pub struct EventDecodeError {
    /// Global position.
    pub position: u64,
    /// Stream.
    pub stream: String,
    /// Stream revision.
    pub revision: u64,
    /// Declared type.
    pub event_type: String,
    /// Declared schema version.
    pub schema_version: u32,
    /// What the registry said.
    pub source: SchemaError,
}

/// Decodes (and upcasts) one stored event.
///
/// The error is boxed: decoding sits on every projection's hot path, where a large
/// `Err` variant would bloat every successful result.
pub fn decode(
    registry: &Registry,
    e: &RecordedEvent,
) -> Result<DomainEvent, Box<EventDecodeError>> {
    registry
        .decode(&e.event_type, e.schema_version, &e.payload)
        .map_err(|source| {
            Box::new(EventDecodeError {
                position: e.position,
                stream: e.stream.clone(),
                revision: e.revision,
                event_type: e.event_type.clone(),
                schema_version: e.schema_version,
                source,
            })
        })
}
