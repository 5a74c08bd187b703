#!/usr/bin/env bash
# Checks that a built libaa_logon.so exports exactly the functions include/aa_logon.h declares
# (no more: no testkit or Rust symbols; no less), and carries the SONAME libaa_logon.so.MAJOR.
# With --testkit, checks libaa_logon_testkit.so against testkit/capi/include/aa_logon_testkit.h
# instead (no SONAME there).
#
#   scripts/check-exports.sh [LIBRARY]              default: target/release/libaa_logon.so
#   scripts/check-exports.sh --testkit [LIBRARY]    default: target/release/libaa_logon_testkit.so
#
# The declared functions come from the C compiler itself (gcc's -aux-info lists every prototype
# with the header it came from), not from parsing the header text. Needs cc (gcc), nm, readelf.
# The Rust test libaa_logon/tests/abi_symbols.rs makes the same checks during `cargo test`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"

if [[ "${1:-}" == "--testkit" ]]; then
    shift
    library="${1:-$target_dir/release/libaa_logon_testkit.so}"
    header_dir="$repo/testkit/capi/include"
    header="aa_logon_testkit.h"
    soname=""
else
    library="${1:-$target_dir/release/libaa_logon.so}"
    header_dir="$repo/include"
    header="aa_logon.h"
    version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
    soname="libaa_logon.so.${version%%.*}"
fi
[[ -f "$library" ]] || { echo "check-exports: $library does not exist (build it first)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "#include \"$header\"" >"$work/probe.c"
cc -std=c11 -fsyntax-only -aux-info "$work/aux" -I "$repo/include" -I "$header_dir" "$work/probe.c"
# Lines look like: /* /path/include/aa_logon.h:483:NC */ extern aa_status aa_client_options_new (…);
grep -F "/$header:" "$work/aux" \
    | sed -n 's/^.*[ *]\(aa_[A-Za-z0-9_]*\) (.*$/\1/p' \
    | sort -u >"$work/declared"
# Symbol versions (name@@AA_LOGON_0) are dropped here: scripts/check-abi.sh checks them.
# The version node itself is an absolute (A) symbol, no function: left out.
nm -D --defined-only "$library" | awk '$(NF-1) != "A" { sub(/@.*/, "", $NF); print $NF }' | sort -u >"$work/exported"

status=0
if [[ ! -s "$work/declared" ]]; then
    echo "check-exports: found no function declared in $header (is gcc's -aux-info available?)" >&2
    exit 2
fi
missing=$(comm -23 "$work/declared" "$work/exported")
extra=$(comm -13 "$work/declared" "$work/exported")
if [[ -n "$missing" ]]; then
    echo "declared in $header but not exported by $library:" >&2
    sed 's/^/  /' <<<"$missing" >&2
    status=1
fi
if [[ -n "$extra" ]]; then
    echo "exported by $library but not declared in $header:" >&2
    sed 's/^/  /' <<<"$extra" >&2
    status=1
fi
if [[ -n "$soname" ]] && ! readelf -d "$library" | grep -qF "Library soname: [$soname]"; then
    echo "$library has no SONAME $soname" >&2
    status=1
fi
if [[ $status -eq 0 ]]; then
    echo "check-exports: $library exports exactly the $(wc -l <"$work/declared") functions of $header${soname:+; SONAME $soname}"
fi
exit $status
