//! The built-in scenarios: a writer CPU doing `write()` into a page-cache
//! page (so `flush_dcache_page` runs), a racer CPU doing one of the paths
//! that change the pte `flush_dcache_page` relies on, and a user CPU reading
//! the page through its own alias before, during and after.
//!
//! Each is a scenario file, `scenarios/NAME.vipt`, embedded in the binary
//! and run by the file interpreter ([`crate::litmus`]); this module names
//! them ([`Kind`]), gives their parameters ([`Params`]) and the shared
//! parts of every scenario's world and check. The files replaced Rust
//! bodies that explored exactly the same schedules:
//! `tests/golden/builtins.txt` holds what those explored, and
//! `tests/litmus.rs` checks the files against it.
//!
//! Every execution builds a fresh small world (set-up runs straight
//! through, outside the explorer's control), then explores the bodies.
//! Roles: CPU 0 (`a` in schedules) writes, CPU 1 (`b`) races, CPU 2
//! (`c`) is the user. The page is file page 1; process A (the racer's
//! victim) maps it first in `i_mmap`, so every strategy tries A's address
//! first; B is the user's mapping.

use std::fmt;
use std::sync::Arc;

use vipt_cache::{Geometry, HwConfig};
use vipt_mm::strategy::by_name;
use vipt_mm::{
    AddressSpace, Arch, Colouring, Cpu, FlushStrategy, Kernel, LockClass, OpKind, World,
    WorldConfig,
};

use crate::engine::Run;
use crate::litmus::{FileScenario, Litmus};
use crate::search::{Outcome, Program};

/// How B's mapping is placed relative to A's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// 2.6.14 `get_shared_area`: the colour ignores `vm_pgoff`.
    Linux2614,
    /// The later colouring that adds `vm_pgoff` to the colour.
    PgoffAware,
    /// B placed by `MAP_FIXED` one page off A's colour.
    MapFixed,
}

impl Colour {
    /// The names on the command line.
    pub const NAMES: [&'static str; 3] = ["2.6.14", "pgoff-aware", "map-fixed"];

    /// Parses a name.
    pub fn parse(s: &str) -> Result<Colour, String> {
        match s {
            "2.6.14" | "linux-2.6.14" => Ok(Colour::Linux2614),
            "pgoff-aware" | "pgoff" => Ok(Colour::PgoffAware),
            "map-fixed" | "fixed" => Ok(Colour::MapFixed),
            _ => Err(format!(
                "unknown colouring {s:?}; one of {}",
                Colour::NAMES.join(", ")
            )),
        }
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = match self {
            Colour::Linux2614 => 0,
            Colour::PgoffAware => 1,
            Colour::MapFixed => 2,
        };
        f.write_str(Colour::NAMES[i])
    }
}

/// A scenario's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// The kernel profile: generic mm and parisc hooks.
    pub kernel: Kernel,
    /// Vmas mapping the file: A, B and `vmas − 2` more (each with a present
    /// pte, placed between A and B in `i_mmap`).
    pub vmas: usize,
    /// Cache lines per page (a page flush is that many `fdc`s).
    pub lines: u64,
    /// How B is placed.
    pub colour: Colour,
    /// The non-access TLB miss handler lets an `fdc` through a flush-only
    /// pte (`_PAGE_FLUSH`): on in 2.6.14 and 2.6.15, off in 3.x and 6.10,
    /// which have no flush-only ptes. Set against the kernel's, a mixed
    /// model ([`Params::is_mixed`]).
    pub page_flush: bool,
    /// Speculative move-in through any TLB entry (PA8800/PA8900).
    pub move_in: bool,
    /// Move-in bursts the hardware agent may insert per execution, each at
    /// any point the explorer chooses (0: no agent; needs `move_in`). A
    /// burst moves in every line through every valid user TLB entry of every
    /// CPU (`Machine::move_in_burst`). In a bounded search each burst costs
    /// a preemption when it interrupts a CPU that could have gone on.
    pub move_ins: u32,
    /// The agent's bursts also go through flush-only (`_PAGE_FLUSH`) TLB
    /// entries.
    pub move_in_flush_only: bool,
    /// A sibling thread of A (the racer's victim) on CPU 3, in A's mm: it
    /// loads every line of the page through its own TLB entries while the
    /// racer runs, and, in the scenarios without a writer (`minifail`,
    /// `fork-writer`), stores to the page's second word. Beside `write()`
    /// it only loads: its store would share a cache line with `write()`'s,
    /// and two dirty aliases of one line lose one of the stores on every
    /// profile, whatever the racer does (the hazard of a user storing through
    /// a shared mapping while `write()` copies into the same line).
    pub sibling: bool,
    /// Ablation: freed frames lose their cached lines (no kernel does this;
    /// shows which failures come from lines that outlive a page).
    pub scrub_freed: bool,
}

