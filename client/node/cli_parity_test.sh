#!/usr/bin/env bash
# Runs cli_parity.test.js from the source directory (where scripts/setup.sh
# installed node_modules), found through the runfile symlink of the lockfile.
set -euo pipefail
RUNFILES="${RUNFILES_DIR:-${TEST_SRCDIR:-$0.runfiles}}"
WS="${RUNFILES}/${TEST_WORKSPACE:-leaf_agleader_credentials}"
NODE_DIR="$(dirname "$(readlink -f "${WS}/client/node/package-lock.json")")"
if [ ! -d "${NODE_DIR}/node_modules/@grpc/grpc-js" ]; then
  echo "FAIL: ${NODE_DIR}/node_modules is missing: run scripts/setup.sh" >&2
  exit 1
fi
NODE="$(command -v node || command -v nodejs)"
exec "$NODE" --test "${NODE_DIR}/cli_parity.test.js"
