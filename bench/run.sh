#!/usr/bin/env bash
# One command for the start-up benchmark: installs what it needs (strace,
# patchelf: scripts/setup.sh), builds everything it needs, and prints the table (also written to
# bench/out/results.md, with the plot in bench/out/startup.svg).
# Pass --nix-ld PATH to add a nix-ld column; other flags: --runs, --warmup.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --release --quiet --manifest-path bench/Cargo.toml -- "$@"
