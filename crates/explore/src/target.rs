//! A scenario the command line names: a built-in one ([`Scenario`]) or a
//! scenario file bound to a strategy ([`FileScenario`]), as one
//! [`Program`] with the names, parameters and roles `vipt explore`,
//! `vipt replay` and `vipt check` print.

use crate::engine::Run;
use crate::litmus::{self, FileScenario};
use crate::report;
use crate::scenario::{self, Params, Scenario};
use crate::search::{Outcome, Program};

/// A built-in scenario or a scenario file.
#[derive(Debug, Clone)]
pub enum Target {
    /// A built-in scenario.
    Builtin(Scenario),
    /// A scenario file.
    File(FileScenario),
}

/// One execution's state of a [`Target`].
pub enum TargetState {
    /// A built-in scenario's.
    Builtin(Box<scenario::State>),
    /// A scenario file's.
    File(Box<litmus::State>),
}

impl Target {
    /// The scenario's name.
    pub fn name(&self) -> &str {
        match self {
            Target::Builtin(s) => s.kind.name(),
            Target::File(f) => f.litmus.name(),
        }
    }

    /// The strategy's name.
    pub fn strategy_name(&self) -> &str {
        match self {
            Target::Builtin(s) => &s.strategy_name,
            Target::File(f) => &f.strategy_name,
        }
    }

    /// The parameters.
    pub fn params(&self) -> Params {
        match self {
            Target::Builtin(s) => s.params,
            Target::File(f) => f.params,
        }
    }

    /// The bodies the explorer schedules.
    pub fn bodies(&self) -> usize {
        match self {
            Target::Builtin(s) => s.bodies(),
            Target::File(f) => f.bodies(),
        }
    }

    /// Each body's role, for timelines.
    pub fn roles(&self) -> Vec<&str> {
        match self {
            Target::Builtin(s) => s.roles(),
            Target::File(f) => f.roles(),
        }
    }

    /// The command-line words that name this scenario, its strategy and its
    /// parameters (those that differ from the scenario's defaults): what a
    /// printed `vipt replay` command and a shard file carry.
    pub fn flags(&self) -> String {
        match self {
            Target::Builtin(s) => report::scenario_flags(s.kind, &s.strategy_name, s.params),
            Target::File(f) => format!(
                "{} --strategy {}{}",
                shell_word(&f.litmus.file),
                f.strategy_name,
                report::param_flags(f.params, f.litmus.defaults)
            ),
        }
    }

    /// How the scenario is named in a heading: `reclaim`, or
    /// `two-writers (scenarios/two-writers.vipt)`.
    pub fn title(&self) -> String {
        match self {
            Target::Builtin(s) => s.kind.name().to_string(),
            Target::File(f) => f.title(),
        }
    }
}

/// `s` as one shell word: as it is when it needs no quoting, else in
/// single quotes.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

impl Program for Target {
    type State = TargetState;

    fn setup(&self) -> Result<TargetState, String> {
        Ok(match self {
            Target::Builtin(s) => TargetState::Builtin(Box::new(s.setup()?)),
            Target::File(f) => TargetState::File(Box::new(f.setup()?)),
        })
    }

    fn cpus(&self, st: &TargetState) -> usize {
        match (self, st) {
            (Target::Builtin(s), TargetState::Builtin(x)) => s.cpus(x),
            (Target::File(f), TargetState::File(x)) => f.cpus(x),
            _ => 0,
        }
    }

    fn run(&self, st: &TargetState, cpu: usize) {
        match (self, st) {
            (Target::Builtin(s), TargetState::Builtin(x)) => s.run(x, cpu),
            (Target::File(f), TargetState::File(x)) => f.run(x, cpu),
            _ => {}
        }
    }

    fn check(&self, st: TargetState, run: &Run) -> Outcome {
        match (self, st) {
            (Target::Builtin(s), TargetState::Builtin(x)) => s.check(*x, run),
            (Target::File(f), TargetState::File(x)) => f.check(*x, run),
            _ => Outcome {
                failures: vec!["internal: a state of another scenario".into()],
                ..Outcome::default()
            },
        }
    }

    fn exact_footprints(&self) -> bool {
        match self {
            Target::Builtin(s) => s.exact_footprints(),
            Target::File(f) => f.exact_footprints(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_shell_words() {
        assert_eq!(shell_word("scenarios/a-b.vipt"), "scenarios/a-b.vipt");
        assert_eq!(shell_word("my race.vipt"), "'my race.vipt'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
