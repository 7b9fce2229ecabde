//! The footprints' independence claim, tested by swapping: wherever one
//! CPU's step is followed by another CPU's that was already enabled, and the
//! two steps' announced footprints do not conflict, running them in the
//! other order must leave everything after them the same — every later
//! step (CPU, operation, function) and the execution's outcome. Sleep sets
//! prune exactly such swaps, so a footprint that claims too little shows
//! here as a run that changes when two "independent" steps trade places.
//!
//! Checked on random schedules of every built-in scenario with three
//! strategies, on 2.6.14 and 6.10, at 2 and 4 lines per page (so the line
//! groups of `Object::Line` differ from one another). Pairs whose steps
//! touch a `struct page`, a mapping or a vma list outside their footprints
//! (`tests/footprints.rs`' known list) are not exempt: the test counts the
//! swaps it made and fails on any that changed the run.

use vipt_explore::scenario::{Kind, Params, Scenario};
use vipt_explore::{execute, Chooser, Enabled, Ending, Program, Run};
use vipt_mm::{Kernel, Op};

/// Follows `prefix`, then chooses at random; records what was enabled at
/// every step.
struct Recording {
    prefix: Vec<usize>,
    rng: fastrand::Rng,
    enabled: Vec<Vec<(usize, Op)>>,
    diverged: bool,
}

impl Chooser for Recording {
    fn choose(&mut self, step: usize, _: Option<usize>, enabled: Enabled<'_>) -> Option<usize> {
        self.enabled.push(enabled.to_vec());
        let c = match self.prefix.get(step) {
            Some(&c) if enabled.contains(c) => c,
            Some(_) => {
                self.diverged = true;
                return None;
            }
            None => enabled.nth(self.rng.usize(..enabled.len()))?,
        };
        Some(c)
    }
}

/// What must not change, steps first: every step's CPU, kind and function
/// (lock ids differ from world to world), then the machine at the end
/// (every cached line with its colour, dirtiness and bytes, memory, the
/// oracle's counts and reports but their step numbers); the outcome is
/// appended by [`record`].
fn signature(run: &Run, st: &vipt_explore::scenario::State) -> Vec<String> {
    let steps = run
        .steps
        .iter()
        .map(|s| format!("{}:{:?}:{}", s.cpu, s.op.kind, s.op.what));
    let machine = st.world().read_hw(|m| {
        let mut lines: Vec<String> = m
            .cached_lines()
            .into_iter()
            .map(|(pa, colour, dirty, bytes)| format!("{pa:#x}@{colour}:{dirty}:{bytes:?}"))
            .collect();
        lines.sort();
        let o = m.oracle();
        let frames = m.config().frames as usize;
        let mem = m.mem().bytes(0, frames << 12).unwrap();
        let reports = o.reports().iter().map(|r| {
            let mut r = *r;
            r.step = 0;
            r.to_string()
        });
        lines.push(format!("{} {} {:?}", o.stale_reads, o.violations, mem));
        lines.extend(reports);
        lines
    });
    steps.chain(machine).collect()
}

fn record(sc: &Scenario, prefix: Vec<usize>, seed: u64) -> Option<(Run, Vec<String>, Recording)> {
    let mut ch = Recording {
        prefix,
        rng: fastrand::Rng::with_seed(seed),
        enabled: Vec::new(),
        diverged: false,
    };
    let st = sc.setup().unwrap();
    let n = sc.cpus(&st);
    let body = |cpu| sc.run(&st, cpu);
    let run = execute(n, &body, &mut ch, 20_000);
    if ch.diverged || run.ending == Ending::Abandoned {
        return None;
    }
    let mut sig = signature(&run, &st);
    let out = sc.check(st, &run);
    sig.extend(out.failures);
    sig.push(out.observed);
    Some((run, sig, ch))
}

#[test]
fn independent_steps_commute() {
    let (mut swaps, mut broken) = (0u64, Vec::new());
    for kind in Kind::every() {
        for strategy in ["legacy-2005", "patched-2005", "modern"] {
            for kernel in [Kernel::V2_6_14, Kernel::V6_10] {
                for lines in [2, 4] {
                    let p = Params {
                        kernel,
                        lines,
                        page_flush: kernel.flush_only_ptes(),
                        ..kind.defaults()
                    };
                    let sc = Scenario::new(kind, strategy, p).unwrap();
                    for seed in 0..3 {
                        let Some((run, want, rec)) = record(&sc, Vec::new(), seed) else {
                            continue;
                        };
                        let choices = run.choices();
                        for i in 0..choices.len().saturating_sub(1) {
                            let (a, b) = (choices[i], choices[i + 1]);
                            let (p, q) = (&run.steps[i].op, &run.steps[i + 1].op);
                            // b must have been waiting at the same operation.
                            let waiting = rec.enabled[i].iter().any(|(c, o)| *c == b && o == q);
                            if a == b || !waiting || p.conflicts(q) {
                                continue;
                            }
                            let mut swapped = choices.clone();
                            swapped.swap(i, i + 1);
                            swaps += 1;
                            let got = record(&sc, swapped, 0).map(|(_, mut s, _)| {
                                s.swap(i, i + 1);
                                s
                            });
                            if got.as_ref() != Some(&want) {
                                broken.push(format!(
                                    "{kind:?}/{strategy}/{kernel:?}/lines {lines}, seed {seed}, \
                                     steps {i}-{}: CPU{a} {p} then CPU{b} {q}",
                                    i + 1
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    eprintln!("{swaps} swaps of independent steps");
    assert!(swaps > 1000, "only {swaps} swaps were tried");
    assert!(
        broken.is_empty(),
        "{} of {swaps} swaps of independent steps changed the run:\n{}",
        broken.len(),
        broken.join("\n")
    );
}
