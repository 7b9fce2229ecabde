//! `../shared/bench/reclaim.pml` as an explorer program: the `reclaim`
//! race (patched-2005, 3.x ptes, A and B congruent, `L` lines per page) at
//! the same abstraction and step granularity SPIN checks, so the two
//! searches can be compared side by side on one model. Every value a CPU
//! keeps between its steps lives in [`State`], so the fingerprint is the
//! whole state and the state cache is exact.
//!
//! This is a hand abstraction, not the mm model: it is for the benchmark
//! against SPIN and for testing the state cache against the search without
//! it on a race whose space has many converging paths.

use std::cell::Cell;

use vipt_explore::{ExploreSched, Outcome, Program, Run};
use vipt_mm::{Footprint, Object, Op, OpKind, Sched};

const INV: u8 = 0;
const OLD: u8 = 1;
const NEW: u8 = 2;

/// The race with `lines` lines per page (1 to 8).
#[derive(Debug, Clone, Copy)]
pub struct PmlReclaim {
    pub lines: usize,
}

/// The shared variables of `reclaim.pml` and the CPUs' locals.
pub struct State {
    uline: [Cell<u8>; 8],
    kline: [Cell<u8>; 8],
    mem: [Cell<u8>; 8],
    pte_a: Cell<bool>,
    /// The writer's and the racer's TLB entries for A's address.
    tlb: [Cell<bool>; 2],
    coherent: Cell<bool>,
    young: Cell<bool>,
    /// The writer's `present` (translation_exists(A)).
    present: Cell<bool>,
    /// The racer saw A's pte (page_check_address), and again in
    /// flush_cache_page.
    checked: Cell<bool>,
    rechecked: Cell<bool>,
    /// A load after the coherence point returned old data.
    stale_load: Cell<bool>,
}

// Objects (the footprints POR sees): each line of each colour, memory with
// the coherence flag, A's translation (pte and TLB entries), the locks and
// the page's other fields.
const ULINE: u64 = 0;
const KLINE: u64 = 16;
const PTE_A: Object = Object::Pte { space: 1, va: 0 };
const PTL: Object = Object::Page(100);
const TREE: Object = Object::Page(101);
const PGLOCK: Object = Object::Page(102);
const FLAGS: Object = Object::Page(103);
const RADIX: Object = Object::Page(104);
const YOUNG: Object = Object::Page(105);

fn w(o: Object) -> Footprint {
    Footprint::write(o)
}

fn r(o: Object) -> Footprint {
    Footprint::read(o)
}

fn line(base: u64, i: usize) -> Object {
    Object::Page(base + i as u64)
}

/// One atomic step of CPU `cpu`.
fn step(cpu: usize, kind: OpKind, what: &'static str, a: Footprint, b: Footprint) {
    ExploreSched.point(cpu, &Op::two(kind, what, a, b));
}

impl PmlReclaim {
    /// `fdc_user(tlb, i)`: through the TLB entry, or a walk that inserts
    /// one, or nullified without a translation.
    fn fdc_user(&self, st: &State, cpu: usize, tlb: usize, i: usize) {
        step(cpu, OpKind::Fdc, "fdc", w(PTE_A), w(line(ULINE, i)));
        if st.tlb[tlb].get() {
            st.uline[i].set(INV);
        } else if st.pte_a.get() {
            st.tlb[tlb].set(true);
            st.uline[i].set(INV);
        }
    }

    fn writer(&self, st: &State) {
        let c = 0;
        let none = Footprint::NONE;
        step(c, OpKind::PteWrite, "find_get_page", w(TREE), none);
        step(c, OpKind::PteWrite, "radix_tree_lookup", w(RADIX), none);
        step(c, OpKind::PteWrite, "read_unlock", w(TREE), none);
        step(c, OpKind::PteWrite, "lock_page", w(PGLOCK), none);
        for i in 0..self.lines {
            step(
                c,
                OpKind::KernelAccess,
                "copy_from_user",
                w(line(KLINE, i)),
                none,
            );
            st.kline[i].set(NEW);
        }
        step(c, OpKind::PteWrite, "page_mapping", w(FLAGS), none);
        step(c, OpKind::PteWrite, "mapping_mapped", w(RADIX), none);
        for i in 0..self.lines {
            step(
                c,
                OpKind::Fdc,
                "flush_kernel_dcache_page",
                w(line(KLINE, i)),
                w(Object::Memory),
            );
            if st.kline[i].get() == NEW {
                st.mem[i].set(NEW);
            }
            st.kline[i].set(INV);
        }
        step(c, OpKind::PteWrite, "page->index", w(FLAGS), none);
        step(c, OpKind::PteWrite, "flush_dcache_mmap_lock", w(TREE), none);
        step(c, OpKind::PteWrite, "vma_prio_tree_foreach", w(RADIX), none);
        step(c, OpKind::PteRead, "translation_exists", r(PTE_A), none);
        st.present.set(st.pte_a.get());
        for i in 0..self.lines {
            if st.present.get() {
                self.fdc_user(st, c, 0, i);
            } else {
                step(c, OpKind::Fdc, "fdc through B", w(line(ULINE, i)), none);
                st.uline[i].set(INV);
            }
        }
        step(
            c,
            OpKind::PteWrite,
            "flush_dcache_mmap_unlock",
            w(TREE),
            none,
        );
        step(
            c,
            OpKind::PteWrite,
            "coherence point",
            w(Object::Memory),
            none,
        );
        st.coherent.set(true);
        step(c, OpKind::PteWrite, "set_page_dirty", w(FLAGS), none);
        step(c, OpKind::PteWrite, "page_mapping", w(FLAGS), none);
        step(c, OpKind::PteWrite, "write_lock tree_lock", w(TREE), none);
        step(c, OpKind::PteWrite, "radix_tree_tag_set", w(RADIX), none);
        step(c, OpKind::PteWrite, "write_unlock tree_lock", w(TREE), none);
        step(c, OpKind::PteWrite, "unlock_page", w(PGLOCK), none);
        step(c, OpKind::PteWrite, "put_page", w(FLAGS), none);
    }

