#!/usr/bin/env bash
# The benchmark of issue 5, in one command:
#   bash bench/run.sh [bench flags, e.g. --duration_ms=8000 --concurrency=1,16,64,
#                      --upstream=emulator, --upstream_delay_ms=5, --server_args=...]
# Builds with -c opt, starts the fast upstream and the service as child
# processes on 127.0.0.1, measures direct (libcurl -> upstream) and through
# (async gRPC -> service -> upstream) at C = 1, 16, 64, holds 1,000 calls in
# flight for the memory check, stops everything, prints the table and writes
# bench/out/results.json, results.txt and plot.svg.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# --symlink_prefix=/: do not repoint the bazel-bin symlink to the opt tree
# under the feet of anyone using the fastbuild outputs.
OPT=(-c opt --symlink_prefix=/)
bazel build "${OPT[@]}" //bench:bench //bench:fast_upstream //server:agleader_credentials_server \
  //emulator:leaf_emulator
BIN="$(bazel info "${OPT[@]}" bazel-bin 2>/dev/null)"

# Which code was measured: the commit, and whether the tree had local changes.
tree="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD -- server proto 2>/dev/null || tree="$tree+uncommitted-changes"

mkdir -p bench/out
exec "$BIN/bench/bench" \
  --upstream_bin="$BIN/bench/fast_upstream" \
  --server_bin="$BIN/server/agleader_credentials_server" \
  --emulator_bin="$BIN/emulator/leaf_emulator" \
  --out_dir=bench/out --note="tree $tree" "$@"
