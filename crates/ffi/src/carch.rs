//! Arch hooks written in C: a profile derived from a built-in kernel profile
//! with some of its hooks ([`vipt_mm::arch::HOOKS`]) replaced by C
//! functions, explored and replayed like the built-ins.
//!
//! `vipt_arch_new(kernel, name, &a)` starts from the built-in parisc profile of
//! `kernel`; `vipt_arch_set_hook(a, "ptep_clear_flush", f, arg)` replaces one
//! hook; `vipt_scenario_new_arch` makes a scenario whose worlds run it. A
//! scenario takes a snapshot of the arch: hooks set later do not change it.
//!
//! A hook is `int f(struct vipt_kcpu *cpu, const struct vipt_hook_args *a,
//! uint64_t *ret, void *arg)`: it runs on the model CPU as a strategy does
//! (its own stack, every kernel operation a model step; see `kcpu`), reads
//! its arguments from `a` (the fields its kernel signature has; the others
//! are zero) and writes the value the hook returns (a pte, a loaded word)
//! to `*ret`. From inside, `vipt_arch_call(cpu, "hook", &args, &ret)` calls any
//! hook of the world's arch — the C ones included — so a patched hook
//! composes with the rest as in the kernel. `vipt_kernel.h`'s
//! `VIPT_ARCH_HOOK(fn)` writes the function in kernel style.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;

use parking_lot::Mutex;
use vipt_mm::arch::{self as arch_mod, Arch, HOOKS};
use vipt_mm::{Cpu, Kernel, MmError, MmStruct, Vma};
use vipt_pte::Pte;

use crate::error::{errno, guard, need_out, write_out, Error, Result};
use crate::handle::{from_ptr, to_ptr, HandleKind, HandleTable};
use crate::kcpu::{kcall, pfn_of, run_c, vipt_kcpu, vipt_page, vipt_vm_area, KCpu, KErr};
use crate::model::read_str;
use crate::world::vipt_mm_struct;

/// An arch profile being built in C. Opaque: a handle.
pub struct vipt_arch {
    _private: [u8; 0],
}

/// A hook's arguments: the fields its kernel signature has, zero otherwise.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vipt_hook_args {
    /// The vma (`vma.vma` NULL if the hook takes none).
    pub vma: vipt_vm_area,
    /// The mm (NULL if the hook takes none).
    pub mm: *mut vipt_mm_struct,
    /// The page: `flush_cache_page`'s pfn, `copy_user_page`'s destination, ….
    pub page: *mut vipt_page,
    /// `copy_user_page`'s source page.
    pub src: *mut vipt_page,
    /// The address (`vmaddr`, `addr`, a range's start).
    pub addr: u64,
    /// A range's end (exclusive).
    pub end: u64,
    /// The pte a hook installs (`set_pte_at`, `ptep_establish`, …).
    pub pte: u64,
    /// `copy_to_user_page`'s word.
    pub value: u64,
    /// `tlb_finish_mmu`: 1 for the whole mm's zap (`exit_mmap`), else 0.
    pub fullmm: u32,
}

/// A C arch hook; returns 0 or a negative errno (a kernel BUG: the kernel's
/// hooks cannot fail), writing the hook's value, if it has one, to `*ret`.
pub type vipt_arch_hook_fn = Option<
    unsafe extern "C" fn(
        cpu: *mut vipt_kcpu,
        args: *const vipt_hook_args,
        ret: *mut u64,
        arg: *mut c_void,
    ) -> c_int,
>;

type HookFn =
    unsafe extern "C" fn(*mut vipt_kcpu, *const vipt_hook_args, *mut u64, *mut c_void) -> c_int;

/// What `vipt_arch_new` and `vipt_arch_set_hook` build.
#[derive(Clone)]
struct Spec {
    name: String,
    kernel: Kernel,
    hooks: Vec<Option<(HookFn, usize)>>,
}

static ARCHES: HandleTable<Mutex<Spec>> = HandleTable::new(HandleKind::Arch);

/// The index of hook `name` in [`HOOKS`].
fn hook_index(name: &str) -> Result<usize> {
    HOOKS.iter().position(|h| *h == name).ok_or_else(|| {
        Error::new(
            errno::EINVAL,
            format!("unknown hook {name:?}; one of {}", HOOKS.join(", ")),
        )
    })
}

