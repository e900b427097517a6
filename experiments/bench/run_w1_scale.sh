#!/usr/bin/env bash
# W1 at scale (issue 6, "Speed and memory at scale"): experiments/bench/w1.yaml
# with 10,000 and 1,000,000 paths on 2 threads, whole process with HDF5
# writing, three ways of recording the series:
#   raw        record every 60 blocks (121 samples), stored unfiltered (the default)
#   deflate    the same, shuffle + deflate level 1, compressed by oneTBB worker threads
#   sparse     record every 7,200 blocks (2 samples): outcomes and end points only
# For each: wall time (10,000 paths: best of 3; 1,000,000: one run), path-blocks/s
# per thread, the ratio to the 10,000-path run, peak resident memory (GNU time's
# maximum RSS) and the file's size. Needs ~4 GB of free disk for the raw 1M file
# (in $TMPDIR, removed after each run). About 4 minutes on 2 cores. Run it on an
# otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target defisim >/dev/null
python="$(analysis/python.sh)"
exec "$python" - "$@" <<'PYEOF'
import os, subprocess, tempfile

binary = "build/release/bin/defisim"
blocks, threads = 7200, 2
variants = {
    "raw": [],
    "deflate": ["--set", "experiment.record.compression=1"],
    "sparse": ["--set", "experiment.record.every=7200"],
}

def run(paths, extra):
    """(seconds, max RSS in MB, file bytes) of one run."""
    with tempfile.TemporaryDirectory() as directory:
        output = os.path.join(directory, "w1.h5")
        timing = os.path.join(directory, "time.txt")
        subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", timing, binary, "run", "experiments/bench/w1.yaml",
                        "--paths", str(paths), "--threads", str(threads), "-o", output, "--force", "-q"] + extra,
                       check=True, stderr=subprocess.DEVNULL)
        seconds, rss_kb = open(timing).read().split()
        return float(seconds), int(rss_kb) / 1024.0, os.path.getsize(output)

print(f"| series | paths | wall s | path-blocks/s per thread | vs 10k | peak RSS MB | file MB |")
print(f"|---|---|---|---|---|---|---|")
for name, extra in variants.items():
    base_rate = None
    for paths, repeats in ((10_000, 3), (1_000_000, 1)):
        best = min((run(paths, extra) for _ in range(repeats)), key=lambda r: r[0])
        seconds, rss, size = best
        rate = paths * blocks / seconds / threads
        base_rate = base_rate or rate
        print(f"| {name} | {paths:,} | {seconds:.2f} | {rate:.3g} | {rate / base_rate:.2f} | {rss:.0f} | {size / 1e6:.0f} |",
              flush=True)
PYEOF
