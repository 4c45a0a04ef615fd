//! Integration tests of the printed résumé, one binary: the fixed dossier's
//! extracted text against golden files, its pages rasterised against golden
//! images with a tolerance, and the layout's page breaks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixture;
mod render;