/// A profile for C hooks to patch: the built-in parisc hooks of kernel
/// `kernel` (`VIPT_KERNEL_*`), named `name` (non-empty UTF-8), into `out`.
#[no_mangle]
pub extern "C" fn vipt_arch_new(
    kernel: u32,
    name: *const c_char,
    out: *mut *mut vipt_arch,
) -> c_int {
    guard("vipt_arch_new", || {
        crate::error::in_range("kernel", kernel, 0, 3)?;
        let n = read_str(name, "name")?;
        if n.is_empty() {
            return Err(Error::new(errno::EINVAL, "name is empty"));
        }
        need_out(out)?;
        let spec = Spec {
            name: n.to_string(),
            kernel: Kernel::ALL[kernel as usize],
            hooks: vec![None; HOOKS.len()],
        };
        write_out(out, "out", to_ptr(ARCHES.insert(Mutex::new(spec))?))?;
        Ok(0)
    })
}

/// Replaces hook `hook` (a name of `vipt_arch_hook_name`) of `a` with `f`,
/// called with `arg`; `f` NULL puts the base profile's back.
#[no_mangle]
pub extern "C" fn vipt_arch_set_hook(
    a: *mut vipt_arch,
    hook: *const c_char,
    f: vipt_arch_hook_fn,
    arg: *mut c_void,
) -> c_int {
    guard("vipt_arch_set_hook", || {
        let spec = ARCHES.get(from_ptr(a))?;
        let i = hook_index(read_str(hook, "hook")?)?;
        spec.lock().hooks[i] = f.map(|f| (f, arg as usize));
        Ok(0)
    })
}

/// The name of hook `i` (0 to `vipt_arch_hook_count() - 1`) into `buf`, as
/// `vipt_scenario_name` does: the name's length, `-ERANGE` past the last.
#[no_mangle]
pub extern "C" fn vipt_arch_hook_name(i: u32, buf: *mut c_char, len: usize) -> c_int {
    guard("vipt_arch_hook_name", || {
        let n = HOOKS.get(i as usize).ok_or_else(|| {
            Error::new(
                errno::ERANGE,
                format!("hook {i} is past the last ({})", HOOKS.len() - 1),
            )
        })?;
        crate::error::write_cstr(buf, len, n)
    })
}

/// How many hooks there are.
#[no_mangle]
pub extern "C" fn vipt_arch_hook_count() -> c_int {
    HOOKS.len() as c_int
}

/// Frees an arch handle (scenarios made with it keep their snapshot).
#[no_mangle]
pub extern "C" fn vipt_arch_free(a: *mut vipt_arch) -> c_int {
    guard("vipt_arch_free", || {
        ARCHES.remove(from_ptr(a))?;
        Ok(0)
    })
}

/// The arch a handle stands for now, as an [`Arch`], and its kernel.
pub(crate) fn arch_of(a: *const vipt_arch) -> Result<(Arc<dyn Arch>, Kernel)> {
    let spec = ARCHES.get(from_ptr(a))?.lock().clone();
    let kernel = spec.kernel;
    Ok((
        Arc::new(CArch {
            base: arch_mod::profile(kernel),
            spec,
        }),
        kernel,
    ))
}

/// A built-in profile with C hooks.
struct CArch {
    base: Arc<dyn Arch>,
    spec: Spec,
}

/// A hook's arguments on the Rust side.
#[derive(Default)]
struct Args<'a> {
    vma: Option<&'a Arc<Vma>>,
    mm: Option<&'a MmStruct>,
    page: Option<u64>,
    src: Option<u64>,
    addr: u64,
    end: u64,
    pte: u64,
    value: u64,
    fullmm: bool,
}