impl Params {
    /// The default parameters with `kernel`'s own `_PAGE_FLUSH` handling.
    pub fn for_kernel(kernel: Kernel) -> Params {
        Params {
            kernel,
            page_flush: kernel.flush_only_ptes(),
            ..Params::default()
        }
    }

    /// Whether `page_flush` is set against the kernel's own.
    pub fn is_mixed(&self) -> bool {
        self.page_flush != self.kernel.flush_only_ptes()
    }
}

impl Default for Params {
    fn default() -> Self {
        Params {
            kernel: Kernel::V2_6_14,
            vmas: 2,
            lines: 2,
            colour: Colour::Linux2614,
            page_flush: true,
            move_in: false,
            move_ins: 0,
            move_in_flush_only: false,
            sibling: false,
            scrub_freed: false,
        }
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kernel={}{} vmas={} lines={} colour={} page-flush={} move-in={}",
            self.kernel,
            if self.is_mixed() { " (mixed)" } else { "" },
            self.vmas,
            self.lines,
            self.colour,
            if self.page_flush { "on" } else { "off" },
            if self.move_in { "on" } else { "off" }
        )?;
        if self.move_ins > 0 {
            write!(f, " move-ins={}", self.move_ins)?;
        }
        if self.move_in_flush_only {
            f.write_str(" move-in-flush-only=on")?;
        }
        if self.sibling {
            f.write_str(" sibling=on")?;
        }
        if self.scrub_freed {
            f.write_str(" scrub-freed=on")?;
        }
        Ok(())
    }
}

/// The scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A's COW copy swapped out to the slot whose swap pte has the page's
    /// pfn bits; no racer (question 1).
    SwapPte,
    /// kswapd's `try_to_unmap_one` on A (question 2).
    Reclaim,
    /// A writes its private mapping: `do_wp_page` (question 2).
    Cow,
    /// A unmaps: `do_munmap` → `zap_pte_range` (question 2).
    Munmap,
    /// The file is truncated under the page: `unmap_mapping_range` then
    /// `truncate_inode_pages` (question 2).
    Truncate,
    /// A's pte is zapped and A faults it straight back: right before, wrong
    /// during, right after (questions 2 and 3).
    ZapRefault,
    /// B's mapping is inequivalent to A's; no racer (question 5).
    Inequivalent,
    /// The reclaim race with a dirty pte (so `try_to_unmap_one` takes
    /// `tree_lock` under the pte lock), for a strategy taking the pte lock
    /// inside the flush (question 6).
    PteLock,
    /// A's CPU moves lines in speculatively through its TLB (question 8).
    MoveIn,
    /// A unmaps while the hardware may move lines in through A's TLB entry
    /// (the agent, or a sibling thread's loads); B maps the file only
    /// afterwards, at the same colour, and reads (question 8).
    UnmapWindow,
    /// `unmap-window`, then kswapd frees the page and the frame is reused by
    /// another file's page that B maps at the same colour and reads.
    UnmapReuse,
    /// kswapd's `shrink_page` on the page (`try_to_unmap_one`'s flush →
    /// clear → purge, pageout, free) with the agent or a sibling thread;
    /// the frame is then reused by another file's page B maps and reads.
    ReclaimReuse,
    /// The Debian "minifail" mechanism (2013): A's COW copy reads the source
    /// through the kernel alias while a user-colour line of it is dirty
    /// (here: process C's store through its shared mapping at that colour).
    Minifail,
    /// The 2006 fork mechanism: A forks while its sibling thread stores
    /// through a TLB entry still writable between `dup_mmap`'s
    /// `flush_cache_mm` and `flush_tlb_mm`; A's COW copy afterwards reads
    /// through the kernel alias.
    ForkWriter,
}

