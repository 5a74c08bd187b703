#!/usr/bin/env bash
# Builds the Debian packages of aa-logon from this tree, with dpkg-deb from staging directories:
#
#   libaa-logon0       /usr/lib/<multiarch>/libaa_logon.so.X.Y.Z and its SONAME link libaa_logon.so.X,
#                      with DEBIAN/shlibs and DEBIAN/symbols (from libaa_logon/libaa_logon.symbols)
#   libaa-logon-dev    aa_logon.h, libaa_logon.a, the unversioned link libaa_logon.so, aa_logon.pc,
#                      and the man pages of the C API (cargo run -p xtask -- man)
#   aa-logon           the aa-logon command
#   aa-logon-testkit   aa-sim, /usr/lib/<multiarch>/libaa_logon_testkit.so.X.Y.Z with its SONAME link
#                      libaa_logon_testkit.so.X and the unversioned link libaa_logon_testkit.so,
#                      DEBIAN/shlibs, aa_logon_testkit.h, aa_logon_testkit.pc: for the tests of
#                      programs using libaa_logon (virtual keys, AA simulator)
#
#   scripts/build-debs.sh [--no-build] [OUT_DIR]      OUT_DIR default: target/debian
#
# --no-build packages what target/release/ already holds (after cargo build --release). The
# version is the Cargo workspace version. Needs dpkg-deb, dpkg-shlibdeps (dpkg-dev), strip and gzip.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
build=yes
out=""
for arg in "$@"; do
    case "$arg" in
        --no-build) build=no ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        -*) echo "build-debs: unknown option $arg" >&2; exit 2 ;;
        *) out="$arg" ;;
    esac
done
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
out="${out:-$target_dir/debian}"
for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture strip nm gzip; do
    command -v "$tool" >/dev/null || { echo "build-debs: $tool not found (apt-get install dpkg-dev binutils gzip)" >&2; exit 2; }
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
major=${version%%.*}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
soname="libaa_logon.so.$major"
testkit_soname="libaa_logon_testkit.so.$major"
libdir="usr/lib/$multiarch"
release="$target_dir/release"
maintainer="aa-logon maintainers <aa-logon@users.noreply.invalid>"
summary="Advanced Authentication logons with FIDO security keys"

if [[ "$build" == yes ]]; then
    cargo build --release --locked
fi
for file in libaa_logon.so libaa_logon.a libaa_logon_testkit.so aa-logon aa-sim; do
    [[ -f "$release/$file" ]] || { echo "build-debs: $release/$file is missing (run without --no-build)" >&2; exit 2; }
done

