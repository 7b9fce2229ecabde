//! Fuzzes scenario files through the C API: each input is the text of a
//! file given to `vipt_scenario_load`, whose set-up then runs once; when it
//! loads, one execution is replayed along a schedule of all `a`s. Every
//! call must return 0 or `-EINVAL` with a message (`file:line:column: …`
//! for a file that does not parse); `-ENOTRECOVERABLE` (a panic caught at
//! the boundary) is a finding, and so is anything the sanitizer sees.
//!
//! Seed it with `scenarios/*.vipt`: `cargo +nightly fuzz run scenario_file
//! ../scenarios`.

#![no_main]

use std::ffi::{CStr, CString};
use std::ptr::null_mut;

use libfuzzer_sys::fuzz_target;
use vipt::*;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The text, never a path: a file's text always holds `;` or a newline.
    let Ok(c) = CString::new(format!("{text}\n")) else {
        return;
    };
    let mut s = null_mut();
    let name = CString::new("patched-2005").unwrap();
    assert_eq!(vipt_strategy_builtin(name.as_ptr(), &mut s), 0);
    let mut sc = null_mut();
    let rc = vipt_scenario_load(c.as_ptr(), std::ptr::null(), s, &mut sc);
    // SAFETY: vipt_last_error returns a NUL-terminated string the library
    // keeps until the next call on this thread.
    let msg = unsafe { CStr::from_ptr(vipt_last_error()) }.to_string_lossy();
    assert!(rc == 0 || rc == -libc_einval(), "{rc}: {msg}");
    if rc == 0 {
        let sched = CString::new("a64").unwrap();
        let mut r = null_mut();
        let rc = vipt_replay(sc, sched.as_ptr(), &mut r);
        assert!(rc == 0 || rc == -libc_einval(), "replay {rc}");
        if rc == 0 {
            vipt_result_free(r);
        }
        vipt_scenario_free(sc);
    } else {
        assert!(!msg.is_empty());
    }
    vipt_strategy_free(s);
});

/// EINVAL on Linux.
fn libc_einval() -> i32 {
    22
}
