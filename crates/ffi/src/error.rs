//! Errors across the C boundary: a negative errno as the result, a message kept
//! per thread, and one guard that every fallible entry point goes through so that
//! no panic unwinds into C (and none prints: see [`guard`]).

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, CString};
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};

use vipt_pte::PteError;

/// Linux errno values (the numbering of `<errno.h>` on Linux).
pub(crate) mod errno {
    use std::ffi::c_int;
    pub(crate) const EIO: c_int = 5;
    pub(crate) const ENXIO: c_int = 6;
    pub(crate) const EBADF: c_int = 9;
    pub(crate) const EACCES: c_int = 13;
    pub(crate) const EFAULT: c_int = 14;
    pub(crate) const EINVAL: c_int = 22;
    pub(crate) const ERANGE: c_int = 34;
    pub(crate) const ENOMEM: c_int = 12;
    pub(crate) const ENOENT: c_int = 2;
    pub(crate) const EBUSY: c_int = 16;
    pub(crate) const ECANCELED: c_int = 125;
    pub(crate) const EDEADLK: c_int = 35;
    pub(crate) const EOVERFLOW: c_int = 75;
    pub(crate) const EADDRNOTAVAIL: c_int = 99;
    pub(crate) const ENOTRECOVERABLE: c_int = 131;
}

/// An error on its way to C: an errno and a message.
#[derive(Debug)]
pub(crate) struct Error {
    pub errno: c_int,
    pub message: String,
}

impl Error {
    pub fn new(errno: c_int, message: impl Into<String>) -> Error {
        Error {
            errno,
            message: message.into(),
        }
    }
}

impl From<PteError> for Error {
    fn from(e: PteError) -> Error {
        let errno = match e {
            PteError::BadLayout(_) | PteError::ProtNotFlags(_) | PteError::SwapEntryIsNone => {
                errno::EINVAL
            }
            PteError::BadTableAddress(_) => errno::EINVAL,
            _ => errno::ERANGE,
        };
        Error::new(errno, e.to_string())
    }
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

/// `-EINVAL` unless `lo <= value <= hi`: "`name` `value`: `lo` to `hi`".
pub(crate) fn in_range<T: PartialOrd + Display>(name: &str, value: T, lo: T, hi: T) -> Result<()> {
    if lo <= value && value <= hi {
        Ok(())
    } else {
        Err(Error::new(
            errno::EINVAL,
            format!("{name} {value} is out of range: {lo} to {hi}"),
        ))
    }
}

/// `-EINVAL` for a value outside its documented range, with the range in words.
pub(crate) fn out_of_range(name: &str, value: impl Display, range: &str) -> Error {
    Error::new(
        errno::EINVAL,
        format!("{name} {value} is out of range: {range}"),
    )
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // A message with an interior NUL is cut there rather than lost.
    let cut = message.split('\0').next().unwrap_or_default();
    let c = CString::new(cut).unwrap_or_default();
    LAST_ERROR.with(|m| *m.borrow_mut() = c);
}

thread_local! {
    /// How many guarded entry points this thread is inside (a strategy
    /// callback's kernel operations nest inside the explorer's call). While it
    /// is non-zero a panic is caught by a guard and the panic hook is silent.
    static GUARDS: Cell<u32> = const { Cell::new(0) };
}

/// Installs, once, a panic hook that prints nothing for a panic on a thread
/// inside a guard or inside an explorer execution (the explorer catches and
/// reports those, and its worker threads run inside the guarded call that
/// spawned them), and hands every other panic to the hook installed before.
///
/// The explorer's own unwinds (its `Abort` payload, corosensei's forced
/// unwinds) use `resume_unwind`, which runs no hook, and it installs no hook
/// of its own; a hook set later by the program replaces this one, as
/// `set_hook` always does.
fn install_quiet_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // `try_with`: a panic during thread-local destruction still
            // reaches the previous hook instead of aborting here. CTX, behind
            // `in_execution`, is a const Cell without a destructor.
            let guarded = GUARDS.try_with(|g| g.get() > 0).unwrap_or(false);
            if !guarded && !vipt_explore::engine::in_execution() {
                previous(info);
            }
        }));
    });
}

/// One guarded entry point on this thread's count, for as long as it lives.
///
/// A strategy callback's C stack can be discarded without returning (see
/// `kcpu.rs`), and with it a kernel operation's guard: the trampoline keeps the
/// count of the callback's stack apart ([`swap_guard_depth`]), so it stays exact.
struct Guarded;

