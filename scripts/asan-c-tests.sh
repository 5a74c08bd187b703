#!/usr/bin/env bash
# The C tests (libaa_logon/tests/c/test_*.c) under AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer: libaa_logon.so and libaa_logon_testkit.so are built with
# -Zsanitizer=address (nightly) into target/asan, each test program is compiled with gcc's
# -fsanitize=address,undefined against both headers, linked to both ASAN libraries and run against
# a fresh simulator (aa-sim, a normal build) with the environment tests/c_abi.rs gives it.
# Fails on any sanitizer report, leak or failed check. Every test_*.c found is run.
#
#   ASAN_C_TESTS="test_chain test_cancel"   only these tests
#   ASAN_C_TESTS_DIR=DIR                     take the test_*.c (and common.h) from DIR instead
#   ASAN_C_TEST_TIMEOUT=300                  seconds one test may run before it counts as hung
#
# Needs the nightly toolchain, gcc with libasan/libubsan (installed with apt when CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
triple=x86_64-unknown-linux-gnu
asan_target=$root/target/asan
native=$asan_target/native
tests_dir=${ASAN_C_TESTS_DIR:-$root/libaa_logon/tests/c}
test_timeout=${ASAN_C_TEST_TIMEOUT:-300}
cc=${CC:-gcc}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "asan-c-tests: the nightly toolchain is required (rustup toolchain install nightly)" >&2
  exit 1
fi

# gcc's sanitizer runtimes (Debian: libasan8, libubsan1 for gcc 12).
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
sanitizers_work() {
  echo 'int main(void) { return 0; }' >"$probe/probe.c"
  "$cc" -fsanitize=address,undefined "$probe/probe.c" -o "$probe/probe" 2>/dev/null && "$probe/probe"
}
if ! sanitizers_work; then
  if [ "${CI:-}" = true ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libasan8 libubsan1
  fi
  sanitizers_work || {
    echo "asan-c-tests: $cc cannot build with -fsanitize=address,undefined (apt-get install libasan8 libubsan1)" >&2
    exit 1
  }
fi

echo "asan-c-tests: building libaa_logon and libaa_logon_testkit with -Zsanitizer=address"
RUSTFLAGS="-Zsanitizer=address" cargo +nightly build --quiet --target "$triple" --target-dir "$asan_target" \
  -p libaa-logon -p aa-logon-testkit
echo "asan-c-tests: building the simulator"
cargo build --quiet -p aa-sim
sim=$root/target/debug/aa-sim

# Stage the two libraries (plus the SONAME links libaa_logon.so.0 and libaa_logon_testkit.so.0
# the programs record).
built=$asan_target/$triple/debug
mkdir -p "$native"
cp "$built/libaa_logon.so" "$built/libaa_logon_testkit.so" "$native/"
ln -sf libaa_logon.so "$native/libaa_logon.so.0"
ln -sf libaa_logon_testkit.so "$native/libaa_logon_testkit.so.0"

work=$asan_target/c-tests
rm -rf "$work"
mkdir -p "$work"

# No LeakSanitizer suppressions: none were needed (Rust std and ring report nothing here). Should
# one ever be, put it in a file with its reason and add suppressions=FILE to LSAN_OPTIONS.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export LSAN_OPTIONS="report_objects=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

sim_pid=
stop_sim() {
  if [ -n "$sim_pid" ]; then
    kill "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
    sim_pid=
  fi
}
trap 'stop_sim; rm -rf "$probe"' EXIT

# A fresh two-instance simulator cluster per test run (its virtual key counters start at 0, as in
# tests/c_abi.rs); AA_TEST_URL is instance 0, AA_TEST_URL_2 instance 1.
start_sim() { # name
  local out=$work/$1.sim.out
  "$sim" --listen 127.0.0.1:0 --instances 2 --ca-out "$work/$1-ca.pem" >"$out" 2>"$work/$1.sim.err" &
  sim_pid=$!
  for _ in $(seq 1 200); do
    if [ "$(wc -l <"$out")" -ge 2 ] && [ -s "$work/$1-ca.pem" ]; then
      sim_url=$(head -n1 "$out")
      sim_url_2=$(sed -n 2p "$out" | awk '{print $NF}')
      return 0
    fi
    kill -0 "$sim_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "asan-c-tests: the simulator did not start:" >&2
  cat "$work/$1.sim.err" >&2
  return 1
}

if [ -n "${ASAN_C_TESTS:-}" ]; then
  read -r -a names <<<"$ASAN_C_TESTS"
else
  names=()
  for source in "$tests_dir"/test_*.c; do
    [ -e "$source" ] && names+=("$(basename "$source" .c)")
  done
fi
[ "${#names[@]}" -gt 0 ] || { echo "asan-c-tests: no test_*.c in $tests_dir" >&2; exit 1; }

# test_cluster runs once per scenario, with the outages tests/c_abi.rs sets for it (taken down
# through instance 1's /sim/v1 routes): "" (options), threads, refuse, unavailable, all_down.
scenarios_of() { # name
  if [ "$1" = test_cluster ]; then echo "- threads refuse unavailable all_down"; else echo "-"; fi
}
outage() { # name instance kind
  curl --silent --show-error --fail --cacert "$work/$1-ca.pem" -X POST -d "{\"kind\":\"$3\"}" \
    "$sim_url_2/sim/v1/instances/$2/outage" >/dev/null
}
set_outages() { # name scenario
  case $2 in
    refuse) outage "$1" 0 refuse ;;
    unavailable) outage "$1" 0 unavailable ;;
    all_down) outage "$1" 0 refuse && outage "$1" 1 unavailable ;;
  esac
}

passed=0
failed=()
for name in "${names[@]}"; do
  exe=$work/$name
  "$cc" -std=c11 -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
    -DAA_LOGON_VIRTUAL_DEVICE -Wall -Wextra -Wpedantic -Werror \
    -I "$root/include" -I "$root/testkit/capi/include" "$tests_dir/$name.c" -o "$exe" \
    -L "$native" -Wl,-rpath,"$native" -laa_logon -laa_logon_testkit -lpthread
  for scenario in $(scenarios_of "$name"); do
    [ "$scenario" = - ] && scenario=
    run=$name${scenario:+-$scenario}
    echo
    echo "--- $run"
    start_sim "$run"
    status=0
    set_outages "$run" "$scenario" || status=$?
    [ "$status" -ne 0 ] || LD_LIBRARY_PATH="$native${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" AA_TEST_URL="$sim_url" \
      AA_TEST_URL_2="$sim_url_2" AA_TEST_SCENARIO="$scenario" AA_TEST_CA_FILE="$work/$run-ca.pem" \
      timeout -k 10 "$test_timeout" "$exe" >"$work/$run.log" 2>&1 || status=$?
    stop_sim
    cat "$work/$run.log" 2>/dev/null || true
    [ "$status" -ne 124 ] || echo "asan-c-tests: $run did not finish within $test_timeout s" >&2
    if [ "$status" -ne 0 ] || grep -qE '^(==[0-9]+==ERROR|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer)|runtime error:' "$work/$run.log"; then
      echo "asan-c-tests: $run FAILED (exit $status)" >&2
      failed+=("$run")
    else
      passed=$((passed + 1))
    fi
  done
done

echo
echo "asan-c-tests: $passed passed, ${#failed[@]} failed"
[ "${#failed[@]}" -eq 0 ] || { echo "asan-c-tests: failed: ${failed[*]}" >&2; exit 1; }
