#!/usr/bin/env bash
# Multi-byte secrets (a euro sign, 4-byte emoji) created and read back through
# the Python and the Node.js clients against the real server and emulator.
source "$(dirname "$0")/harness.sh"
source "$(dirname "$0")/node_lib.sh"

start_stack
export PYTHONPATH="${WS}/client/python"
export PYTHONDONTWRITEBYTECODE=1
/usr/bin/python3 "${WS}/tests/polyglot/run_unittest.py" "${WS}/tests/polyglot/utf8_hints_test.py" &
HARNESS_PIDS+=("$!")
wait $! || exit 1
export AGLEADER_NODE_CLIENT="${NODE_DIR}/agleader_client.js"
run_node_tests "${WS}/tests/polyglot/utf8_hints.test.js" || exit 1
assert_server_log_has_no_secret
