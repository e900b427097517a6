#!/usr/bin/env bash
# The TWAMM benchmark (issue 3): W2 (experiments/bench/w2_twamm.yaml, a twamm
# with 1,000 live long-term orders both ways and an arbitrageur) against the
# plain cpmm workload W1, with `defisim run` on one thread (whole process,
# best of 3), in path-blocks/s and nanoseconds per block; then the
# micro-benchmark of one block's and one boundary's virtual orders
# (bench_twamm). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target defisim >/dev/null
python="$(analysis/python.sh)"
"$python" - "$@" <<'PYEOF'
import os, subprocess, tempfile, time

binary = "build/release/bin/defisim"
blocks = 7200
stagger = ["--set", "agents.buyer.duration_blocks=7200", "--set", "agents.seller.duration_blocks=7200"]
runs = [
    ("W1: cpmm + arbitrageur (idle blocks skipped)", "experiments/bench/w1.yaml", 2000, []),
    ("W1, every agent called every block", "experiments/bench/w1.yaml", 2000,
     ["--set", "experiment.skip_idle_agents=false"]),
    ("W2: twamm, 1,000 live orders, no expiry", "experiments/bench/w2_twamm.yaml", 2000, []),
    ("W2, 2 live orders", "experiments/bench/w2_twamm.yaml", 2000,
     ["--set", "agents.buyer.orders=1", "--set", "agents.seller.orders=1"]),
    ("W2, 1,000 orders expiring over the path", "experiments/bench/w2_twamm.yaml", 2000, stagger),
]

def best_seconds(config, paths, extra, repeats=3):
    best = float("inf")
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([binary, "run", config, "-o", os.path.join(directory, "out.h5"), "--force", "-q",
                            "--threads", "1", "--paths", str(paths)] + extra, check=True, stderr=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - start)
    return best

results = {}
print(f"{'one thread, whole process, best of 3':48s} {'path-blocks/s':>14s} {'ns/block':>9s}")
for name, config, paths, extra in runs:
    seconds = best_seconds(config, paths, extra)
    rate = paths * blocks / seconds
    results[name] = 1e9 / rate
    print(f"{name:48s} {rate:14.3g} {1e9 / rate:9.1f}")
cpmm_block = results["W1, every agent called every block"]
twamm_block = results["W2: twamm, 1,000 live orders, no expiry"]
print(f"a W2 block without expiry = {twamm_block / cpmm_block:.1f} W1 blocks in which the arbitrageur is called")
print(f"1,000 live orders vs 2: {twamm_block / results['W2, 2 live orders']:.2f}x per block")
PYEOF
if [ -x build/release/bin/bench_twamm ] || cmake --build build/release -j"$(nproc)" --target bench_twamm >/dev/null 2>&1; then
  build/release/bin/bench_twamm --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>/dev/null |
    grep -E "Benchmark|_median"
fi
