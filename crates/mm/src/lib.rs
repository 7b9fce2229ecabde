//! # vipt-mm (not yet implemented)
//!
//! Will hold: Page tables, vmas, address_space with the i_mmap prio tree, struct page, kernel locks, kernel paths and flush_dcache_page strategies.
//!
//! This crate is an empty placeholder in the workspace so that the layering of
//! `DESIGN.md` is visible from the start; it exports nothing yet and nothing may
//! depend on it until its issue lands.
