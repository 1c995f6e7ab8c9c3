#!/usr/bin/env bash
# `buf breaking` of the public contract against the latest release tag (v*)
# reachable from HEAD, once one exists; and, always, a self-check on a
# throwaway git repository that the comparison does catch a breaking change
# (a renamed field), so the release check cannot pass vacuously.
# Reads the source tree and its git history: tags "local" and "external".
source "$(dirname "$0")/harness.sh"
source "$(dirname "$0")/node_lib.sh"

REPO="$(cd "${NODE_DIR}/../.." && pwd)"
export BUF_CACHE_DIR="${TMP}/buf-cache"
PROTO=leaf/agleader/v1/agleader_credentials.proto

echo "== self-check: a renamed field is reported as breaking"
scratch="${TMP}/scratch"
rm -rf "$scratch" && mkdir -p "$scratch/proto/leaf/agleader/v1"
cp "${REPO}/buf.yaml" "$scratch/"
mkdir -p "$scratch/third_party" && cp -r "${REPO}/third_party/googleapis" "$scratch/third_party/"
cp "${REPO}/proto/${PROTO}" "$scratch/proto/${PROTO}"
(
  cd "$scratch"
  git init -q
  git -c user.name=test -c user.email=test@example.com add -A
  git -c user.name=test -c user.email=test@example.com commit -q -m release
  git tag v0.0.0
)
sed -i 's/string leaf_status = 5;/string leaf_state = 5;/' "$scratch/proto/${PROTO}"
grep -q 'leaf_state = 5' "$scratch/proto/${PROTO}" || { echo "FAIL: probe edit did not apply" >&2; exit 1; }
set +e
out="$(cd "$scratch" && "$BUF" breaking proto --against '.git#tag=v0.0.0,subdir=proto' 2>&1)"
rc=$?
set -e
if [ "$rc" -eq 0 ] || ! grep -q 'changed name from "leaf_status" to "leaf_state"' <<<"$out"; then
  echo "FAIL: buf breaking missed a renamed field (rc=$rc): $out" >&2
  exit 1
fi
echo ok

echo "== the contract against the previous release"
if ! git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
  echo "no git repository at ${REPO}: nothing to compare"
  exit 0
fi
tag="$(git -C "$REPO" describe --tags --abbrev=0 --match 'v*' HEAD 2>/dev/null || true)"
if [ -z "$tag" ]; then
  echo "no release tag (v*) yet: nothing to compare"
  exit 0
fi
cd "$REPO"
"$BUF" breaking proto --against ".git#tag=${tag},subdir=proto"
echo "ok: no breaking change since ${tag}"
