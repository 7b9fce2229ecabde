//! Runs the benchmark's small race under the uniform random explorer on one
//! thread, for profiling the engine (`valgrind --tool=callgrind` counts the
//! instructions of one execution; the benchmark measures the time).
//!
//! `cargo run --release -p vipt-explore --example small_race -- [EXECUTIONS [PER_SEARCH [THREADS]]]`
//!
//! With `PER_SEARCH`, the executions are split into searches of that many
//! (the benchmark's iterations are searches of 200); with `THREADS`, each
//! search runs on that many workers.

#[path = "../benches/small/mod.rs"]
mod small;

use vipt_explore::{explore, Config, Mode};

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().ok());
    let n = args.next().flatten().unwrap_or(200_000);
    let per = args.next().flatten().unwrap_or(n).max(1);
    let threads = args.next().flatten().unwrap_or(1).max(1) as usize;
    let cfg = Config {
        mode: Mode::Random,
        budget: per,
        threads,
        seed: 1,
        ..Config::default()
    };
    let t = std::time::Instant::now();
    let (mut executions, mut failing) = (0, 0);
    while executions < n {
        let r = explore(&small::Small, &cfg, None).expect("the small race runs");
        executions += r.executions;
        failing += r.failing;
    }
    let dt = t.elapsed();
    println!(
        "{executions} executions, {failing} failing, {:.0} ns per execution",
        dt.as_nanos() as f64 / executions as f64
    );
}
