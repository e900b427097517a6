#!/usr/bin/env bash
# Installs the Debian 12 packages defisim needs, if any is missing. Debian
# packages only; nothing is downloaded from anywhere else.
#   scripts/install-deps.sh          what the serial build (the default) needs
#   scripts/install-deps.sh --mpi    and Open MPI with parallel HDF5, for the
#                                    MPI build (cmake --preset mpi) and its tests
set -euo pipefail
packages=(
  g++ cmake make pkg-config git
  libtbb-dev libeigen3-dev libhdf5-dev libyaml-cpp-dev catch2 librandom123-dev libcli11-dev libfmt-dev
  libbenchmark-dev hdf5-tools
  python3 python3-numpy python3-h5py python3-matplotlib python3-yaml
)
if [ "${1:-}" = "--mpi" ]; then
  packages+=(libopenmpi-dev openmpi-bin libhdf5-openmpi-dev)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "error: missing packages ${missing[*]}; run as root or install them with apt-get" >&2
    exit 2
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
