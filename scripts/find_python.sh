#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (Rasa 3.6 supports Python 3.8-3.10 only).
# Looks at python3.10 on PATH, then pyenv's installs. Exits 1 with advice if none is found.
set -u
ok() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }
for candidate in "${PYTHON310:-}" "$(command -v python3.10 2>/dev/null)"; do
  if [ -n "$candidate" ] && ok "$candidate"; then
    "$candidate" -c 'import sys; print(sys.executable)'; exit 0
  fi
done
roots=()
command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)")
roots+=("${PYENV_ROOT:-$HOME/.pyenv}")
for root in "${roots[@]}"; do
  for candidate in $(ls -d "$root"/versions/3.10*/bin/python3.10 2>/dev/null | sort -rV); do
    if ok "$candidate"; then echo "$candidate"; exit 0; fi
  done
done
cat >&2 <<'MSG'
Python 3.10 was not found. Rasa 3.6 runs on Python 3.8-3.10 only, and this project uses 3.10.
Install it, then run the command again:
  - with pyenv:   pyenv install 3.10        (https://github.com/pyenv/pyenv)
  - on Debian/Ubuntu: sudo apt-get install python3.10 python3.10-venv   (where available)
Or point to one you have: make run PYTHON310=/path/to/python3.10
MSG
exit 1
