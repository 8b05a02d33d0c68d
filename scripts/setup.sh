#!/usr/bin/env bash
# Installs every system dependency of stpipe-cpp with apt; quiet and quick when all is present.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config
  libcfitsio-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libcurl4-openssl-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  pybind11-dev python3-pybind11 python3-dev python3-numpy python3-pytest
  python3-configobj python3-astropy python3-asdf python3-jsonschema python3-yaml
  fitsverify clang-format time clang-14 libclang-rt-14-dev
  python3-distributed slurm-wlm slurmctld slurmd slurm-client munge
  python3-skimage python3-scipy
)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
