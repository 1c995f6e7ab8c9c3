#!/usr/bin/env bash
# Two replicas (server + its own Leaf emulator each), then client_lb_test.py.
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/polyglot/harness.sh"

start_stack
targets="${AGLEADER_TARGET}" emulators="${LEAF_EMULATOR_URL}"
start_stack
export AGLEADER_TARGETS="${targets},${AGLEADER_TARGET}"
export LEAF_EMULATOR_URLS="${emulators},${LEAF_EMULATOR_URL}"
export DEPLOY_DIR="${WS}/deploy"
export PYTHON_CLIENT_DIR="${WS}/client/python"
export PYTHONPATH="${WS}/client/python/gen:${WS}/client/python"
export PYTHONDONTWRITEBYTECODE=1
/usr/bin/python3 "${WS}/tests/polyglot/run_unittest.py" "${WS}/tests/deploy/client_lb_test.py" &
HARNESS_PIDS+=("$!")
wait $! || exit 1
assert_server_log_has_no_secret
