//! Every example in `docs/scenarios.md` runs as the page says: each
//! ```vipt block parses, binds and gets, within preemption bound 1, the
//! verdict on its `// check: STRATEGY KERNEL VERDICT` line.

use vipt_explore::litmus::Litmus;
use vipt_explore::scenario::Params;
use vipt_explore::search::Verdict;
use vipt_explore::{explore, Config, Mode};
use vipt_mm::Kernel;

#[test]
fn the_documents_examples_run_as_documented() {
    let doc = include_str!("../../../docs/scenarios.md");
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in doc.lines() {
        match (&mut cur, line.trim_end()) {
            (None, "```vipt") => cur = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(blocks.len() >= 5, "{} examples", blocks.len());
    for text in &blocks {
        let check = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// check: "))
            .unwrap_or_else(|| panic!("an example without a check line:\n{text}"));
        let w: Vec<&str> = check.split_whitespace().collect();
        let [strategy, kernel, verdict] = w[..] else {
            panic!("bad check line {check:?}");
        };
        let kernel = Kernel::parse(kernel).unwrap();
        let want = match verdict {
            "pass" => Verdict::Pass,
            "fail" => Verdict::Fail,
            v => panic!("bad verdict {v:?}"),
        };
        let l = Litmus::parse("docs/scenarios.md", text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let p = Params {
            kernel,
            page_flush: kernel.flush_only_ptes(),
            ..l.defaults
        };
        let sc = l
            .bind(strategy, p)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let cfg = Config {
            mode: Mode::Exhaustive {
                bound: Some(1),
                reduction: false,
            },
            budget: 20_000,
            threads: 1,
            ..Config::default()
        };
        let r = explore(&sc, &cfg, None).unwrap();
        assert!(r.complete, "{}: {}", l.name(), r.coverage);
        assert_eq!(r.verdict(), want, "{}: {:?}", l.name(), r.failure_kinds);
    }
}
