//! # vipt-explore (not yet implemented)
//!
//! Will hold: The deterministic race explorer, scenarios and reports.
//!
//! This crate is an empty placeholder in the workspace so that the layering of
//! `DESIGN.md` is visible from the start; it exports nothing yet and nothing may
//! depend on it until its issue lands.
