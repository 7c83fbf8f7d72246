#!/usr/bin/env bash
# Install Debian packages when something the tests need is missing (root, or passwordless sudo).
#   scripts/apt-ensure.sh "<what for>" "<packages>" <check>...
# A check is an absolute path (must be executable) or a command name (must be on PATH). If all
# checks pass nothing happens; if installing is impossible, say so and exit 0 (the tests that need
# it then fail with the same advice).
set -u
purpose=$1 packages=$2
shift 2
missing=()
for c in "$@"; do
  if [[ $c == /* ]]; then [[ -x $c ]] || missing+=("$c"); else command -v "$c" >/dev/null || missing+=("$c"); fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) == 0 ]]; then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo -n); else
  echo "warning: ${missing[*]} missing and not root: apt-get install -y $packages" >&2; exit 0; fi
command -v apt-get >/dev/null || { echo "warning: ${missing[*]} missing and no apt-get" >&2; exit 0; }
echo "installing $packages (apt) for $purpose"
log=$(mktemp)
# shellcheck disable=SC2086  # $packages is a list
if "${sudo[@]}" apt-get update -qq >"$log" 2>&1 &&
   "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >>"$log" 2>&1; then
  rm -f "$log"
else
  tail -n 20 "$log" >&2; echo "warning: could not install $packages (log: $log)" >&2
fi