    fn racer(&self, st: &State) {
        let c = 1;
        let none = Footprint::NONE;
        step(c, OpKind::PteWrite, "pte lock", w(PTL), none);
        step(c, OpKind::PteRead, "page_check_address", r(PTE_A), none);
        st.checked.set(st.pte_a.get());
        if st.checked.get() {
            step(
                c,
                OpKind::PteWrite,
                "ptep_clear_flush_young",
                w(YOUNG),
                none,
            );
            st.young.set(false);
            step(c, OpKind::TlbPurge, "purge", w(PTE_A), none);
            st.tlb[0].set(false);
            st.tlb[1].set(false);
            step(c, OpKind::PteRead, "translation_exists", r(PTE_A), none);
            st.rechecked.set(st.pte_a.get());
            if st.rechecked.get() {
                for i in 0..self.lines {
                    self.fdc_user(st, c, 1, i);
                }
            }
            step(c, OpKind::PteWrite, "ptep_get_and_clear", w(PTE_A), none);
            st.pte_a.set(false);
            step(c, OpKind::TlbPurge, "flush_tlb_page", w(PTE_A), none);
            st.tlb[0].set(false);
            st.tlb[1].set(false);
            step(c, OpKind::PteWrite, "page_remove_rmap", w(FLAGS), none);
            step(c, OpKind::PteWrite, "put_page", w(FLAGS), none);
        }
        step(c, OpKind::PteWrite, "pte unlock", w(PTL), none);
    }

    fn user(&self, st: &State) {
        let c = 2;
        for _ in 0..2 {
            for i in 0..self.lines {
                step(
                    c,
                    OpKind::UserLoad,
                    "load through B",
                    w(line(ULINE, i)),
                    r(Object::Memory),
                );
                if st.uline[i].get() == INV {
                    st.uline[i].set(st.mem[i].get());
                }
                if st.coherent.get() && st.uline[i].get() == OLD {
                    st.stale_load.set(true);
                }
            }
        }
    }
}

impl Program for PmlReclaim {
    type State = State;

    fn setup(&self) -> Result<State, String> {
        if !(1..=8).contains(&self.lines) {
            return Err(format!("{} lines: 1 to 8", self.lines));
        }
        let lines =
            |v: u8| std::array::from_fn(|i| Cell::new(if i < self.lines { v } else { INV }));
        Ok(State {
            uline: lines(OLD),
            kline: lines(INV),
            mem: lines(OLD),
            pte_a: Cell::new(true),
            tlb: [Cell::new(false), Cell::new(true)],
            coherent: Cell::new(false),
            young: Cell::new(true),
            present: Cell::new(false),
            checked: Cell::new(false),
            rechecked: Cell::new(false),
            stale_load: Cell::new(false),
        })
    }

    fn cpus(&self, _: &State) -> usize {
        3
    }

    fn run(&self, st: &State, cpu: usize) {
        match cpu {
            0 => self.writer(st),
            1 => self.racer(st),
            _ => self.user(st),
        }
    }

    fn fingerprint(&self, st: &State, out: &mut Vec<u64>) -> bool {
        for i in 0..self.lines {
            out.push(
                u64::from(st.uline[i].get())
                    | u64::from(st.kline[i].get()) << 8
                    | u64::from(st.mem[i].get()) << 16,
            );
        }
        let flags = [
            st.pte_a.get(),
            st.tlb[0].get(),
            st.tlb[1].get(),
            st.coherent.get(),
            st.young.get(),
            st.present.get(),
            st.checked.get(),
            st.rechecked.get(),
            st.stale_load.get(),
        ];
        out.push(flags.iter().fold(0, |a, &f| a << 1 | u64::from(f)));
        true
    }

    fn check(&self, st: State, _: &Run) -> Outcome {
        let mut failures = Vec::new();
        if st.stale_load.get() {
            failures.push("stale load after the coherence point".to_string());
        }
        if (0..self.lines).any(|i| st.uline[i].get() == OLD) {
            failures.push("stale final read".to_string());
        }
        let line = |c: &[Cell<u8>; 8]| {
            (0..self.lines)
                .map(|i| c[i].get().to_string())
                .collect::<String>()
        };
        Outcome {
            failures,
            observed: format!(
                "uline {} mem {} stale {}",
                line(&st.uline),
                line(&st.mem),
                st.stale_load.get()
            ),
            ..Outcome::default()
        }
    }
}
