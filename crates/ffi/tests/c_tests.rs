//! Runs the kernel-style C programs of `c-tests/` as part of `cargo test`.
//!
//! The programs are real C users of the library: they link `libvipt.a`, are built
//! with `-Wall -Wextra -Werror` and AddressSanitizer/UBSan by `c-tests/Makefile`
//! (the same rules as a hand build with `make -C c-tests check`), and compare the
//! library against the reference macros in `c-tests/ref/`. `cargo test` does not
//! build a crate's staticlib, so the harness asks cargo for it first, into the same
//! target directory and profile as this test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Every program the Makefile builds, in its `PROGRAMS` order.
const PROGRAMS: [&str; 14] = [
    "test_encoding",
    "test_translation",
    "test_atomic",
    "test_errors",
    "test_cache",
    "test_kernel_names_32",
    "test_kernel_names_64",
    "test_strategies",
    "test_model_errors",
    "test_native",
    "test_native_tsan",
    "test_runaway",
    "test_limits",
    "test_scenario_file",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{cmd:?} failed ({}):\n{text}", out.status))
    }
}

/// Builds `libvipt.a` and every C program once; returns where the programs are.
fn built() -> &'static Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        // <target>/<profile>/deps/c_tests-<hash>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .ok_or("no profile dir")?;
        let target_dir = profile_dir.parent().ok_or("no target dir")?;
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev",
            Some(other) => other,
            None => return Err("unnamed profile dir".into()),
        };
        run(Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "vipt-ffi",
                "--lib",
                "--profile",
                profile,
            ])
            .arg("--manifest-path")
            .arg(workspace().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir))?;
        let out_dir = target_dir.join("c-tests").join(profile);
        run(Command::new("make")
            .arg("-s")
            .arg("-j2")
            .arg("-C")
            .arg(workspace().join("c-tests"))
            .arg(format!("O={}", out_dir.display()))
            .arg(format!("VIPT_LIB_DIR={}", profile_dir.display()))
            .arg(format!("CC={}", env!("VIPT_CC")))
            .arg("all"))?;
        Ok(out_dir)
    })
}

fn run_program(name: &str) {
    let dir = built()
        .as_ref()
        .unwrap_or_else(|e| panic!("building the C tests: {e}"));
    match run(Command::new(dir.join(name)).env("RUST_BACKTRACE", "0")) {
        Ok(text) => print!("{text}"),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn c_test_encoding() {
    run_program("test_encoding");
}

#[test]
fn c_test_translation() {
    run_program("test_translation");
}

#[test]
fn c_test_atomic() {
    run_program("test_atomic");
}

#[test]
fn c_test_errors() {
    run_program("test_errors");
}

#[test]
fn c_test_cache() {
    run_program("test_cache");
}

#[test]
fn c_test_kernel_names_32() {
    run_program("test_kernel_names_32");
}

#[test]
fn c_test_kernel_names_64() {
    run_program("test_kernel_names_64");
}

/// The README's example patch: it must be no worse than `recheck` on any
/// scenario (the program's exit status), and its table and replay print.
#[test]
fn c_example_recheck_fallback() {
    run_program("example_recheck_fallback");
}

/// Anglin's 2024 `ptep_clear_flush` as a C arch patch to the 2.6.14 and 3.x
/// profiles: it makes no racer cell fail that passed, and closes 3.x's
/// reclaim race (the program's exit status).
#[test]
fn c_example_anglin_ptep_clear_flush() {
    run_program("example_anglin_ptep_clear_flush");
}

#[test]
fn c_test_native() {
    run_program("test_native");
}

/// The pthreads program under ThreadSanitizer: it really is a TSan build (the
/// runtime's entry point linked, no ASan's), and it is clean.
#[test]
fn c_test_native_tsan() {
    let dir = built()
        .as_ref()
        .unwrap_or_else(|e| panic!("building the C tests: {e}"));
    let bin = std::fs::read(dir.join("test_native_tsan")).unwrap();
    let has = |s: &[u8]| bin.windows(s.len()).any(|w| w == s);
    assert!(
        has(b"__tsan_init"),
        "test_native_tsan is not built with TSan"
    );
    assert!(!has(b"__asan_init"), "test_native_tsan is built with ASan");
    run_program("test_native_tsan");
}

/// The TSan build sees races in a callback's C code: the racy strategy on the
/// explorer's two threads is reported (TSan's exit status 66).
#[test]
fn c_tsan_reports_a_race_in_a_strategy() {
    let dir = built()
        .as_ref()
        .unwrap_or_else(|e| panic!("building the C tests: {e}"));
    let out = Command::new(dir.join("tsan_racy")).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(66), "{err}");
    assert!(
        err.contains("ThreadSanitizer: data race") && err.contains("racy_flush_dcache_page"),
        "{err}"
    );
}

#[test]
fn c_test_scenario_file() {
    run_program("test_scenario_file");
}

#[test]
fn c_test_model_errors() {
    run_program("test_model_errors");
}

/// Strategies that ignore -ECANCELED or loop without end are stopped.
#[test]
fn c_test_runaway() {
    run_program("test_runaway");
}

/// Out-of-range values, wrong-kind handles, the length query and the silent
/// panic boundary.
#[test]
fn c_test_limits() {
    run_program("test_limits");
}

#[test]
fn c_test_strategies() {
    run_program("test_strategies");
}

/// Every `test_*.c` in `c-tests/` is built by the Makefile and run above.
#[test]
fn every_c_program_is_run() {
    let makefile = std::fs::read_to_string(workspace().join("c-tests/Makefile")).unwrap();
    for p in PROGRAMS {
        assert!(
            makefile.contains(p),
            "{p} is not in the Makefile's PROGRAMS"
        );
    }
    for entry in std::fs::read_dir(workspace().join("c-tests")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name
            .strip_prefix("test_")
            .and_then(|n| n.strip_suffix(".c"))
        {
            let stem = format!("test_{stem}");
            assert!(
                PROGRAMS.iter().any(|p| p.starts_with(&stem)),
                "{name} has no test in c_tests.rs"
            );
        }
    }
}
