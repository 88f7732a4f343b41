#!/usr/bin/env bash
# Runs one fuzz target for a while on its committed corpus.
#   fuzz/run.sh TARGET SECONDS [extra libFuzzer flags...]
# TARGET: read_jsonl, read_edn, read_jepsen_log, read_porcupine_kv, check, check_sharded or check_txn.
# New inputs go to a scratch corpus (fuzz/corpus-work/TARGET, not committed);
# crashes to fuzz/artifacts/TARGET/. Works on a stable toolchain: cargo-fuzz
# needs nightly flags (-Z sanitizer), which RUSTC_BOOTSTRAP=1 unlocks.
# FUZZ_NO_BUILD=1 runs the binary already built in the target directory
# (useful when checker/ is being edited while you fuzz).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 TARGET SECONDS [libFuzzer flags...]" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if [ ! -d "corpus/$target" ]; then
    echo "unknown target $target: expected one of: $(ls corpus | tr '\n' ' ')" >&2
    exit 2
fi
mkdir -p "corpus-work/$target" "artifacts/$target"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target}
# -max_len: fuzz inputs up to 16 KiB (the largest seed is under 7 KiB); the
# readers' own limits are set small in checker::fuzzing so they are hit.
# -rss_limit_mb/-timeout: a run over 1 GiB or a single input over 10 s is a bug.
flags=(-max_total_time="$seconds" -max_len=16384 -rss_limit_mb=1024 -timeout=10
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 "$@")
if [ "${FUZZ_NO_BUILD:-0}" = 1 ]; then
    exec "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/$target" "corpus-work/$target" "corpus/$target" "${flags[@]}"
fi
exec cargo fuzz run "$target" "corpus-work/$target" "corpus/$target" -- "${flags[@]}"
