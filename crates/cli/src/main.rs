//! `vipt`: the command a kernel developer runs.
//!
//! `vipt report` answers the seed thread's questions in one run; `explore`,
//! `replay`, `cost` and `stress` are its parts. `vipt pte decode` reads a pte
//! value the way the 2.6.14 parisc kernel does; `vipt pte coincide` answers
//! question 1 for a pfn. Numbers are accepted in decimal or 0x-hex; bad input
//! gives one line on stderr and exit status 2.

mod explore_cmd;
mod pte_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A laboratory for cache-flush logic on VIPT caches (PA-RISC, Linux 2.6.14).
#[derive(Debug, Parser)]
#[command(name = "vipt", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The parisc pte encoding: decode values, count coincidental swap/file ptes.
    #[command(subcommand)]
    Pte(pte_cmd::PteCommand),
    /// Answer every question of the seed thread in one run (tables, --json).
    Report(explore_cmd::ReportArgs),
    /// Search a scenario's schedules for a strategy's failures.
    Explore(explore_cmd::ExploreArgs),
    /// Replay one schedule step for step, with its timeline.
    Replay(explore_cmd::ReplayArgs),
    /// Question 4: flush_dcache_page cost against vmas and present ptes.
    Cost(explore_cmd::CostArgs),
    /// Native mode: kernel paths on real threads against one world.
    Stress(explore_cmd::StressArgs),
}

/// A command-line failure: printed as one line, exit status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl<E: std::fmt::Display> From<E> for UsageError {
    fn from(e: E) -> Self {
        UsageError(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: print as clap formats them.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("vipt: {first} (see --help)");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Pte(cmd) => pte_cmd::run(cmd),
        Command::Report(a) => explore_cmd::run_report(a),
        Command::Explore(a) => explore_cmd::run_explore(a),
        Command::Replay(a) => explore_cmd::run_replay(a),
        Command::Cost(a) => explore_cmd::run_cost(a),
        Command::Stress(a) => explore_cmd::run_stress(a),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(UsageError(msg)) => {
            eprintln!("vipt: {msg}");
            ExitCode::from(2)
        }
    }
}
