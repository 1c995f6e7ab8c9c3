#!/usr/bin/env bash
# Installs the Debian packages this project needs, once. Idempotent: when every
# package is already present it only runs dpkg-query and returns in well under a second.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap bazel-rules-java
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libabsl-dev libcurl4-openssl-dev rapidjson-dev libgtest-dev libgmock-dev pkg-config
  libcpp-httplib-dev grpc-proto golang-github-gogo-googleapis-dev libssl-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
