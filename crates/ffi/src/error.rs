//! Errors across the C boundary: a negative errno as the result, a message kept
//! per thread, and one guard that every fallible entry point goes through so that
//! no panic unwinds into C.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
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

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // A message with an interior NUL is cut there rather than lost.
    let cut = message.split('\0').next().unwrap_or_default();
    let c = CString::new(cut).unwrap_or_default();
    LAST_ERROR.with(|m| *m.borrow_mut() = c);
}

/// Runs a fallible entry point: `Ok(v)` becomes `v` (≥ 0), an error becomes its
/// negative errno with the message kept, a panic becomes `-EIO` with its message.
pub(crate) fn guard(name: &str, f: impl FnOnce() -> Result<c_int>) -> c_int {
    crate::sanitizer::enter();
    let r = catch_unwind(AssertUnwindSafe(f));
    crate::sanitizer::leave();
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
            set_last_error(&format!("{name}: internal error (panic caught): {what}"));
            -errno::EIO
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
/// string, cut to fit; returns the full length of `text`.
pub(crate) fn write_cstr(buf: *mut c_char, len: usize, text: &str) -> Result<c_int> {
    if buf.is_null() || len == 0 {
        return Err(Error::new(errno::EFAULT, "buf is NULL or len is 0"));
    }
    let n = text.len().min(len - 1);
    // SAFETY: `buf` is non-NULL and, by contract, points to `len` writable bytes;
    // `n + 1 <= len` of them are written, and `text` does not overlap them.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    Ok(c_int::try_from(text.len()).unwrap_or(c_int::MAX))
}

/// The message of the last failed call on this thread, or "" if none failed.
///
/// The pointer stays valid until the next failing call on the same thread.
#[no_mangle]
pub extern "C" fn vipt_last_error() -> *const c_char {
    LAST_ERROR.with(|m| m.borrow().as_ptr())
}

/// For tests of the panic boundary: panics inside the guard when `really` is
/// non-zero and returns -EIO with a message; returns 0 otherwise.
#[no_mangle]
pub extern "C" fn vipt_selftest_panic(really: c_int) -> c_int {
    guard("vipt_selftest_panic", || {
        if really != 0 {
            panic!("deliberate panic for the boundary test");
        }
        Ok(0)
    })
}
