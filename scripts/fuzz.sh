#!/usr/bin/env bash
# Fuzzes the C API (fuzz/fuzz_targets/c_api.rs) with cargo-fuzz (libFuzzer +
# AddressSanitizer) for a bounded time: scripts/fuzz.sh [SECONDS, default 60].
# Needs the nightly toolchain; installs cargo-fuzz from crates.io if missing.
# An input that runs longer than 20 s is a finding (a hang).
# Findings land in fuzz/artifacts/c_api/; replay one with
#   cargo +nightly fuzz run c_api fuzz/artifacts/c_api/<file>
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
rustup toolchain list | grep -q '^nightly' || { echo "fuzz: the nightly toolchain is needed" >&2; exit 1; }
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus/c_api
cargo +nightly fuzz run c_api fuzz/corpus/c_api -- \
	-max_total_time="$seconds" -timeout=20 -max_len=512 -rss_limit_mb=4096 -print_final_stats=1
