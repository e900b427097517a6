# shellcheck shell=bash disable=SC2034  # threads, defisim, python: set for the script that sources this
# What the experiments' reproduce scripts share; source it from the repository
# root (each experiments/*/reproduce does `cd "$repo"` first):
#
#   source experiments/lib.sh
#   parse_threads experiments/NAME/reproduce "$@"  # threads=(--threads N), or () without arguments;
#                                                  # anything else: the usage line on stderr, exit 2
#   find_defisim            # defisim=$DEFISIM if set, else build/release/bin/defisim (configured in
#                           # Release if build/release has no CMakeCache.txt, then built)
#   find_python_with_yaml   # python= analysis/python.sh's python3, else /usr/bin/python3, whichever
#                           # imports numpy, h5py, matplotlib and yaml; neither: a message, exit 2

parse_threads() {
  local script="$1"
  shift
  threads=()
  if [ "${1:-}" = "--threads" ] && [ -n "${2:-}" ]; then
    threads=(--threads "$2")
  elif [ $# -gt 0 ]; then
    echo "usage: $script [--threads N]" >&2
    exit 2
  fi
}

find_defisim() {
  if [ -n "${DEFISIM:-}" ]; then
    defisim="$DEFISIM"
  else
    if [ ! -f build/release/CMakeCache.txt ]; then
      cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
    cmake --build build/release -j2 --target defisim
    defisim=build/release/bin/defisim
  fi
}

find_python_with_yaml() {
  local candidate
  python=""
  for candidate in "$(analysis/python.sh 2>/dev/null || true)" /usr/bin/python3; do
    if [ -n "$candidate" ] && "$candidate" -c 'import numpy, h5py, matplotlib, yaml' 2>/dev/null; then
      python="$candidate"
      break
    fi
  done
  if [ -z "$python" ]; then
    echo "error: need a python3 with numpy, h5py, matplotlib and yaml" \
         "(apt-get install python3-numpy python3-h5py python3-matplotlib python3-yaml)" >&2
    exit 2
  fi
}
