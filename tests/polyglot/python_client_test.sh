#!/usr/bin/env bash
# The Python client (client/python) against the real server and the Leaf
# emulator, each a separate process: create, get, list events, delete, and the
# decoding of ErrorInfo / BadRequest from grpc-status-details-bin.
source "$(dirname "$0")/harness.sh"

PYTHON=/usr/bin/python3  # Debian's, which has python3-grpcio and python3-protobuf
"$PYTHON" -c 'import grpc, google.protobuf' || {
  echo "FAIL: $PYTHON lacks grpc/protobuf: run scripts/setup.sh" >&2
  exit 1
}

# A second server that requires an API key, then the one the tests use most.
start_stack --api_keys="${HARNESS_API_KEY}"
export AGLEADER_KEYED_TARGET="${AGLEADER_TARGET}" AGLEADER_TEST_API_KEY="${HARNESS_API_KEY}"
# One Leaf attempt per call: a 429 then reaches the client at once, with its RetryInfo.
start_stack --max_attempts=1

export PYTHONPATH="${WS}/client/python/gen:${WS}/client/python"
export PYTHONDONTWRITEBYTECODE=1
# In the background, so that a TERM from Bazel reaches the traps at once.
"$PYTHON" "${WS}/tests/polyglot/run_unittest.py" "${WS}/client/python/agleader_client_test.py" &
HARNESS_PIDS+=("$!")
wait $! || exit 1
assert_server_log_has_no_secret
