#!/usr/bin/env bash
# Builds the library in release mode and installs it for C/C++ use:
#   scripts/install.sh [PREFIX]            (default PREFIX: /usr/local)
# Installs lib/libaa_logon.so.MAJOR.MINOR.PATCH with its SONAME and dev symlinks,
# lib/libaa_logon.a, include/aa_logon.h and lib/pkgconfig/aa_logon.pc.
set -euo pipefail
prefix="${1:-/usr/local}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
major=${version%%.*}
target_dir="${CARGO_TARGET_DIR:-$repo/target}"

cargo build --release -p libaa-logon

install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0755 "$target_dir/release/libaa_logon.so" "$prefix/lib/libaa_logon.so.$version"
ln -sf "libaa_logon.so.$version" "$prefix/lib/libaa_logon.so.$major"
ln -sf "libaa_logon.so.$major" "$prefix/lib/libaa_logon.so"
install -m 0644 "$target_dir/release/libaa_logon.a" "$prefix/lib/libaa_logon.a"
install -m 0644 include/aa_logon.h "$prefix/include/aa_logon.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" pkgconfig/aa_logon.pc.in > "$prefix/lib/pkgconfig/aa_logon.pc"
echo "installed aa_logon $version into $prefix"
