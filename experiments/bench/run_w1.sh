#!/usr/bin/env bash
# Measures W1 (experiments/bench/w1.yaml): `defisim run` on 1 and 2 threads,
# whole process including HDF5, best of 3, and the NumPy baseline in the same
# run, then prints path-blocks/s and the ratios. Run it on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target defisim >/dev/null
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
paths=10000
blocks=7200
best() {  # best wall time of 3 runs, seconds
  local threads=$1 best_seconds=
  for _ in 1 2 3; do
    local start end seconds
    start=$(date +%s.%N)
    build/release/bin/defisim run experiments/bench/w1.yaml -o "$out/w1.h5" --force -q --threads "$threads" 2>/dev/null
    end=$(date +%s.%N)
    seconds=$(echo "$end - $start" | bc -l)
    if [ -z "$best_seconds" ] || [ "$(echo "$seconds < $best_seconds" | bc -l)" = 1 ]; then best_seconds=$seconds; fi
  done
  echo "$best_seconds"
}
one=$(best 1)
two=$(best 2)
rate_one=$(echo "$paths * $blocks / $one" | bc -l)
rate_two=$(echo "$paths * $blocks / $two" | bc -l)
python="$(analysis/python.sh)"
numpy_line=$("$python" experiments/bench/numpy_w1.py --paths $paths --blocks $blocks)
numpy_rate=$(echo "$numpy_line" | sed -E 's/.* ([0-9.e+]+) path-blocks\/s.*/\1/')
printf 'defisim W1, 1 thread : %8.3f s  %.3g path-blocks/s\n' "$one" "$rate_one"
printf 'defisim W1, 2 threads: %8.3f s  %.3g path-blocks/s  (%.2fx of 1 thread)\n' "$two" "$rate_two" "$(echo "$rate_two / $rate_one" | bc -l)"
echo "$numpy_line"
printf 'defisim 1 thread / numpy: %.2fx\n' "$(echo "$rate_one / $numpy_rate" | bc -l)"
