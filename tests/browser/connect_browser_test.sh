#!/usr/bin/env bash
# A grower walks the connect-link flow in headless Chromium (Debian's
# chromium, driven by playwright-core from tests/browser/node_modules, which
# scripts/setup.sh installs from the lockfile) through the real server
# binary, its pages and the emulator binary playing Leaf and AgFiniti: see
# connect_flow.test.js. SCREENSHOT_DIR=/path keeps the pages' screenshots.
source "$(dirname "$0")/../polyglot/harness.sh"
source "$(dirname "$0")/../polyglot/node_lib.sh"

BROWSER_DIR="$(source_dir_of tests/browser/package-lock.json)"
if [ ! -d "${BROWSER_DIR}/node_modules/playwright-core" ]; then
  echo "FAIL: ${BROWSER_DIR}/node_modules is missing: run scripts/setup.sh" >&2
  exit 1
fi
CHROMIUM="$(command -v chromium || true)"
if [ -z "$CHROMIUM" ]; then
  echo "FAIL: chromium is not installed: run scripts/setup.sh" >&2
  exit 1
fi

# The pages' port is chosen before the start: AgFiniti must know the exact
# redirect URL, and the server its public URL.
CONNECT_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
CONNECT_PUBLIC_URL="http://127.0.0.1:${CONNECT_PORT}"
PUBLIC_KEY="browser-test-app"
PRIVATE_KEY="$(openssl rand -hex 24)"
KEY_FILE="${TMP}/agleader_private_key"
printf '%s\n' "$PRIVATE_KEY" >"$KEY_FILE"
dir="${TMP}/browser"
mkdir -p "$dir"

"${WS}/emulator/leaf_emulator" --port=0 --token="${HARNESS_TOKEN}" \
  --agfiniti_app="${PUBLIC_KEY}:${PRIVATE_KEY}" \
  --agfiniti_redirect_uri="${CONNECT_PUBLIC_URL}/agleader/callback" \
  --agfiniti_grower="grower.one@example.com:grower-one-password" \
  >"${dir}/emulator.out" 2>"${dir}/emulator.err" &
HARNESS_PIDS+=("$!")
LEAF_EMULATOR_URL="$(wait_for_line "${dir}/emulator.out" 'leaf_emulator listening on ' "$!")" || {
  cat "${dir}/emulator.err" >&2
  exit 1
}

AGLEADER_LEAF_TOKEN="${HARNESS_TOKEN}" "${WS}/server/agleader_credentials_server" \
  --listen=127.0.0.1:0 --leaf_api_url="${LEAF_EMULATOR_URL}" \
  --agleader_public_key="${PUBLIC_KEY}" --agleader_private_key_file="${KEY_FILE}" \
  --agfiniti_authorize_url="${LEAF_EMULATOR_URL}/agfiniti/Account/Authorize" \
  --agfiniti_token_url="${LEAF_EMULATOR_URL}/agfiniti/api/token" \
  --connect_public_url="${CONNECT_PUBLIC_URL}" --connect_listen="127.0.0.1:${CONNECT_PORT}" \
  --connect_return_url_allow="http://127.0.0.1:9/app/" \
  --connect_display_name="Example Agronomy" \
  --watch_poll_interval=1s --watch_poll_jitter=0s --log_level=debug \
  >"${dir}/server.out" 2>"${dir}/server.err" &
HARNESS_PIDS+=("$!")
AGLEADER_TARGET="$(wait_for_line "${dir}/server.out" 'agleader_credentials_server listening on ' "$!")" || {
  cat "${dir}/server.err" >&2
  exit 1
}

export AGLEADER_TARGET LEAF_EMULATOR_URL CONNECT_PUBLIC_URL CHROMIUM
export AGLEADER_TEST_PRIVATE_KEY="$PRIVATE_KEY"
export CONNECT_RETURN_BASE="http://127.0.0.1:9/app/"
export CLIENT_NODE_MODULES="${NODE_DIR}/node_modules"
export BROWSER_NODE_MODULES="${BROWSER_DIR}/node_modules"
export PROTO_DIR="${WS}/proto" RPC_PROTO_DIR="${WS}/third_party/googleapis" WKT_PROTO_DIR=/usr/include
export SCAN_LOG_FILES="${dir}/server.out:${dir}/server.err:${dir}/emulator.out:${dir}/emulator.err"
run_node_tests "$(dirname "$0")/connect_flow.test.js" || {
  echo "--- server.err (tail)" >&2
  tail -n 40 "${dir}/server.err" >&2
  exit 1
}
