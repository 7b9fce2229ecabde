//! `vipt`: the command a kernel developer runs.
//!
//! `vipt report` answers the seed thread's questions in one run; `explore`,
//! `replay`, `cost` and `stress` are its parts. `vipt pte decode` reads a pte
//! value the way the 2.6.14 parisc kernel does; `vipt pte coincide` answers
//! question 1 for a pfn. Every number is accepted in decimal or 0x-hex, every
//! on/off flag as on/off, yes/no, true/false or 1/0; bad input gives one line
//! on stderr and exit status 2.
//!
//! Commands compute everything first and return it as an [`Output`]; `main`
//! alone writes. Standard output goes first, so files that cannot be written
//! never cost the text; a closed pipe ends the process quietly (status 0, as
//! `ls | head` does), any other write error is one line and status 2.

mod args;
mod explore_cmd;
mod pte_cmd;

use std::ffi::OsString;
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser, Subcommand};

/// A laboratory for cache-flush logic on VIPT caches (PA-RISC, Linux 2.6.14).
#[derive(Debug, Parser)]
#[command(
    name = "vipt",
    version,
    propagate_version = true,
    after_help = "Numbers are decimal or 0x-hex. On/off flags take on/off, yes/no, true/false or \
                  1/0, in any case. Bad input prints one line on stderr and exits with status 2; \
                  `vipt stress` exits with status 1 when its run is not ok; `vipt explore` and \
                  `vipt merge` exit with 0 (pass), 1 (failure found) or 3 (no failure found, but the search was \
                  incomplete, partial or sampled)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `vipt explore --help`'s epilogue: what a verdict covers, the exit status.
const EXPLORE_HELP: &str = "\
Every verdict says what the search covered: complete (every schedule; --bound none, with or \
without --reduction), complete within bound B (every schedule with at most B preemptions), \
partial within bound B (sleep sets with a bound, which may miss failures), incomplete (the \
budget ran out) or sampled (random, pct: no coverage claim).

Exit status:
  0  no failure, and the search was complete or complete within its bound (pass)
  1  a failing schedule was found
  2  bad input, or output that could not be written
  3  no failure found, but the search was incomplete, partial (--reduction) or \
sampled (random, pct)";

/// `vipt check --help`'s epilogue.
const CHECK_HELP: &str = "\
Each file is explored as `vipt explore FILE` would (exhaustive, preemption bound 2 by default, \
no sleep sets) and gets one line: PASS, FAIL or INCOMPLETE, what the search covered, and for a \
failure the minimal schedule and its replay command.

Exit status:
  0  every file passed, each search complete or complete within its bound
  1  some file failed
  2  bad input: a file that does not parse or cannot run (its line says why), or bad flags
  3  no file failed, but some search was incomplete (its budget ran out)";