impl Kind {
    /// Every scenario, in report order.
    pub const ALL: [Kind; 9] = [
        Kind::SwapPte,
        Kind::Reclaim,
        Kind::Cow,
        Kind::Munmap,
        Kind::Truncate,
        Kind::ZapRefault,
        Kind::Inequivalent,
        Kind::PteLock,
        Kind::MoveIn,
    ];

    /// The scenarios from parisc's history (question 8), after [`Kind::ALL`].
    pub const HISTORY: [Kind; 5] = [
        Kind::UnmapWindow,
        Kind::UnmapReuse,
        Kind::ReclaimReuse,
        Kind::Minifail,
        Kind::ForkWriter,
    ];

    /// Every scenario: [`Kind::ALL`], then [`Kind::HISTORY`].
    pub fn every() -> impl Iterator<Item = Kind> {
        Kind::ALL.into_iter().chain(Kind::HISTORY)
    }

    /// The scenario's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::SwapPte => "swap-pte",
            Kind::Reclaim => "reclaim",
            Kind::Cow => "cow",
            Kind::Munmap => "munmap",
            Kind::Truncate => "truncate",
            Kind::ZapRefault => "zap-refault",
            Kind::Inequivalent => "inequivalent",
            Kind::PteLock => "pte-lock",
            Kind::MoveIn => "move-in",
            Kind::UnmapWindow => "unmap-window",
            Kind::UnmapReuse => "unmap-reuse",
            Kind::ReclaimReuse => "reclaim-reuse",
            Kind::Minifail => "minifail",
            Kind::ForkWriter => "fork-writer",
        }
    }

    /// What the racer does.
    pub fn racer(self) -> &'static str {
        match self {
            Kind::SwapPte | Kind::Inequivalent => "none",
            Kind::Reclaim | Kind::PteLock => "try_to_unmap_one(A)",
            Kind::Cow => "do_wp_page(A)",
            Kind::Munmap => "do_munmap(A) → zap_pte_range",
            Kind::Truncate => {
                "do_truncate → vmtruncate → unmap_mapping_range, truncate_inode_pages"
            }
            Kind::ZapRefault => "zap_page_range(A), then A faults the page back",
            Kind::MoveIn => "speculative move-in through A's TLB entry",
            Kind::UnmapWindow | Kind::UnmapReuse => "do_munmap(A) → zap_pte_range",
            Kind::ReclaimReuse => "shrink_page: try_to_unmap, pageout, free",
            Kind::Minifail => "do_wp_page(A) with C's dirty line at A's colour",
            Kind::ForkWriter => "fork(A), then A's COW write",
        }
    }

    /// The racer's column heading in timelines: what CPU 1 runs, in at most
    /// 32 characters (a ladder's column).
    pub fn racer_role(self) -> &'static str {
        match self {
            Kind::SwapPte | Kind::Inequivalent => "racer: none",
            Kind::Reclaim | Kind::PteLock => "racer: try_to_unmap_one(A)",
            Kind::Cow => "racer: do_wp_page (A's COW)",
            Kind::Minifail => "racer: COW, C's dirty line",
            Kind::ForkWriter => "racer: fork(A), A's COW write",
            Kind::Munmap | Kind::UnmapWindow | Kind::UnmapReuse => {
                "racer: munmap(A) (zap_pte_range)"
            }
            Kind::Truncate => "racer: truncate (vmtruncate)",
            Kind::ZapRefault => "racer: zap_page_range, refault",
            Kind::MoveIn => "racer: move-in through A's TLB",
            Kind::ReclaimReuse => "racer: shrink_page, frame reused",
        }
    }

    /// Whether CPU 0 runs `write()` (minifail and fork-writer have no
    /// writer: their question is the COW copy alone).
    fn has_writer(self) -> bool {
        !matches!(self, Kind::Minifail | Kind::ForkWriter)
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Result<Kind, String> {
        Kind::every().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<_> = Kind::every().map(|k| k.name()).collect();
            format!("unknown scenario {s:?}; one of {}", names.join(", "))
        })
    }

    /// The scenario's default parameters.
    pub fn defaults(self) -> Params {
        let agent = matches!(
            self,
            Kind::UnmapWindow | Kind::UnmapReuse | Kind::ReclaimReuse
        );
        Params {
            move_in: self == Kind::MoveIn || agent,
            move_ins: u32::from(agent),
            sibling: self == Kind::ForkWriter,
            ..Params::default()
        }
    }
}

