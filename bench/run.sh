#!/usr/bin/env bash
# The benchmark of issues 5 and 12, in one command (issue 20's budget
# scenario: `bash bench/run.sh budget [flags]`, issue 21's fleet scenario:
# `bash bench/run.sh fleet [flags]`, issue 23's idle watchers alone:
# `bash bench/run.sh watch-idle [flags]`, below):
#   bash bench/run.sh [bench flags, e.g. --duration_ms=8000 --concurrency=1,16,64,
#                      --upstream=emulator, --upstream_delay_ms=5, --server_args=...]
# Builds with -c opt, starts the fast upstream and the service as child
# processes on 127.0.0.1, measures direct (libcurl -> upstream) and through
# (async gRPC -> service -> upstream), the Go peer and the floor (a trivial
# gRPC server) at C = 1, 16, 64 on 1 and 4 channels, in --rounds=3
# interleaved rounds (the report shows the medians), the head-of-line
# scenario, holds 1,000 calls in flight for the memory check, stops
# everything, opens 10,000 idle WatchCredentials streams on a fresh service
# (issue 23), prints the table and writes bench/out/results.json,
# results.txt and plot.svg. About 6.5 minutes after the build.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# --symlink_prefix=/: do not repoint the bazel-bin symlink to the opt tree
# under the feet of anyone using the fastbuild outputs.
OPT=(-c opt --symlink_prefix=/)

# `bash bench/run.sh budget [--budget_seconds=120 ...]`: issue 20's request
# budget scenario only (emulator limiting at 1000/min, the service, watches,
# callers and a batch; docs/performance.md), about 2 minutes after the build.
if [ "${1:-}" = "budget" ]; then
  shift
  bazel build "${OPT[@]}" //bench:bench //server:agleader_credentials_server //emulator:leaf_emulator
  BIN="$(bazel info "${OPT[@]}" bazel-bin 2>/dev/null)"
  mkdir -p bench/out
  exec "$BIN/bench/bench" --scenario=budget \
    --server_bin="$BIN/server/agleader_credentials_server" \
    --emulator_bin="$BIN/emulator/leaf_emulator" --out_dir=bench/out "$@"
fi
# `bash bench/run.sh fleet [--fleet_seconds=120 ...]`: issue 21's fleet
# scenario only (one Redis, the emulator limiting at 1000/min, three replicas,
# 300 streams over 150 users, alerts to one replica; docs/performance.md),
# about 2.5 minutes after the build.
if [ "${1:-}" = "fleet" ]; then
  shift
  bazel build "${OPT[@]}" //bench:bench //server:agleader_credentials_server //emulator:leaf_emulator
  BIN="$(bazel info "${OPT[@]}" bazel-bin 2>/dev/null)"
  mkdir -p bench/out
  exec "$BIN/bench/bench" --scenario=fleet \
    --server_bin="$BIN/server/agleader_credentials_server" \
    --emulator_bin="$BIN/emulator/leaf_emulator" --out_dir=bench/out "$@"
fi
# `bash bench/run.sh watch-idle [--idle_streams=10000 --idle_seconds=30
# --stalled_seconds=20 ...]`: issue 23's idle watchers only (a fresh service
# and the fast upstream, 10,000 WatchCredentials streams, RSS per stream and
# CPU per idle minute; the same streams held by the floor server, gRPC alone;
# then one stalled stream on a service of its own),
# writes bench/out/watch-idle.txt and .json, about 70 s after the build.
if [ "${1:-}" = "watch-idle" ]; then
  shift
  bazel build "${OPT[@]}" //bench:bench //bench:fast_upstream //bench:floor_server \
    //server:agleader_credentials_server
  BIN="$(bazel info "${OPT[@]}" bazel-bin 2>/dev/null)"
  mkdir -p bench/out
  exec "$BIN/bench/bench" --scenario=watch-idle \
    --server_bin="$BIN/server/agleader_credentials_server" --floor_bin="$BIN/bench/floor_server" \
    --upstream_bin="$BIN/bench/fast_upstream" --out_dir=bench/out "$@"
fi
bazel build "${OPT[@]}" //bench:bench //bench:fast_upstream //bench:floor_server \
  //server:agleader_credentials_server //emulator:leaf_emulator
BIN="$(bazel info "${OPT[@]}" bazel-bin 2>/dev/null)"

# The Go peer (issue 12): built from its source outside this repository by
# its own build.sh (Debian packages, offline), into bench/out; rebuilt only
# when its source or our proto changed. Where Go cannot be installed its
# rows are skipped and the report says so.
mkdir -p bench/out
peer_dir="${GO_PEER_DIR:-}"
for d in ../shared/peers/go-proxy ../../shared/peers/go-proxy /work/shared/peers/go-proxy; do
  [ -z "$peer_dir" ] && [ -f "$d/build.sh" ] && peer_dir="$d"
done
go_args=()
if [ -z "$peer_dir" ]; then
  go_args=(--go_note="the Go peer's source (../shared/peers/go-proxy) is not on this machine")
else
  go_bin="$PWD/bench/out/go-peer"
  proto=proto/leaf/agleader/v1/agleader_credentials.proto
  if [ ! -x "$go_bin" ] || [ "$peer_dir/main.go" -nt "$go_bin" ] || [ "$proto" -nt "$go_bin" ]; then
    echo "bench: building the Go peer from $peer_dir ..." >&2
    # Debian's grpc-go 1.33 marshals with github.com/golang/protobuf: with
    # its 1.3 package the messages protoc-gen-go writes today panic at the
    # first call ("protobuf tag not enough fields"); 1.5 wraps them.
    if ! dpkg -s golang-github-golang-protobuf-1-5-dev >/dev/null 2>&1; then
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
          golang-github-golang-protobuf-1-5-dev; } >bench/out/go-peer-build.log 2>&1 || true
    fi
    # The peer's build.sh compiles our proto with -I PROJECT_ROOT/proto only;
    # our proto imports google/rpc/status.proto (WatchCredentials' errors), so
    # it gets a root with that file beside ours, with the go_package of the
    # Debian genproto package (ours is the gogo one).
    peer_root="$(mktemp -d)"
    mkdir -p "$peer_root/proto/google/rpc"
    cp -r proto/leaf "$peer_root/proto/"
    sed 's|^option go_package = .*|option go_package = "google.golang.org/genproto/googleapis/rpc/status;status";|' \
      third_party/googleapis/google/rpc/status.proto >"$peer_root/proto/google/rpc/status.proto"
    if ! bash "$peer_dir/build.sh" "$peer_root" "$go_bin" >>bench/out/go-peer-build.log 2>&1; then
      rm -f "$go_bin"
    fi
    rm -rf "$peer_root"
  fi
  if [ -x "$go_bin" ]; then
    go_args=(--go_bin="$go_bin")
  else
    go_args=(--go_note="Go could not be installed or the peer did not build (bench/out/go-peer-build.log)")
  fi
fi

# Which code was measured: the commit, and whether the tree had local changes.
tree="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD -- server proto bazel WORKSPACE .bazelrc 2>/dev/null || tree="$tree+uncommitted-changes"

exec "$BIN/bench/bench" \
  --upstream_bin="$BIN/bench/fast_upstream" \
  --server_bin="$BIN/server/agleader_credentials_server" \
  --emulator_bin="$BIN/emulator/leaf_emulator" \
  --floor_bin="$BIN/bench/floor_server" "${go_args[@]}" \
  --out_dir=bench/out --note="tree $tree" "$@"
