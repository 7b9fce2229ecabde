//! What the library tells a C program's sanitizers (see `sanitizer.c`).
//!
//! ThreadSanitizer: a thread's accesses are ignored while it runs inside the
//! library ([`enter`]/[`leave`] around every entry point, counted so nested
//! entries pair up), recorded again while a strategy callback's C code runs
//! ([`Outside`]), and ignored for good on the explorer's worker threads
//! ([`worker`]), which run only library code and callbacks.

use std::cell::Cell;
use std::ffi::c_void;

extern "C" {
    fn vipt__tsan_ignore_begin();
    fn vipt__tsan_ignore_end();
    fn vipt__asan_unpoison(addr: *mut c_void, size: usize);
}

thread_local! {
    /// How deep this thread is inside the library's entry points.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// An entry point begins: from the outermost one on, this thread's accesses are
/// ignored by ThreadSanitizer.
pub(crate) fn enter() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        vipt_explore::search::set_worker_hook(worker);
    });
    let d = DEPTH.with(|d| d.replace(d.get() + 1));
    if d == 0 {
        // SAFETY: the wrapper takes no arguments and calls the TSan runtime's
        // interface function only if the program has one.
        unsafe { vipt__tsan_ignore_begin() };
    }
}

/// An entry point ends (the pair of [`enter`]).
pub(crate) fn leave() {
    let d = DEPTH.with(|d| d.replace(d.get().saturating_sub(1)));
    if d == 1 {
        // SAFETY: as in `enter`.
        unsafe { vipt__tsan_ignore_end() };
    }
}

/// While alive, this thread runs C code of the program's own (a strategy
/// callback): its accesses are recorded. Restores the depth it found when
/// dropped, whatever entry points the callback left unfinished.
pub(crate) struct Outside(u32);

impl Outside {
    pub(crate) fn new() -> Outside {
        let d = DEPTH.with(|d| d.replace(0));
        if d > 0 {
            // SAFETY: as in `enter`.
            unsafe { vipt__tsan_ignore_end() };
        }
        Outside(d)
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let left = DEPTH.with(|d| d.replace(self.0));
        if left > 0 && self.0 == 0 {
            // SAFETY: as in `enter`.
            unsafe { vipt__tsan_ignore_end() };
        } else if left == 0 && self.0 > 0 {
            // SAFETY: as in `enter`.
            unsafe { vipt__tsan_ignore_begin() };
        }
    }
}

/// An explorer worker thread starts (`true`) or ends: it runs library code for
/// its whole life (strategy callbacks on it are [`Outside`]).
fn worker(start: bool) {
    if start {
        enter();
    } else {
        leave();
    }
}

/// Clears AddressSanitizer's poisoning of `len` bytes at `addr` (a stack whose
/// C frames were discarded without returning).
pub(crate) fn asan_unpoison(addr: *mut u8, len: usize) {
    // SAFETY: the ASan interface only rewrites its shadow memory for the range;
    // the range is a whole coroutine stack the library owns and no frame uses.
    unsafe { vipt__asan_unpoison(addr.cast(), len) };
}
