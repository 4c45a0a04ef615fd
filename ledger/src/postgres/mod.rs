//! PostgreSQL: the log as a backend, and the blocking client the stores beside
//! the log (credentials, sessions, data keys, uploads) share.

pub mod blocking;
