#!/usr/bin/env bash
# Validates deploy/k8s/fleet/ (see fleet_deploy_test.py) with Debian's
# python3 and python3-yaml.
set -euo pipefail
RUNFILES="${RUNFILES_DIR:-${TEST_SRCDIR:-$0.runfiles}}"
WS="${RUNFILES}/${TEST_WORKSPACE:-leaf_agleader_credentials}"
export DEPLOY_DIR="${WS}/deploy"
export SERVER_BIN="${WS}/server/agleader_credentials_server"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "${WS}/tests/polyglot/run_unittest.py" "${WS}/tests/deploy/fleet_deploy_test.py"
