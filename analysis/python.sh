#!/usr/bin/env bash
# Prints the path of a python3 that can import numpy, h5py and matplotlib
# (what analysis/ needs). Tries Debian's /usr/bin/python3 first, then the
# python3 on PATH (which may be a pyenv/venv interpreter without them).
# Exits 2 with a message naming the missing modules if none can.
#
#   PY=$(analysis/python.sh) && "$PY" analysis/plot_quickstart.py run.h5 run.png
set -u

modules=(numpy h5py matplotlib)
candidates=()
[ -x /usr/bin/python3 ] && candidates+=(/usr/bin/python3)
if on_path=$(command -v python3 2>/dev/null); then
  candidates+=("$on_path")
fi

report=()
for py in "${candidates[@]}"; do
  missing=$("$py" - "${modules[@]}" <<'PYEOF' 2>/dev/null
import sys
missing = []
for name in sys.argv[1:]:
    try:
        __import__(name)
    except Exception:
        missing.append(name)
print(" ".join(missing))
PYEOF
  ) || { report+=("  $py: does not run"); continue; }
  if [ -z "$missing" ]; then
    echo "$py"
    exit 0
  fi
  report+=("  $py: missing $missing")
done

{
  echo "error: no python3 found that can import ${modules[*]}"
  if [ ${#report[@]} -eq 0 ]; then
    echo "  (no python3 interpreter found at /usr/bin/python3 or on PATH)"
  else
    printf '%s\n' "${report[@]}"
  fi
  echo "install them with: apt-get install python3-numpy python3-h5py python3-matplotlib"
} >&2
exit 2
