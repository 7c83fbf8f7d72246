#!/usr/bin/env bash
# Print the path of a CPython X.Y interpreter (the pinned sets are each tested on their own Python:
# README "Environments"). Looks, in order, for python X.Y on PATH, pyenv's newest X.Y.*, and
# uv's interpreter discovery (which also sees uv-managed Pythons: `uv python install X.Y`).
#   scripts/find-python.sh 3.12
set -euo pipefail
want="${1:?usage: find-python.sh X.Y}"
ok() { [ -x "$1" ] && [ "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; }
if p=$(command -v "python$want" 2>/dev/null) && ok "$p"; then echo "$p"; exit 0; fi
if command -v pyenv >/dev/null 2>&1 && prefix=$(pyenv prefix "$want" 2>/dev/null) && ok "$prefix/bin/python$want"; then
  echo "$prefix/bin/python$want"; exit 0
fi
for root in "${PYENV_ROOT:-$HOME/.pyenv}/versions"; do
  for d in $(ls -d "$root/$want".* 2>/dev/null | sort -V -r); do
    if ok "$d/bin/python$want"; then echo "$d/bin/python$want"; exit 0; fi
  done
done
for uv in uv "$(dirname "$0")/../.venv/bin/uv"; do
  if command -v "$uv" >/dev/null 2>&1 && p=$("$uv" python find "$want" 2>/dev/null) && ok "$p"; then echo "$p"; exit 0; fi
done
echo "error: no Python $want found (tried python$want on PATH, pyenv, uv python find)." >&2
echo "       Install one: 'pyenv install $want', 'uv python install $want' or your OS package; or set PYTHON$(echo "$want" | tr -d .)=/path/to/python$want" >&2
exit 1
