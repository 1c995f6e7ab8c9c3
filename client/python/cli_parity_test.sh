#!/usr/bin/env bash
# Runs cli_parity_test.py with the package as it sits in runfiles (sources plus the
# stubs :stubs generates), under Debian's python3 (python3-grpcio).
set -euo pipefail
RUNFILES="${RUNFILES_DIR:-${TEST_SRCDIR:-$0.runfiles}}"
WS="${RUNFILES}/${TEST_WORKSPACE:-leaf_agleader_credentials}"
export PYTHONPATH="${WS}/client/python" PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "${WS}/tests/polyglot/run_unittest.py" \
  "${WS}/client/python/cli_parity_test.py"
