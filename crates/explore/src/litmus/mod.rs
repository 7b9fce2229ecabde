//! Scenarios as files (`docs/scenarios.md`): a litmus format for
//! cache-flush races that a kernel developer writes without touching Rust.
//!
//! A file names its set-up (files, processes and their threads, mappings,
//! the loads and stores that leave ptes, TLB entries and cache lines as the
//! race needs them), one body per CPU as a sequence of kernel operations by
//! their kernel names (`write`, `try_to_unmap_one`, `shrink_page`,
//! `munmap`, `fork`, `truncate`, `zap_page_range`, user `load`/`store`…),
//! what runs after a finished execution, and its own checks (`exists`,
//! `forall`, herd7's words) beside the built-in ones (the coherence oracle,
//! lockdep, deadlock, BUG, the world's invariants).
//!
//! [`Litmus::parse`] reads and checks a file (syntax, names, arities);
//! [`Litmus::bind`] gives it a strategy and parameters and runs its set-up
//! once, so a file that parses but cannot run is refused before exploring;
//! the result is a [`Program`] for the explorer, like a built-in
//! [`crate::scenario::Scenario`]. The operations call the same mm model
//! functions the built-ins call, in the order the file gives, so a built-in
//! written as a file explores the same schedules (`tests/litmus.rs`
//! compares every one).

pub mod parse;
pub mod report;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use vipt_mm::fault::access_process_vm;
use vipt_mm::filemap::sys_write;
use vipt_mm::mmap::{
    do_mmap, do_munmap, do_truncate, exit_mmap, fork, madvise_dontneed, zap_page_range,
};
use vipt_mm::mprotect::{sys_mprotect, sys_mremap};
use vipt_mm::rmap::{shrink_page, try_to_unmap_one, Reclaim};
use vipt_mm::strategy::by_name;
use vipt_mm::{
    AddressSpace, Arch, Cpu, FlushStrategy, Kernel, MapFlags, MmError, Prot, Vma, World,
};
use vipt_pte::PAGE_SIZE;

pub use parse::{Ast, BinOp, Body, Check, Expr, Pos, Stmt};

use crate::engine::{Ending, ExploreSched, Run};
use crate::scenario::{self, Colour, Params, MOVE_IN_ROLE};
use crate::search::{Outcome, Program};

/// The built-in scenarios as files (`scenarios/*.vipt`), by name.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "swap-pte",
        include_str!("../../../../scenarios/swap-pte.vipt"),
    ),
    (
        "reclaim",
        include_str!("../../../../scenarios/reclaim.vipt"),
    ),
    ("cow", include_str!("../../../../scenarios/cow.vipt")),
    ("munmap", include_str!("../../../../scenarios/munmap.vipt")),
    (
        "truncate",
        include_str!("../../../../scenarios/truncate.vipt"),
    ),
    (
        "zap-refault",
        include_str!("../../../../scenarios/zap-refault.vipt"),
    ),
    (
        "inequivalent",
        include_str!("../../../../scenarios/inequivalent.vipt"),
    ),
    (
        "pte-lock",
        include_str!("../../../../scenarios/pte-lock.vipt"),
    ),
    (
        "move-in",
        include_str!("../../../../scenarios/move-in.vipt"),
    ),
    (
        "unmap-window",
        include_str!("../../../../scenarios/unmap-window.vipt"),
    ),
    (
        "unmap-reuse",
        include_str!("../../../../scenarios/unmap-reuse.vipt"),
    ),
    (
        "reclaim-reuse",
        include_str!("../../../../scenarios/reclaim-reuse.vipt"),
    ),
    (
        "minifail",
        include_str!("../../../../scenarios/minifail.vipt"),
    ),
    (
        "fork-writer",
        include_str!("../../../../scenarios/fork-writer.vipt"),
    ),
];

/// Hardware a file may set in `defaults` beyond [`Params`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hardware {
    /// `ways`: the data cache's associativity (2 by default).
    pub ways: Option<u32>,
    /// `cache_lines`: the data cache's size in lines (16 by default).
    pub cache_lines: Option<u64>,
    /// `tlb_entries`: entries per CPU TLB (8 by default).
    pub tlb_entries: Option<usize>,
}

impl Hardware {
    /// The settings' names.
    pub const NAMES: [&'static str; 3] = ["ways", "cache_lines", "tlb_entries"];

    /// Applies these settings to a world's hardware.
    fn apply(&self, hw: &mut vipt_cache::HwConfig) -> Result<(), String> {
        let g = &mut hw.geometry;
        if let Some(w) = self.ways {
            g.ways = w;
        }
        if let Some(n) = self.cache_lines {
            g.size = n
                .checked_mul(g.line_size)
                .ok_or_else(|| format!("cache_lines {n} overflows"))?;
        }
        g.shape().map_err(|e| e.to_string())?;
        hw.icache = hw.geometry;
        if let Some(t) = self.tlb_entries {
            if !(1..=4096).contains(&t) {
                return Err(format!("tlb_entries must be 1 to 4096, not {t}"));
            }
            hw.tlb_entries = t;
        }
        Ok(())
    }
}

/// A scenario file's error: where (file, line, column) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LitmusError {
    /// The file's name as given (a path, or `<builtin>/NAME`).
    pub file: String,
    /// Where, when the error has a place.
    pub pos: Option<Pos>,
    /// What was expected and what was found, or why the file cannot run.
    pub msg: String,
}

impl fmt::Display for LitmusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: {}", self.file, p.line, p.col, self.msg),
            None => write!(f, "{}: {}", self.file, self.msg),
        }
    }
}

impl std::error::Error for LitmusError {}

/// The parameters a file's `defaults` block may set (and `vipt explore`'s
/// flags override), as [`Params`] has them.
pub const PARAMS: [&str; 10] = [
    "kernel",
    "vmas",
    "lines",
    "colour",
    "page_flush",
    "move_in",
    "move_ins",
    "move_in_flush_only",
    "sibling",
    "scrub_freed",
];

/// Names every expression can read besides the file's variables: the
/// parameters ([`PARAMS`]) and these constants.
pub const CONSTANTS: [&str; 10] = [
    "PAGE_SIZE",
    "MAP_SHARED",
    "MAP_PRIVATE",
    "MAP_FIXED",
    "PROT_NONE",
    "PROT_READ",
    "PROT_WRITE",
    "PROT_EXEC",
    "true",
    "false",
];

/// Where an operation runs: its kind, and its arguments (fewest, most).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// Anywhere: a helper reading or making set-up objects.
    Nothing,
    /// On a process or thread (a user access, or a system call on its mm).
    Process,
    /// On a kernel thread of the running CPU.
    Kernel,
}

