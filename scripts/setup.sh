#!/usr/bin/env bash
# Installs everything tapir builds and tests with, from Debian by package name.
# Idempotent: installs only what is missing; run as root (or with sudo available).
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ clang libclang-rt-14-dev clang-format pkg-config
  # libraries
  libboost-dev libmsgsl-dev libspdlog-dev libfmt-dev libexpected-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # network tools the tests and the demo drive
  iproute2 iputils-ping arping tcpdump tshark netcat-openbsd socat nftables
  python3 python3-scapy curl hping3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer it up front.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