impl CArch {
    /// Runs the C hook `name` if one is set: `Some(its value)`, else `None`.
    fn call(
        &self,
        cpu: &mut Cpu,
        name: &str,
        a: Args<'_>,
    ) -> std::result::Result<Option<u64>, MmError> {
        let i = hook_index(name).expect("the hooks name themselves from HOOKS");
        let Some((f, arg)) = self.spec.hooks[i] else {
            return Ok(None);
        };
        let mm = match (a.mm, a.vma) {
            (Some(m), _) => cpu.world().mm(m.context),
            (None, Some(v)) => v.mm(),
            _ => None,
        };
        let mut ret = 0u64;
        let retp: *mut u64 = &mut ret;
        run_c(
            cpu,
            &format!("arch {} hook {name}", self.spec.name),
            |k: &KCpu| {
                Ok(vipt_hook_args {
                    vma: match a.vma {
                        Some(v) => k.vm_area(v.clone())?,
                        None => vipt_vm_area::zero(),
                    },
                    mm: match (a.mm, mm) {
                        (Some(_), Some(m)) => k.mm_handle(m)?,
                        _ => std::ptr::null_mut(),
                    },
                    page: a.page.map_or(std::ptr::null_mut(), |p| to_ptr(p + 1)),
                    src: a.src.map_or(std::ptr::null_mut(), |p| to_ptr(p + 1)),
                    addr: a.addr,
                    end: a.end,
                    pte: a.pte,
                    value: a.value,
                    fullmm: u32::from(a.fullmm),
                })
            },
            // SAFETY: `f` was non-NULL when set and the registrant promised a
            // function of this type; `args` lives until `run_c` returns and
            // `retp` points at `ret`, alive in this frame until then.
            |k, args| unsafe { f(k, args, retp, arg as *mut c_void) },
        )?;
        Ok(Some(ret))
    }
}

/// Each hook: the C one if set, else the base profile's.
macro_rules! hook {
    ($self:ident, $cpu:ident, $name:literal, $args:expr, |$v:ident| $conv:expr, $base:expr) => {
        match $self.call($cpu, $name, $args)? {
            Some($v) => Ok($conv),
            None => $base,
        }
    };
}

type R<T> = std::result::Result<T, MmError>;

impl Arch for CArch {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn base(&self) -> &dyn Arch {
        &*self.base
    }

    fn flush_cache_mm(&self, cpu: &mut Cpu, mm: &MmStruct) -> R<()> {
        let a = Args {
            mm: Some(mm),
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "flush_cache_mm",
            a,
            |_v| (),
            self.base.flush_cache_mm(cpu, mm)
        )
    }

    fn flush_cache_range(&self, cpu: &mut Cpu, vma: &Arc<Vma>, start: u64, end: u64) -> R<()> {
        let a = Args {
            vma: Some(vma),
            addr: start,
            end,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "flush_cache_range",
            a,
            |_v| (),
            self.base.flush_cache_range(cpu, vma, start, end)
        )
    }

    fn flush_cache_page(&self, cpu: &mut Cpu, vma: &Arc<Vma>, addr: u64, pfn: u64) -> R<()> {
        let a = Args {
            vma: Some(vma),
            addr,
            page: Some(pfn),
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "flush_cache_page",
            a,
            |_v| (),
            self.base.flush_cache_page(cpu, vma, addr, pfn)
        )
    }

    fn __flush_cache_page(&self, cpu: &mut Cpu, vma: &Arc<Vma>, addr: u64, pfn: u64) -> R<()> {
        let a = Args {
            vma: Some(vma),
            addr,
            page: Some(pfn),
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "__flush_cache_page",
            a,
            |_v| (),
            self.base.__flush_cache_page(cpu, vma, addr, pfn)
        )
    }

    fn flush_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> R<()> {
        let a = Args {
            page: Some(pfn),
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "flush_dcache_page",
            a,
            |_v| (),
            self.base.flush_dcache_page(cpu, pfn)
        )
    }

    fn flush_kernel_dcache_page(&self, cpu: &mut Cpu, pfn: u64) -> R<()> {
        let a = Args {
            page: Some(pfn),
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "flush_kernel_dcache_page",
            a,
            |_v| (),
            self.base.flush_kernel_dcache_page(cpu, pfn)
        )
    }

    fn flush_icache_page(&self, cpu: &mut Cpu, vma: &Arc<Vma>, pfn: u64) -> R<()> {
        let a = Args {
            vma: Some(vma),
            page: Some(pfn),
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "flush_icache_page",
            a,
            |_v| (),
            self.base.flush_icache_page(cpu, vma, pfn)
        )
    }