/// The CPUs' roles, for timelines: CPU 0 writes, CPU 1 races, CPU 2 reads
/// (then, by option, A's sibling thread and the move-in agent's bursts:
/// [`Scenario::roles`]).
pub const ROLES: [&str; 3] = ["writer: write()", "racer", "user: reads B"];

/// The sibling thread's role.
pub const SIBLING_ROLE: &str = "sibling: A's 2nd thread";
/// A move-in burst's role.
pub const MOVE_IN_ROLE: &str = "hw: move-in burst";
/// What the sibling thread stores at the second word of the page's first
/// line.
pub const SIBLING_VALUE: u64 = 0x5151;

/// What the writer stores at the start of every line.
pub const VALUE: u64 = 0x00c0_ffee;
/// The file page the scenarios write.
pub const TARGET: u64 = 1;

/// A scenario bound to a strategy: a [`Program`] for the explorer.
#[derive(Clone)]
pub struct Scenario {
    /// Which scenario.
    pub kind: Kind,
    /// Its parameters.
    pub params: Params,
    /// The strategy's name.
    pub strategy_name: String,
    strategy: Arc<dyn FlushStrategy>,
    /// Arch hooks replacing the profile's built-in ones (a patch).
    arch: Option<Arc<dyn Arch>>,
    /// The scenario's file (`scenarios/NAME.vipt`, embedded), bound to the
    /// strategy, parameters and arch hooks: what runs.
    file: FileScenario,
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("kind", &self.kind)
            .field("params", &self.params)
            .field("strategy", &self.strategy_name)
            .field("arch", &self.arch.as_ref().map(|a| a.name().to_string()))
            .finish()
    }
}

impl Scenario {
    /// A scenario with a built-in strategy (see `vipt_mm::strategy::by_name`).
    pub fn new(kind: Kind, strategy: &str, params: Params) -> Result<Scenario, String> {
        let s = by_name(strategy).ok_or_else(|| format!("unknown strategy {strategy:?}"))?;
        Scenario::with_strategy(kind, s, params)
    }

    /// A scenario with any strategy (one of the user's own).
    pub fn with_strategy(
        kind: Kind,
        strategy: Arc<dyn FlushStrategy>,
        params: Params,
    ) -> Result<Scenario, String> {
        check_params(&params)?;
        let file = builtin_file(kind)?
            .bind_with(strategy.clone(), params, None)
            .map_err(|e| e.to_string())?;
        Ok(Scenario {
            kind,
            params,
            strategy_name: strategy.name().to_string(),
            strategy,
            arch: None,
            file,
        })
    }

    /// The same scenario with arch hooks `arch` (a profile derived from a
    /// built-in one, e.g. with a patched `ptep_clear_flush`), which must be
    /// for the scenario's kernel.
    pub fn with_arch(mut self, arch: Arc<dyn Arch>) -> Result<Scenario, String> {
        if arch.kernel() != self.params.kernel {
            return Err(format!(
                "arch {} is for kernel {}, the scenario runs {}",
                arch.name(),
                arch.kernel(),
                self.params.kernel
            ));
        }
        self.file = builtin_file(self.kind)?
            .bind_with(self.strategy.clone(), self.params, Some(arch.clone()))
            .map_err(|e| e.to_string())?;
        self.arch = Some(arch);
        Ok(self)
    }

