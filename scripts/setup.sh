#!/usr/bin/env bash
# Installs what building and testing rld needs on Debian/Ubuntu: a C and C++
# compiler for the test fixtures (and the static libc for the `runas` and
# `execenv` helpers), setcap for the file-capability test, strace and
# patchelf for the benchmark.
set -euo pipefail

packages=(gcc g++ libc6-dev make util-linux libcap2-bin strace patchelf)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust with rustup first" >&2; exit 1; }