    fn flush_anon_page(&self, cpu: &mut Cpu, vma: &Arc<Vma>, pfn: u64, addr: u64) -> R<()> {
        let a = Args {
            vma: Some(vma),
            page: Some(pfn),
            addr,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "flush_anon_page",
            a,
            |_v| (),
            self.base.flush_anon_page(cpu, vma, pfn, addr)
        )
    }

    fn copy_user_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        dst: u64,
        src: u64,
        vaddr: u64,
    ) -> R<()> {
        let a = Args {
            vma: Some(vma),
            page: Some(dst),
            src: Some(src),
            addr: vaddr,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "copy_user_page",
            a,
            |_v| (),
            self.base.copy_user_page(cpu, vma, dst, src, vaddr)
        )
    }

    fn clear_user_page(&self, cpu: &mut Cpu, pfn: u64, vaddr: u64) -> R<()> {
        let a = Args {
            page: Some(pfn),
            addr: vaddr,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "clear_user_page",
            a,
            |_v| (),
            self.base.clear_user_page(cpu, pfn, vaddr)
        )
    }

    fn copy_to_user_page(
        &self,
        cpu: &mut Cpu,
        vma: &Arc<Vma>,
        pfn: u64,
        vaddr: u64,
        value: u64,
    ) -> R<()> {
        let a = Args {
            vma: Some(vma),
            page: Some(pfn),
            addr: vaddr,
            value,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "copy_to_user_page",
            a,
            |_v| (),
            self.base.copy_to_user_page(cpu, vma, pfn, vaddr, value)
        )
    }

    fn copy_from_user_page(&self, cpu: &mut Cpu, vma: &Arc<Vma>, pfn: u64, vaddr: u64) -> R<u64> {
        let a = Args {
            vma: Some(vma),
            page: Some(pfn),
            addr: vaddr,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "copy_from_user_page",
            a,
            |v| v,
            self.base.copy_from_user_page(cpu, vma, pfn, vaddr)
        )
    }

    fn set_pte_at(&self, cpu: &mut Cpu, mm: &MmStruct, addr: u64, pte: Pte) -> R<()> {
        let a = Args {
            mm: Some(mm),
            addr,
            pte: pte.raw(),
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "set_pte_at",
            a,
            |_v| (),
            self.base.set_pte_at(cpu, mm, addr, pte)
        )
    }

    fn pte_clear(&self, cpu: &mut Cpu, mm: &MmStruct, addr: u64) -> R<()> {
        let a = Args {
            mm: Some(mm),
            addr,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "pte_clear",
            a,
            |_v| (),
            self.base.pte_clear(cpu, mm, addr)
        )
    }

    fn ptep_get_and_clear(&self, cpu: &mut Cpu, mm: &MmStruct, addr: u64) -> R<Pte> {
        let a = Args {
            mm: Some(mm),
            addr,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "ptep_get_and_clear",
            a,
            |v| Pte::from_raw(v),
            self.base.ptep_get_and_clear(cpu, mm, addr)
        )
    }

    fn ptep_clear_flush(&self, cpu: &mut Cpu, vma: &Arc<Vma>, addr: u64) -> R<Pte> {
        let a = Args {
            vma: Some(vma),
            addr,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "ptep_clear_flush",
            a,
            |v| Pte::from_raw(v),
            self.base.ptep_clear_flush(cpu, vma, addr)
        )
    }

    fn ptep_set_wrprotect(&self, cpu: &mut Cpu, mm: &MmStruct, addr: u64) -> R<()> {
        let a = Args {
            mm: Some(mm),
            addr,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "ptep_set_wrprotect",
            a,
            |_v| (),
            self.base.ptep_set_wrprotect(cpu, mm, addr)
        )
    }

    fn ptep_set_access_flags(&self, cpu: &mut Cpu, vma: &Arc<Vma>, addr: u64, pte: Pte) -> R<()> {
        let a = Args {
            vma: Some(vma),
            addr,
            pte: pte.raw(),
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "ptep_set_access_flags",
            a,
            |_v| (),
            self.base.ptep_set_access_flags(cpu, vma, addr, pte)
        )
    }

    fn ptep_establish(&self, cpu: &mut Cpu, vma: &Arc<Vma>, addr: u64, pte: Pte) -> R<()> {
        let a = Args {
            vma: Some(vma),
            addr,
            pte: pte.raw(),
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "ptep_establish",
            a,
            |_v| (),
            self.base.ptep_establish(cpu, vma, addr, pte)
        )
    }

    fn update_mmu_cache(&self, cpu: &mut Cpu, vma: &Arc<Vma>, addr: u64, pte: Pte) -> R<()> {
        let a = Args {
            vma: Some(vma),
            addr,
            pte: pte.raw(),
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "update_mmu_cache",
            a,
            |_v| (),
            self.base.update_mmu_cache(cpu, vma, addr, pte)
        )
    }

    fn flush_tlb_page(&self, cpu: &mut Cpu, vma: &Arc<Vma>, addr: u64) -> R<()> {
        let a = Args {
            vma: Some(vma),
            addr,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "flush_tlb_page",
            a,
            |_v| (),
            self.base.flush_tlb_page(cpu, vma, addr)
        )
    }

    fn flush_tlb_range(&self, cpu: &mut Cpu, vma: &Arc<Vma>, start: u64, end: u64) -> R<()> {
        let a = Args {
            vma: Some(vma),
            addr: start,
            end,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "flush_tlb_range",
            a,
            |_v| (),
            self.base.flush_tlb_range(cpu, vma, start, end)
        )
    }

    fn flush_tlb_mm(&self, cpu: &mut Cpu, mm: &MmStruct) -> R<()> {
        let a = Args {
            mm: Some(mm),
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "flush_tlb_mm",
            a,
            |_v| (),
            self.base.flush_tlb_mm(cpu, mm)
        )
    }

    fn tlb_start_vma(&self, cpu: &mut Cpu, vma: &Arc<Vma>) -> R<()> {
        let a = Args {
            vma: Some(vma),
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "tlb_start_vma",
            a,
            |_v| (),
            self.base.tlb_start_vma(cpu, vma)
        )
    }

    fn tlb_end_vma(&self, cpu: &mut Cpu, vma: &Arc<Vma>, start: u64, end: u64) -> R<()> {
        let a = Args {
            vma: Some(vma),
            addr: start,
            end,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "tlb_end_vma",
            a,
            |_v| (),
            self.base.tlb_end_vma(cpu, vma, start, end)
        )
    }

    fn tlb_finish_mmu(&self, cpu: &mut Cpu, mm: &MmStruct, fullmm: bool) -> R<()> {
        let a = Args {
            mm: Some(mm),
            fullmm,
            ..Args::default()
        };
        hook!(
            self,
            cpu,
            "tlb_finish_mmu",
            a,
            |_v| (),
            self.base.tlb_finish_mmu(cpu, mm, fullmm)
        )
    }
}

