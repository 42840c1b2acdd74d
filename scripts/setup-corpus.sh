#!/usr/bin/env bash
# Installs the Debian programs the NixOS-like root tests run unpatched
# (python3 with ssl/sqlite3/ctypes, perl, git, curl, openssl, bash and
# coreutils), patchelf to build the root's patched /bin/sh the way Nix does,
# and pip to download the third-party wheels (scripts/fetch-corpus.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
apt_install patchelf python3.11 python3-pip perl git curl openssl bash coreutils grep sed findutils
