#!/usr/bin/env bash
# Builds the library in release mode and installs it for C/C++ use:
#   scripts/install.sh [--with-testkit] [PREFIX]      (default PREFIX: /usr/local)
# Installs lib/libaa_logon.so.MAJOR.MINOR.PATCH with its SONAME and dev symlinks,
# lib/libaa_logon.a, include/aa_logon.h and lib/pkgconfig/aa_logon.pc. With --with-testkit also
# the test-only virtual key library (lib/libaa_logon_testkit.so.* and include/aa_logon_testkit.h),
# for tests of your agent without a security key: never install it where production agents run.
set -euo pipefail
with_testkit=false
if [ "${1:-}" = --with-testkit ]; then
  with_testkit=true
  shift
fi
prefix="${1:-/usr/local}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
major=${version%%.*}
target_dir="${CARGO_TARGET_DIR:-$repo/target}"

if $with_testkit; then
  cargo build --release -p libaa-logon -p aa-logon-testkit
else
  cargo build --release -p libaa-logon
fi

install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 0755 "$target_dir/release/libaa_logon.so" "$prefix/lib/libaa_logon.so.$version"
ln -sf "libaa_logon.so.$version" "$prefix/lib/libaa_logon.so.$major"
ln -sf "libaa_logon.so.$major" "$prefix/lib/libaa_logon.so"
install -m 0644 "$target_dir/release/libaa_logon.a" "$prefix/lib/libaa_logon.a"
install -m 0644 include/aa_logon.h "$prefix/include/aa_logon.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" pkgconfig/aa_logon.pc.in > "$prefix/lib/pkgconfig/aa_logon.pc"
echo "installed aa_logon $version into $prefix"
if $with_testkit; then
  install -m 0755 "$target_dir/release/libaa_logon_testkit.so" "$prefix/lib/libaa_logon_testkit.so.$version"
  ln -sf "libaa_logon_testkit.so.$version" "$prefix/lib/libaa_logon_testkit.so.$major"
  ln -sf "libaa_logon_testkit.so.$major" "$prefix/lib/libaa_logon_testkit.so"
  install -m 0644 testkit/capi/include/aa_logon_testkit.h "$prefix/include/aa_logon_testkit.h"
  echo "installed the test-only aa_logon_testkit $version into $prefix (link with -laa_logon_testkit)"
fi

# The next step: a program linked with -laa_logon must find libaa_logon.so.$major at run time, and
# pkg-config must find aa_logon.pc.
libdir="$prefix/lib"
linker_dirs=$(cat /etc/ld.so.conf /etc/ld.so.conf.d/*.conf 2>/dev/null || true)
echo "next steps:"
if grep -qxF "$libdir" <<<"$linker_dirs"$'\n/lib\n/usr/lib'; then
  echo "  refresh the dynamic linker's cache once, as root:  ldconfig"
  rpath=""
else
  echo "  $libdir is not on the dynamic linker's path: record it in your program (rpath, below)"
  echo "  or set LD_LIBRARY_PATH=$libdir when running it"
  rpath=" -Wl,-rpath,$libdir"
fi
if [ "$(pkg-config --variable=prefix aa_logon 2>/dev/null)" != "$prefix" ]; then
  echo "  export PKG_CONFIG_PATH=$libdir/pkgconfig${PKG_CONFIG_PATH:+:\$PKG_CONFIG_PATH}"
fi
echo "  cc my_agent.c -o my_agent \$(pkg-config --cflags --libs aa_logon)$rpath"
