//! Errors of reading stored events.

/// Why a stored `(type, version, payload)` could not be read as a
/// [`DomainEvent`](crate::DomainEvent).
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The type name is not in the catalogue.
    #[error("unknown event type `{type_name}`")]
    UnknownType {
        /// Type name as stored.
        type_name: String,
    },
    /// The version is newer than this build knows, zero, or has no upcaster
    /// path to the current version.
    #[error(
        "event type `{type_name}` schema version {version} cannot be read \
         (current version is {current})"
    )]
    UnknownVersion {
        /// Type name as stored.
        type_name: String,
        /// Schema version as stored.
        version: u32,
        /// Current version of the type in this build.
        current: u32,
    },
    /// The payload is not a valid protobuf message of that type and version.
    #[error("payload of event type `{type_name}` schema version {version} does not decode")]
    Decode {
        /// Type name as stored.
        type_name: String,
        /// Version whose message failed to decode.
        version: u32,
        /// The protobuf error.
        #[source]
        source: prost::DecodeError,
    },
    /// The payload decoded but its content cannot be carried to the next
    /// version, e.g. a malformed legacy decimal.
    #[error("event type `{type_name}` cannot be upcast from schema version {from}: {reason}")]
    Upcast {
        /// Type name as stored.
        type_name: String,
        /// Version the failing upcast step started from.
        from: u32,
        /// What in the payload was unacceptable.
        reason: String,
    },
}
