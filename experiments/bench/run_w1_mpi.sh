#!/usr/bin/env bash
# W1 (experiments/bench/w1.yaml) under the MPI build: one process on 2
# threads against `mpirun -np 2` ranks of 1 thread each, writing one results
# file through parallel HDF5; best of 3 wall times (the whole process,
# mpirun's start-up included). Rows: 10,000 and 100,000 paths with W1's
# default series (121 samples a path: 9.7 MB and 97 MB of series written by
# both ranks into one file), and 100,000 paths with sparse series (2
# samples). The files are checked equal (h5diff, /run_info aside).
# Needs scripts/install-deps.sh --mpi. Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake --preset mpi >/dev/null
cmake --build --preset mpi -j"$(nproc)" --target defisim >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
binary=build/mpi/bin/defisim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

best() {  # best COMMAND...: the best wall time of 3, in seconds
  local best_seconds=1e9
  for _ in 1 2 3; do
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    best_seconds=$(echo "$best_seconds $start $end" | awk '{t = $3 - $2; print (t < $1 ? t : $1)}')
  done
  echo "$best_seconds"
}

printf '%-28s %10s  %-22s  %-22s  %s\n' "case" "path-blocks" "1 process x 2 threads" "2 ranks x 1 thread" "ranks / process"
for case in "10000 default" "100000 default" "100000 sparse"; do
  read -r paths series <<<"$case"
  args=(run experiments/bench/w1.yaml --paths "$paths" -q --force)
  [ "$series" = sparse ] && args+=(--set experiment.record.every=7200)
  one=$(best "$binary" "${args[@]}" --threads 2 -o "$work/one.h5")
  ranks=$(best mpirun -np 2 "$binary" "${args[@]}" --threads 1 -o "$work/ranks.h5")
  h5diff -q --exclude-path /run_info "$work/one.h5" "$work/ranks.h5" || { echo "FAIL: files differ" >&2; exit 1; }
  rate() { echo "$paths $1" | awk '{printf "%.3g/s", $1 * 7200 / $2}'; }
  printf '%-28s %10s  %7.3f s %-12s  %7.3f s %-12s  %.2f\n' "$paths paths, $series series" "$((paths * 7200))" \
    "$one" "$(rate "$one")" "$ranks" "$(rate "$ranks")" "$(echo "$one $ranks" | awk '{print $1 / $2}')"
done
