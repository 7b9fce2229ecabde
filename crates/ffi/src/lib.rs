//! # vipt-ffi: the C ABI of vipt
//!
//! Builds `libvipt.a` and `libvipt.so`; `include/vipt.h` is generated from this
//! crate by cbindgen (see `cbindgen.toml`; `tests/header.rs` fails when the checked-in
//! header drifts, and `VIPT_BLESS=1 cargo test -p vipt-ffi --test header` rewrites
//! it). `include/vipt_kernel.h` maps kernel names onto this API.
//!
//! Conventions, the same for every call: `vipt_` prefix; fallible calls return 0 (or
//! a non-negative count) on success and a negative Linux errno on failure, with a
//! message for `vipt_last_error()` on the calling thread; out-parameters are written
//! only on success; a NULL out-pointer is `-EFAULT`; handles are opaque pointers that
//! are never dereferenced, so a NULL, freed or forged handle (or one of another
//! kind) is `-EBADF`, never undefined behaviour; every numeric parameter and
//! struct field has a documented range, checked before anything changes
//! (`-EINVAL`), and arithmetic on them is checked; no panic crosses the boundary
//! or prints (`-ENOTRECOVERABLE`). `vipt_last_error`'s documentation has the
//! errno table.

#![allow(non_camel_case_types)]

mod carch;
mod error;
mod handle;
mod hw;
mod kcpu;
mod model;
mod pte;
mod sanitizer;
mod world;

pub use carch::*;
pub use error::{vipt_last_error, vipt_selftest_panic};
pub use hw::*;
pub use kcpu::*;
pub use model::*;
pub use pte::*;
pub use world::*;
