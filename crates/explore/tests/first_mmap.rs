//! A file's first mapping faulting its page in while `write()` runs: the
//! writer's `mapping_mapped()` test can see the file unmapped (and defer the
//! flush with `PG_dcache_dirty`) while the new mapping's fault maps the page
//! before the bit is set. 2.6.14's `do_no_page` calls `flush_icache_page`
//! (`flush_kernel_dcache_page` on parisc) before `set_pte_at`, so the fault
//! writes the kernel alias's dirty lines back before the user can read the
//! page through its own colour: no strategy fails. The model before the
//! arch layer, without that flush, failed this test (legacy-2005: 10 of 946
//! schedules within bound 2).

use std::cell::RefCell;
use std::sync::Arc;

use vipt_cache::{Geometry, HwConfig};
use vipt_explore::{explore, Config, Ending, ExploreSched, Mode, Outcome, Program, Run};
use vipt_mm::filemap::{find_or_read_page, sys_write};
use vipt_mm::mmap::do_mmap;
use vipt_mm::rmap::put_page;
use vipt_mm::strategy::{by_name, STRATEGIES};
use vipt_mm::{AddressSpace, Cpu, MapFlags, Prot, World, WorldConfig};
use vipt_pte::PAGE_SIZE;

const VALUE: u64 = 0xc0ffee;
const LINES: u64 = 2;

struct FirstMmap(&'static str);

struct State {
    w: Arc<World>,
    f: Arc<AddressSpace>,
    writer: RefCell<Cpu>,
    user: RefCell<Cpu>,
    va: RefCell<u64>,
    /// Where the user maps the page: a colour other than its kernel alias's.
    at: u64,
}

impl Program for FirstMmap {
    type State = State;

    fn setup(&self) -> Result<State, String> {
        let g = Geometry::explore(LINES).map_err(|e| e.to_string())?;
        let cfg = WorldConfig {
            hw: HwConfig {
                geometry: g,
                icache: g,
                frames: 16,
                cpus: 2,
                ..HwConfig::default()
            },
            ..WorldConfig::default()
        };
        let w = World::with(cfg, by_name(self.0).unwrap(), Arc::new(ExploreSched))
            .map_err(|e| e.to_string())?;
        let f = w.new_file(1);
        let mut writer = Cpu::new(&w, 0).map_err(|e| e.to_string())?;
        // The page is read into the page cache (clean, PG_dcache_dirty
        // clear) before anything maps it.
        let pfn = find_or_read_page(&mut writer, &f, 0).map_err(|e| e.to_string())?;
        put_page(&writer, pfn).map_err(|e| e.to_string())?;
        let mut user = Cpu::new(&w, 1).map_err(|e| e.to_string())?;
        user.use_mm(Some(w.new_mm()));
        let pfn = f.cached_pfn(0).ok_or("page not cached")?;
        let kva = vipt_cache::Machine::kernel_va(pfn << vipt_pte::PAGE_SHIFT);
        let colour = (kva + PAGE_SIZE) & (vipt_cache::SHM_COLOUR - 1);
        Ok(State {
            at: 0x4000_0000 + colour,
            w,
            f,
            writer: RefCell::new(writer),
            user: RefCell::new(user),
            va: RefCell::new(0),
        })
    }

    fn cpus(&self, _: &State) -> usize {
        2
    }

    fn run(&self, st: &State, cpu: usize) {
        if cpu == 0 {
            sys_write(&mut st.writer.borrow_mut(), &st.f, 0, VALUE).unwrap();
            return;
        }
        let u = &mut *st.user.borrow_mut();
        let rw = Prot::PROT_READ | Prot::PROT_WRITE;
        let flags = MapFlags::MAP_SHARED | MapFlags::MAP_FIXED;
        let va = do_mmap(u, Some(&st.f), st.at, PAGE_SIZE, rw, flags, 0).unwrap();
        *st.va.borrow_mut() = va;
        for i in 0..LINES {
            u.user_load(va + i * (PAGE_SIZE / LINES), 8).unwrap();
        }
    }

    fn check(&self, st: State, run: &Run) -> Outcome {
        let mut failures = Vec::new();
        if run.ending == Ending::Finished {
            let va = *st.va.borrow();
            let u = &mut *st.user.borrow_mut();
            for i in 0..LINES {
                let v = u.user_load(va + i * (PAGE_SIZE / LINES), 8).unwrap();
                if v != VALUE {
                    failures.push(format!("line {i}: {v:#x}"));
                }
            }
        }
        let (_, violations) = st.w.oracle_counts();
        if violations > 0 {
            failures.push(format!("stale read ({violations} loads)"));
        }
        for b in st.w.bugs() {
            failures.push(format!("BUG: {b}"));
        }
        Outcome {
            failures,
            ..Outcome::default()
        }
    }
}

#[test]
fn the_first_mapping_of_a_file_is_coherent_with_write() {
    for s in STRATEGIES {
        let cfg = Config {
            mode: Mode::Exhaustive {
                bound: Some(2),
                reduction: false,
            },
            budget: 200_000,
            threads: 1,
            ..Config::default()
        };
        let r = explore(&FirstMmap(s), &cfg, None).unwrap();
        assert!(r.complete, "{s}: {} executions", r.executions);
        assert!(r.executions > 100, "{s}: only {} executions", r.executions);
        assert_eq!(r.failing, 0, "{s}: {} of {} fail", r.failing, r.executions);
    }
}
