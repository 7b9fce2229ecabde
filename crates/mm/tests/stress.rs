//! Native mode: real threads run reclaim, COW, write() and user reads against
//! one world; a bounded run must finish without deadlock or broken invariant.

use std::sync::Arc;
use std::thread;

use vipt_cache::HwConfig;
use vipt_mm::filemap::sys_write;
use vipt_mm::mmap::do_mmap;
use vipt_mm::rmap::shrink_page;
use vipt_mm::strategy::by_name;
use vipt_mm::{Cpu, MapFlags, MmError, Prot, World, WorldConfig};
use vipt_pte::PAGE_SIZE;

const ROUNDS: u64 = 150;

#[test]
fn reclaim_cow_write_and_readers_on_threads() {
    for strategy in ["patched-2005", "modern"] {
        let cfg = WorldConfig {
            hw: HwConfig {
                frames: 128,
                cpus: 5,
                ..HwConfig::default()
            },
            split_ptlock: strategy == "modern",
            ..WorldConfig::default()
        };
        let w = World::with(cfg, by_name(strategy).unwrap(), Arc::new(vipt_mm::Native)).unwrap();
        let f = w.new_file(4);
        let rw = Prot::PROT_READ | Prot::PROT_WRITE;
        let mut handles = Vec::new();
        // Two readers with shared mappings.
        for cpu in 0..2 {
            let (w, f) = (w.clone(), f.clone());
            handles.push(thread::spawn(move || -> Result<(), MmError> {
                let mut c = Cpu::new(&w, cpu)?;
                c.use_mm(Some(w.new_mm()));
                let va = do_mmap(
                    &mut c,
                    Some(&f),
                    0,
                    4 * PAGE_SIZE,
                    rw,
                    MapFlags::MAP_SHARED,
                    0,
                )?;
                for i in 0..ROUNDS * 4 {
                    c.user_load(va + (i % 4) * PAGE_SIZE, 8)?;
                }
                Ok(())
            }));
        }
        // A COW writer with a private mapping.
        {
            let (w, f) = (w.clone(), f.clone());
            handles.push(thread::spawn(move || -> Result<(), MmError> {
                let mut c = Cpu::new(&w, 2)?;
                c.use_mm(Some(w.new_mm()));
                let va = do_mmap(
                    &mut c,
                    Some(&f),
                    0,
                    4 * PAGE_SIZE,
                    rw,
                    MapFlags::MAP_PRIVATE,
                    0,
                )?;
                for i in 0..ROUNDS {
                    c.user_load(va + (i % 4) * PAGE_SIZE, 8)?;
                    c.user_store(va + (i % 4) * PAGE_SIZE, 8, i)?;
                }
                Ok(())
            }));
        }
        // write() into the page cache.
        {
            let (w, f) = (w.clone(), f.clone());
            handles.push(thread::spawn(move || -> Result<(), MmError> {
                let mut c = Cpu::new(&w, 3)?;
                for i in 0..ROUNDS {
                    sys_write(&mut c, &f, i % 4, i)?;
                }
                Ok(())
            }));
        }
        // kswapd: reclaims whatever page-cache pages exist.
        {
            let (w, f) = (w.clone(), f.clone());
            handles.push(thread::spawn(move || -> Result<(), MmError> {
                let mut c = Cpu::new(&w, 4)?;
                for i in 0..ROUNDS {
                    if let Some(pfn) = f.cached_pfn(i % 4) {
                        match shrink_page(&mut c, pfn, i % 3 == 0) {
                            // The page went between the lookup and the lock.
                            Ok(_) | Err(MmError::Invalid(_)) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                Ok(())
            }));
        }
        for h in handles {
            h.join()
                .expect("thread panicked")
                .expect("kernel path failed");
        }
        w.check_invariants()
            .unwrap_or_else(|e| panic!("{strategy}: {e}"));
        assert!(w.bugs().is_empty(), "{:?}", w.bugs());
    }
}
