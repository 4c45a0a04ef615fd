//! Cross-crate integration, crash and property tests live in `tests/`; the crate's only
//! library code is nothing, and its binary is the crash test's child process.
