//! Fuzzes the C API: each input is a program of calls to `vipt_*` entry
//! points (the pte and hardware layers — every hw call, cost models and
//! checkpoints included — strategies including a C-ABI one,
//! scenarios, explorer runs and replays, results, and the native world) on a
//! pool of live, freed and forged handles, with arguments taken from the
//! input; numbers are often taken at the edges of their types and ranges
//! (see `Input::wild`), nothing is clamped into its valid range but a valid
//! budget, step limit and frame count, kept small so an input stays quick
//! and within the fuzzer's memory limit. Every call must return a non-negative value or one of the errnos
//! the API documents, with a message; `-ENOTRECOVERABLE` (a panic caught at
//! the boundary) is a finding, and so is anything the sanitizer sees.
//!
//! `scripts/fuzz.sh [SECONDS]` builds and runs it (nightly and cargo-fuzz).

#![no_main]

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr::null_mut;

use libfuzzer_sys::fuzz_target;
use vipt::*;

/// The bytes of the input, read front to back (zeros past the end).
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }
    /// A small number, mostly, sometimes a big one.
    fn small(&mut self) -> u64 {
        match self.u8() {
            0..=199 => u64::from(self.u8() % 16),
            200..=239 => u64::from(self.u32() % 5000),
            _ => self.u64(),
        }
    }
    /// Any value, often one at an edge: 0, 1, a power of two or one off it,
    /// the top of a type, the last page of the address space.
    fn wild(&mut self) -> u64 {
        match self.u8() % 8 {
            0 => self.u64(),
            1 => [0, 1, 2, 3, u64::MAX, u64::MAX - 1][self.u8() as usize % 6],
            2 => [
                u64::from(u32::MAX),
                u64::from(i32::MAX as u32),
                1 << 20,
                1 << 52,
            ][self.u8() as usize % 4],
            3 => 0xffff_ffff_ffff_f000 | u64::from(self.u8()) << 4,
            4 => {
                let p = 1u64 << (self.u8() % 64);
                [p, p - 1, p + 1][self.u8() as usize % 3]
            }
            _ => self.small(),
        }
    }
    fn wild32(&mut self) -> u32 {
        self.wild() as u32
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// `vipt_last_error`'s errno table, without `ENOTRECOVERABLE` (131): ENOENT,
/// EIO (a model BUG), ENXIO, EBADF, ENOMEM, EACCES, EFAULT, EBUSY, EINVAL,
/// ERANGE, EDEADLK, EOVERFLOW, EADDRNOTAVAIL (SIGSEGV), ECANCELED.
const EXPECTED: [c_int; 14] = [2, 5, 6, 9, 12, 13, 14, 16, 22, 34, 35, 75, 99, 125];

/// A call's result is valid: non-negative, or a documented errno with a message.
fn check(name: &str, rc: c_int) {
    if rc >= 0 {
        return;
    }
    assert!(
        EXPECTED.contains(&-rc),
        "{name} returned {rc}: {}",
        last_error()
    );
    assert!(
        !last_error().is_empty(),
        "{name} returned {rc} with no message"
    );
}

fn last_error() -> String {
    // SAFETY: vipt_last_error returns a NUL-terminated string that lives
    // until the next failing call on this thread.
    unsafe { CStr::from_ptr(vipt_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// A frame count for a machine or world: anything out of range, but a valid
/// one at most 4096 frames (16 MiB), so that up to 64 live machines of one
/// input stay within the fuzzer's memory limit; 2^20 frames, the documented
/// maximum, is 4 GiB of model memory, a real allocation for a real user.
fn big_frames(v: u64) -> u64 {
    if v > 4096 && v <= VIPT_MAX_FRAMES {
        v % 4096
    } else {
        v
    }
}

/// Handles of one kind: live ones, freed ones, and forged values.
struct Pool(Vec<usize>);

impl Pool {
    fn new() -> Pool {
        Pool(vec![0, 1, 0xffff_ffff, 0x1_0000_0001, usize::MAX])
    }
    fn pick<T>(&self, i: &mut Input) -> *mut T {
        std::ptr::without_provenance_mut(self.0[i.u8() as usize % self.0.len()])
    }
    fn add<T>(&mut self, p: *mut T) {
        if self.0.len() < 64 {
            self.0.push(p.addr());
        }
    }
}

/// Frees every handle a pool gained during one input.
fn free_all<T>(p: &mut Pool, free: extern "C" fn(*mut T) -> c_int) {
    for h in p.0.drain(5..) {
        free(std::ptr::without_provenance_mut(h));
    }
}

thread_local! {
    /// Arguments for the callback strategy, from the input.
    static SCRIPT: Cell<[u64; 4]> = const { Cell::new([0; 4]) };
}

/// A strategy that calls the kernel operations with arguments from the
/// input: real and forged handles, odd bits, odd ranges.
unsafe extern "C" fn fuzzed_strategy(
    cpu: *mut vipt_kcpu,
    page: *mut vipt_page,
    _arg: *mut c_void,
) -> c_int {
    let s = SCRIPT.with(Cell::get);
    let mut mapping = null_mut();
    check("page_mapping", vipt_page_mapping(cpu, page, &mut mapping));
    check("mapping_mapped", vipt_mapping_mapped(cpu, mapping));
    check("flush_kernel", vipt_flush_kernel_dcache_page(cpu, page));
    if s[0] & 1 != 0 {
        check("set_bit", vipt_page_set_bit(cpu, page, (s[0] >> 8) as u32));
    }
    let mut index = 0;
    check("page_index", vipt_page_index(cpu, page, &mut index));
    let lock = s[0] & 2 != 0;
    if lock {
        check("lock", vipt_flush_dcache_mmap_lock(cpu, mapping));
    }
    let mut iter = std::mem::MaybeUninit::<vipt_prio_tree_iter>::zeroed();
    // SAFETY: all-zero is a valid iterator (null pointers and zeros).
    let it = unsafe { iter.assume_init_mut() };
    check(
        "iter_init",
        vipt_prio_tree_iter_init(
            it,
            mapping,
            index.wrapping_add(s[1]),
            index.wrapping_add(s[2]),
        ),
    );
    for _ in 0..4 {
        let rc = vipt_vma_prio_tree_next(cpu, it);
        check("prio_tree_next", rc);
        if rc <= 0 {
            break;
        }
        let vma = if s[3] & 1 != 0 {
            it.vma.vma
        } else {
            s[3] as usize as *mut _
        };
        let addr = if s[3] & 4 != 0 {
            s[2]
        } else {
            it.vma.vm_start.wrapping_add(s[2] & 0x3fff)
        };
        check(
            "translation_exists",
            vipt_translation_exists(cpu, vma, addr, s[1]),
        );
        check(
            "legacy",
            vipt_translation_exists_legacy(cpu, vma, addr, s[1]),
        );
        let mut pte = 0;
        check("pte_lookup", vipt_pte_lookup(cpu, vma, addr, &mut pte));
        check(
            "__flush_cache_page",
            vipt___flush_cache_page(cpu, vma, addr),
        );
        check("asm", vipt_flush_dcache_page_asm(cpu, page, addr));
        check("tlb", vipt_flush_tlb_page(cpu, vma, addr));
        check(
            "alias",
            vipt_report_inequivalent_aliases(cpu, vma, addr, s[0]),
        );
        let mm = if s[3] & 2 != 0 {
            it.vma.vm_mm
        } else {
            s[1] as usize as *mut _
        };
        check("pgd_present", vipt_pgd_present(cpu, mm, addr));
        check("pmd_present", vipt_pmd_present(cpu, mm, addr));
        check(
            "pte_offset_map",
            vipt_pte_offset_map(cpu, mm, addr, &mut pte),
        );
        let l = vipt_lock_ref {
            kind: (s[0] >> 16) as u32 % 4,
            obj: if s[0] & 4 != 0 {
                mm.cast()
            } else {
                mapping.cast()
            },
            addr,
        };
        let what = if s[0] & 8 != 0 {
            c"fuzz".as_ptr()
        } else {
            std::ptr::null()
        };
        check("spin_lock", vipt_spin_lock(cpu, &l, what));
        if s[0] & 16 != 0 {
            check("spin_unlock", vipt_spin_unlock(cpu, &l, what));
        }
    }
    if lock {
        check("unlock", vipt_flush_dcache_mmap_unlock(cpu, mapping));
    }
    (s[3] >> 8) as c_int % 2 * -22
}

const SCENARIOS: [&CStr; 10] = [
    c"swap-pte",
    c"reclaim",
    c"cow",
    c"munmap",
    c"truncate",
    c"zap-refault",
    c"inequivalent",
    c"pte-lock",
    c"move-in",
    c"no-such",
];
const STRATEGIES: [&CStr; 7] = [
    c"legacy-2005",
    c"patched-2005",
    c"recheck",
    c"tmpalias",
    c"modern",
    c"patched-ptl",
    c"",
];

fuzz_target!(|data: &[u8]| {
    let mut i = Input(data);
    let (mut strategies, mut scenarios, mut results) = (Pool::new(), Pool::new(), Pool::new());
    let (mut worlds, mut files, mut cpus, mut mms) =
        (Pool::new(), Pool::new(), Pool::new(), Pool::new());
    let mut hws = Pool::new();
    let mut buf = [0 as c_char; 96];
    let mut steps = 0;
    while !i.done() && steps < 40 {
        steps += 1;
        SCRIPT.with(|s| s.set([i.u64(), i.wild(), i.wild(), i.u64()]));
        match i.u8() % 24 {
            0 => {
                let mut out = null_mut();
                let n = STRATEGIES[i.u8() as usize % STRATEGIES.len()];
                check("builtin", vipt_strategy_builtin(n.as_ptr(), &mut out));
                strategies.add(out);
            }
            1 => {
                let mut out = null_mut();
                let f: vipt_flush_dcache_page_fn = (i.u8() % 8 != 0).then_some(fuzzed_strategy);
                check(
                    "register",
                    vipt_strategy_register(c"fuzz".as_ptr(), f, null_mut(), &mut out),
                );
                strategies.add(out);
            }
            2 => check("strategy_free", vipt_strategy_free(strategies.pick(&mut i))),
            3 => {
                let mut p = vipt_scenario_params {
                    kernel: 0,
                    vmas: 0,
                    lines: 0,
                    colour: 0,
                    page_flush: -1,
                    move_in: false,
                };
                let n = SCENARIOS[i.u8() as usize % SCENARIOS.len()];
                check("defaults", vipt_scenario_defaults(n.as_ptr(), &mut p));
                p.vmas = match i.u8() % 4 {
                    0 => i.u32() % 10,
                    _ => p.vmas,
                };
                p.lines = match i.u8() % 4 {
                    0 => i.small(),
                    _ => p.lines,
                };
                p.colour = i.u32() % 4;
                p.page_flush = match i.u8() % 4 {
                    0 => i.wild32() as i32,
                    1 => -1,
                    v => i32::from(v == 2),
                };
                p.kernel = match i.u8() % 4 {
                    0 => i.wild32(),
                    _ => i.u32() % 4,
                };
                let mut out = null_mut();
                let params = if i.u8() % 5 == 0 {
                    std::ptr::null()
                } else {
                    &p
                };
                check(
                    "scenario_new",
                    vipt_scenario_new(n.as_ptr(), params, strategies.pick(&mut i), &mut out),
                );
                scenarios.add(out);
            }
            4 => {
                if i.u8() % 2 == 0 {
                    let mut sw = std::mem::MaybeUninit::<vipt_scenario_world>::uninit();
                    let rc = vipt_scenario_world(scenarios.pick(&mut i), sw.as_mut_ptr());
                    check("scenario_world", rc);
                    if rc == 0 {
                        // SAFETY: written in full on success.
                        let sw = unsafe { sw.assume_init() };
                        worlds.add(sw.world);
                        files.add(sw.file);
                        cpus.add(sw.writer);
                        cpus.add(sw.racer);
                        cpus.add(sw.user);
                    }
                } else {
                    check("scenario_free", vipt_scenario_free(scenarios.pick(&mut i)));
                }
            }
            5 => {
                let mut c = std::mem::MaybeUninit::uninit();
                check("config", vipt_explore_config_default(c.as_mut_ptr()));
                // SAFETY: vipt_explore_config_default wrote all of it.
                let mut c = unsafe { c.assume_init() };
                // Every field may be out of range; a valid budget stays
                // small (a valid huge one would only be slow).
                c.mode = if i.u8() % 8 == 0 {
                    i.wild32()
                } else {
                    i.u32() % 3
                };
                c.bound = if i.u8() % 8 == 0 {
                    i.wild32() as i32
                } else {
                    (i.u8() % 5) as i32 - 2
                };
                c.depth = i.wild32();
                c.budget = i.wild();
                // Every budget from 1 up is valid: keep 0, the one refused.
                c.budget %= 4;
                c.threads = if i.u8() % 8 == 0 {
                    i.wild32()
                } else {
                    1 + i.u32() % 2
                };
                c.max_steps = if i.u8() % 4 == 0 {
                    i.wild()
                } else {
                    i.small() % 300
                };
                if c.max_steps > 300 && c.max_steps <= 1 << 22 {
                    c.max_steps %= 300;
                }
                c.reduction = i.u8() & 1 != 0;
                c.seed = i.u64();
                let mut out = null_mut();
                check(
                    "explore",
                    vipt_explore(scenarios.pick(&mut i), &c, &mut out),
                );
                results.add(out);
            }
            6 => {
                let sched: Vec<u8> = (0..i.u8() % 12)
                    .map(|_| b"abcdz0123456789!"[i.u8() as usize % 16])
                    .chain([0])
                    .collect();
                let mut out = null_mut();
                check(
                    "replay",
                    vipt_replay(scenarios.pick(&mut i), sched.as_ptr().cast(), &mut out),
                );
                results.add(out);
            }
            7 => {
                let r = results.pick(&mut i);
                let len = i.small() as usize % (buf.len() + 1);
                let b = if i.u8() % 6 == 0 {
                    null_mut()
                } else {
                    buf.as_mut_ptr()
                };
                let k = i.small() as usize;
                check("schedule", vipt_result_schedule(r, b, len));
                check("failure", vipt_result_failure(r, k, b, len));
                check("counter_name", vipt_result_counter_name(r, k, b, len));
                check("timeline", vipt_result_timeline(r, b, len));
                let mut v = 0;
                check(
                    "counter",
                    vipt_result_counter(r, c"fdc_issued".as_ptr(), &mut v),
                );
                let mut c = std::mem::MaybeUninit::uninit();
                check("counts", vipt_result_counts(r, c.as_mut_ptr()));
            }
            8 => check("result_free", vipt_result_free(results.pick(&mut i))),
            9 => {
                let p = vipt_world_params {
                    frames: if i.u8() % 4 == 0 {
                        big_frames(i.wild())
                    } else {
                        i.small() % 200
                    },
                    cpus: if i.u8() % 4 == 0 {
                        i.wild32()
                    } else {
                        i.u32() % 6
                    },
                    page_flush: i.u8() & 1 != 0,
                    split_ptlock: i.u8() & 1 != 0,
                    colour: i.u32() % 3,
                };
                let mut out = null_mut();
                check(
                    "world_new",
                    vipt_world_new(&p, strategies.pick(&mut i), &mut out),
                );
                worlds.add(out);
            }
            10 => check("world_free", vipt_world_free(worlds.pick(&mut i))),
            11 => {
                let mut out = null_mut();
                check(
                    "file_new",
                    vipt_file_new(worlds.pick(&mut i), i.wild() % (1 << 21), &mut out),
                );
                files.add(out);
            }
            12 => {
                let mut out = null_mut();
                check("mm_new", vipt_mm_new(worlds.pick(&mut i), &mut out));
                mms.add(out);
            }
            13 => {
                let mut out = null_mut();
                check(
                    "cpu_new",
                    vipt_cpu_new(worlds.pick(&mut i), i.u32() % 6, &mut out),
                );
                cpus.add(out);
            }
            14 => check(
                "use_mm",
                vipt_cpu_use_mm(cpus.pick(&mut i), mms.pick(&mut i)),
            ),
            15 => {
                let mut va = 0;
                let f = if i.u8() % 4 == 0 {
                    null_mut()
                } else {
                    files.pick(&mut i)
                };
                check(
                    "mmap",
                    vipt_mmap(
                        cpus.pick(&mut i),
                        f,
                        i.wild() & !0xfff,
                        i.wild(),
                        i.u32() % 8,
                        i.u32() % 32,
                        i.wild(),
                        &mut va,
                    ),
                );
            }
            16 => check("munmap", vipt_munmap(cpus.pick(&mut i), i.wild(), i.wild())),
            17 => {
                let mut v = 0;
                let va = if i.u8() % 8 == 0 {
                    i.wild()
                } else {
                    0x1000_0000u64.wrapping_add(i.small() << 10)
                };
                check(
                    "user_load",
                    vipt_user_load(cpus.pick(&mut i), va, 1 << (i.u8() % 5), &mut v),
                );
                check(
                    "user_store",
                    vipt_user_store(cpus.pick(&mut i), va, 1 << (i.u8() % 5), v),
                );
                let c = cpus.pick(&mut i);
                let (pfn, off) = if i.u8() % 8 == 0 {
                    (i.wild(), i.wild())
                } else {
                    (i.small() % 80, i.small() % 4200)
                };
                check(
                    "kernel_load",
                    vipt_kernel_load(c, pfn, off, 1 << (i.u8() % 5), &mut v),
                );
                check("kernel_store", vipt_kernel_store(c, pfn, off, 8, v));
                check("flush_dcache_page", vipt_flush_dcache_page(c, pfn));
                check("coherence_point", vipt_coherence_point(c, pfn));
                check("ptep_get", vipt_mm_ptep_get(c, va, &mut v));
                check("young", vipt_mm_ptep_test_and_clear_young(c, va));
                check("wrprotect", vipt_mm_ptep_set_wrprotect(c, va));
                if i.u8() % 4 == 0 {
                    check("get_and_clear", vipt_mm_ptep_get_and_clear(c, va, &mut v));
                    check("set_pte_at", vipt_mm_set_pte_at(c, va, v));
                }
                let mut pfn_out = 0;
                check(
                    "file_page",
                    vipt_file_page(files.pick(&mut i), i.small(), &mut pfn_out),
                );
            }
            18 => check(
                "sys_write",
                vipt_sys_write(cpus.pick(&mut i), files.pick(&mut i), i.wild(), i.u64()),
            ),
            19 => check(
                "shrink",
                vipt_shrink_page(
                    cpus.pick(&mut i),
                    files.pick(&mut i),
                    i.small(),
                    i.u8() & 1 != 0,
                ),
            ),
            20 => check(
                "truncate",
                vipt_truncate(cpus.pick(&mut i), files.pick(&mut i), i.wild()),
            ),
            21 => {
                let mut s = std::mem::MaybeUninit::uninit();
                check(
                    "status",
                    vipt_world_status(worlds.pick(&mut i), s.as_mut_ptr()),
                );
                check("cpu_free", vipt_cpu_free(cpus.pick(&mut i)));
            }
            22 => {
                let mut c = std::mem::MaybeUninit::uninit();
                check(
                    "hw_config",
                    vipt_hw_config_explore(i.u32() % 200, c.as_mut_ptr()),
                );
                let mut out = null_mut();
                if i.u8() & 1 == 0 {
                    let rc = if i.u8() % 4 == 0 {
                        vipt_hw_config_default(c.as_mut_ptr())
                    } else {
                        vipt_hw_config_explore(2, c.as_mut_ptr())
                    };
                    assert_eq!(rc, 0);
                    // SAFETY: written in full on success, just checked.
                    let c = unsafe { c.assume_init_mut() };
                    // Any field may be anything.
                    match i.u8() % 10 {
                        0 => c.frames = big_frames(i.wild()),
                        1 => c.cpus = i.wild32(),
                        2 => c.tlb_entries = i.wild32(),
                        3 => c.geometry.size = i.wild(),
                        4 => c.geometry.line_size = i.wild(),
                        5 => c.geometry.ways = i.wild32(),
                        6 => c.geometry.alias_boundary = i.wild(),
                        7 => c.icache.size = i.wild(),
                        8 => c.flush_threshold = i.wild(),
                        _ => c.speculative_move_in = i.u8() & 1 != 0,
                    }
                    check("hw_new", vipt_hw_new(c, &mut out));
                    hws.add(out);
                }
            }
            _ => {
                let h = hws.pick(&mut i);
                let (cpu, space, va) = (i.u32() % 6, i.u32() % 4, i.small() << 5);
                check("hw_set_pte", vipt_hw_set_pte(h, space, va, i.u64()));
                let mut v = 0;
                check(
                    "hw_load",
                    vipt_hw_load(h, cpu, i.u32() % 3, space, va, 1 << (i.u8() % 5), &mut v),
                );
                check(
                    "hw_store",
                    vipt_hw_store(h, cpu, i.u32() % 3, space, va, 8, v),
                );
                let mut f = std::mem::MaybeUninit::uninit();
                check("hw_fdc", vipt_hw_fdc(h, cpu, space, va, f.as_mut_ptr()));
                let (wva, wpfn) = (i.wild(), i.wild() % 128);
                let cpu = if i.u8() % 8 == 0 { i.wild32() } else { cpu };
                match i.u8() % 12 {
                    0 => check("hw_pdc", vipt_hw_pdc(h, cpu, space, wva, f.as_mut_ptr())),
                    1 => check("hw_fic", vipt_hw_fic(h, cpu, space, wva, null_mut())),
                    2 => {
                        let mut sum = std::mem::MaybeUninit::uninit();
                        check(
                            "hw_flush_page",
                            vipt_hw_flush_page(h, cpu, space, wva, sum.as_mut_ptr()),
                        );
                        check(
                            "hw_tmpalias",
                            vipt_hw_tmpalias_flush_page(h, cpu, wpfn, wva, sum.as_mut_ptr()),
                        );
                    }
                    3 => check("hw_flush_cache_all", vipt_hw_flush_cache_all(h, cpu)),
                    4 => check("hw_tlb_purge", vipt_hw_tlb_purge(h, space, wva)),
                    5 => check("hw_move_in", vipt_hw_move_in(h, cpu, space, va)),
                    6 => {
                        check("hw_coherence", vipt_hw_coherence_point(h, cpu, wpfn));
                        check("hw_fill", vipt_hw_fill_page(h, wpfn, i.u8()));
                    }
                    7 => {
                        let mut m = std::mem::MaybeUninit::uninit();
                        assert_eq!(vipt_cost_model_default(m.as_mut_ptr()), 0);
                        // SAFETY: written in full just above.
                        let m = unsafe { m.assume_init_mut() };
                        m.cache_miss = i.wild();
                        m.write_back = i.wild();
                        m.flush_insn = i.wild();
                        let mut cyc = 0;
                        let model: *const vipt_cost_model =
                            if i.u8() % 4 == 0 { std::ptr::null() } else { m };
                        check("hw_cycles", vipt_hw_cycles(h, model, &mut cyc));
                        let mut n = std::mem::MaybeUninit::uninit();
                        check("hw_counters", vipt_hw_counters(h, n.as_mut_ptr()));
                    }
                    8 => {
                        let mut o = std::mem::MaybeUninit::uninit();
                        check("hw_oracle", vipt_hw_oracle(h, o.as_mut_ptr()));
                        let k = i.wild();
                        let mut r = std::mem::MaybeUninit::uninit();
                        check("hw_report", vipt_hw_report(h, k % 4, r.as_mut_ptr()));
                        let len = i.small() as usize % (buf.len() + 1);
                        let b = if i.u8() % 4 == 0 {
                            null_mut()
                        } else {
                            buf.as_mut_ptr()
                        };
                        check("hw_report_text", vipt_hw_report_text(h, k, b, len));
                    }
                    9 => check("hw_checkpoint", vipt_hw_checkpoint(h)),
                    10 => check("hw_rollback", vipt_hw_rollback(h)),
                    _ => {
                        let mut pte = 0;
                        check("hw_get_pte", vipt_hw_get_pte(h, space, wva, &mut pte));
                    }
                }
                if i.u8() % 8 == 0 {
                    check("hw_free", vipt_hw_free(h));
                }
            }
        }
    }
    // Free what this input made (past the forged values), so the handle
    // tables stay small.
    free_all(&mut results, vipt_result_free);
    free_all(&mut scenarios, vipt_scenario_free);
    free_all(&mut strategies, vipt_strategy_free);
    free_all(&mut cpus, vipt_cpu_free);
    free_all(&mut mms, vipt_mm_free);
    free_all(&mut files, vipt_file_free);
    free_all(&mut worlds, vipt_world_free);
    free_all(&mut hws, vipt_hw_free);
});
