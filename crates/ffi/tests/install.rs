//! `make install` as a kernel developer uses it: the command, `libvipt.a`,
//! the two headers and `vipt.pc` land under `PREFIX`, and a harness outside
//! the tree compiles and links with the flags `vipt.pc` gives (read here as
//! pkg-config reads them; `pkg-config` itself too, where it is installed).

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// `Cflags` and `Libs` of a `.pc` file, its `${var}`s expanded.
fn pc_flags(pc: &str) -> Vec<String> {
    let mut vars: Vec<(String, String)> = Vec::new();
    let expand = |s: &str, vars: &[(String, String)]| {
        let mut s = s.to_string();
        for (k, v) in vars.iter().rev() {
            s = s.replace(&format!("${{{k}}}"), v);
        }
        s
    };
    let mut flags = Vec::new();
    for line in pc.lines() {
        if let Some((k, v)) = line.split_once('=') {
            if !k.contains(':') && !k.contains(' ') {
                let v = expand(v.trim(), &vars);
                vars.push((k.trim().to_string(), v));
                continue;
            }
        }
        if let Some(v) = line
            .strip_prefix("Cflags:")
            .or_else(|| line.strip_prefix("Libs:"))
        {
            flags.extend(expand(v, &vars).split_whitespace().map(str::to_string));
        }
    }
    flags
}

#[test]
fn make_install_gives_a_harness_anywhere_what_it_needs() {
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/install-<hash>
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let profile = profile_dir.file_name().unwrap().to_str().unwrap();
    let prefix = std::env::temp_dir().join(format!("vipt-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&prefix);
    ok(Command::new("make")
        .arg("-C")
        .arg(workspace())
        .arg("install")
        .arg(format!("PREFIX={}", prefix.display()))
        .arg(format!("PROFILE={profile}"))
        .arg(format!("TARGET_DIR={}", target_dir.display()))
        .arg(format!("CARGO={}", env!("CARGO"))));
    for f in [
        "bin/vipt",
        "lib/libvipt.a",
        "include/vipt.h",
        "include/vipt_kernel.h",
        "lib/pkgconfig/vipt.pc",
    ] {
        assert!(prefix.join(f).is_file(), "{f} not installed");
    }
    let version = ok(Command::new(prefix.join("bin/vipt")).arg("--version"));
    assert!(version.starts_with("vipt "), "{version}");

    // A harness in a directory of its own, built as the README says.
    let dir = prefix.join("harness");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("harness.c"),
        "#include <stdio.h>\n#include <vipt.h>\n\n\
         int main(void)\n{\n\tstruct vipt_explore_config cfg;\n\n\
         \tif (vipt_explore_config_default(&cfg) != 0)\n\t\treturn 1;\n\
         \tprintf(\"bound %d\\n\", cfg.bound);\n\treturn 0;\n}\n",
    )
    .unwrap();
    let pc = std::fs::read_to_string(prefix.join("lib/pkgconfig/vipt.pc")).unwrap();
    let flags = pc_flags(&pc);
    assert!(flags.iter().any(|f| f == "-lvipt"), "{flags:?}");
    ok(Command::new("cc")
        .current_dir(&dir)
        .args(["-Wall", "-Wextra", "-Werror", "harness.c", "-o", "harness"])
        .args(&flags));
    let out = ok(&mut Command::new(dir.join("harness")));
    assert_eq!(out.trim(), "bound 2");
    // pkg-config, where the machine has it, reads the file the same way.
    if let Ok(o) = Command::new("pkg-config")
        .args(["--cflags", "--libs", "vipt"])
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .output()
    {
        if o.status.success() {
            let got: Vec<String> = String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            let mut want = flags.clone();
            want.sort();
            let mut got = got;
            got.sort();
            want.dedup();
            got.dedup();
            assert_eq!(got, want);
        }
    }
    ok(Command::new("make")
        .arg("-C")
        .arg(workspace())
        .arg("uninstall")
        .arg(format!("PREFIX={}", prefix.display())));
    assert!(!prefix.join("lib/libvipt.a").exists());
    assert!(!prefix.join("bin/vipt").exists());
    let _ = std::fs::remove_dir_all(&prefix);
}
