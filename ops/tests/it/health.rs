//! Health and readiness (issue 17).
