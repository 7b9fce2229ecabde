//! # vipt-cache (not yet implemented)
//!
//! Will hold: The VIPT data cache, per-CPU TLB, tmpalias window, coherence oracle and cost counters.
//!
//! This crate is an empty placeholder in the workspace so that the layering of
//! `DESIGN.md` is visible from the start; it exports nothing yet and nothing may
//! depend on it until its issue lands.
