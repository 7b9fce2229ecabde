//! A fault on a file page racing a truncate that removes it: `do_no_page`
//! reads `mapping->truncate_count` before `->nopage` and compares it under
//! the pte lock; `unmap_mapping_range` bumps it under `i_mmap_lock`, so a
//! fault that found the page before the truncate unmapped the file drops it
//! and retries (and then gets SIGBUS beyond the new size) instead of
//! mapping a page the truncate is throwing away. With the check removed, 70
//! of the 388 schedules within bound 2 leave the truncated page mapped.

use std::cell::RefCell;
use std::sync::Arc;

use vipt_cache::{Geometry, HwConfig};
use vipt_explore::{explore, Config, Ending, ExploreSched, Mode, Outcome, Program, Run};
use vipt_mm::filemap::find_or_read_page;
use vipt_mm::mmap::{do_mmap, do_truncate};
use vipt_mm::rmap::put_page;
use vipt_mm::strategy::by_name;
use vipt_mm::{AddressSpace, Cpu, MapFlags, MmError, Prot, World, WorldConfig};
use vipt_pte::{pte_present, PAGE_SIZE};

struct FaultVsTruncate;

struct State {
    w: Arc<World>,
    f: Arc<AddressSpace>,
    user: RefCell<Cpu>,
    truncater: RefCell<Cpu>,
    va: u64,
}

impl Program for FaultVsTruncate {
    type State = State;

    fn setup(&self) -> Result<State, String> {
        let e = |e: MmError| e.to_string();
        let g = Geometry::explore(1).map_err(|e| e.to_string())?;
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
        let w = World::with(
            cfg,
            by_name("patched-2005").unwrap(),
            Arc::new(ExploreSched),
        )
        .map_err(e)?;
        let f = w.new_file(2);
        let mut truncater = Cpu::new(&w, 1).map_err(e)?;
        let pfn = find_or_read_page(&mut truncater, &f, 1).map_err(e)?;
        put_page(&truncater, pfn).map_err(e)?;
        let mut user = Cpu::new(&w, 0).map_err(e)?;
        user.use_mm(Some(w.new_mm()));
        let rw = Prot::PROT_READ | Prot::PROT_WRITE;
        let va = do_mmap(
            &mut user,
            Some(&f),
            0,
            2 * PAGE_SIZE,
            rw,
            MapFlags::MAP_SHARED,
            0,
        )
        .map_err(e)?;
        Ok(State {
            w,
            f,
            user: RefCell::new(user),
            truncater: RefCell::new(truncater),
            va: va + PAGE_SIZE,
        })
    }

    fn cpus(&self, _: &State) -> usize {
        2
    }

    fn run(&self, st: &State, cpu: usize) {
        if cpu == 0 {
            // SIGBUS once the page is gone: not a failure of the kernel.
            match st.user.borrow_mut().user_load(st.va, 8) {
                Ok(_) | Err(MmError::Segv { .. }) => {}
                Err(e) => panic!("fault: {e}"),
            }
        } else {
            do_truncate(&mut st.truncater.borrow_mut(), &st.f, 1).unwrap();
        }
    }

    fn check(&self, st: State, run: &Run) -> Outcome {
        let mut failures = Vec::new();
        if run.ending == Ending::Finished {
            let user = st.user.borrow();
            let mm = user.mm().unwrap();
            let pte = match mm.pgd.pte_offset(st.va) {
                Ok(Some((_, c))) => c.load(),
                _ => vipt_pte::Pte::NONE,
            };
            if pte_present(pte) {
                failures.push(format!(
                    "page 1 is mapped at {:#x} after the file was truncated to 1 page",
                    st.va
                ));
            }
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
fn a_fault_racing_truncate_never_maps_the_truncated_page() {
    let cfg = Config {
        mode: Mode::Exhaustive {
            bound: Some(2),
            reduction: false,
        },
        budget: 200_000,
        threads: 1,
        ..Config::default()
    };
    let r = explore(&FaultVsTruncate, &cfg, None).unwrap();
    assert!(r.complete, "{} executions", r.executions);
    assert!(r.executions > 50, "only {} executions", r.executions);
    assert_eq!(r.failing, 0, "{} of {} fail", r.failing, r.executions);
}
