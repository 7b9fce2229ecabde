//! Publishes the include directory to dependent crates (`DEP_VIPT_INCLUDE`) and
//! records the C compiler the `cc` crate would use, for the C test harness, and
//! compiles the sanitizer shim (`src/sanitizer.c`) into the library.

use std::path::Path;

fn main() {
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../include");
    let include = include.canonicalize().unwrap_or(include);
    println!("cargo:include={}", include.display());
    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    println!("cargo:rustc-env=VIPT_CC={}", compiler.path().display());
    cc::Build::new()
        .file("src/sanitizer.c")
        .warnings(true)
        .extra_warnings(true)
        .compile("vipt_sanitizer");
    println!("cargo:rerun-if-changed=src/sanitizer.c");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
}