stage="$out/stage"
rm -rf "$stage"
mkdir -p "$stage"
rm -f "$out"/*.deb

# dirs PACKAGE: the staging root of PACKAGE, with its copyright file.
package_root() {
    local root="$stage/$1"
    install -d "$root/DEBIAN" "$root/usr/share/doc/$1"
    cat >"$root/usr/share/doc/$1/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: aa-logon
Source: the aa-logon repository

Files: *
License: MIT or Apache-2.0
 Licensed under either of the Apache License, Version 2.0 or the MIT license, at your option.
 On Debian systems the Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0.
EOF
    echo "$root"
}

# shlibs_depends ROOT FILE...: the Depends computed by dpkg-shlibdeps for the ELF files (paths
# relative to ROOT), using libaa-logon0's own shlibs for libaa_logon.so.N.
shlibs_depends() {
    local root="$1"
    shift
    local work
    work=$(mktemp -d)
    mkdir -p "$work/debian"
    printf 'Source: aa-logon\n\nPackage: probe\nArchitecture: any\n' >"$work/debian/control"
    local files=()
    for file in "$@"; do files+=("$root/$file"); done
    (cd "$work" && dpkg-shlibdeps -O -S"$stage/libaa-logon0" "${files[@]}") \
        | sed -n 's/^shlibs:Depends=//p'
    rm -rf "$work"
}

# control ROOT PACKAGE SECTION DEPENDS MULTIARCH SUMMARY DESCRIPTION
control() {
    local root="$1" package="$2" section="$3" depends="$4" multiarch_field="$5" summary="$6" description="$7"
    local size
    size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
    {
        echo "Package: $package"
        echo "Source: aa-logon"
        echo "Version: $version"
        echo "Architecture: $arch"
        echo "Maintainer: $maintainer"
        echo "Installed-Size: $size"
        [[ -n "$depends" ]] && echo "Depends: $depends"
        [[ -n "$multiarch_field" ]] && echo "Multi-Arch: $multiarch_field"
        echo "Section: $section"
        echo "Priority: optional"
        echo "Description: $summary"
        fold -s -w 78 <<<"$description" | sed 's/ *$//; s/^/ /'
    } >"$root/DEBIAN/control"
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 -r md5sum >DEBIAN/md5sums)
}

build_deb() {
    local root="$1" package="$2"
    dpkg-deb --root-owner-group -Zxz --build "$root" "$out/${package}_${version}_${arch}.deb" >/dev/null
    echo "built $out/${package}_${version}_${arch}.deb"
}

# --- libaa-logon0
root=$(package_root libaa-logon0)
install -d "$root/$libdir"
install -m 0644 "$release/libaa_logon.so" "$root/$libdir/libaa_logon.so.$version"
strip --strip-unneeded "$root/$libdir/libaa_logon.so.$version"
ln -s "libaa_logon.so.$version" "$root/$libdir/$soname"
echo "libaa_logon $major libaa-logon0 (>= $version)" >"$root/DEBIAN/shlibs"
grep -v '^#' libaa_logon/libaa_logon.symbols >"$root/DEBIAN/symbols"
echo "activate-noawait ldconfig" >"$root/DEBIAN/triggers"
depends=$(shlibs_depends "$root" "$libdir/libaa_logon.so.$version")
control "$root" libaa-logon0 libs "$depends" same "$summary - shared library" \
    "libaa_logon is the C library of aa-logon: it logs users on to NetIQ / OpenText Advanced Authentication over its REST API, signing U2F challenges with FIDO security keys over USB HID (or through the program's own HID functions). Its exported symbols carry the version AA_LOGON_0."
chmod 0644 "$root/DEBIAN/shlibs" "$root/DEBIAN/symbols" "$root/DEBIAN/triggers"
build_deb "$root" libaa-logon0

# --- libaa-logon-dev
root=$(package_root libaa-logon-dev)
install -d "$root/$libdir/pkgconfig" "$root/usr/include" "$root/usr/share/man/man3"
ln -s "$soname" "$root/$libdir/libaa_logon.so"
install -m 0644 "$release/libaa_logon.a" "$root/$libdir/libaa_logon.a"
strip --strip-debug "$root/$libdir/libaa_logon.a"
install -m 0644 include/aa_logon.h "$root/usr/include/aa_logon.h"
sed -e "s|@PREFIX@|/usr|" -e "s|@VERSION@|$version|" -e "s|^libdir=.*|libdir=\${prefix}/lib/$multiarch|" \
    pkgconfig/aa_logon.pc.in >"$root/$libdir/pkgconfig/aa_logon.pc"
chmod 0644 "$root/$libdir/pkgconfig/aa_logon.pc"
cargo run --quiet --locked -p xtask -- man "$stage/man"
for page in "$stage"/man/man3/*.3; do
    gzip -9n <"$page" >"$root/usr/share/man/man3/$(basename "$page").gz"
done
chmod 0644 "$root"/usr/share/man/man3/*
# Every exported function has a page (the alias pages name them).
missing_pages=$(nm -D --defined-only --format=just-symbols "$release/libaa_logon.so" | sed 's/@.*//' \
    | while read -r symbol; do [[ -f "$root/usr/share/man/man3/$symbol.3.gz" ]] || echo "$symbol"; done)