    /// The bodies the explorer schedules: writer, racer, user, then A's
    /// sibling thread if on, then one per move-in burst.
    pub fn bodies(&self) -> usize {
        3 + usize::from(self.params.sibling) + self.params.move_ins as usize
    }

    /// Each body's role, for timelines ([`ROLES`] and the optional ones).
    pub fn roles(&self) -> Vec<&'static str> {
        let mut v = ROLES.to_vec();
        v[0] = if self.kind.has_writer() {
            ROLES[0]
        } else {
            "writer: none (no write())"
        };
        v[1] = self.kind.racer_role();
        if self.params.sibling {
            v.push(SIBLING_ROLE);
        }
        v.extend(std::iter::repeat_n(
            MOVE_IN_ROLE,
            self.params.move_ins as usize,
        ));
        v
    }

    /// The name of the arch hooks the scenario runs: a patch's, or the
    /// kernel profile's.
    pub fn arch_name(&self) -> String {
        self.arch
            .as_ref()
            .map_or_else(|| self.params.kernel.to_string(), |a| a.name().to_string())
    }
}

/// The hardware CPUs of a scenario's world.
pub const HW_CPUS: usize = 4;

/// Checks the parameters every scenario (built-in or file) shares: vmas,
/// move-in bursts, the exploration geometry.
pub fn check_params(params: &Params) -> Result<(), String> {
    if !(2..=8).contains(&params.vmas) {
        return Err(format!("vmas must be 2 to 8, not {}", params.vmas));
    }
    if params.move_ins > 4 {
        return Err(format!("move-ins must be 0 to 4, not {}", params.move_ins));
    }
    if params.move_ins > 0 && !params.move_in {
        return Err("move-in bursts need speculative move-in on (--move-in on)".into());
    }
    Geometry::explore(params.lines).map_err(|e| e.to_string())?;
    Ok(())
}

/// The world a scenario runs in: the kernel profile's, on the exploration
/// geometry for `lines`, four CPUs, sixteen frames, the `_PAGE_FLUSH` and
/// move-in switches, the scrub ablation, and `get_shared_area`'s colouring
/// (pgoff-aware, or 2.6.14's for the other placements).
pub fn world_config(params: &Params) -> Result<WorldConfig, String> {
    let g = Geometry::explore(params.lines).map_err(|e| e.to_string())?;
    let base = WorldConfig::for_kernel(params.kernel);
    Ok(WorldConfig {
        hw: HwConfig {
            geometry: g,
            // No instruction fetches here: a small I-cache keeps the
            // per-execution set-up from zeroing 512 KiB.
            icache: g,
            frames: 16,
            cpus: HW_CPUS,
            honour_flush_pte: params.page_flush,
            speculative_move_in: params.move_in,
            ..HwConfig::default()
        },
        colouring: if params.colour == Colour::PgoffAware {
            Colouring::PgoffAware
        } else {
            Colouring::Linux2614
        },
        scrub_freed: params.scrub_freed,
        ..base
    })
}

/// One execution's state: the file scenario's ([`crate::litmus::State`]).
pub use crate::litmus::State;

/// The cost counters of a world: the mm statistics and the machine's.
pub fn cost_counters(w: &World) -> Vec<(&'static str, u64)> {
    let mut v = w.stats.named();
    w.read_hw(|m| {
        let c = m.counters();
        v.extend([
            ("fdc_issued", c.fdc_issued),
            ("fdc_nullified", c.fdc_nullified),
            ("tlb_inserts", c.tlb_inserts),
            ("tlb_purges", c.tlb_purges),
            ("tmpalias_inserts", c.tmpalias_inserts),
        ])
    });
    v
}

