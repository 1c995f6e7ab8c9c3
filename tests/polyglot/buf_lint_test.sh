#!/usr/bin/env bash
# `buf lint` over the public contract with the repository's buf.yaml:
#  1. the contract passes;
#  2. the rule set is live: a probe proto that breaks a STANDARD rule fails;
#  3. every exception in buf.yaml is still needed: without them, buf reports
#     exactly the excepted rules, no fewer (a stale exception would hide
#     future mistakes) and no others.
# buf.yaml sits at the repository root, outside any Bazel package's files, so
# this test reads the source tree (tag "local") and is never cached ("external").
source "$(dirname "$0")/harness.sh"
source "$(dirname "$0")/node_lib.sh"

REPO="$(cd "${NODE_DIR}/../.." && pwd)"
export BUF_CACHE_DIR="${TMP}/buf-cache"
cd "${REPO}"
[ -f buf.yaml ] || { echo "FAIL: no buf.yaml at ${REPO}" >&2; exit 1; }

echo "== 1. buf lint passes"
"$BUF" lint
echo ok

echo "== 2. a STANDARD violation is caught"
probe="${TMP}/probe"
rm -rf "$probe" && mkdir -p "$probe/proto/leaf/agleader/v1"
cp buf.yaml "$probe/"
mkdir -p "$probe/third_party" && cp -r third_party/googleapis "$probe/third_party/"
cp proto/leaf/agleader/v1/agleader_credentials.proto "$probe/proto/leaf/agleader/v1/"
cat >"$probe/proto/leaf/agleader/v1/probe.proto" <<'PROTO'
syntax = "proto3";
package leaf.agleader.v1;
message Probe {
  string leafUserID = 1;
}
PROTO
set +e
out="$(cd "$probe" && "$BUF" lint --error-format=json 2>&1)"
rc=$?
set -e
if [ "$rc" -eq 0 ] || ! grep -q '"type":"FIELD_LOWER_SNAKE_CASE"' <<<"$out"; then
  echo "FAIL: buf lint accepted a camelCase field (rc=$rc): $out" >&2
  exit 1
fi
echo ok

echo "== 3. every exception is still needed"
excepted="$(/usr/bin/python3 -c '
import sys, yaml
lint = yaml.safe_load(open("buf.yaml"))["lint"]
print("\n".join(sorted(lint.get("except", []))))')"
set +e
out="$("$BUF" lint --error-format=json \
  --config '{"version":"v2","modules":[{"path":"proto"},{"path":"third_party/googleapis","lint":{"ignore":["third_party/googleapis"]}}],"lint":{"use":["STANDARD"]}}' 2>&1)"
set -e
reported="$(grep -o '"type":"[A-Z_]*"' <<<"$out" | cut -d'"' -f4 | sort -u)"
if [ "$reported" != "$excepted" ]; then
  echo "FAIL: rules reported without exceptions:" >&2
  echo "$reported" >&2
  echo "differ from buf.yaml's except list:" >&2
  echo "$excepted" >&2
  exit 1
fi
echo ok
