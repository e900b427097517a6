#!/usr/bin/env bash
# The lending scan benchmark (LENDING.md): does the per-block cost of finding
# liquidatable positions stay flat as the healthy population grows?
#
# 1. Whole process: `defisim run experiments/bench/lending_scan.yaml` on one
#    thread, 1 path, with N = 1,000 / 10,000 / 100,000 borrower positions
#    (plus 10 risky ones), a liquidator and responsive borrowers scanning
#    every block, for B and 2B blocks (--blocks). Per-block cost =
#    (T(2B) - T(B)) / B: the one-time cost of opening N positions (and of
#    the end-of-path pass over them) cancels. Best of 3 of each, in wall time
#    and in CPU time (user + sys of the child: robust when the machine is
#    shared). Setup cost per position = the slope of T(B) - B x per-block
#    cost between N = 1,000 and N = 100,000.
# 2. The micro-benchmarks (bench_lending): one positions_below query, one
#    block with k position changes, and the naive scan, against N.
# Run it on an otherwise idle machine. Options: BLOCKS=<B> (default 1000000),
# REPEATS=<n> (default 3), SKIP_MICRO=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target defisim >/dev/null
python="$(analysis/python.sh)"
"$python" - "$@" <<'PYEOF'
import os, subprocess, tempfile, time

binary = "build/release/bin/defisim"
config = "experiments/bench/lending_scan.yaml"
blocks = int(os.environ.get("BLOCKS", "1000000"))
repeats = int(os.environ.get("REPEATS", "3"))
risky = 10  # agents.risky.positions in the config
# (label, N, max_positions, extra --set). The index keeps the entries written
# since its last merge in a buffer of up to floor(4 sqrt(max_positions))
# entries (markets/lending_index.hpp), sorted when a query reads it; in a
# quiet market the entries left after opening the positions, (N + 10) mod
# capacity, stay there. The first rows are the plain scaling (max_positions
# = N + 11); the "buffer ~full" rows choose max_positions so that the buffer
# stays 11 to 30 entries short of a merge throughout (the worst case of the
# first version, which scanned the whole buffer on every query); the "mixed"
# rows give 30% of the positions two collateral assets (ETH and BTC), which
# the index handles through its snapshot of their health.
runs = [
    ("N=1,000", 1000, 1011, []),
    ("N=10,000", 10000, 10011, []),
    ("N=100,000", 100000, 100011, []),
    ("N=1,000, buffer ~full", 1000, 1024, []),
    ("N=10,000, buffer ~full", 10000, 10051, []),
    ("N=100,000, buffer ~full", 100000, 105463, []),
    ("N=1,000, 30% mixed", 1000, 1011, ["agents.borrowers.mixed_collateral_fraction=0.3"]),
    ("N=10,000, 30% mixed", 10000, 10011, ["agents.borrowers.mixed_collateral_fraction=0.3"]),
    ("N=100,000, 30% mixed", 100000, 100011, ["agents.borrowers.mixed_collateral_fraction=0.3"]),
]

def buffered(n, max_positions):
    capacity = max(64, int(4.0 * (max_positions ** 0.5)))
    return (n + risky) % capacity, capacity

def run_once(n, max_positions, run_blocks, directory, extra=()):
    command = [binary, "run", config, "-o", os.path.join(directory, "out.h5"), "--force", "-q", "--threads", "1",
               "--blocks", str(run_blocks), "--set", f"agents.borrowers.positions={n}",
               "--set", f"markets.bank.max_positions={max_positions}"]
    for assignment in extra:
        command += ["--set", assignment]
    start = time.perf_counter()
    child = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(command)}")
    return wall, usage.ru_utime + usage.ru_stime

def best(n, max_positions, run_blocks, times=repeats, extra=()):
    wall, cpu = float("inf"), float("inf")
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(times):
            w, c = run_once(n, max_positions, run_blocks, directory, extra)
            wall, cpu = min(wall, w), min(cpu, c)
    return wall, cpu

print(f"defisim run {config}, 1 path, 1 thread, B = {blocks:,} blocks, best of {repeats}")
print(f"{'run':26s} {'max_pos':>8s} {'buffered':>10s} | {'wall T(B) s':>11s} {'T(2B) s':>8s} {'ns/block':>9s} | "
      f"{'cpu T(B) s':>10s} {'T(2B) s':>8s} {'ns/block':>9s} {'fixed s':>8s}")
rows = {}
for label, n, max_positions, extra in runs:
    wall_b, cpu_b = best(n, max_positions, blocks, extra=extra)
    wall_2b, cpu_2b = best(n, max_positions, 2 * blocks, extra=extra)
    wall_block = (wall_2b - wall_b) / blocks * 1e9
    cpu_block = (cpu_2b - cpu_b) / blocks * 1e9
    fixed = cpu_b - cpu_block * blocks / 1e9  # process start-up + opening N positions + end of path
    rows[label] = (wall_block, cpu_block, fixed)
    fill, capacity = buffered(n, max_positions)
    print(f"{label:26s} {max_positions:8d} {f'{fill}/{capacity}':>10s} | {wall_b:11.3f} {wall_2b:8.3f} {wall_block:9.1f} | "
          f"{cpu_b:10.3f} {cpu_2b:8.3f} {cpu_block:9.1f} {fixed:8.3f}", flush=True)

def ratio(high, low):
    return f"wall {rows[high][0] / rows[low][0]:.2f}x, cpu {rows[high][1] / rows[low][1]:.2f}x"
print(f"per-block cost, N = 100,000 / N = 1,000 (max_positions = N + 11): {ratio('N=100,000', 'N=1,000')}")
print(f"per-block cost, N = 100,000 / N = 1,000, both buffers ~full: "
      f"{ratio('N=100,000, buffer ~full', 'N=1,000, buffer ~full')}")
print(f"per-block cost, N = 100,000 / N = 1,000, 30% mixed collateral: "
      f"{ratio('N=100,000, 30% mixed', 'N=1,000, 30% mixed')}")
# Setup: runs of 1 block (opening the positions at block 0, the end-of-path
# pass over them, process start-up and file writing), best of 5.
setup = {n: best(n, n + risky + 1, 1, 5)[1] for n in (1000, 100000)}
print(f"setup (1-block run, cpu, best of 5): N = 1,000 {setup[1000]:.3f} s, N = 100,000 {setup[100000]:.3f} s: "
      f"{(setup[100000] - setup[1000]) / 99000 * 1e9:.0f} ns per position")
PYEOF
if [ "${SKIP_MICRO:-0}" != 1 ]; then
  if [ -x build/release/bin/bench_lending ] || cmake --build build/release -j"$(nproc)" --target bench_lending >/dev/null 2>&1; then
    build/release/bin/bench_lending --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>/dev/null |
      grep -E "Benchmark|_median"
  fi
fi