/// Every operation a file can call: name, where it runs, fewest and most
/// arguments, and what it does (for error messages and the document).
pub const OPERATIONS: &[(&str, &str)] = &[
    (
        "new_file(pages)",
        "a file of that many pages, placed by the kernel",
    ),
    (
        "new_file_at(pages, kaddr)",
        "a file whose address_space is at kaddr (its colour)",
    ),
    ("kaddr(file)", "a file's address_space address"),
    (
        "new_process(cpu)",
        "a process (a new mm) whose thread runs on that CPU",
    ),
    (
        "new_thread(process, cpu)",
        "another thread of a process, on that CPU",
    ),
    (
        "page(file, index)",
        "the pfn of the file's cached page (an error if not cached)",
    ),
    (
        "cached_pfn(file, index)",
        "that pfn, or 0xffffffffffffffff if not cached",
    ),
    ("page_count(pfn)", "the page's reference count"),
    (
        "pte_pfn(process, addr)",
        "the pfn in the process's pte for addr",
    ),
    ("vma(process, addr)", "the process's vma covering addr"),
    ("set_next_swap_slot(offset)", "where the next swap-out goes"),
    (
        "mmap(file, pgoff, pages, flags[, addr])",
        "do_mmap, read and write; an addr adds MAP_FIXED",
    ),
    ("mmap_anon(pages, flags)", "an anonymous do_mmap"),
    ("munmap(addr, len)", "do_munmap"),
    ("fork()", "fork: the child process (on the same CPU)"),
    ("truncate(file, pages)", "do_truncate to that many pages"),
    (
        "zap_page_range(vma, start, end)",
        "zap_page_range (madvise(MADV_DONTNEED)'s path)",
    ),
    ("load(addr)", "a user load of 8 bytes"),
    ("store(addr, value)", "a user store of 8 bytes"),
    (
        "load_page(addr)",
        "a user load of the first word of every line of the page",
    ),
    (
        "flush_page_lines(addr)",
        "fdc over the page through the user address (write back)",
    ),
    (
        "move_in(addr)",
        "a speculative move-in of one line through the TLB",
    ),
    ("move_in_page(addr)", "move_in of every line of the page"),
    (
        "write(file, index, value)",
        "write(): value at the start of every line of the page",
    ),
    ("try_to_unmap_one(pfn, vma)", "kswapd's try_to_unmap_one"),
    (
        "shrink_page(pfn)",
        "kswapd's shrink_list for one page: \"freed\", \"kept\" or \"busy\"",
    ),
    (
        "swap_out(pfn)",
        "shrink_page, and an error unless the page was freed",
    ),
    (
        "move_in_burst()",
        "the move-in agent's burst through every valid user TLB entry",
    ),
];

/// What a call needs: where it runs, fewest and most arguments; `None`
/// for an unknown name.
fn signature(name: &str) -> Option<(Needs, usize, usize)> {
    use Needs::*;
    Some(match name {
        "new_file" | "kaddr" | "new_process" | "page_count" | "set_next_swap_slot" => {
            (Nothing, 1, 1)
        }
        "new_file_at" | "new_thread" | "page" | "cached_pfn" | "pte_pfn" | "vma" => (Nothing, 2, 2),
        "mmap" => (Process, 4, 5),
        "mmap_anon" | "munmap" | "truncate" | "store" => (Process, 2, 2),
        "fork" | "exit" => (Process, 0, 0),
        "madvise_dontneed" => (Process, 2, 2),
        "mprotect" => (Process, 3, 3),
        "mremap" => (Process, 2, 3),
        "access_process_vm" => (Kernel, 2, 3),
        "zap_page_range" => (Process, 3, 3),
        "load" | "load_page" | "flush_page_lines" | "move_in" | "move_in_page" => (Process, 1, 1),
        "write" => (Kernel, 3, 3),
        "try_to_unmap_one" => (Kernel, 2, 2),
        "shrink_page" | "swap_out" => (Kernel, 1, 1),
        "move_in_burst" => (Kernel, 0, 0),
        _ => return None,
    })
}

