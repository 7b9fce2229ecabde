//! # vipt-explore
//!
//! The deterministic race explorer: simulated CPUs as coroutines switched at
//! the mm layer's scheduling points ([`engine`]), schedules as strings
//! ([`schedule`]), exhaustive / random / PCT search with a report and
//! minimisation ([`search`]), the search in parts on every core and in shards
//! ([`split`]), timelines ([`timeline`]), the built-in
//! scenarios ([`scenario`]) and the answers to the seed thread's questions
//! ([`report`]), with the cost sweep ([`cost`]). Native stress is
//! `vipt_mm::stress`.
//!
//! Measured (`cargo bench -p vipt-explore`, `BENCHMARKS.md`): on one small
//! race, one worker each, vipt runs 10.8× the executions/s of shuttle and 80×
//! those of loom (medians of interleaved rounds; 1.72 M, 123 k and 22.4 k
//! executions/s); at preemption bound 2 the exhaustive search needs 15
//! executions where loom needs 464; the full reclaim-race scenario runs 51 k
//! executions/s.

pub mod cost;
pub mod engine;
pub mod litmus;
pub mod report;
mod report_html;
pub mod scenario;
pub mod schedule;
pub mod search;
pub mod split;
pub mod target;
pub mod timeline;

pub use engine::{
    audit_footprints, execute, Chooser, Cpus, Enabled, Ending, ExploreSched, Run, StateView, Step,
};
pub use schedule::{Replay, Schedule};
pub use search::{
    explore, minimal, minimise, run_one, violation_step, Config, Failure, Minimised, Mode, Outcome,
    Program, Report,
};
pub use split::{explore_shard, merge_shards, Shard};
