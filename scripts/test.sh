#!/usr/bin/env bash
# README command 2: install what is missing, build everything with warnings as
# errors, run the whole test suite (C++ and Python) under ctest; then build
# defisim with MPI and parallel HDF5 and run its mpirun tests (a second ctest
# summary line).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --mpi
cmake --preset ci >/dev/null
cmake --build --preset ci -j"$(nproc)"
ctest --preset ci -j"$(nproc)"
cmake --preset mpi >/dev/null
cmake --build --preset mpi -j"$(nproc)"
ctest --preset mpi