impl Guarded {
    fn enter() -> Guarded {
        GUARDS.with(|g| g.set(g.get().saturating_add(1)));
        Guarded
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = GUARDS.try_with(|g| g.set(g.get().saturating_sub(1)));
    }
}

/// Sets this thread's guard count to `depth` and returns the count it had: a
/// strategy callback's C stack keeps a count of its own (its kernel operations
/// are guarded, and may be suspended inside their guard), swapped in while it
/// runs, so discarding that stack leaves the thread's count exact.
pub(crate) fn swap_guard_depth(depth: u32) -> u32 {
    GUARDS.with(|g| g.replace(depth))
}

/// Runs a fallible entry point: `Ok(v)` becomes `v` (≥ 0), an error becomes its
/// negative errno with the message kept, a panic (a bug of the library) becomes
/// `-ENOTRECOVERABLE` with its message, and prints nothing.
pub(crate) fn guard(name: &str, f: impl FnOnce() -> Result<c_int>) -> c_int {
    install_quiet_panic_hook();
    let guarded = Guarded::enter();
    crate::sanitizer::enter();
    let r = catch_unwind(AssertUnwindSafe(f));
    crate::sanitizer::leave();
    drop(guarded);
    match r {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            set_last_error(&format!("{name}: {}", e.message));
            -e.errno
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!(
                "{name}: internal error (panic caught; the objects this call used may be \
                 inconsistent): {what}"
            ));
            -errno::ENOTRECOVERABLE
        }
    }
}

/// Refuses a NULL out-pointer before a call does any work, so a call that
/// could not report its result leaves the model as it was.
pub(crate) fn need_out<T>(out: *mut T) -> Result<()> {
    if out.is_null() {
        Err(Error::new(errno::EFAULT, "out is NULL"))
    } else {
        Ok(())
    }
}

/// Writes `value` through a caller's out-pointer, which must not be NULL.
pub(crate) fn write_out<T>(out: *mut T, name: &str, value: T) -> Result<()> {
    if out.is_null() {
        return Err(Error::new(errno::EFAULT, format!("{name} is NULL")));
    }
    // SAFETY: `out` is non-NULL and, by the documented contract of every entry
    // point, points to writable memory for a `T` owned by the caller. Writing with
    // `write` does not read or drop the old (possibly uninitialised) value.
    unsafe { out.write(value) };
    Ok(())
}

/// Reads a caller's input struct, which must not be NULL.
pub(crate) fn read_in<T: Copy>(ptr: *const T, name: &str) -> Result<T> {
    if ptr.is_null() {
        return Err(Error::new(errno::EFAULT, format!("{name} is NULL")));
    }
    // SAFETY: `ptr` is non-NULL and, by the documented contract of every entry
    // point, points to a readable, initialised `T`. The `T`s read this way are
    // `#[repr(C)]` structs of integers and C-written bools.
    Ok(unsafe { ptr.read() })
}

/// Copies `text` into the caller's buffer of `len` bytes as a NUL-terminated
/// string, cut to fit; returns the full length of `text` (without the NUL), as
/// `snprintf` does. With `len` 0 nothing is written and `buf` may be NULL: the
/// way to ask for the length. `buf` NULL with `len` > 0 is `-EFAULT`; a text
/// longer than `INT_MAX` bytes is `-EOVERFLOW`.
pub(crate) fn write_cstr(buf: *mut c_char, len: usize, text: &str) -> Result<c_int> {
    let full = c_int::try_from(text.len()).map_err(|_| {
        Error::new(
            errno::EOVERFLOW,
            format!("the text is {} bytes, more than INT_MAX", text.len()),
        )
    })?;
    if len == 0 {
        return Ok(full);
    }
    if buf.is_null() {
        return Err(Error::new(
            errno::EFAULT,
            format!("buf is NULL with len {len} (NULL needs len 0)"),
        ));
    }
    let n = text.len().min(len - 1);
    // SAFETY: `buf` is non-NULL and, by contract, points to `len` writable bytes;
    // `n + 1 <= len` of them are written, and `text` does not overlap them.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    Ok(full)
}

