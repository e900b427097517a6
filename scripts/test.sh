#!/usr/bin/env bash
# README command 2: install what is missing, build everything with warnings as
# errors, run the whole test suite (C++ and Python) under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset ci >/dev/null
cmake --build --preset ci -j"$(nproc)"
ctest --preset ci -j"$(nproc)"
