#!/usr/bin/env bash
# Downloads real programs of the other architectures, as a user would get
# them, for tests/tests/foreign_binaries.rs: Debian bookworm's i386 coreutils
# and python3.11 with their libraries and glibc (through scripts/debs.sh,
# installing nothing), Debian's arm64 glibc and libstdc++, and CMake and
# clang-format as aarch64 wheels from PyPI. Everything is unpacked into a
# cache outside the checkout (never committed). Idempotent: a second run
# only checks the cache. Fails loudly (non-zero, a message naming what
# failed) when a download is impossible; the tests then fail, never skip.
#
# Cache: $RLD_FOREIGN_DIR, else ${XDG_CACHE_HOME:-~/.cache}/rld-foreign.
# Prints one line per unpacked tree on stdout, `<name> <version> <directory>`;
# progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${RLD_FOREIGN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rld-foreign}
suite=bookworm
mkdir -p "$cache/wheels"
exec 9>"$cache/.lock"
flock 9

# Debian packages, one tree per role so the tests can give each its own
# store path. apt-get download does not resolve dependencies: these lists
# are the closure `apt-cache depends --recurse` gives for coreutils and
# python3.11-minimal (without recommends), split by what each package is.
#
# i386-glibc: the C library and what it depends on.
#   libc6        glibc: ld-linux.so.2, libc.so.6, libm.so.6, ...
#   libgcc-s1    libc6 depends on it (pthread_cancel and exceptions unwind
#                through libgcc_s.so.1)
#   gcc-12-base  libgcc-s1 depends on it (documentation only, no library)
i386_glibc=(libc6 libgcc-s1 gcc-12-base)
# i386-libs: every other library the programs need.
#   libselinux1   coreutils (ls, cp, ...) is linked with libselinux.so.1
#   libpcre2-8-0  libselinux1 depends on it
#   libacl1       coreutils pre-depends on it (cp, mv, ls -l)
#   libattr1      coreutils pre-depends on it (xattrs in cp, mv)
#   libgmp10      coreutils pre-depends on it (expr, factor)
#   zlib1g        python3.11 is linked with libz.so.1
#   libexpat1     python3.11 is linked with libexpat.so.1
#   libssl3       libpython3.11-minimal depends on it (_ssl, _hashlib)
i386_libs=(libselinux1 libpcre2-8-0 libacl1 libattr1 libgmp10 zlib1g libexpat1 libssl3)
# i386-programs: the programs themselves, unpacked as if from a download.
#   coreutils              ls, cat, env, sort, ...
#   python3.11-minimal     /usr/bin/python3.11
#   libpython3.11-minimal  its minimal standard library (os, struct,
#                          subprocess, hashlib), /usr/lib/python3.11
i386_programs=(coreutils python3.11-minimal libpython3.11-minimal)
# arm64: the glibc and C++ runtime the aarch64 wheels' programs are linked
# with (libc.so.6, libm, libdl, librt, libpthread, libgcc_s.so.1,
# libstdc++.so.6); the closure of libstdc++6 is exactly these four.
arm64_glibc=(libc6 libgcc-s1 gcc-12-base)
arm64_libstdcxx=(libstdc++6)

debs() {
  local arch=$1 name=$2
  shift 2
  bash "$here/debs.sh" "$suite" "$arch" "$cache/$name" "$@" ||
    { echo "fetch-foreign: FAILED to fetch the $arch packages for $name: $*" >&2; exit 1; }
  [ -f "$cache/$name/.complete" ] || { echo "fetch-foreign: $cache/$name is incomplete" >&2; exit 1; }
  echo "$name $suite $cache/$name"
}

debs i386 i386-glibc "${i386_glibc[@]}"
debs i386 i386-libs "${i386_libs[@]}"
debs i386 i386-programs "${i386_programs[@]}"
debs arm64 arm64-glibc "${arm64_glibc[@]}"
debs arm64 arm64-libstdcxx "${arm64_libstdcxx[@]}"

# aarch64 wheels from PyPI, pinned: name==version, each unpacked into
# $cache/<name>-<version>-aarch64/.
wheels=(cmake==4.4.5 clang-format==20.1.7)

who=fetch-foreign
source "$(dirname "$0")/wheels.sh"

for spec in "${wheels[@]}"; do
  name=${spec%%==*} version=${spec##*==}
  dest=$cache/$name-$version-aarch64
  fetch_wheel "$cache" "$spec" "$dest" - --platform manylinux2014_aarch64
  echo "$name $version $dest"
done