/// The message of the last failed call on this thread, or "" if none failed.
/// It names the call, and for a value out of range the parameter, the value
/// and the range.
///
/// The pointer stays valid until the next failing call on the same thread.
///
/// The errno values of the whole API (Linux numbering), each with one meaning:
///
/// | errno | meaning |
/// |---|---|
/// | `-ENOENT` (2) | no such item: a built-in strategy of that name, a result's counter, failure message, failing schedule or timeline, a file page in the page cache |
/// | `-EIO` (5) | the model found a kernel BUG (a failed `BUG_ON`, a strategy that failed) |
/// | `-ENXIO` (6) | hardware page fault: a data access with no present translation (also the dirty-bit trap on a pte that is not present) |
/// | `-EBADF` (9) | a NULL, freed or forged handle, or a handle of another kind |
/// | `-ENOMEM` (12) | the model ran out of frames, swap slots or handles |
/// | `-EACCES` (13) | hardware protection fault |
/// | `-EFAULT` (14) | a NULL pointer argument (and nothing else) |
/// | `-EBUSY` (16) | an explorer run inside an execution, or a callback's CPU in use by another CPU |
/// | `-EINVAL` (22) | a parameter or struct field outside its documented range, or malformed |
/// | `-ERANGE` (34) | a number the object does not have (a CPU or frame of the machine or world, a report or scenario index past the last) or a value wider than its pte field |
/// | `-EDEADLK` (35) | a call on a CPU from inside a call on the same CPU |
/// | `-EOVERFLOW` (75) | a result that does not fit its type (cycles beyond 2^64, a text beyond `INT_MAX`) |
/// | `-EADDRNOTAVAIL` (99) | SIGSEGV in the model: a user access no vma allows (the message says SIGSEGV and the address) |
/// | `-ECANCELED` (125) | a strategy callback's work was cancelled: return |
/// | `-ENOTRECOVERABLE` (131) | a bug of the library (a panic, caught): the objects the call used may be inconsistent |
///
/// A string-returning call (`buf`, `len`) returns the text's full length
/// without the NUL, as `snprintf` does; `len` 0 writes nothing (then `buf` may
/// be NULL), so `(NULL, 0)` asks for the length.
#[no_mangle]
pub extern "C" fn vipt_last_error() -> *const c_char {
    LAST_ERROR.with(|m| m.borrow().as_ptr())
}

/// For tests of the panic boundary: panics inside the guard when `really` is
/// non-zero (any other `int` value) and returns -ENOTRECOVERABLE with a
/// message, printing nothing; returns 0 for 0.
#[no_mangle]
pub extern "C" fn vipt_selftest_panic(really: c_int) -> c_int {
    guard("vipt_selftest_panic", || {
        if really != 0 {
            panic!("deliberate panic for the boundary test");
        }
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_cstr_is_snprintf() {
        let mut buf = [0x55 as c_char; 8];
        assert_eq!(write_cstr(std::ptr::null_mut(), 0, "hello").unwrap(), 5);
        assert_eq!(write_cstr(buf.as_mut_ptr(), 0, "hello").unwrap(), 5);
        assert_eq!(buf[0], 0x55, "len 0 writes nothing");
        let e = write_cstr(std::ptr::null_mut(), 4, "hello").unwrap_err();
        assert_eq!(e.errno, errno::EFAULT);
        assert_eq!(write_cstr(buf.as_mut_ptr(), 4, "hello").unwrap(), 5);
        // SAFETY: write_cstr NUL-terminated the buffer.
        let s = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(s.to_str().unwrap(), "hel");
        assert_eq!(write_cstr(buf.as_mut_ptr(), 8, "").unwrap(), 0);
        assert_eq!(buf[0], 0);
    }

    #[test]
    fn range_messages_name_the_parameter_value_and_range() {
        assert!(in_range("depth", 16u32, 1, 16).is_ok());
        let e = in_range("depth", 17u32, 1, 16).unwrap_err();
        assert_eq!(e.errno, errno::EINVAL);
        assert_eq!(e.message, "depth 17 is out of range: 1 to 16");
    }

    /// A panic inside a guard is caught and counted out again; the hook is
    /// installed and the thread's count is back to zero afterwards.
    #[test]
    fn a_caught_panic_leaves_the_count_balanced() {
        assert_eq!(vipt_selftest_panic(1), -errno::ENOTRECOVERABLE);
        assert_eq!(GUARDS.with(Cell::get), 0);
        let nested = guard("outer", || {
            assert_eq!(GUARDS.with(Cell::get), 1);
            Ok(vipt_selftest_panic(1))
        });
        assert_eq!(nested, -errno::ENOTRECOVERABLE);
        assert_eq!(GUARDS.with(Cell::get), 0);
    }
}
