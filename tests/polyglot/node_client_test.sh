#!/usr/bin/env bash
# The Node.js client (client/node) against the real server and the Leaf
# emulator, each a separate process: create, get, list events, delete, and the
# decoding of ErrorInfo / BadRequest from grpc-status-details-bin.
source "$(dirname "$0")/harness.sh"
source "$(dirname "$0")/node_lib.sh"

# A second server that requires an API key, then the one the tests use most.
start_stack --api_keys="${HARNESS_API_KEY}"
export AGLEADER_KEYED_TARGET="${AGLEADER_TARGET}" AGLEADER_TEST_API_KEY="${HARNESS_API_KEY}"
# One Leaf attempt per call: a 429 then reaches the client at once, with its RetryInfo.
start_stack --max_attempts=1

run_node_tests "${NODE_DIR}/agleader_client.test.js" || exit 1
assert_server_log_has_no_secret
