#!/usr/bin/env bash
# Downloads Debian packages of any suite and architecture and unpacks them,
# without installing anything: a private apt directory per suite and
# architecture (its own sources.list, lists and an empty dpkg status), then
# `apt-get download` and `dpkg-deb -x`. Used by the tests' glibc matrix and
# foreign-architecture corpus; the cache lives outside the checkout.
#
#   bash scripts/debs.sh SUITE ARCH DEST PACKAGE[=VERSION]...
#
# unpacks every PACKAGE of SUITE (bullseye, bookworm, trixie, sid, ...) for
# ARCH (amd64, i386, arm64, ...) into DEST, which then holds the packages'
# trees (DEST/usr/lib/..., DEST/lib/...) and DEST/.complete. Idempotent:
# when DEST/.complete lists the same packages, nothing is downloaded.
# Fails loudly, naming the suite, architecture and package, when a download
# is impossible.
set -euo pipefail

[ $# -ge 4 ] || { echo "usage: debs.sh SUITE ARCH DEST PACKAGE..." >&2; exit 2; }
suite=$1 arch=$2 dest=$3
shift 3
want="$*"
if [ -f "$dest/.complete" ] && [ "$(cat "$dest/.complete")" = "$want" ]; then
  exit 0
fi

mirror=${RLD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { echo "debs: $keyring is missing (install debian-archive-keyring)" >&2; exit 1; }
apt_root=${RLD_APT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rld-apt}/$suite-$arch
mkdir -p "$apt_root/lists/partial" "$apt_root/archives/partial" "$apt_root/etc/preferences.d" "$(dirname "$dest")"
exec 9>"$apt_root/.lock"
flock 9
: >"$apt_root/status"
echo "deb [arch=$arch signed-by=$keyring] $mirror $suite main" >"$apt_root/sources.list"
apt=(apt-get -q
  -o "Dir::Etc::sourcelist=$apt_root/sources.list" -o Dir::Etc::sourceparts=-
  -o "Dir::Etc::preferencesparts=$apt_root/etc/preferences.d"
  -o "Dir::State::lists=$apt_root/lists" -o "Dir::State::status=$apt_root/status"
  -o "Dir::Cache::archives=$apt_root/archives" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
  -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
  -o Acquire::Languages=none -o Debug::NoLocking=1)
# Refresh the lists at most once a day: suites such as sid move, and an old
# list names packages the mirror no longer has.
if [ -z "$(find "$apt_root/lists" -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null)" ]; then
  echo "debs: updating the package lists of $suite/$arch" >&2
  # apt-get update exits 0 when it cannot reach the mirror at all: it only
  # warns that it failed to fetch.
  if ! "${apt[@]}" update >"$apt_root/update.log" 2>&1 ||
      grep -q '^[WE]: Failed to fetch' "$apt_root/update.log"; then
    echo "debs: FAILED to read the package lists of $suite/$arch from $mirror:" >&2
    cat "$apt_root/update.log" >&2
    exit 1
  fi
fi

tmp=$(mktemp -d "$dest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/debs" "$tmp/tree"
echo "debs: downloading $want ($suite/$arch)" >&2
if ! (cd "$tmp/debs" && "${apt[@]}" download "$@" >/dev/null 2>"$tmp/download.log"); then
  echo "debs: FAILED to download '$want' of $suite/$arch from $mirror:" >&2
  cat "$tmp/download.log" >&2
  exit 1
fi
for deb in "$tmp"/debs/*.deb; do
  dpkg-deb -x "$deb" "$tmp/tree"
done
echo "$want" >"$tmp/tree/.complete"
rm -rf "$dest"
mv "$tmp/tree" "$dest"