if [[ -n "$missing_pages" ]]; then
    echo "build-debs: exported functions without a man page: $missing_pages" >&2
    exit 1
fi
control "$root" libaa-logon-dev libdevel "libaa-logon0 (= $version)" same "$summary - development files" \
    "The header aa_logon.h, the static library, the pkg-config file aa_logon.pc and the man pages of the C API of libaa_logon (one per function family: aa_client_options(3), aa_client(3), aa_logon(3), aa_error(3), aa_string_free(3), aa_set_log_callback(3), aa_hid_io(3); overview in libaa_logon(3))."
build_deb "$root" libaa-logon-dev

# --- aa-logon
root=$(package_root aa-logon)
install -d "$root/usr/bin"
install -m 0755 "$release/aa-logon" "$root/usr/bin/aa-logon"
strip "$root/usr/bin/aa-logon"
depends=$(shlibs_depends "$root" usr/bin/aa-logon)
control "$root" aa-logon utils "$depends" "" "$summary - command-line tool" \
    "aa-logon logs users on to NetIQ / OpenText Advanced Authentication from the command line with U2F security keys and the other AA methods, lists the security keys attached to this machine, and runs a self-contained demo. For tests it can use a virtual key (--virtual-key SEED, with --virtual-key-state FILE to keep its counter between runs)."
build_deb "$root" aa-logon

# --- aa-logon-testkit
root=$(package_root aa-logon-testkit)
install -d "$root/usr/bin" "$root/$libdir/pkgconfig" "$root/usr/include"
install -m 0755 "$release/aa-sim" "$root/usr/bin/aa-sim"
strip "$root/usr/bin/aa-sim"
install -m 0644 "$release/libaa_logon_testkit.so" "$root/$libdir/libaa_logon_testkit.so.$version"
strip --strip-unneeded "$root/$libdir/libaa_logon_testkit.so.$version"
ln -s "libaa_logon_testkit.so.$version" "$root/$libdir/$testkit_soname"
ln -s "$testkit_soname" "$root/$libdir/libaa_logon_testkit.so"
# A program linked with -laa_logon_testkit depends on this very version: unlike libaa_logon, the
# test kit keeps no record of its ABI (no symbols file), so no older or newer build may stand in.
echo "libaa_logon_testkit $major aa-logon-testkit (= $version)" >"$root/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$root/DEBIAN/triggers"
chmod 0644 "$root/DEBIAN/shlibs" "$root/DEBIAN/triggers"
install -m 0644 testkit/capi/include/aa_logon_testkit.h "$root/usr/include/aa_logon_testkit.h"
cat >"$root/$libdir/pkgconfig/aa_logon_testkit.pc" <<EOF
prefix=/usr
libdir=\${prefix}/lib/$multiarch
includedir=\${prefix}/include

Name: aa_logon_testkit
Description: Test-only virtual security keys for programs using libaa_logon
Version: $version
Requires: aa_logon
Libs: -L\${libdir} -laa_logon_testkit
Cflags: -I\${includedir}
EOF
chmod 0644 "$root/$libdir/pkgconfig/aa_logon_testkit.pc"
depends=$(shlibs_depends "$root" usr/bin/aa-sim "$libdir/libaa_logon_testkit.so.$version")
control "$root" aa-logon-testkit devel "libaa-logon-dev (= $version)${depends:+, $depends}" "" \
    "$summary - test kit" \
    "For the tests of programs that use libaa_logon, in CI without a security key or an AA server: aa-sim, a simulator of the Advanced Authentication REST API, and libaa_logon_testkit, software U2F keys that a client reaches through libaa_logon's public HID transport (aa_virtual_key_new, or aa_virtual_key_new_with_state to keep the signature counter in a file between processes). Not for production use."
build_deb "$root" aa-logon-testkit
