//! Runs the benchmark's small race under the uniform random explorer on one
//! thread, for profiling the engine (`valgrind --tool=callgrind` counts the
//! instructions of one execution; the benchmark measures the time).
//!
//! `cargo run --release -p vipt-explore --example small_race -- [EXECUTIONS]`

#[path = "../benches/small/mod.rs"]
mod small;

use vipt_explore::{explore, Config, Mode};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let cfg = Config {
        mode: Mode::Random,
        budget: n,
        threads: 1,
        seed: 1,
        ..Config::default()
    };
    let t = std::time::Instant::now();
    let r = explore(&small::Small, &cfg, None).expect("the small race runs");
    let dt = t.elapsed();
    println!(
        "{} executions, {} failing, {:.0} ns per execution",
        r.executions,
        r.failing,
        dt.as_nanos() as f64 / r.executions as f64
    );
}
