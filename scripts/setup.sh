#!/usr/bin/env bash
# Installs the Debian packages this project needs, once, and client/node's npm
# packages when its lockfile changed. Idempotent: when everything is present it
# only runs dpkg-query and sha256sum and returns in well under a second.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap bazel-rules-java lld
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libabsl-dev libcurl4-openssl-dev rapidjson-dev libgtest-dev libgmock-dev pkg-config
  libcpp-httplib-dev libmicrohttpd-dev grpc-proto golang-github-gogo-googleapis-dev libssl-dev prometheus-cpp-dev
  clang libclang-rt-14-dev redis-server libhiredis-dev libqrencode-dev chromium
  python3-grpcio python3-protobuf python3-yaml
  python3-venv python3-setuptools python3-wheel python3-pip openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm (client/node, buf): Debian's, unless the machine already has
# a Node.js (e.g. NodeSource's, which bundles npm and conflicts with Debian's npm).
# SETUP_SKIP_NODE=1 (the container build) skips Node.js altogether.
skip_node="${SETUP_SKIP_NODE:-0}"
if [ "$skip_node" != 1 ] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
  missing+=(nodejs npm)
fi

if [ "${#missing[@]}" -ne 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: done" >&2
fi

# npm packages of client/node (gRPC for Node, the buf CLI) and tests/browser
# (playwright-core, which drives Debian's chromium), from their committed
# lockfiles; each skipped while its node_modules matches (a stamp holds the hash).
root="$(cd "$(dirname "$0")/.." && pwd)"
for node_dir in "${root}/client/node" "${root}/tests/browser"; do
  if [ "$skip_node" != 1 ] && [ -f "${node_dir}/package-lock.json" ]; then
    lock_hash="$(sha256sum "${node_dir}/package-lock.json" | cut -d' ' -f1)"
    stamp="${node_dir}/node_modules/.setup-lock-sha256"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
      echo "setup: npm ci in ${node_dir#"${root}/"}" >&2
      npm ci --prefix "$node_dir" --no-audit --no-fund --loglevel=error >/dev/null
      echo "$lock_hash" >"$stamp"
    fi
  fi
done
