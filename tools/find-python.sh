#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter that actually runs.
# Order: python3.13, python3.12 on the PATH (pyenv shims fail unless selected,
# so each candidate is *run*, not just looked up), then pyenv's installs.
ok() { "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for c in python3.13 python3.12 python3; do
  if command -v "$c" >/dev/null 2>&1 && ok "$c"; then command -v "$c"; exit 0; fi
done
root="${PYENV_ROOT:-}"
[ -n "$root" ] || root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
for d in $(ls -d "$root"/versions/3.13* "$root"/versions/3.12* 2>/dev/null | sort -rV); do
  for exe in "$d"/bin/python3.13 "$d"/bin/python3.12 "$d"/bin/python3; do
    if [ -x "$exe" ] && ok "$exe"; then echo "$exe"; exit 0; fi
  done
done
for exe in /usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.12; do
  if [ -x "$exe" ] && ok "$exe"; then echo "$exe"; exit 0; fi
done
exit 1
