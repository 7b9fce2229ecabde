//! Schedules as compact strings.
//!
//! A schedule is the CPU of every step, written as runs: a letter per CPU
//! (`a` is CPU 0) followed by the run's length when it is more than one, so
//! `a12b3a` is twelve steps of CPU 0, three of CPU 1, one of CPU 0. Replaying
//! it takes exactly those steps; past its end the replay keeps running the
//! last CPU while it can, then the lowest-numbered one.

use std::fmt;
use std::str::FromStr;

use crate::engine::{Chooser, Enabled, Run};

/// The most CPUs a schedule can name.
pub const MAX_CPUS: usize = 26;

/// A sequence of CPU choices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Schedule(pub Vec<u8>);

/// A schedule is looked up by its choices (the derived `Hash` of the one
/// field is the slice's), so a set of schedules is searched without
/// building one.
impl std::borrow::Borrow<[u8]> for Schedule {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl Schedule {
    /// The schedule of a run's choices.
    pub fn from_choices(c: &[usize]) -> Schedule {
        Schedule(c.iter().map(|&c| c as u8).collect())
    }

    /// The schedule a run took.
    pub fn of_run(run: &Run) -> Schedule {
        Schedule(Schedule::choices_of(run).collect())
    }

    /// The choices of the schedule a run took, one per step.
    pub fn choices_of(run: &Run) -> impl Iterator<Item = u8> + '_ {
        run.steps.iter().map(|s| s.cpu as u8)
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it has no steps.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Context switches (a CPU other than the last one runs).
    pub fn switches(&self) -> usize {
        self.0.windows(2).filter(|w| w[0] != w[1]).count()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = 0;
        while i < self.0.len() {
            let c = self.0[i];
            let mut j = i;
            while j < self.0.len() && self.0[j] == c {
                j += 1;
            }
            write!(f, "{}", (b'a' + c) as char)?;
            if j - i > 1 {
                write!(f, "{}", j - i)?;
            }
            i = j;
        }
        Ok(())
    }
}

/// A schedule string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSchedule(pub String);

impl fmt::Display for BadSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad schedule: {}", self.0)
    }
}

impl std::error::Error for BadSchedule {}

impl FromStr for Schedule {
    type Err = BadSchedule;

    fn from_str(s: &str) -> Result<Schedule, BadSchedule> {
        let mut v = Vec::new();
        let b = s.trim().as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if !c.is_ascii_lowercase() {
                return Err(BadSchedule(format!(
                    "expected a CPU letter a-z at offset {i}, found {:?}",
                    c as char
                )));
            }
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let n = if start == i {
                1
            } else {
                let n: usize = s.trim()[start..i]
                    .parse()
                    .map_err(|e| BadSchedule(format!("run length at offset {start}: {e}")))?;
                if n == 0 || n > 1 << 24 {
                    return Err(BadSchedule(format!("run length {n} at offset {start}")));
                }
                n
            };
            v.extend(std::iter::repeat_n(c - b'a', n));
        }
        Ok(Schedule(v))
    }
}

/// The default continuation: the last CPU while it can run, else the
/// lowest-numbered enabled one (choosers are only asked when one can run).
pub fn default_choice(prev: Option<usize>, enabled: Enabled<'_>) -> usize {
    match prev {
        Some(p) if enabled.contains(p) => p,
        _ => enabled
            .nth(0)
            .expect("a chooser is asked only when a CPU can run"),
    }
}

/// Follows a schedule, then the default continuation. A step that names a
/// CPU that cannot run is recorded as a divergence and abandons the run.
#[derive(Debug, Clone)]
pub struct Replay {
    sched: Schedule,
    /// The step at which the schedule named a CPU that could not run.
    pub diverged: Option<usize>,
}

impl Replay {
    /// A replay of `sched`.
    pub fn new(sched: Schedule) -> Replay {
        Replay {
            sched,
            diverged: None,
        }
    }
}

impl Chooser for Replay {
    fn choose(&mut self, step: usize, prev: Option<usize>, enabled: Enabled<'_>) -> Option<usize> {
        match self.sched.0.get(step) {
            Some(&c) if enabled.contains(c as usize) => Some(c as usize),
            Some(_) => {
                self.diverged = Some(step);
                None
            }
            None => Some(default_choice(prev, enabled)),
        }
    }

    fn reads_ops(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_run_lengths() {
        let s: Schedule = "a12b3ac".parse().unwrap();
        assert_eq!(s.len(), 17);
        assert_eq!(s.0[12..], [1, 1, 1, 0, 2]);
        assert_eq!(s.to_string(), "a12b3ac");
        assert_eq!(s.switches(), 3);
        assert_eq!(Schedule::from_choices(&[0, 0, 1]).to_string(), "a2b");
        assert_eq!("".parse::<Schedule>().unwrap(), Schedule::default());
    }

    #[test]
    fn bad_schedules_are_errors() {
        for bad in ["A", "a0", "1a", "a-", "a99999999999"] {
            assert!(bad.parse::<Schedule>().is_err(), "{bad}");
        }
    }
}
