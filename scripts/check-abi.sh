#!/usr/bin/env bash
# Checks that a built libaa_logon.so keeps the ABI recorded in the repository:
#
#  1. its SONAME is the one libaa_logon/libaa_logon.symbols is for;
#  2. every symbol recorded there (name@VERSION) is still exported, with that symbol version;
#  3. it exports nothing that is not recorded there (additions are fine, but must be recorded);
#  4. (unless --symbols-only) the functions, enums, structs and callbacks of include/aa_logon.h
#     still match the committed snapshot libaa_logon/abi/aa_logon.abi: a changed signature with
#     an unchanged SONAME is an ABI break. This part runs the Rust test packaging_abi (header_).
#
#   scripts/check-abi.sh [--symbols-only] [--symbols FILE] [LIBRARY]
#       LIBRARY default: $CARGO_TARGET_DIR or target/, release/libaa_logon.so
#       --symbols FILE: the symbols file to check against (default libaa_logon/libaa_logon.symbols)
#
# Exit status: 0 compatible, 1 an ABI problem (each one explained on stderr), 2 usage or tools.
# Needs nm and readelf (binutils).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
symbols_file="$repo/libaa_logon/libaa_logon.symbols"
symbols_only=no
library=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --symbols-only) symbols_only=yes ;;
        --symbols) symbols_file="$2"; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        -*) echo "check-abi: unknown option $1" >&2; exit 2 ;;
        *) library="$1" ;;
    esac
    shift
done
library="${library:-$target_dir/release/libaa_logon.so}"
[[ -f "$library" ]] || { echo "check-abi: $library does not exist (build it: cargo build --release -p libaa-logon)" >&2; exit 2; }
[[ -f "$symbols_file" ]] || { echo "check-abi: $symbols_file does not exist" >&2; exit 2; }
for tool in nm readelf; do
    command -v "$tool" >/dev/null || { echo "check-abi: $tool not found (install binutils)" >&2; exit 2; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
problem() { echo "ABI: $*" >&2; status=1; }

# 1. SONAME: the first non-comment line of the symbols file is "SONAME PACKAGE #MINVER#".
recorded_soname=$(grep -v '^#' "$symbols_file" | head -n1 | cut -d' ' -f1)
soname=$(readelf -d "$library" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [[ "$soname" != "$recorded_soname" ]]; then
    problem "$library has the SONAME ${soname:-(none)}, but $symbols_file records the ABI of $recorded_soname." \
        "After a deliberate ABI break (a new major version), start a new symbols file for $soname;" \
        "otherwise the SONAME must stay $recorded_soname."
fi

# 2, 3. Recorded symbols (" name@VERSION minver") against exported ones ("name@@VERSION"), plus the
# version nodes the library defines (recorded Debian-style as "VERSION@VERSION").
grep '^ ' "$symbols_file" | awk '{print $1}' | sort -u >"$work/recorded"
grep '^ ' "$symbols_file" | awk '{print $1, $2}' | sort -u >"$work/recorded-since"
readelf -V -W "$library" | sed -n '/\.gnu\.version_d/,/\.gnu\.version_r/p' \
    | sed -n 's/.*Flags: none .*Name: \([A-Za-z0-9_.]*\).*/\1/p' >"$work/version-nodes"
# GNU ld also lists each version node as an absolute symbol of its own name: not a function.
nm -D --defined-only --format=just-symbols "$library" | sed -e '/^$/d' -e 's/@@*/@/' \
    | grep -vxF -f "$work/version-nodes" | sort -u >"$work/exported" || true
sed 's/.*/&@&/' "$work/version-nodes" >>"$work/exported"
sort -u -o "$work/exported" "$work/exported"

unversioned=$(grep -v '@' "$work/exported" || true)
if [[ -n "$unversioned" ]]; then
    problem "$library exports symbols without a symbol version, so the version script" \
        "libaa_logon/abi/libaa_logon.map was not applied (see libaa_logon/build.rs; it needs a gcc linker driver):"
    sed 's/^/    /' <<<"$unversioned" >&2
    # Compare the names alone, so the report below still names what is missing or new.
    sed 's/@.*//' "$work/exported" | sort -u >"$work/exported-names"
    # (Its version nodes, recorded as VERSION@VERSION, are what is missing: reported above.)
    awk -F@ '$1 != $2 {print $1}' "$work/recorded" | sort -u >"$work/recorded-names"
    cp "$work/exported-names" "$work/exported"
    cp "$work/recorded-names" "$work/recorded"
fi
while read -r missing; do
    [[ -n "$missing" ]] || continue
    since=$(awk -v s="$missing" '$1 == s || $1 ~ "^"s"@" {print $2; exit}' "$work/recorded-since")
    problem "$library no longer exports $missing (recorded in $(basename "$symbols_file") since ${since:-?})." \
        "Programs linked against $recorded_soname that call it would fail to start." \
        "Restore it, or make the break explicit: raise the major version in Cargo.toml (the SONAME moves)" \
        "and start a new symbols file."
done < <(comm -23 "$work/recorded" "$work/exported")
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
while read -r added; do
    [[ -n "$added" ]] || continue
    problem "$library exports $added, which $(basename "$symbols_file") does not record." \
        "Additions are compatible; record it by adding the line ' $added $version' to $symbols_file."
done < <(comm -13 "$work/recorded" "$work/exported")

if [[ $status -eq 0 ]]; then
    echo "check-abi: $library ($soname) exports the $(wc -l <"$work/recorded") recorded symbols, all with their versions, and nothing else"
fi

# 4. The header's signatures against the committed snapshot (the Rust test reads the header).
if [[ "$symbols_only" == no ]]; then
    if ! cargo test --quiet --manifest-path "$repo/libaa_logon/Cargo.toml" --test packaging_abi -- header_ 2>"$work/cargo-test.err" >"$work/cargo-test.out"; then
        cat "$work/cargo-test.out" "$work/cargo-test.err" >&2
        problem "include/aa_logon.h no longer matches libaa_logon/abi/aa_logon.abi (details above)"
    else
        echo "check-abi: include/aa_logon.h matches libaa_logon/abi/aa_logon.abi"
    fi
fi
exit $status
