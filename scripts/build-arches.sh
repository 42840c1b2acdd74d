#!/usr/bin/env bash
# Installs what the other architectures need and builds rld-loader for all
# four: Rust targets (rustup), Debian's cross C/C++ compilers and glibcs
# (/usr/<triple>/lib), and qemu-user for aarch64 and riscv64. Fails, with a
# message saying what is missing, rather than skipping an architecture.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(x86_64-unknown-linux-gnu i686-unknown-linux-gnu aarch64-unknown-linux-gnu riscv64gc-unknown-linux-gnu)
packages=(gcc-i686-linux-gnu g++-i686-linux-gnu libc6-dev-i386-cross
          gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross
          gcc-riscv64-linux-gnu g++-riscv64-linux-gnu libc6-dev-riscv64-cross
          qemu-user-static)

installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" && continue
  rustup target add "$t" >/dev/null || { echo "build-arches: cannot add Rust target $t (rustup target add $t failed)" >&2; exit 1; }
done

source scripts/lib.sh
apt_install "${packages[@]}" || { echo "build-arches: the cross toolchains or qemu-user are missing" >&2; exit 1; }

# Where cargo puts what it builds: CARGO_TARGET_DIR when the caller set it.
target_dir=${CARGO_TARGET_DIR:-target}
for t in "${targets[@]}"; do
  cargo build --release --quiet -p rld-loader --target "$t"
  f=$target_dir/$t/release/rld-loader
  printf '%-30s %6d bytes\n' "$t" "$(stat -c %s "$f")"
done
