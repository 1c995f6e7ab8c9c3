#!/usr/bin/env bash
# The Python client installed as a user would: client/python copied out of the
# repository, `pip install`ed offline into a venv (with the system's grpcio and
# protobuf), then its tests run from outside the repository against the real
# server and the Leaf emulator: the library (create, get, list events, delete,
# ErrorInfo / BadRequest decoding) and the agleader-client console script,
# plaintext, with API keys, over TLS and mutual TLS.
source "$(dirname "$0")/harness.sh"
source "$(dirname "$0")/tls_lib.sh"

PYTHON=/usr/bin/python3  # Debian's, which has python3-grpcio and python3-protobuf
"$PYTHON" -c 'import grpc, google.protobuf, setuptools, wheel, venv' || {
  echo "FAIL: $PYTHON lacks grpc/protobuf/setuptools/wheel/venv: run scripts/setup.sh" >&2
  exit 1
}

# Copied out (symlinks resolved, as in an sdist), then installed from the copy.
INSTALL="${TMP}/python-install"
mkdir -p "${INSTALL}/tests"
cp -rL "${WS}/client/python" "${INSTALL}/src"
"$PYTHON" -m venv --system-site-packages "${INSTALL}/venv"
(cd "${INSTALL}" && PIP_NO_CACHE_DIR=1 venv/bin/pip install --quiet --no-deps \
  --no-build-isolation --no-index ./src) || exit 1
cp "${WS}/client/python/agleader_client_test.py" "${INSTALL}/tests/"

# A second server that requires an API key, TLS and mutual TLS ones, then the
# one the tests use most.
start_stack --api_keys="${HARNESS_API_KEY}"
export AGLEADER_KEYED_TARGET="${AGLEADER_TARGET}" AGLEADER_TEST_API_KEY="${HARNESS_API_KEY}"
start_tls_stacks
# One Leaf attempt per call: a 429 then reaches the client at once, with its RetryInfo.
start_stack --max_attempts=1

export AGLEADER_CLIENT_CLI="${INSTALL}/venv/bin/agleader-client"
export AGLEADER_TEST_SHIPPED_SERVICE_CONFIG="${WS}/client/service_config.json"
export PYTHONDONTWRITEBYTECODE=1
# From outside the repository, so only the installed package can be imported;
# in the background, so that a TERM from Bazel reaches the traps at once.
(cd "${INSTALL}/tests" && exec "${INSTALL}/venv/bin/python" \
  "${WS}/tests/polyglot/run_unittest.py" "${INSTALL}/tests/agleader_client_test.py") &
HARNESS_PIDS+=("$!")
wait $! || exit 1
assert_server_log_has_no_secret