#[derive(Debug, Subcommand)]
enum Command {
    /// The parisc pte encoding: decode values, count coincidental swap/file ptes.
    #[command(subcommand)]
    Pte(pte_cmd::PteCommand),
    /// Answer every question of the seed thread in one run (tables, --json).
    Report(explore_cmd::ReportArgs),
    /// Search a scenario's schedules for a strategy's failures.
    #[command(after_help = EXPLORE_HELP)]
    Explore(explore_cmd::ExploreArgs),
    /// Put the shards of `vipt explore --shard K/N` together: the one
    /// search's verdict, counts and failing schedules.
    #[command(after_help = EXPLORE_HELP)]
    Merge(explore_cmd::MergeArgs),
    /// Replay one schedule step for step, with its timeline.
    Replay(explore_cmd::ReplayArgs),
    /// One verdict line per scenario file, for a patch's CI: exit 0 when
    /// every file passes, 1 when any fails, 3 when any search is incomplete.
    #[command(after_help = CHECK_HELP)]
    Check(explore_cmd::CheckArgs),
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

/// What a command produced, written by `main` in this order: standard
/// output, then the files, then the notes and errors on stderr.
#[derive(Debug, Default)]
pub struct Output {
    /// The text for standard output.
    pub stdout: String,
    /// Files to write (path, contents).
    pub files: Vec<(PathBuf, String)>,
    /// One-line remarks for stderr that do not change the exit status.
    pub notes: Vec<String>,
    /// One-line failures found after the text was made: exit status 2,
    /// but the text is still printed.
    pub errors: Vec<String>,
    /// The exit status when everything was written: 0, or what the run
    /// judged (1: `explore` found a failure or `stress` was not ok; 3:
    /// `explore` found none but did not cover its claim). A write error
    /// makes it 2.
    pub status: u8,
}

impl Output {
    /// Text that is the whole result of a run that went fine.
    pub fn text(stdout: String) -> Output {
        Output {
            stdout,
            status: 0,
            ..Output::default()
        }
    }
}

/// `vipt`, or `vipt SUBCOMMAND...` as far as the arguments name subcommands.
fn command_path(args: &[OsString]) -> (String, clap::Command) {
    let mut cmd = Cli::command();
    let mut name = String::from("vipt");
    for a in args.iter().skip(1) {
        let Some(s) = a.to_str() else { break };
        if s.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(s) {
            Some(sub) if s != "help" => {
                let sub = sub.clone();
                name = format!("{name} {}", sub.get_name());
                cmd = sub;
            }
            _ => break,
        }
    }
    (name, cmd)
}

/// Writes one line on stderr; a closed or broken stderr is not worth a panic.
fn say(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// A clap error as one line (or help and version as clap prints them).
fn clap_failure(e: &clap::Error, name: &str, cmd: &clap::Command) -> ExitCode {
    if !e.use_stderr() {
        // --help and --version: print as clap formats them. A closed pipe
        // is no failure here either.
        return match e.print() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(err) => {
                say(&format!("{name}: writing output: {err}"));
                ExitCode::from(2)
            }
        };
    }
    let strings = |k: ContextKind| match e.get(k) {
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let line = match e.kind() {
        ErrorKind::MissingRequiredArgument => {
            let missing = strings(ContextKind::InvalidArg);
            if missing.is_empty() {
                "missing required argument(s)".to_string()
            } else {
                format!("missing required argument(s): {}", missing.join(", "))
            }
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            let subs: Vec<&str> = cmd
                .get_subcommands()
                .map(clap::Command::get_name)
                .filter(|n| *n != "help")
                .collect();
            if subs.is_empty() {
                "missing arguments".to_string()
            } else {
                format!("missing subcommand; one of {}", subs.join(", "))
            }
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first).trim_end();
            let suggested = strings(ContextKind::SuggestedArg)
                .into_iter()
                .chain(strings(ContextKind::SuggestedSubcommand))
                .chain(strings(ContextKind::SuggestedValue))
                .next();
            match suggested {
                Some(s) => format!("{first}; did you mean '{s}'?"),
                None => first.to_string(),
            }
        }
    };
    say(&format!("{name}: {line} (see --help)"));
    ExitCode::from(2)
}

/// Writes what a command produced and turns it into the exit status.
fn finish(name: &str, out: Output) -> ExitCode {
    let mut status = out.status;
    let written = {
        let mut stdout = io::stdout().lock();
        stdout
            .write_all(out.stdout.as_bytes())
            .and_then(|()| stdout.flush())
    };
    match written {
        Ok(()) => {}
        // The reader has gone (`vipt ... | head`): nothing more to say.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            say(&format!("{name}: writing output: {e}"));
            status = 2;
        }
    }
    for (path, contents) in &out.files {
        if let Err(e) = std::fs::write(path, contents) {
            say(&format!("{name}: {}: {e}", path.display()));
            status = 2;
        }
    }
    for note in &out.notes {
        say(&format!("{name}: {note}"));
    }
    for err in &out.errors {
        say(&format!("{name}: {err}"));
        status = 2;
    }
    ExitCode::from(status)
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let (name, cmd) = command_path(&argv);
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => return clap_failure(&e, &name, &cmd),
    };
    let result = match cli.command {
        Command::Pte(c) => pte_cmd::run(c).map(Output::text),
        Command::Report(a) => explore_cmd::run_report(a),
        Command::Explore(a) => explore_cmd::run_explore(a),
        Command::Merge(a) => explore_cmd::run_merge(a),
        Command::Replay(a) => explore_cmd::run_replay(a),
        Command::Check(a) => explore_cmd::run_check(a),
        Command::Cost(a) => explore_cmd::run_cost(a),
        Command::Stress(a) => explore_cmd::run_stress(a),
    };
    match result {
        Ok(out) => finish(&name, out),
        Err(UsageError(msg)) => {
            say(&format!("{name}: {msg}"));
            ExitCode::from(2)
        }
    }
}