/// Calls hook `hook` of the world's arch (C hooks included) from inside a
/// callback, with `args` as a hook receives them; the hook's value, if it has
/// one, into `ret` (may be NULL). `-EINVAL` for an unknown hook or a hook
/// whose vma, mm or page argument is missing.
#[no_mangle]
pub extern "C" fn vipt_arch_call(
    cpu: *mut vipt_kcpu,
    hook: *const c_char,
    args: *const vipt_hook_args,
    ret: *mut u64,
) -> c_int {
    kcall("vipt_arch_call", cpu, |k, c| {
        let name = read_str(hook, "hook")?;
        hook_index(name)?;
        let a = crate::error::read_in(args, "args")?;
        let vma = || -> Result<Arc<Vma>> {
            if a.vma.vma.is_null() {
                return Err(Error::new(errno::EINVAL, format!("{name} needs args->vma")));
            }
            k.vma(a.vma.vma)
        };
        let mm = || -> Result<Arc<MmStruct>> {
            if a.mm.is_null() {
                return Err(Error::new(errno::EINVAL, format!("{name} needs args->mm")));
            }
            k.mm(a.mm)
        };
        let page = || -> Result<u64> {
            if a.page.is_null() {
                return Err(Error::new(
                    errno::EINVAL,
                    format!("{name} needs args->page"),
                ));
            }
            pfn_of(a.page)
        };
        let arch = c.arch();
        let pte = Pte::from_raw(a.pte);
        let v: u64 = match name {
            "flush_cache_mm" => arch.flush_cache_mm(c, &*mm()?).map(|_| 0)?,
            "flush_cache_range" => arch
                .flush_cache_range(c, &vma()?, a.addr, a.end)
                .map(|_| 0)?,
            "flush_cache_page" => arch
                .flush_cache_page(c, &vma()?, a.addr, page()?)
                .map(|_| 0)?,
            "__flush_cache_page" => arch
                .__flush_cache_page(c, &vma()?, a.addr, page()?)
                .map(|_| 0)?,
            "flush_dcache_page" => arch.flush_dcache_page(c, page()?).map(|_| 0)?,
            "flush_kernel_dcache_page" => arch.flush_kernel_dcache_page(c, page()?).map(|_| 0)?,
            "flush_icache_page" => arch.flush_icache_page(c, &vma()?, page()?).map(|_| 0)?,
            "flush_anon_page" => arch
                .flush_anon_page(c, &vma()?, page()?, a.addr)
                .map(|_| 0)?,
            "copy_user_page" => {
                if a.src.is_null() {
                    return Err(Error::new(errno::EINVAL, "copy_user_page needs args->src").into());
                }
                let src = pfn_of(a.src)?;
                arch.copy_user_page(c, &vma()?, page()?, src, a.addr)
                    .map(|_| 0)?
            }
            "clear_user_page" => arch.clear_user_page(c, page()?, a.addr).map(|_| 0)?,
            "copy_to_user_page" => arch
                .copy_to_user_page(c, &vma()?, page()?, a.addr, a.value)
                .map(|_| 0)?,
            "copy_from_user_page" => arch.copy_from_user_page(c, &vma()?, page()?, a.addr)?,
            "set_pte_at" => arch.set_pte_at(c, &*mm()?, a.addr, pte).map(|_| 0)?,
            "pte_clear" => arch.pte_clear(c, &*mm()?, a.addr).map(|_| 0)?,
            "ptep_get_and_clear" => arch.ptep_get_and_clear(c, &*mm()?, a.addr)?.raw(),
            "ptep_clear_flush" => arch.ptep_clear_flush(c, &vma()?, a.addr)?.raw(),
            "ptep_set_wrprotect" => arch.ptep_set_wrprotect(c, &*mm()?, a.addr).map(|_| 0)?,
            "ptep_set_access_flags" => arch
                .ptep_set_access_flags(c, &vma()?, a.addr, pte)
                .map(|_| 0)?,
            "ptep_establish" => arch.ptep_establish(c, &vma()?, a.addr, pte).map(|_| 0)?,
            "update_mmu_cache" => arch.update_mmu_cache(c, &vma()?, a.addr, pte).map(|_| 0)?,
            "flush_tlb_page" => arch.flush_tlb_page(c, &vma()?, a.addr).map(|_| 0)?,
            "flush_tlb_range" => arch.flush_tlb_range(c, &vma()?, a.addr, a.end).map(|_| 0)?,
            "flush_tlb_mm" => arch.flush_tlb_mm(c, &*mm()?).map(|_| 0)?,
            "tlb_start_vma" => arch.tlb_start_vma(c, &vma()?).map(|_| 0)?,
            "tlb_end_vma" => arch.tlb_end_vma(c, &vma()?, a.addr, a.end).map(|_| 0)?,
            "tlb_finish_mmu" => arch.tlb_finish_mmu(c, &*mm()?, a.fullmm != 0).map(|_| 0)?,
            _ => unreachable!("hook_index checked {name}"),
        };
        if !ret.is_null() {
            write_out(ret, "ret", v)?;
        }
        Ok::<c_int, KErr>(0)
    })
}

/// `pfn_valid(pfn)`: 1 if the model has a page frame `pfn`, else 0.
#[no_mangle]
pub extern "C" fn vipt_pfn_valid(cpu: *mut vipt_kcpu, pfn: u64) -> c_int {
    kcall("vipt_pfn_valid", cpu, |_, c| {
        Ok(c_int::from(c.world().page(pfn).is_ok()))
    })
}
