#!/usr/bin/env bash
# ctest entry for the Python analysis package: writes a small real results
# file with defisim, then runs the reader's self-test on it, and the toolkit's
# tests (statistics against closed forms; a tiny YAML sweep run with defisim
# for the scenario table, summaries, weights, figures and the command line),
# with a python3 that has numpy, h5py and matplotlib (Debian's).
#
#   tests/python/run_python_tests.sh path/to/defisim path/to/source
set -euo pipefail
defisim=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=$("$source_dir/analysis/python.sh")
"$defisim" run "$source_dir/configs/quickstart.yaml" -o "$work/small.h5" --paths 40 --blocks 600 -q \
  --set 'sweep={grid: {markets.pool.fee: [0.0005, 0.003]}}'
"$python" "$source_dir/tests/python/test_python_reader.py" "$work/small.h5"
"$python" "$source_dir/tests/python/test_python_toolkit.py" --defisim "$defisim"