fn op_names() -> String {
    OPERATIONS
        .iter()
        .map(|(s, _)| s.split('(').next().unwrap_or(s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A parsed and checked scenario file.
#[derive(Debug, Clone)]
pub struct Litmus {
    /// The syntax tree.
    pub ast: Ast,
    /// The file's name as given.
    pub file: String,
    /// The parameters with the file's defaults applied.
    pub defaults: Params,
    /// The strategy the file names (`strategy = X;` in `defaults`), if any.
    pub strategy: Option<String>,
    /// The hardware the file sets beyond [`Params`]: data-cache ways, its
    /// size in lines, entries per TLB (`None`: the exploration machine's).
    pub hw: Hardware,
    /// The text (kept so a replay command can name a built-in).
    pub text: String,
}

impl Litmus {
    /// Parses and checks `text`, the file `file` (a name for messages).
    pub fn parse(file: &str, text: &str) -> Result<Litmus, LitmusError> {
        let err = |pos: Option<Pos>, msg: String| LitmusError {
            file: file.to_string(),
            pos,
            msg,
        };
        let ast = parse::parse(text).map_err(|(p, m)| err(Some(p), m))?;
        let mut strategy = None;
        let mut hw = Hardware::default();
        let mut settings = Vec::new();
        for (k, v, at) in &ast.defaults {
            if Hardware::NAMES.contains(&k.as_str()) {
                let n = parse::number(v)
                    .ok_or_else(|| err(Some(*at), format!("{k} must be a number, not {v:?}")))?;
                let bad = || err(Some(*at), format!("{k} {n} is out of range"));
                match k.as_str() {
                    "ways" => hw.ways = Some(u32::try_from(n).map_err(|_| bad())?),
                    "cache_lines" => hw.cache_lines = Some(n),
                    _ => hw.tlb_entries = Some(usize::try_from(n).map_err(|_| bad())?),
                }
                // Checked against the geometry of the file's own lines.
                let mut probe = scenario::world_config(&Params::default())
                    .map_err(|m| err(Some(*at), m))?
                    .hw;
                hw.apply(&mut probe).map_err(|m| err(Some(*at), m))?;
                continue;
            }
            if k == "strategy" {
                if by_name(v).is_none() {
                    return Err(err(
                        Some(*at),
                        format!(
                            "unknown strategy {v:?}; one of {}",
                            crate::report::STRATEGIES.join(", ")
                        ),
                    ));
                }
                strategy = Some(v.clone());
            } else {
                settings.push((k.clone(), v.clone(), *at));
            }
        }
        let defaults =
            apply_settings(Params::default(), &settings, true).map_err(|(p, m)| err(Some(p), m))?;
        check_names(&ast).map_err(|(p, m)| err(Some(p), m))?;
        Ok(Litmus {
            ast,
            file: file.to_string(),
            defaults,
            strategy,
            hw,
            text: text.to_string(),
        })
    }

    /// A built-in scenario's file, by name.
    pub fn builtin(name: &str) -> Result<Litmus, LitmusError> {
        let (_, text) = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| LitmusError {
                file: name.to_string(),
                pos: None,
                msg: format!(
                    "no built-in scenario file {name:?}; one of {}",
                    BUILTIN
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        Litmus::parse(&format!("<builtin>/{name}.vipt"), text)
    }

    /// Reads and checks the file at `path`.
    pub fn load(path: &std::path::Path) -> Result<Litmus, LitmusError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LitmusError {
            file: name.clone(),
            pos: None,
            msg: e.to_string(),
        })?;
        Litmus::parse(&name, &text)
    }

    /// The scenario's name (its `scenario NAME;` line).
    pub fn name(&self) -> &str {
        &self.ast.name
    }

    /// Binds the file to a built-in strategy and parameters, and runs its
    /// set-up once: a file that cannot run (a load no mapping covers, a
    /// thread of a process that does not exist) is refused here.
    pub fn bind(&self, strategy: &str, params: Params) -> Result<FileScenario, LitmusError> {
        let s = by_name(strategy).ok_or_else(|| LitmusError {
            file: self.file.clone(),
            pos: None,
            msg: format!("unknown strategy {strategy:?}"),
        })?;
        self.bind_with(s, params, None)
    }

    /// Binds the file to any strategy and arch hooks, and runs its set-up
    /// once (see [`Litmus::bind`]).
    pub fn bind_with(
        &self,
        strategy: Arc<dyn FlushStrategy>,
        params: Params,
        arch: Option<Arc<dyn Arch>>,
    ) -> Result<FileScenario, LitmusError> {
        let err = |pos: Option<Pos>, msg: String| LitmusError {
            file: self.file.clone(),
            pos,
            msg,
        };
        scenario::check_params(&params).map_err(|m| err(None, m))?;
        let mut sc = FileScenario {
            litmus: Arc::new(self.clone()),
            params,
            strategy_name: strategy.name().to_string(),
            strategy,
            arch,
            running: Vec::new(),
            names: (
                params.kernel.to_string().into(),
                params.colour.to_string().into(),
            ),
        };
        sc.running = sc.conditions().map_err(|(p, m)| err(p, m))?;
        // The set-up once, to refuse a file that cannot run; and the bodies'
        // contexts must be processes on their CPUs, one body each.
        let st = sc.build().map_err(|(p, m)| err(p, m))?;
        let mut used: BTreeMap<usize, Pos> = BTreeMap::new();
        for b in &st.bodies {
            let body = &self.ast.bodies[*b];
            if let Some((name, at)) = &body.context {
                let Some(Val::Ctx(i)) = st.globals.get(name.as_str()) else {
                    return Err(err(
                        Some(*at),
                        format!("`{name}` is not a process or thread made in setup"),
                    ));
                };
                let hw = st.ctxs.borrow()[*i].borrow().id();
                if hw != body.cpu {
                    return Err(err(
                        Some(*at),
                        format!("`{name}` runs on CPU {hw}, not CPU {}", body.cpu),
                    ));
                }
                if let Some(first) = used.insert(*i, *at) {
                    return Err(err(
                        Some(*at),
                        format!(
                            "`{name}` already runs the body at {first}: a thread runs one body"
                        ),
                    ));
                }
            }
        }
        Ok(sc)
    }
}

/// Applies a `defaults` block to `p`.
fn apply_settings(
    mut p: Params,
    settings: &[(String, String, Pos)],
    file: bool,
) -> Result<Params, (Pos, String)> {
    let mut page_flush = None;
    for (k, v, at) in settings {
        let at = *at;
        let bad = |what: &str| (at, format!("{k} must be {what}, not {v:?}"));
        let on_off = |v: &str| match v {
            "on" | "yes" | "true" | "1" => Ok(true),
            "off" | "no" | "false" | "0" => Ok(false),
            _ => Err(bad("on or off")),
        };
        let int = |v: &str| parse::number(v).ok_or_else(|| bad("a number"));
        match k.as_str() {
            "kernel" => p.kernel = Kernel::parse(v).map_err(|m| (at, m))?,
            "vmas" => p.vmas = usize::try_from(int(v)?).map_err(|_| bad("2 to 8"))?,
            "lines" => p.lines = int(v)?,
            "colour" => p.colour = Colour::parse(v).map_err(|m| (at, m))?,
            "page_flush" => {
                page_flush = if v == "default" {
                    None
                } else {
                    Some(on_off(v)?)
                }
            }
            "move_in" => p.move_in = on_off(v)?,
            "move_ins" => p.move_ins = u32::try_from(int(v)?).map_err(|_| bad("0 to 4"))?,
            "move_in_flush_only" => p.move_in_flush_only = on_off(v)?,
            "sibling" => p.sibling = on_off(v)?,
            "scrub_freed" => p.scrub_freed = on_off(v)?,
            _ => {
                return Err((
                    at,
                    format!(
                        "unknown {} {k:?}; one of {}",
                        if file { "setting" } else { "parameter" },
                        PARAMS
                            .iter()
                            .chain(&Hardware::NAMES)
                            .chain(&["strategy"])
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        }
    }
    p.page_flush = page_flush.unwrap_or(p.kernel.flush_only_ptes());
    Ok(p)
}

/// Checks every name the file uses: variables assigned before they are
/// read (in file order), operations known and called with the right
/// number of arguments, registers of bodies that exist.
fn check_names(ast: &Ast) -> Result<(), (Pos, String)> {
    let mut names: Vec<String> = PARAMS
        .iter()
        .chain(&CONSTANTS)
        .map(|s| s.to_string())
        .collect();
    walk(&ast.setup, &mut names)?;
    let globals = names.clone();
    let mut cpus: BTreeMap<usize, (Pos, Vec<String>)> = BTreeMap::new();
    for b in &ast.bodies {
        if b.cpu >= scenario::HW_CPUS {
            return Err((
                b.pos,
                format!(
                    "no CPU {}: the model has CPUs 0 to {}",
                    b.cpu,
                    scenario::HW_CPUS - 1
                ),
            ));
        }
        if let Some((name, at)) = &b.context {
            if !globals.contains(name) {
                return Err((*at, unknown_name(name, &globals)));
            }
        }
        if let Some(c) = &b.cond {
            expr_names(c, &globals, None)?;
        }
        let mut local = globals.clone();
        walk(&b.stmts, &mut local)?;
        if let Some((first, _)) = cpus.get(&b.cpu) {
            if b.cond.is_none() {
                return Err((
                    b.pos,
                    format!(
                        "a second body on CPU {} (the first is at {first}); give one an `if`",
                        b.cpu
                    ),
                ));
            }
        }
        cpus.entry(b.cpu)
            .or_insert((b.pos, Vec::new()))
            .1
            .extend(local);
    }
    let mut fin = globals.clone();
    walk(&ast.final_, &mut fin)?;
    for c in &ast.checks {
        expr_names(&c.cond, &fin, Some(&cpus))?;
    }
    Ok(())
}

fn unknown_name(name: &str, known: &[String]) -> String {
    let mut v: Vec<&str> = known
        .iter()
        .map(String::as_str)
        .filter(|n| !PARAMS.contains(n) && !CONSTANTS.contains(n))
        .collect();
    v.sort_unstable();
    v.dedup();
    format!(
        "unknown name `{name}`; the variables here are {}, besides the parameters ({}) and {}",
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        },
        PARAMS.join(", "),
        CONSTANTS.join(", ")
    )
}

fn walk(stmts: &[Stmt], names: &mut Vec<String>) -> Result<(), (Pos, String)> {
    for s in stmts {
        match s {
            Stmt::Let(n, e, _) => {
                expr_names(e, names, None)?;
                if PARAMS.contains(&&**n) || CONSTANTS.contains(&&**n) {
                    return Err((
                        s_pos(s),
                        format!("`{n}` is a parameter or constant, not a variable"),
                    ));
                }
                names.push(n.to_string());
            }
            Stmt::Expr(e) => expr_names(e, names, None)?,
            Stmt::On(n, b, at) => {
                if !names.contains(n) {
                    return Err((*at, unknown_name(n, names)));
                }
                walk(b, names)?;
            }
            Stmt::If(c, t, e) => {
                expr_names(c, names, None)?;
                walk(t, names)?;
                walk(e, names)?;
            }
            Stmt::Repeat(n, b) => {
                expr_names(n, names, None)?;
                walk(b, names)?;
            }
        }
    }
    Ok(())
}

fn s_pos(s: &Stmt) -> Pos {
    match s {
        Stmt::Let(_, _, p) | Stmt::On(_, _, p) => *p,
        Stmt::Expr(e) | Stmt::If(e, _, _) | Stmt::Repeat(e, _) => e.pos(),
    }
}

type Cpus<'a> = Option<&'a BTreeMap<usize, (Pos, Vec<String>)>>;

fn expr_names(e: &Expr, names: &[String], cpus: Cpus<'_>) -> Result<(), (Pos, String)> {
    match e {
        Expr::Int(..) | Expr::Str(..) => Ok(()),
        Expr::Var(n, at) => {
            if names.contains(n) {
                Ok(())
            } else {
                Err((*at, unknown_name(n, names)))
            }
        }
        Expr::Reg(cpu, r, at) => match cpus {
            None => Err((
                *at,
                format!("{cpu}:{r} names a register: only checks read registers"),
            )),
            Some(c) => match c.get(cpu) {
                None => Err((
                    *at,
                    format!(
                        "no body on CPU {cpu}; bodies run on CPUs {}",
                        c.keys()
                            .map(|k| k.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
                Some((_, regs)) if !regs.contains(r) => {
                    Err((*at, format!("the body on CPU {cpu} assigns no `{r}`")))
                }
                Some(_) => Ok(()),
            },
        },
        Expr::Call(n, args, at) => {
            let Some((_, lo, hi)) = signature(n) else {
                return Err((
                    *at,
                    format!("unknown operation `{n}`; one of {}", op_names()),
                ));
            };
            if args.len() < lo || args.len() > hi {
                let sig = OPERATIONS
                    .iter()
                    .find(|(s, _)| s.split('(').next() == Some(n.as_str()))
                    .map_or(n.as_str(), |(s, _)| s);
                return Err((
                    *at,
                    format!(
                        "`{n}` takes {}, not {}: {sig}",
                        args_count(lo, hi),
                        args.len()
                    ),
                ));
            }
            args.iter().try_for_each(|a| expr_names(a, names, cpus))
        }
        Expr::Not(x, _) => expr_names(x, names, cpus),
        Expr::Bin(_, a, b, _) => {
            expr_names(a, names, cpus)?;
            expr_names(b, names, cpus)
        }
    }
}

fn args_count(lo: usize, hi: usize) -> String {
    match (lo, hi) {
        (0, 0) => "no arguments".into(),
        (1, 1) => "1 argument".into(),
        (a, b) if a == b => format!("{a} arguments"),
        (a, b) => format!("{a} to {b} arguments"),
    }
}

/// A value of the file's language.
#[derive(Clone)]
enum Val {
    Int(u64),
    Bool(bool),
    Str(Arc<str>),
    File(Arc<AddressSpace>),
    /// A process or thread: an index into the execution's contexts.
    Ctx(usize),
    Vma(Arc<Vma>),
}

impl Val {
    fn kind(&self) -> &'static str {
        match self {
            Val::Int(_) => "a number",
            Val::Bool(_) => "true or false",
            Val::Str(_) => "a string",
            Val::File(_) => "a file",
            Val::Ctx(_) => "a process",
            Val::Vma(_) => "a vma",
        }
    }

    fn show(&self) -> String {
        match self {
            Val::Int(n) => format!("{n:#x}"),
            Val::Bool(b) => b.to_string(),
            Val::Str(s) => format!("{s:?}"),
            Val::File(f) => format!("file {}", f.id),
            Val::Ctx(i) => format!("process {i}"),
            Val::Vma(v) => format!("vma {:#x}-{:#x}", v.vm_start, v.vm_end),
        }
    }
}

/// A scenario file bound to a strategy and parameters: a [`Program`].
#[derive(Clone)]
pub struct FileScenario {
    /// The file.
    pub litmus: Arc<Litmus>,
    /// Its parameters.
    pub params: Params,
    /// The strategy's name.
    pub strategy_name: String,
    strategy: Arc<dyn FlushStrategy>,
    arch: Option<Arc<dyn Arch>>,
    /// The file's bodies whose `if` holds with these parameters.
    running: Vec<usize>,
    /// The `kernel` and `colour` parameters as the file reads them.
    names: (Arc<str>, Arc<str>),
}

impl fmt::Debug for FileScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileScenario")
            .field("file", &self.litmus.file)
            .field("params", &self.params)
            .field("strategy", &self.strategy_name)
            .finish()
    }
}

/// One execution's state of a file scenario.
pub struct State {
    w: Arc<World>,
    globals: BTreeMap<Arc<str>, Val>,
    /// The processes and threads (and forked children) made so far.
    ctxs: RefCell<Vec<Rc<RefCell<Cpu>>>>,
    /// The bodies that exist (their `if` held), by index into the file's.
    bodies: Vec<usize>,
    /// Each running body's variables: its registers.
    regs: Regs,
    errors: RefCell<Vec<String>>,
    base: Vec<(&'static str, u64)>,
}

impl State {
    /// The world.
    pub fn world(&self) -> &Arc<World> {
        &self.w
    }

    /// The number the set-up left in variable `name`.
    pub fn number(&self, name: &str) -> Option<u64> {
        match self.globals.get(name) {
            Some(Val::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// The file the set-up left in variable `name`.
    pub fn file(&self, name: &str) -> Option<Arc<AddressSpace>> {
        match self.globals.get(name) {
            Some(Val::File(f)) => Some(f.clone()),
            _ => None,
        }
    }

    /// Takes the CPU of the process or thread in variable `name` out of
    /// the state (for native use; the state's bodies cannot run after).
    pub fn take_cpu(&self, name: &str) -> Option<Cpu> {
        let Some(Val::Ctx(i)) = self.globals.get(name) else {
            return None;
        };
        let slot = self.ctxs.borrow_mut().get_mut(*i).map(|c| {
            let empty = Rc::new(RefCell::new(Cpu::new(&self.w, 0).ok()?));
            Some(std::mem::replace(c, empty))
        })??;
        Rc::try_unwrap(slot).ok().map(RefCell::into_inner)
    }
}

type Res<T> = Result<T, (Option<Pos>, String)>;

/// Each running body's variables (its registers), by body.
type Regs = RefCell<Vec<BTreeMap<Arc<str>, Val>>>;

/// Where statements run: a process or thread, or a kernel thread.
#[derive(Clone, Copy)]
enum On {
    Kernel(usize),
    Ctx(usize),
}

struct Ev<'a> {
    sc: &'a FileScenario,
    w: &'a Arc<World>,
    ctxs: &'a RefCell<Vec<Rc<RefCell<Cpu>>>>,
    env: &'a mut BTreeMap<Arc<str>, Val>,
    /// The set-up's variables, under `env` (a body's and `final`'s own
    /// assignments shadow them).
    outer: Option<&'a BTreeMap<Arc<str>, Val>>,
    on: On,
    /// A body's index among the running ones: its assignments are its
    /// registers.
    regs: Option<(&'a Regs, usize)>,
}

fn mm_err(at: Pos) -> impl Fn(MmError) -> (Option<Pos>, String) {
    move |e| (Some(at), e.to_string())
}

impl Ev<'_> {
    /// A variable: this block's, else the set-up's.
    fn lookup(&self, n: &str) -> Option<&Val> {
        self.env
            .get(n)
            .or_else(|| self.outer.and_then(|o| o.get(n)))
    }

    fn param(&self, n: &str) -> Option<Val> {
        let p = &self.sc.params;
        Some(match n {
            "kernel" => Val::Str(self.sc.names.0.clone()),
            "vmas" => Val::Int(p.vmas as u64),
            "lines" => Val::Int(p.lines),
            "colour" => Val::Str(self.sc.names.1.clone()),
            "page_flush" => Val::Bool(p.page_flush),
            "move_in" => Val::Bool(p.move_in),
            "move_ins" => Val::Int(u64::from(p.move_ins)),
            "move_in_flush_only" => Val::Bool(p.move_in_flush_only),
            "sibling" => Val::Bool(p.sibling),
            "scrub_freed" => Val::Bool(p.scrub_freed),
            "PAGE_SIZE" => Val::Int(PAGE_SIZE),
            "MAP_SHARED" => Val::Int(u64::from(MapFlags::MAP_SHARED.bits())),
            "MAP_PRIVATE" => Val::Int(u64::from(MapFlags::MAP_PRIVATE.bits())),
            "MAP_FIXED" => Val::Int(u64::from(MapFlags::MAP_FIXED.bits())),
            "PROT_NONE" => Val::Int(0),
            "PROT_READ" => Val::Int(u64::from(Prot::PROT_READ.bits())),
            "PROT_WRITE" => Val::Int(u64::from(Prot::PROT_WRITE.bits())),
            "PROT_EXEC" => Val::Int(u64::from(Prot::PROT_EXEC.bits())),
            "true" => Val::Bool(true),
            "false" => Val::Bool(false),
            _ => return None,
        })
    }

    fn block(&mut self, stmts: &[Stmt]) -> Res<()> {
        for s in stmts {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> Res<()> {
        match s {
            Stmt::Let(n, e, _) => {
                let v = self.eval(e)?;
                if let Some((regs, i)) = self.regs {
                    regs.borrow_mut()[i].insert(n.clone(), v.clone());
                }
                self.env.insert(n.clone(), v);
            }
            Stmt::Expr(e) => {
                self.eval(e)?;
            }
            Stmt::On(n, b, at) => {
                let ctx = match self.lookup(n) {
                    Some(Val::Ctx(i)) => *i,
                    Some(v) => {
                        return Err((
                            Some(*at),
                            format!("`on` needs a process or thread; `{n}` is {}", v.kind()),
                        ))
                    }
                    None => return Err((Some(*at), format!("`{n}` is not assigned yet"))),
                };
                let saved = std::mem::replace(&mut self.on, On::Ctx(ctx));
                let r = self.block(b);
                self.on = saved;
                r?;
            }
            Stmt::If(c, t, e) => {
                if self.truth(c)? {
                    self.block(t)?;
                } else {
                    self.block(e)?;
                }
            }
            Stmt::Repeat(n, b) => {
                let k = self.int(n)?;
                if k > 4096 {
                    return Err((Some(n.pos()), format!("repeat {k} times: at most 4096")));
                }
                for _ in 0..k {
                    self.block(b)?;
                }
            }
        }
        Ok(())
    }

    fn int(&mut self, e: &Expr) -> Res<u64> {
        match self.eval(e)? {
            Val::Int(n) => Ok(n),
            v => Err((
                Some(e.pos()),
                format!("expected a number, found {}", v.kind()),
            )),
        }
    }

    fn truth(&mut self, e: &Expr) -> Res<bool> {
        match self.eval(e)? {
            Val::Bool(b) => Ok(b),
            Val::Int(n) => Ok(n != 0),
            v => Err((
                Some(e.pos()),
                format!("expected a condition, found {}", v.kind()),
            )),
        }
    }

    fn eval(&mut self, e: &Expr) -> Res<Val> {
        Ok(match e {
            Expr::Int(n, _) => Val::Int(*n),
            Expr::Str(s, _) => Val::Str(s.as_str().into()),
            Expr::Var(n, at) => match self.lookup(n) {
                Some(v) => v.clone(),
                None => self.param(n).ok_or_else(|| {
                    (
                        Some(*at),
                        format!("`{n}` is not assigned in this execution"),
                    )
                })?,
            },
            Expr::Reg(c, r, at) => {
                return Err((
                    Some(*at),
                    format!("{c}:{r}: registers are read only by checks"),
                ))
            }
            Expr::Not(x, _) => Val::Bool(!self.truth(x)?),
            Expr::Bin(op, a, b, at) => self.bin(*op, a, b, *at)?,
            Expr::Call(n, args, at) => self.call(n, args, *at)?,
        })
    }

    fn bin(&mut self, op: BinOp, a: &Expr, b: &Expr, at: Pos) -> Res<Val> {
        use BinOp::*;
        match op {
            Or => return Ok(Val::Bool(self.truth(a)? || self.truth(b)?)),
            And => return Ok(Val::Bool(self.truth(a)? && self.truth(b)?)),
            _ => {}
        }
        let (x, y) = (self.eval(a)?, self.eval(b)?);
        if matches!(op, Eq | Ne) {
            let same = match (&x, &y) {
                (Val::Int(p), Val::Int(q)) => p == q,
                (Val::Bool(p), Val::Bool(q)) => p == q,
                (Val::Str(p), Val::Str(q)) => p == q,
                (Val::File(p), Val::File(q)) => Arc::ptr_eq(p, q),
                (Val::Ctx(p), Val::Ctx(q)) => p == q,
                (Val::Vma(p), Val::Vma(q)) => Arc::ptr_eq(p, q),
                _ => {
                    return Err((
                        Some(at),
                        format!("cannot compare {} with {}", x.kind(), y.kind()),
                    ))
                }
            };
            return Ok(Val::Bool(same == (op == Eq)));
        }
        let (Val::Int(p), Val::Int(q)) = (&x, &y) else {
            return Err((
                Some(at),
                format!(
                    "arithmetic needs numbers, found {} and {}",
                    x.kind(),
                    y.kind()
                ),
            ));
        };
        let (p, q) = (*p, *q);
        let over = || (Some(at), format!("{p:#x} and {q:#x} overflow 64 bits"));
        Ok(match op {
            Lt => Val::Bool(p < q),
            Le => Val::Bool(p <= q),
            Gt => Val::Bool(p > q),
            Ge => Val::Bool(p >= q),
            BitOr => Val::Int(p | q),
            Shl => Val::Int(
                u32::try_from(q)
                    .ok()
                    .and_then(|s| p.checked_shl(s))
                    .filter(|r| r >> q.min(63) == p)
                    .ok_or_else(over)?,
            ),
            Shr => Val::Int(
                u32::try_from(q)
                    .ok()
                    .and_then(|s| p.checked_shr(s))
                    .unwrap_or(0),
            ),
            Add => Val::Int(p.checked_add(q).ok_or_else(over)?),
            Sub => Val::Int(p.checked_sub(q).ok_or_else(over)?),
            Mul => Val::Int(p.checked_mul(q).ok_or_else(over)?),
            Or | And | Eq | Ne => unreachable!("handled above"),
        })
    }

    fn ctx(&self, i: usize) -> Rc<RefCell<Cpu>> {
        self.ctxs.borrow()[i].clone()
    }

    /// The hardware CPU statements run on here.
    fn hw(&self) -> usize {
        match self.on {
            On::Kernel(c) => c,
            On::Ctx(i) => self.ctx(i).borrow().id(),
        }
    }

    fn new_ctx(&mut self, cpu: Cpu) -> Val {
        let mut v = self.ctxs.borrow_mut();
        v.push(Rc::new(RefCell::new(cpu)));
        Val::Ctx(v.len() - 1)
    }

    fn call(&mut self, name: &str, args: &[Expr], at: Pos) -> Res<Val> {
        let (needs, _, _) =
            signature(name).ok_or_else(|| (Some(at), format!("unknown operation `{name}`")))?;
        let vals = args.iter().map(|a| self.eval(a)).collect::<Res<Vec<_>>>()?;
        // Argument i of the wrong kind: where it is, and what was wanted.
        let wrong = |i: usize, want: &str| -> (Option<Pos>, String) {
            (
                Some(args[i].pos()),
                format!(
                    "`{name}` argument {} must be {want}, not {}",
                    i + 1,
                    vals[i].kind()
                ),
            )
        };
        let int = |i: usize| match &vals[i] {
            Val::Int(n) => Ok(*n),
            _ => Err(wrong(i, "a number")),
        };
        let file = |i: usize| match &vals[i] {
            Val::File(f) => Ok(f.clone()),
            _ => Err(wrong(i, "a file")),
        };
        let ctx_arg = |i: usize| match &vals[i] {
            Val::Ctx(c) => Ok(*c),
            _ => Err(wrong(i, "a process")),
        };
        let vma_arg = |i: usize| match &vals[i] {
            Val::Vma(v) => Ok(v.clone()),
            _ => Err(wrong(i, "a vma")),
        };
        let e = mm_err(at);
        let w = self.w.clone();
        let lines = self.sc.params.lines;
        match needs {
            Needs::Nothing => {}
            Needs::Kernel => {
                let mut k = Cpu::new(&w, self.hw()).map_err(&e)?;
                return Ok(match name {
                    "write" => {
                        Val::Int(sys_write(&mut k, &file(0)?, int(1)?, int(2)?).map_err(&e)?)
                    }
                    "try_to_unmap_one" => {
                        try_to_unmap_one(&mut k, int(0)?, &vma_arg(1)?, true).map_err(&e)?;
                        Val::Int(0)
                    }
                    "shrink_page" | "swap_out" => {
                        let pfn = int(0)?;
                        let r = shrink_page(&mut k, pfn, true).map_err(&e)?;
                        if name == "swap_out" && r != Reclaim::Freed {
                            return Err((Some(at), format!("page {pfn:#x} was not swapped out")));
                        }
                        Val::Str(
                            match r {
                                Reclaim::Freed => "freed",
                                Reclaim::Kept => "kept",
                                Reclaim::Busy => "busy",
                            }
                            .into(),
                        )
                    }
                    "access_process_vm" => {
                        let (p, a) = (ctx_arg(0)?, int(1)?);
                        let v = if vals.len() > 2 { Some(int(2)?) } else { None };
                        let mm = self
                            .ctx(p)
                            .borrow()
                            .mm()
                            .cloned()
                            .ok_or_else(|| (Some(at), "that process has no mm".to_string()))?;
                        Val::Int(access_process_vm(&mut k, &mm, a, v).map_err(&e)?)
                    }
                    _ => Val::Int(
                        k.move_in_burst(self.sc.params.move_in_flush_only, "speculative move-in")
                            .map_err(&e)?,
                    ),
                });
            }
            Needs::Process => {
                let On::Ctx(i) = self.on else {
                    return Err((
                        Some(at),
                        format!("`{name}` runs in a process: put it in `on PROCESS {{ … }}` or a body `cpu N as PROCESS`"),
                    ));
                };
                let c = self.ctx(i);
                let mut c = c.try_borrow_mut().map_err(|_| {
                    (
                        Some(at),
                        "this process's thread is running another body".to_string(),
                    )
                })?;
                let space = |c: &Cpu| -> Res<vipt_cache::SpaceId> {
                    Ok(c.mm()
                        .ok_or_else(|| (Some(at), "the thread has no mm".to_string()))?
                        .context)
                };
                let step = PAGE_SIZE / lines;
                return Ok(match name {
                    "mmap" | "mmap_anon" => {
                        let (f, pgoff, pages, flags, addr) = if name == "mmap" {
                            (
                                Some(file(0)?),
                                int(1)?,
                                int(2)?,
                                int(3)?,
                                if vals.len() > 4 { Some(int(4)?) } else { None },
                            )
                        } else {
                            (
                                None,
                                0,
                                int(0)?,
                                int(1)? | u64::from(MapFlags::MAP_ANONYMOUS.bits()),
                                None,
                            )
                        };
                        let bits = u32::try_from(flags).ok().and_then(MapFlags::from_bits).ok_or_else(|| (
                            Some(args[if name == "mmap" { 3 } else { 1 }].pos()),
                            format!("{flags:#x} is not a combination of MAP_SHARED, MAP_PRIVATE, MAP_FIXED"),
                        ))?;
                        let bits = if addr.is_some() {
                            bits | MapFlags::MAP_FIXED
                        } else {
                            bits
                        };
                        let len = pages
                            .checked_mul(PAGE_SIZE)
                            .ok_or_else(|| (Some(at), "too many pages".to_string()))?;
                        let rw = Prot::PROT_READ.union(Prot::PROT_WRITE);
                        Val::Int(
                            do_mmap(&mut c, f.as_ref(), addr.unwrap_or(0), len, rw, bits, pgoff)
                                .map_err(&e)?,
                        )
                    }
                    "munmap" => {
                        let (a, l) = (int(0)?, int(1)?);
                        do_munmap(&mut c, a, l).map_err(&e)?;
                        Val::Int(0)
                    }
                    "fork" => {
                        let mm = fork(&mut c).map_err(&e)?;
                        let mut child = Cpu::new(&w, c.id()).map_err(&e)?;
                        child.use_mm(Some(mm));
                        drop(c);
                        self.new_ctx(child)
                    }
                    "exit" => {
                        exit_mmap(&mut c).map_err(&e)?;
                        Val::Int(0)
                    }
                    "mprotect" => {
                        let (a, l, p) = (int(0)?, int(1)?, int(2)?);
                        let prot =
                            u32::try_from(p)
                                .ok()
                                .and_then(Prot::from_bits)
                                .ok_or_else(|| {
                                    (
                                        Some(args[2].pos()),
                                        format!(
                                "{p:#x} is not a combination of PROT_READ, PROT_WRITE, PROT_EXEC"
                            ),
                                    )
                                })?;
                        sys_mprotect(&mut c, a, l, prot).map_err(&e)?;
                        Val::Int(0)
                    }
                    "mremap" => {
                        let (a, l) = (int(0)?, int(1)?);
                        let to = if vals.len() > 2 { Some(int(2)?) } else { None };
                        Val::Int(sys_mremap(&mut c, a, l, to).map_err(&e)?)
                    }
                    "madvise_dontneed" => {
                        let (a, l) = (int(0)?, int(1)?);
                        madvise_dontneed(&mut c, a, l).map_err(&e)?;
                        Val::Int(0)
                    }
                    "truncate" => {
                        let (f, n) = (file(0)?, int(1)?);
                        do_truncate(&mut c, &f, n).map_err(&e)?;
                        Val::Int(0)
                    }
                    "zap_page_range" => {
                        let (v, s, end) = (vma_arg(0)?, int(1)?, int(2)?);
                        zap_page_range(&mut c, &v, s, end).map_err(&e)?;
                        Val::Int(0)
                    }
                    "load" => {
                        let a = int(0)?;
                        Val::Int(c.user_load(a, 8).map_err(&e)?)
                    }
                    "store" => {
                        let (a, v) = (int(0)?, int(1)?);
                        c.user_store(a, 8, v).map_err(&e)?;
                        Val::Int(0)
                    }
                    "load_page" => {
                        let a = int(0)?;
                        let mut first = 0;
                        for i in 0..lines {
                            let v = c.user_load(a + i * step, 8).map_err(&e)?;
                            if i == 0 {
                                first = v;
                            }
                        }
                        Val::Int(first)
                    }
                    "flush_page_lines" => {
                        let (a, s) = (int(0)?, space(&c)?);
                        c.flush_page_lines(s, a, "setup").map_err(&e)?;
                        Val::Int(0)
                    }
                    "move_in" => {
                        let (a, s) = (int(0)?, space(&c)?);
                        Val::Bool(c.move_in(s, a, "speculation").map_err(&e)?)
                    }
                    _ => {
                        let (a, s) = (int(0)?, space(&c)?);
                        for i in 0..lines {
                            c.move_in(s, a + i * step, "speculation").map_err(&e)?;
                        }
                        Val::Int(0)
                    }
                });
            }
        }
        Ok(match name {
            "new_file" => Val::File(w.new_file(int(0)?)),
            "new_file_at" => Val::File(w.new_file_at(int(0)?, int(1)?)),
            "kaddr" => Val::Int(file(0)?.kaddr),
            "new_process" => {
                let cpu = usize::try_from(int(0)?).unwrap_or(usize::MAX);
                let mut c = Cpu::new(&w, cpu).map_err(&e)?;
                c.use_mm(Some(w.new_mm()));
                self.new_ctx(c)
            }
            "new_thread" => {
                let p = ctx_arg(0)?;
                let mm = self
                    .ctx(p)
                    .borrow()
                    .mm()
                    .cloned()
                    .ok_or_else(|| (Some(at), "that process has no mm".to_string()))?;
                let cpu = usize::try_from(int(1)?).unwrap_or(usize::MAX);
                let mut c = Cpu::new(&w, cpu).map_err(&e)?;
                c.use_mm(Some(mm));
                self.new_ctx(c)
            }
            "page" => {
                let (f, i) = (file(0)?, int(1)?);
                Val::Int(f.cached_pfn(i).ok_or_else(|| {
                    (Some(at), format!("page {i} of file {} is not cached", f.id))
                })?)
            }
            "cached_pfn" => Val::Int(file(0)?.cached_pfn(int(1)?).unwrap_or(u64::MAX)),
            "page_count" => Val::Int(w.page(int(0)?).map_err(&e)?.count() as u64),
            "pte_pfn" => {
                let (p, a) = (ctx_arg(0)?, int(1)?);
                let c = self.ctx(p);
                let c = c.borrow();
                let mm = c
                    .mm()
                    .ok_or_else(|| (Some(at), "that process has no mm".to_string()))?;
                let pte = mm
                    .pgd
                    .pte_offset(a)
                    .map_err(&e)?
                    .ok_or_else(|| (Some(at), format!("no pte table for {a:#x}")))?
                    .1
                    .load();
                Val::Int(vipt_pte::pte_pfn(pte))
            }
            "vma" => {
                let (p, a) = (ctx_arg(0)?, int(1)?);
                let c = self.ctx(p);
                let c = c.borrow();
                let mm = c
                    .mm()
                    .ok_or_else(|| (Some(at), "that process has no mm".to_string()))?;
                Val::Vma(
                    mm.find_vma(a)
                        .ok_or_else(|| (Some(at), format!("no vma covers {a:#x}")))?,
                )
            }
            _ => {
                w.set_next_swap_slot(int(0)?).map_err(&e)?;
                Val::Int(0)
            }
        })
    }
}

impl FileScenario {
    /// The bodies the explorer schedules: the file's bodies whose `if`
    /// holds, then one per move-in burst.
    pub fn bodies(&self) -> usize {
        self.running_bodies().len() + self.params.move_ins as usize
    }

    /// The file's bodies that exist with these parameters (their `if`
    /// holds), by index.
    fn running_bodies(&self) -> Vec<usize> {
        self.running.clone()
    }

    /// Evaluates the bodies' conditions (on the parameters alone).
    fn conditions(&self) -> Res<Vec<usize>> {
        let mut env = BTreeMap::new();
        let ctxs = RefCell::new(Vec::new());
        let w = World::new(vipt_mm::WorldConfig::default()).map_err(|e| (None, e.to_string()))?;
        let mut ev = Ev {
            sc: self,
            w: &w,
            ctxs: &ctxs,
            env: &mut env,
            outer: None,
            on: On::Kernel(0),
            regs: None,
        };
        let mut v = Vec::new();
        for (i, b) in self.litmus.ast.bodies.iter().enumerate() {
            if b.cond.as_ref().map_or(Ok(true), |c| ev.truth(c))? {
                v.push(i);
            }
        }
        // Body k runs on CPU k: schedules name bodies a, b, c… and
        // timelines label them CPU0, CPU1, CPU2….
        for (k, &i) in v.iter().enumerate() {
            let b = &self.litmus.ast.bodies[i];
            if b.cpu != k {
                return Err((
                    Some(b.pos),
                    format!(
                        "the bodies that run must be on CPUs 0, 1, 2… in file order (schedules call them a, b, c…); with these parameters this is body {k} ({}) but it is on CPU {}{}",
                        char::from(b'a' + (k % 26) as u8),
                        b.cpu,
                        if k < b.cpu { "; give the missing CPUs a body, empty if need be" } else { "" }
                    ),
                ));
            }
        }
        Ok(v)
    }

    /// Each body's role, for timelines.
    pub fn roles(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .running_bodies()
            .into_iter()
            .map(|i| self.litmus.ast.bodies[i].role.as_str())
            .collect();
        v.extend(std::iter::repeat_n(
            MOVE_IN_ROLE,
            self.params.move_ins as usize,
        ));
        v
    }

    fn build(&self) -> Result<State, (Option<Pos>, String)> {
        self.build_with(Arc::new(ExploreSched))
    }

    /// The world after set-up, with `sched` as its scheduling hook (the
    /// explorer's, or `vipt_mm::Native` for real threads).
    fn build_with(&self, sched: Arc<dyn vipt_mm::Sched>) -> Result<State, (Option<Pos>, String)> {
        let mut cfg = scenario::world_config(&self.params).map_err(|m| (None, m))?;
        self.litmus.hw.apply(&mut cfg.hw).map_err(|m| (None, m))?;
        let w =
            World::with(cfg, self.strategy.clone(), sched).map_err(|e| (None, e.to_string()))?;
        if let Some(a) = &self.arch {
            w.set_arch(a.clone()).map_err(|e| (None, e.to_string()))?;
        }
        let ctxs = RefCell::new(Vec::new());
        let mut globals = BTreeMap::new();
        let mut ev = Ev {
            sc: self,
            w: &w,
            ctxs: &ctxs,
            env: &mut globals,
            outer: None,
            on: On::Kernel(0),
            regs: None,
        };
        ev.block(&self.litmus.ast.setup)?;
        let bodies = self.running_bodies();
        let regs = RefCell::new(vec![BTreeMap::new(); bodies.len()]);
        Ok(State {
            base: scenario::cost_counters(&w),
            w,
            globals,
            ctxs,
            bodies,
            regs,
            errors: RefCell::new(Vec::new()),
        })
    }

    /// The world after set-up for real threads (`vipt_mm::Native` as its
    /// scheduling hook): no explorer runs it.
    pub fn native_state(&self) -> Result<State, String> {
        self.build_with(Arc::new(vipt_mm::Native))
            .map_err(|e| located(&self.litmus.file, e))
    }

    /// The scenario as `vipt explore` names it: the file, then the
    /// parameters.
    pub fn title(&self) -> String {
        format!("{} from {}", self.litmus.name(), self.litmus.file)
    }
}

fn located(file: &str, (p, m): (Option<Pos>, String)) -> String {
    match p {
        Some(p) => format!("{file}:{}:{}: {m}", p.line, p.col),
        None => format!("{file}: {m}"),
    }
}

impl Program for FileScenario {
    type State = State;

    fn setup(&self) -> Result<State, String> {
        self.build().map_err(|e| located(&self.litmus.file, e))
    }

    fn cpus(&self, st: &State) -> usize {
        st.bodies.len() + self.params.move_ins as usize
    }

    fn run(&self, st: &State, cpu: usize) {
        let Some(&b) = st.bodies.get(cpu) else {
            // A move-in burst of the hardware agent.
            let r = Cpu::new(&st.w, scenario::HW_CPUS - 1).and_then(|c| {
                c.move_in_burst(self.params.move_in_flush_only, "speculative move-in")
            });
            if let Err(e) = r {
                st.errors.borrow_mut().push(format!("move-in: {e}"));
            }
            return;
        };
        let body = &self.litmus.ast.bodies[b];
        let mut env = BTreeMap::new();
        let on = match &body.context {
            Some((n, _)) => match st.globals.get(n.as_str()) {
                Some(Val::Ctx(i)) => On::Ctx(*i),
                _ => On::Kernel(body.cpu),
            },
            None => On::Kernel(body.cpu),
        };
        let mut ev = Ev {
            sc: self,
            w: &st.w,
            ctxs: &st.ctxs,
            env: &mut env,
            outer: Some(&st.globals),
            on,
            regs: Some((&st.regs, cpu)),
        };
        // A failing statement (a fault the model returns as an error) is
        // noted, and the body goes on with its next statement, as a
        // kernel path returns -EFAULT to its caller.
        for s in &body.stmts {
            if let Err(e) = ev.stmt(s) {
                st.errors.borrow_mut().push(format!(
                    "{}: {}",
                    body.role,
                    located(&self.litmus.file, e)
                ));
            }
        }
    }

    /// Yes, as a built-in scenario's (`Scenario::exact_footprints`): the
    /// statements run the same audited mm model.
    fn exact_footprints(&self) -> bool {
        true
    }

    fn check(&self, st: State, run: &Run) -> Outcome {
        let w = &st.w;
        let mut failures = Vec::new();
        let finished = run.ending == Ending::Finished;
        let run_end = w.read_hw(|m| m.step());
        let mut fin = BTreeMap::new();
        let after: Result<(), String> = if finished {
            let mut ev = Ev {
                sc: self,
                w,
                ctxs: &st.ctxs,
                env: &mut fin,
                outer: Some(&st.globals),
                on: On::Kernel(0),
                regs: None,
            };
            ev.block(&self.litmus.ast.final_)
                .map_err(|e| located(&self.litmus.file, e))
        } else {
            Err("not finished".into())
        };
        let first = scenario::violation_message(w);
        if let Some((what, _)) = &first {
            failures.push(what.to_string());
        }
        for inv in w.lockdep.reports() {
            failures.push(format!("lock order: {inv}"));
        }
        for b in w.bugs() {
            failures.push(format!("BUG: {b}"));
        }
        if finished {
            if let Err(e) = w.check_invariants() {
                failures.push(format!("invariant: {e}"));
            }
        }
        // The file's own checks, on the final block's variables and the
        // bodies' registers.
        let mut shown = Vec::new();
        if finished && after.is_ok() {
            for c in &self.litmus.ast.checks {
                match self.judge(c, &st, &fin) {
                    Ok((holds, vals)) => {
                        shown.extend(vals);
                        if holds == c.exists {
                            failures.push(format!(
                                "{} {}: {}",
                                c.text,
                                if c.exists {
                                    "is satisfied"
                                } else {
                                    "does not hold"
                                },
                                shown.join(" ")
                            ));
                        }
                    }
                    Err(e) => failures.push(format!(
                        "check {}: {}",
                        c.text,
                        located(&self.litmus.file, e)
                    )),
                }
            }
        }
        let mut counters = Vec::new();
        for (k, v) in scenario::cost_counters(w) {
            let b = st.base.iter().find(|(n, _)| *n == k).map_or(0, |x| x.1);
            counters.push((k, v.saturating_sub(b)));
        }
        let steps = run.steps.iter().map(|s| (s.cpu, s.op.kind));
        counters.push(("tree_lock_hold_steps", scenario::tree_lock_hold(steps, 0)));
        counters.push(("alias_reports", w.alias_reports().len() as u64));
        counters.push(("steps", run.steps.len() as u64));
        let errors = st.errors.borrow();
        let mut observed = match &after {
            Ok(()) => {
                let vars: Vec<String> = fin
                    .iter()
                    .filter(|(_, v)| matches!(v, Val::Int(_) | Val::Bool(_) | Val::Str(_)))
                    .map(|(k, v)| format!("{k}={}", v.show()))
                    .collect();
                format!(
                    "final: {}",
                    if vars.is_empty() {
                        "-".into()
                    } else {
                        vars.join(" ")
                    }
                )
            }
            Err(e) => format!("final: {e}"),
        };
        observed += &format!("; path errors: {}", errors.len());
        for e in errors.iter().take(3) {
            observed += &format!("; {e}");
        }
        if let Some((_, detail)) = first {
            let (_, n) = w.oracle_counts();
            observed += &format!("; {n} oracle violations, the first: {detail}");
        }
        let mut detail = scenario::violation_json(w);
        if let Some(d) = detail.as_mut() {
            let during = d["step"].as_u64().is_some_and(|s| s <= run_end);
            d["when"] = serde_json::json!(if during {
                "during the run"
            } else {
                "final read"
            });
        }
        Outcome {
            failures,
            observed,
            counters,
            detail,
        }
    }
}

impl FileScenario {
    /// A check's value, and the registers and variables it read as text.
    fn judge(
        &self,
        c: &Check,
        st: &State,
        fin: &BTreeMap<Arc<str>, Val>,
    ) -> Res<(bool, Vec<String>)> {
        let mut env = fin.clone();
        let mut shown = Vec::new();
        let cond = self.bind_regs(&c.cond, st, &mut env, &mut shown)?;
        let ctxs = RefCell::new(Vec::new());
        let mut ev = Ev {
            sc: self,
            w: &st.w,
            ctxs: &ctxs,
            env: &mut env,
            outer: Some(&st.globals),
            on: On::Kernel(0),
            regs: None,
        };
        Ok((ev.truth(&cond)?, shown))
    }

    /// `e` with its registers replaced by variables of `env`.
    fn bind_regs(
        &self,
        e: &Expr,
        st: &State,
        env: &mut BTreeMap<Arc<str>, Val>,
        shown: &mut Vec<String>,
    ) -> Res<Expr> {
        Ok(match e {
            Expr::Reg(cpu, r, at) => {
                let slot = st
                    .bodies
                    .iter()
                    .position(|&b| self.litmus.ast.bodies[b].cpu == *cpu)
                    .ok_or_else(|| {
                        (
                            Some(*at),
                            format!("no body runs on CPU {cpu} with these parameters"),
                        )
                    })?;
                let v = st.regs.borrow()[slot]
                    .get(r.as_str())
                    .cloned()
                    .ok_or_else(|| {
                        (
                            Some(*at),
                            format!("{cpu}:{r} was not assigned in this execution"),
                        )
                    })?;
                let name = format!("{cpu}:{r}");
                shown.push(format!("{name}={}", v.show()));
                env.insert(name.as_str().into(), v);
                Expr::Var(name, *at)
            }
            Expr::Var(n, at) => {
                if let Some(v) = env.get(n.as_str()).or_else(|| st.globals.get(n.as_str())) {
                    shown.push(format!("{n}={}", v.show()));
                }
                Expr::Var(n.clone(), *at)
            }
            Expr::Not(x, at) => Expr::Not(Box::new(self.bind_regs(x, st, env, shown)?), *at),
            Expr::Bin(op, a, b, at) => Expr::Bin(
                *op,
                Box::new(self.bind_regs(a, st, env, shown)?),
                Box::new(self.bind_regs(b, st, env, shown)?),
                *at,
            ),
            Expr::Call(n, args, at) => Expr::Call(
                n.clone(),
                args.iter()
                    .map(|a| self.bind_regs(a, st, env, shown))
                    .collect::<Res<_>>()?,
                *at,
            ),
            x => x.clone(),
        })
    }
}