/// The built-in scenarios' files, parsed once.
fn builtin_file(kind: Kind) -> Result<&'static Litmus, String> {
    static FILES: std::sync::OnceLock<Result<Vec<Litmus>, String>> = std::sync::OnceLock::new();
    let files = FILES.get_or_init(|| {
        Kind::every()
            .map(|k| Litmus::builtin(k.name()).map_err(|e| e.to_string()))
            .collect()
    });
    let files = files.as_ref().map_err(Clone::clone)?;
    Kind::every()
        .position(|k| k == kind)
        .and_then(|i| files.get(i))
        .ok_or_else(|| format!("no file for scenario {}", kind.name()))
}

/// A scenario's world set up for native use: real threads run its roles
/// (`vipt_scenario_world` in the C API).
pub struct NativeScenario {
    /// The world (with the scenario's strategy and the native hook).
    pub world: Arc<World>,
    /// The file whose page 1 is the target.
    pub file: Arc<AddressSpace>,
    /// CPU 0, the writer (a kernel thread).
    pub writer: Cpu,
    /// CPU 1 in process A (the racer's victim, first in `i_mmap`).
    pub racer: Cpu,
    /// CPU 2 in process B (the user).
    pub user: Cpu,
    /// A's address of the target page.
    pub racer_va: u64,
    /// B's address of the target page.
    pub user_va: u64,
    /// The target page's frame.
    pub pfn: u64,
}

impl Scenario {
    /// The scenario's world after its set-up, with the native hook, for real
    /// threads: the writer, racer and user CPUs and the target's addresses
    /// (the file's `f`, `A`, `t`, `B`, `b` and `p`).
    pub fn native(&self) -> Result<NativeScenario, String> {
        if Kind::HISTORY.contains(&self.kind) || self.bodies() > 3 {
            return Err(format!(
                "scenario {} with {} runs only under the explorer (its user maps the file afterwards, or it has a sibling thread or move-in bursts)",
                self.kind.name(),
                self.params
            ));
        }
        let st = self.file.native_state()?;
        let missing = |what: &str| format!("the scenario's file leaves no {what}");
        let world = st.world().clone();
        Ok(NativeScenario {
            file: st.file("f").ok_or_else(|| missing("file f"))?,
            writer: Cpu::new(&world, 0).map_err(|e| e.to_string())?,
            racer: st.take_cpu("A").ok_or_else(|| missing("process A"))?,
            user: st.take_cpu("B").ok_or_else(|| missing("process B"))?,
            racer_va: st.number("t").ok_or_else(|| missing("address t"))?,
            user_va: st.number("b").ok_or_else(|| missing("address b"))?,
            pfn: st.number("p").ok_or_else(|| missing("pfn p"))?,
            world,
        })
    }
}

impl Program for Scenario {
    type State = State;

    fn setup(&self) -> Result<State, String> {
        self.file.setup()
    }

    fn cpus(&self, st: &State) -> usize {
        self.file.cpus(st)
    }

    fn run(&self, st: &State, cpu: usize) {
        self.file.run(st, cpu);
    }

    /// Yes, as sleep sets see them: the announced footprints miss accesses
    /// (`tests/footprints.rs`), but the search adds what each step was seen
    /// to touch (the model's audited accesses: `struct page`s, page caches,
    /// `i_mmap`, vma lists, line groups, TLB evictions, locks and anon_vma
    /// lists, the allocator), so a step is independent of another only if
    /// neither touched what the other did (`tests/sleep_finals.rs`).
    fn exact_footprints(&self) -> bool {
        true
    }

    fn check(&self, st: State, run: &Run) -> Outcome {
        self.file.check(st, run)
    }
}

