#!/usr/bin/env bash
# One command for the start-up benchmark: installs strace and patchelf if
# missing, builds everything it needs, and prints the table (also written to
# bench/out/results.md, with the plot in bench/out/startup.svg).
# Pass --nix-ld PATH to add a nix-ld column; other flags: --runs, --warmup.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for tool in strace patchelf; do
  command -v "$tool" >/dev/null && continue
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$tool" >/dev/null
done
cargo run --release --quiet --manifest-path bench/Cargo.toml -- "$@"
