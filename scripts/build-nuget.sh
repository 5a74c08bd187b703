#!/usr/bin/env bash
# Builds the NuGet packages of the C# binding into OUT_DIR (a local folder feed):
#
#   AaLogon.VERSION.nupkg          lib/net45/AaLogon.dll (+ .xml docs, + AaLogon.dll.config: Mono's
#                                  dllmap to runtimes/linux-x64/native/), runtimes/linux-x64/native/libaa_logon.so
#   AaLogon.Testing.VERSION.nupkg  runtimes/linux-x64/native/libaa_logon_testkit.so (test-only virtual
#                                  keys for the AaLogon.Testing namespace); depends on AaLogon [VERSION]
#
#   scripts/build-nuget.sh [--no-build] [OUT_DIR]      OUT_DIR default: target/nuget
#
# The assembly is compiled with Mono's mcs from bindings/csharp/src (warnings are errors); the
# version is the Cargo workspace version. --no-build takes the native libraries target/release/
# already holds. Needs mcs (mono-mcs) and nuget (Debian's mono-based nuget package).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
build=yes
out=""
for arg in "$@"; do
    case "$arg" in
        --no-build) build=no ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        -*) echo "build-nuget: unknown option $arg" >&2; exit 2 ;;
        *) out="$arg" ;;
    esac
done
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
out="${out:-$target_dir/nuget}"
for tool in mcs nuget; do
    command -v "$tool" >/dev/null || { echo "build-nuget: $tool not found (apt-get install mono-mcs nuget)" >&2; exit 2; }
done
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
release="$target_dir/release"
if [[ "$build" == yes ]]; then
    cargo build --release --locked
fi
for file in libaa_logon.so libaa_logon_testkit.so; do
    [[ -f "$release/$file" ]] || { echo "build-nuget: $release/$file is missing (run without --no-build)" >&2; exit 2; }
done

stage="$out/stage"
rm -rf "$stage"
mkdir -p "$stage/lib/net45" "$stage/runtimes/linux-x64/native"
rm -f "$out"/AaLogon.*.nupkg
mapfile -t sources < <(find bindings/csharp/src -name '*.cs' | sort)
mcs -target:library -optimize+ -warn:4 -warnaserror+ -nologo \
    -out:"$stage/lib/net45/AaLogon.dll" -doc:"$stage/lib/net45/AaLogon.xml" "${sources[@]}"
install -m 0644 bindings/csharp/packaging/AaLogon.dll.config "$stage/lib/net45/AaLogon.dll.config"
install -m 0755 "$release/libaa_logon.so" "$stage/runtimes/linux-x64/native/libaa_logon.so"
install -m 0755 "$release/libaa_logon_testkit.so" "$stage/runtimes/linux-x64/native/libaa_logon_testkit.so"
strip --strip-unneeded "$stage"/runtimes/linux-x64/native/*.so

# nuget keeps its caches and settings under $HOME; a private one keeps the build hermetic.
export HOME="$out/nuget-home"
mkdir -p "$HOME"
for nuspec in AaLogon AaLogon.Testing; do
    nuget pack "bindings/csharp/$nuspec.nuspec" -Version "$version" -BasePath "$stage" \
        -OutputDirectory "$out" -NoPackageAnalysis -NonInteractive -Verbosity quiet
    echo "built $out/$nuspec.$version.nupkg"
done
