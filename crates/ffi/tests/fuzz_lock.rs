//! `fuzz/` is a workspace of its own with its own `Cargo.lock`. When the
//! library gains a dependency and that lock is not updated, every fuzz run
//! rewrites it (and a `--locked` build fails). This checks, with `cargo
//! metadata --offline` on the main workspace and the fuzz lock file (no
//! registry, no nightly), that every package the library needs to build is
//! locked in `fuzz/Cargo.lock` at the version of the main lock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The (name, version) of every package locked in a `Cargo.lock`.
fn packages(path: &Path) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let lock: toml::Table = text.parse().unwrap();
    lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The (name, version) of every package the library needs to build: its
/// normal and build dependencies, transitively (dev-dependencies are not
/// built by the fuzz workspace), from `cargo metadata` on the main workspace.
fn library_closure(root: &Path) -> BTreeSet<(String, String)> {
    // `cargo metadata` can fail for reasons of the machine, not the code (it
    // once failed once in a full `cargo test` run, with no change to any
    // manifest): it is retried, and its stderr kept for the message. It is
    // filtered to the host: offline, cargo can only read the manifests of
    // packages a host build downloaded, and a fresh machine has never fetched
    // the Windows-only ones (`anstyle-wincon` failed CI this way). The fuzz
    // workspace builds for the host only.
    let host = host_triple();
    let mut errors = Vec::new();
    let out = (0..3)
        .find_map(|i| {
            if i > 0 {
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
            let out = std::process::Command::new(env!("CARGO"))
                .args([
                    "metadata",
                    "--format-version",
                    "1",
                    "--offline",
                    "--filter-platform",
                    &host,
                    "--manifest-path",
                ])
                .arg(root.join("Cargo.toml"))
                .output()
                .unwrap();
            if out.status.success() {
                return Some(out);
            }
            errors.push(String::from_utf8_lossy(&out.stderr).into_owned());
            None
        })
        .unwrap_or_else(|| panic!("cargo metadata failed 3 times: {errors:#?}"));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let name_of: BTreeMap<&str, (String, String)> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let id = p["id"].as_str().unwrap();
            let nv = (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            );
            (id, nv)
        })
        .collect();
    let nodes: BTreeMap<&str, &serde_json::Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let start = name_of
        .iter()
        .find(|(_, (n, _))| n == "vipt-ffi")
        .map(|(id, _)| *id)
        .unwrap();
    let (mut todo, mut seen) = (vec![start], BTreeSet::new());
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        for d in nodes[id]["deps"].as_array().unwrap() {
            let not_dev = d["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].as_str() != Some("dev"));
            if not_dev {
                todo.push(d["pkg"].as_str().unwrap());
            }
        }
    }
    seen.into_iter().map(|id| name_of[id].clone()).collect()
}

/// The host's target triple, from `rustc -vV` (the `rustc` cargo runs).
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let out = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string()
}

#[test]
fn the_fuzz_lock_has_every_dependency_of_the_library() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let fuzz = packages(&root.join("fuzz/Cargo.lock"));
    let missing: Vec<String> = library_closure(&root)
        .iter()
        .filter(|p| !fuzz.contains(*p))
        .map(|(n, v)| format!("{n} {v}"))
        .collect();
    assert!(
        missing.is_empty(),
        "fuzz/Cargo.lock lacks {missing:?}: run `cargo +nightly fuzz build` (or \
         `cargo update -w --manifest-path fuzz/Cargo.toml`) and commit it"
    );
}
