#!/usr/bin/env bash
# The Node.js client installed as a user would: `npm pack` in a copy of the
# repository's files it needs (prepack bundles the .proto files and the service
# config), then `npm install <tarball>` in an empty folder outside the
# repository, offline (dependencies from the npm cache scripts/setup.sh filled,
# pinned by a lockfile made from client/node's);
# then node_package.test.js drives its bin against the real server, plaintext,
# with API keys, over TLS and mutual TLS.
source "$(dirname "$0")/harness.sh"
source "$(dirname "$0")/node_lib.sh"
source "$(dirname "$0")/tls_lib.sh"

CHECKOUT="${TMP}/checkout"
APP="${TMP}/app"
mkdir -p "${CHECKOUT}/client/node" "${CHECKOUT}/proto/leaf/agleader/v1" \
  "${CHECKOUT}/third_party/googleapis/google/rpc" "${APP}"
for f in agleader_client.js audit.js proto_json.js rewatch.js cli.js bundle_protos.js package.json README.md; do
  cp -L "${NODE_DIR}/${f}" "${CHECKOUT}/client/node/"
done
cp -L "${WS}/proto/leaf/agleader/v1/agleader_credentials.proto" "${CHECKOUT}/proto/leaf/agleader/v1/"
cp -L "${WS}/third_party/googleapis/google/rpc/"{status,error_details,code}.proto \
  "${CHECKOUT}/third_party/googleapis/google/rpc/"
cp -L "${WS}/client/service_config.json" "${CHECKOUT}/client/"

NPM="$(command -v npm)"
# The cache `npm ci` (scripts/setup.sh) filled, wherever Bazel points HOME.
NPM_CACHE="$(HOME="$(getent passwd "$(id -u)" | cut -d: -f6)" "$NPM" config get cache)"
(cd "${CHECKOUT}/client/node" && "$NPM" pack --silent --pack-destination "${TMP}" >/dev/null) || exit 1
TARBALL="${TMP}/agleader-credentials-client-0.1.0.tgz"
# Listed first, then searched: `tar | grep -q` fails under pipefail when grep
# stops reading before tar has written everything (SIGPIPE).
listing="$(tar -tzf "$TARBALL")"
grep -q 'package/bundle/leaf/agleader/v1/agleader_credentials.proto' <<<"$listing" || {
  echo "FAIL: the tarball lacks the bundled proto" >&2
  exit 1
}
# Offline: a lockfile pins the client's dependencies to the ones setup.sh
# cached, so installing asks no registry.
python3 "${WS}/tests/polyglot/offline_app_lock.py" "${NODE_DIR}/package-lock.json" \
  "${NODE_DIR}/package.json" "$TARBALL" "$APP" || exit 1
(cd "$APP" && "$NPM" ci --offline --cache "$NPM_CACHE" --no-audit --no-fund \
  --loglevel=error >/dev/null) || exit 1

export AGLEADER_TEST_API_KEY="${HARNESS_API_KEY}"
start_tls_stacks
start_stack
export AGLEADER_NODE_APP="$APP" AGLEADER_TEST_SHIPPED_SERVICE_CONFIG="${WS}/client/service_config.json"
run_node_tests "${WS}/tests/polyglot/node_package.test.js" || exit 1
assert_server_log_has_no_secret
