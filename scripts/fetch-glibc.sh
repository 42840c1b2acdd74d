#!/usr/bin/env bash
# Downloads the glibcs of the tests' glibc matrix: for each Debian suite
# (bullseye 2.31, bookworm 2.36, trixie 2.41, sid: the newest) and each
# architecture (amd64, i386, arm64), glibc's ld.so and libraries, libgcc_s
# and libstdc++ to run programs with, and glibc's development files
# (libc6-dev, linux-libc-dev) to build the C fixtures against that glibc: a
# program linked against this machine's glibc needs its newer symbol
# versions (`__libc_start_main@GLIBC_2.34`) and cannot run on 2.31.
# Nothing is installed; scripts/debs.sh unpacks the packages into a cache
# outside the checkout.
#
# Cache: $RLD_GLIBC_DIR, else ${XDG_CACHE_HOME:-~/.cache}/rld-glibc, one
# directory <suite>-<arch> per cell. Prints one line per cell on stdout,
# `<suite> <arch> <glibc version> <directory>`; progress goes to stderr.
# Fails loudly (non-zero, naming the suite, arch and package) when a
# download is impossible; the tests then fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${RLD_GLIBC_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rld-glibc}
suites=(bullseye bookworm trixie sid)
arches=(amd64 i386 arm64)
packages=(libc6 libc6-dev linux-libc-dev libgcc-s1 libstdc++6)

multiarch() {
  case $1 in
    amd64) echo x86_64-linux-gnu ;;
    i386) echo i386-linux-gnu ;;
    arm64) echo aarch64-linux-gnu ;;
  esac
}

# The packages are unpacked, not installed: their absolute symlinks
# (bullseye's /lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-2.31.so,
# libc6-dev's libm.so -> /lib/...) would resolve to this machine's glibc.
# Make them relative to the tree, and add the /lib and /lib64 links that
# usrmerge makes on an installed system, which libc.so's linker script names.
fix_tree() {
  local tree=$1 link target rel
  while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    case $target in
      /*) rel=$(realpath -m --relative-to="$(dirname "$link")" "$tree$target")
          ln -sfn "$rel" "$link" ;;
    esac
  done < <(find "$tree" -type l -print0)
  for d in lib lib64; do
    if [ ! -e "$tree/$d" ] && [ -d "$tree/usr/$d" ]; then
      ln -s "usr/$d" "$tree/$d"
    fi
  done
  touch "$tree/.fixed"
}

for suite in "${suites[@]}"; do
  for arch in "${arches[@]}"; do
    dest=$cache/$suite-$arch
    bash scripts/debs.sh "$suite" "$arch" "$dest" "${packages[@]}"
    [ -e "$dest/.fixed" ] || fix_tree "$dest"
    triple=$(multiarch "$arch")
    libc=""
    for dir in "$dest/lib/$triple" "$dest/usr/lib/$triple"; do
      [ -e "$dir/libc.so.6" ] && libc=$dir/libc.so.6 && break
    done
    [ -n "$libc" ] || { echo "fetch-glibc: FAILED: no libc.so.6 for $triple in $dest" >&2; exit 1; }
    # glibc's version as its libc.so.6 states it (`... release version 2.31.`):
    # the suite's name says nothing about sid's.
    version=$(strings "$libc" | sed -n 's/^GNU C Library .* release version \([0-9.]*[0-9]\).*/\1/p' | head -n1)
    [ -n "$version" ] || { echo "fetch-glibc: FAILED: no version string in $libc" >&2; exit 1; }
    echo "$suite $arch $version $dest"
  done
done
