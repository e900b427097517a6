#!/usr/bin/env bash
# README command 1: install what is missing, build in Release, run the
# quickstart experiment, print its summary table, write results/quickstart.h5
# and results/quickstart.png.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target defisim
mkdir -p results
build/release/bin/defisim run configs/quickstart.yaml -o results/quickstart.h5 --force
python="$(analysis/python.sh)"
"$python" analysis/plot_quickstart.py results/quickstart.h5 results/quickstart.png
echo "wrote results/quickstart.h5 and results/quickstart.png"
