#!/usr/bin/env bash
# Measures W1 (experiments/bench/w1.yaml): `defisim run` on 1 and 2 threads,
# whole process including HDF5 writing, best of 3 wall times each, and the
# NumPy baseline in the same run; prints path-blocks/s and the ratios.
# Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target defisim >/dev/null
python="$(analysis/python.sh)"
exec "$python" - "$@" <<'PYEOF'
import os, re, subprocess, sys, tempfile, time

paths, blocks = 10000, 7200
binary = "build/release/bin/defisim"

def best_seconds(threads, repeats=3):
    best = float("inf")
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([binary, "run", "experiments/bench/w1.yaml", "-o", os.path.join(directory, "w1.h5"),
                            "--force", "-q", "--threads", str(threads)], check=True, stderr=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - start)
    return best

rates = {}
for threads in (1, 2):
    seconds = best_seconds(threads)
    rates[threads] = paths * blocks / seconds
    print(f"defisim W1, {threads} thread(s): {seconds:7.3f} s  {rates[threads]:.3g} path-blocks/s")
print(f"2 threads / 1 thread: {rates[2] / rates[1]:.2f}x")
numpy_output = subprocess.run([sys.executable, "experiments/bench/numpy_w1.py", "--paths", str(paths),
                               "--blocks", str(blocks)], check=True, capture_output=True, text=True).stdout.strip()
print(numpy_output)
numpy_rate = float(re.search(r"([0-9.e+]+) path-blocks/s", numpy_output).group(1))
print(f"defisim 1 thread / numpy 1 core: {rates[1] / numpy_rate:.2f}x")
PYEOF