/// The failure line for the oracle's violations, by the kind of the first
/// (a fixed text, so failures group by kind), and that first violation in
/// the oracle's words (frame, lives and their owners, colour, CPU, step).
pub fn violation_message(w: &World) -> Option<(&'static str, String)> {
    w.read_hw(|m| {
        let o = m.oracle();
        let r = o.first_violation()?;
        let what = match r.kind {
            vipt_cache::ReportKind::StaleRead { required: true, .. } => {
                "stale COW copy: the copy's source was read through the kernel alias while newer data sat dirty at a user colour"
            }
            vipt_cache::ReportKind::StaleRead { .. } => {
                "stale read: the user read old data after write() and flush_dcache_page completed"
            }
            vipt_cache::ReportKind::EarlierLife { .. } => {
                "earlier life: a load returned data a freed page left in the cache"
            }
            vipt_cache::ReportKind::EarlierWriteBack { .. } => {
                "earlier life: a freed page's dirty line was written back over the new owner's data"
            }
            vipt_cache::ReportKind::LostWrite { .. } => {
                "lost write: the page was freed with pageout's copy lacking data the CPUs had stored"
            }
            vipt_cache::ReportKind::DivergentCopies { .. } => "divergent copies",
        };
        Some((what, o.describe(r)))
    })
}

/// The oracle's first violation as JSON, for `--json` and the report: its
/// kind (`stale_read`, `stale_cow_source`, `earlier_life`,
/// `earlier_write_back`, `lost_write`), the step, CPU and agent that found
/// it, the frame (`pfn`), physical and virtual addresses, cache set, way and
/// colour, expected and observed data (hex strings), and the lives involved
/// with their owners (the line's life first, then the frame's current one).
pub fn violation_json(w: &World) -> Option<serde_json::Value> {
    use vipt_cache::ReportKind as K;
    w.read_hw(|m| {
        let o = m.oracle();
        let r = o.first_violation()?;
        let pfn = r.pa >> vipt_pte::PAGE_SHIFT;
        let (kind, expected, got, lives) = match r.kind {
            K::StaleRead {
                expected,
                got,
                required,
                ..
            } => (
                if required {
                    "stale_cow_source"
                } else {
                    "stale_read"
                },
                expected,
                got,
                vec![o.life(pfn)],
            ),
            K::EarlierLife {
                expected,
                got,
                line_life,
                life,
                ..
            } => ("earlier_life", expected, got, vec![line_life, life]),
            K::EarlierWriteBack {
                expected,
                got,
                line_life,
                life,
            } => ("earlier_write_back", expected, got, vec![line_life, life]),
            K::LostWrite {
                expected,
                got,
                life,
            } => ("lost_write", expected, got, vec![life]),
            K::DivergentCopies { .. } => return None,
        };
        let hex = |v: u64| format!("{v:#x}");
        Some(serde_json::json!({
            "kind": kind,
            "step": r.step,
            "cpu": r.who.cpu,
            "agent": match r.who.agent {
                vipt_cache::Agent::User => "user",
                vipt_cache::Agent::Kernel => "kernel",
            },
            "pfn": hex(pfn),
            "pa": hex(r.pa),
            "va": hex(r.va),
            "set": r.set,
            "way": r.way,
            "colour": r.colour,
            "expected": hex(expected),
            "got": hex(got),
            "lives": lives.iter().map(|&l| serde_json::json!({
                "life": l,
                "owner": o.owner(pfn, l).to_string(),
            })).collect::<Vec<_>>(),
            "text": o.describe(r),
        }))
    })
}

/// Steps (all CPUs) taken while `writer` held a `tree_lock`: the lock hold
/// time of `flush_dcache_mmap_lock` and `set_page_dirty`, in steps.
pub fn tree_lock_hold(steps: impl IntoIterator<Item = (usize, OpKind)>, writer: usize) -> u64 {
    let mut held = 0u32;
    let mut n = 0;
    for (cpu, kind) in steps {
        if held > 0 {
            n += 1;
        }
        if cpu == writer {
            match kind {
                OpKind::Lock {
                    class: LockClass::TreeLock,
                    ..
                } => held += 1,
                OpKind::Unlock {
                    class: LockClass::TreeLock,
                } => held = held.saturating_sub(1),
                _ => {}
            }
        }
    }
    n
}
