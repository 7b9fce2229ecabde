//! # vipt-explore
//!
//! The deterministic race explorer: simulated CPUs as coroutines switched at
//! the mm layer's scheduling points ([`engine`]), schedules as strings
//! ([`schedule`]), exhaustive / random / PCT search with a report and
//! minimisation ([`search`]), timelines ([`timeline`]), the built-in
//! scenarios ([`scenario`]) and the answers to the seed thread's questions
//! ([`report`]).

pub mod cost;
pub mod engine;
pub mod report;
pub mod scenario;
pub mod schedule;
pub mod search;
pub mod stress;
pub mod timeline;

pub use engine::{execute, Body, Chooser, Ending, ExploreSched, Run, Step};
pub use schedule::{Replay, Schedule};
pub use search::{explore, minimise, run_one, Config, Failure, Mode, Outcome, Program, Report};
