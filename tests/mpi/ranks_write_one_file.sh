#!/usr/bin/env bash
# The MPI build: `mpirun -np R defisim run` splits the run's batches across R
# ranks, and every rank writes its rows into one results file through
# parallel HDF5. The file must equal the one a single process writes, every
# dataset and every attribute (h5diff), /run_info aside (it records the ranks
# and the wall time). Checked for R = 2 and 3 on this 2-core machine
# (--oversubscribe), on
#   tests/support/sweep_in_batches.yaml  a 3-scenario sweep whose rank shares end
#                                        inside scenarios and inside HDF5 chunks
#   experiments/tail_sampling/tail_1h    a lending world under importance sampling
#                                        (weighted summaries), 200 paths in batches of 32
# and h5diff must see a run of another seed as different (the check can fail).
# Then an MPI run stopped by SIGTERM (as a scheduler stops a job) resumes with
# --resume from every rank's journal into the single-process file.
# usage: ranks_write_one_file.sh DEFISIM SOURCE_DIR
set -euo pipefail
defisim=$1
source_dir=$2
# mpirun refuses to start as root (containers, CI) unless told it is meant.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

same() {  # same FILE_A FILE_B: h5diff finds no difference outside /run_info
  if ! h5diff -r --exclude-path /run_info "$1" "$2" >"$work/diff.txt" 2>&1; then
    echo "FAIL: $2 differs from $1:" >&2
    head -40 "$work/diff.txt" >&2
    exit 1
  fi
}

ranks_attribute() {  # the /run_info ranks attribute of FILE
  h5dump -a /run_info/ranks "$1" | sed -n 's/^ *(0): *\([0-9]*\).*/\1/p'
}

run_case() {  # run_case NAME CONFIG ARGS...
  local name=$1 config=$2
  shift 2
  "$defisim" run "$config" -o "$work/$name.one.h5" -q --threads 2 "$@"
  for ranks in 2 3; do
    mpirun --oversubscribe -np "$ranks" "$defisim" run "$config" -o "$work/$name.$ranks.h5" -q --threads 1 "$@"
    same "$work/$name.one.h5" "$work/$name.$ranks.h5"
    test "$(ranks_attribute "$work/$name.$ranks.h5")" = "$ranks" || { echo "FAIL: /run_info/ranks is not $ranks" >&2; exit 1; }
    ls "$work" | grep -q -e '\.partial$' -e '\.resume$' && { echo "FAIL: a partial file or journal was left" >&2; ls "$work" >&2; exit 1; }
    echo "$name: $ranks ranks wrote the single-process file"
  done
}

run_case sweep "$source_dir/tests/support/sweep_in_batches.yaml"
run_case tail "$source_dir/experiments/tail_sampling/tail_1h.yaml" --paths 200 --set experiment.batch_paths=32 \
  --set "experiment.importance_sampling={shift_log_return: {ETH: -0.10}}"

# The comparison can fail: another seed is another file.
mpirun --oversubscribe -np 2 "$defisim" run "$source_dir/tests/support/sweep_in_batches.yaml" -o "$work/other_seed.h5" -q --threads 1 --seed 10
if h5diff -r --exclude-path /run_info "$work/sweep.one.h5" "$work/other_seed.h5" >/dev/null 2>&1; then
  echo "FAIL: h5diff saw no difference between two seeds" >&2
  exit 1
fi
echo "h5diff tells another seed apart"

# Resume: 20,000 paths in batches of 64, every batch journalled at once.
tail_args=(--paths 20000 --set experiment.batch_paths=64 -q)
"$defisim" run "$source_dir/experiments/tail_sampling/tail_1h.yaml" -o "$work/long.one.h5" "${tail_args[@]}" --threads 2
mpirun --oversubscribe -np 2 "$defisim" run "$source_dir/experiments/tail_sampling/tail_1h.yaml" -o "$work/long.h5" \
  "${tail_args[@]}" --threads 1 --checkpoint-seconds 0 >"$work/interrupted.log" 2>&1 &
run=$!
batches() { find "$work/long.h5.rank-$1-of-2.resume" -name '*.batch' 2>/dev/null | wc -l; }
for _ in $(seq 600); do  # until each rank has saved 3 batches (at most 60 s)
  if [ "$(batches 0)" -ge 3 ] && [ "$(batches 1)" -ge 3 ]; then break; fi
  sleep 0.1
done
kill -TERM "$run"
wait "$run" || true
if [ -e "$work/long.h5" ]; then
  echo "FAIL: the run finished before it could be interrupted; make it longer" >&2
  exit 1
fi
saved="$(batches 0) + $(batches 1)"
mpirun --oversubscribe -np 2 "$defisim" run "$source_dir/experiments/tail_sampling/tail_1h.yaml" -o "$work/long.h5" \
  "${tail_args[@]}" --threads 1 --resume 2>"$work/resumed.log"
grep -q "resumed: [1-9][0-9]* batch(es) read back" "$work/resumed.log" || { cat "$work/resumed.log" >&2; echo "FAIL: nothing resumed" >&2; exit 1; }
same "$work/long.one.h5" "$work/long.h5"
ls "$work" | grep -q '\.resume$' && { echo "FAIL: a journal was left after the resumed run" >&2; exit 1; }
echo "resume: stopped by SIGTERM with $saved batches journalled, resumed into the single-process file"
