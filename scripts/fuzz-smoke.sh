#!/usr/bin/env bash
# Fuzz smoke run: builds every cargo-fuzz target of fuzz/ once (nightly, libFuzzer, AddressSanitizer
# with leak checks: cargo-fuzz's defaults) and runs each one for a bounded time, starting from its
# committed seeds in fuzz/corpus/<target>/ (read only: what the run finds goes to a scratch corpus).
# Fails on any crash, panic, sanitizer report, leak, out-of-memory or hang (one input > 10 s).
# Prints the executions of every target.
#
#   FUZZ_SECONDS=30        seconds per target (libFuzzer -max_total_time)
#   FUZZ_TARGETS="a b"     only these targets (default: every target of fuzz/Cargo.toml)
#   FUZZ_CORPUS_DIR=DIR    keep the grown corpora in DIR/<target>/ (default: a temporary dir)
#   FUZZ_ARGS="..."        extra libFuzzer flags (e.g. -max_len=8192)
#
# Needs the nightly toolchain and cargo-fuzz 0.12.0 (installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
cargo_fuzz_version=0.12.0
triple=x86_64-unknown-linux-gnu

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz-smoke: the nightly toolchain is required (rustup toolchain install nightly)" >&2
  exit 1
fi
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
  cargo install --quiet --locked cargo-fuzz --version "$cargo_fuzz_version"
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
[ "${#targets[@]}" -gt 0 ] || { echo "fuzz-smoke: no fuzz targets" >&2; exit 1; }

echo "fuzz-smoke: building ${#targets[@]} targets (cargo +nightly fuzz build)"
build_start=$(date +%s)
cargo +nightly fuzz build
echo "fuzz-smoke: built in $(($(date +%s) - build_start)) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
corpus_root=${FUZZ_CORPUS_DIR:-$scratch/corpus}
read -r -a extra <<<"${FUZZ_ARGS:-}"

failed=()
summary=()
for target in "${targets[@]}"; do
  binary=fuzz/target/$triple/release/$target
  [ -x "$binary" ] || { echo "fuzz-smoke: $binary was not built" >&2; exit 1; }
  corpus=$corpus_root/$target
  artifacts=fuzz/artifacts/$target
  mkdir -p "$corpus" "$artifacts"
  log=$scratch/$target.log
  echo
  echo "--- $target: ${seconds} s"
  status=0
  # -timeout: one input running longer than 10 s is a hang, reported like a crash.
  "$binary" "$corpus" "fuzz/corpus/$target" -max_total_time="$seconds" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${extra[@]}" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
  [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p' "$log" | tail -n1)
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
  units=$(find "$corpus" -type f | wc -l)
  if [ "$status" -ne 0 ]; then
    echo "fuzz-smoke: $target FAILED (exit $status); the end of its log:" >&2
    tail -n 60 "$log" >&2
    echo "fuzz-smoke: reproduce with: $binary $artifacts/<crash-file>  (see above for the file)" >&2
    failed+=("$target")
    summary+=("$(printf '%-20s FAILED  %12s execs  cov %s' "$target" "${runs:-?}" "${coverage:-?}")")
  else
    summary+=("$(printf '%-20s ok      %12s execs  cov %-6s new units %s' "$target" "${runs:-?}" "${coverage:-?}" "$units")")
  fi
  echo "${summary[-1]}"
done

echo
echo "=== fuzz-smoke summary (${seconds} s per target)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz-smoke: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz-smoke: ${#targets[@]} passed, 0 failed"
