#!/usr/bin/env bash
# `buf curl` (npm @bufbuild/buf, offline) against the real server and the Leaf
# emulator: services listed and every RPC called through server reflection
# with JSON input, as a terminal user would with grpcurl. See buf_curl.test.js.
source "$(dirname "$0")/harness.sh"
source "$(dirname "$0")/node_lib.sh"

start_stack
export BUF NODE_DIR BUF_CACHE_DIR="${TMP}/buf-cache"
run_node_tests "${WS}/tests/polyglot/buf_curl.test.js" || exit 1
assert_server_log_has_no_secret
