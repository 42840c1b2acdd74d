# Shared by the setup scripts: source it, then `apt_install PACKAGE...`
# installs the Debian packages that are not installed yet (with sudo when
# not root) and fails with a message naming them if apt-get cannot.
apt_install() {
  local missing=() p sudo=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null ||
    { echo "setup: apt-get could not install ${missing[*]}" >&2; return 1; }
}
