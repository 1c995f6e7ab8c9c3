#!/usr/bin/env bash
# Regenerates server/hot_text.order, the list of the service's functions that
# run at start-up and under the benchmark's load, which the link of
# //server:agleader_credentials_server places first in .text (lld's
# --symbol-ordering-file; docs/performance.md, "Hot code first"):
#   bash bench/text_order.sh
#
# Why: the kernel maps an executable's pages 64 KB at a time around each page
# a process touches (fault-around), so code that runs is resident together
# with whatever the linker put beside it. Left in archive order, the few
# functions of each gRPC, protobuf and service object that run are spread
# over the whole 7.6 MB of .text and all of it ends up resident; listed
# first, they sit in about 3.5 MB and the rest stays on disk.
#
# How: the service runs under callgrind (valgrind) three times: the
# benchmark's start-up, GetCredentials on 50 users and shutdown; calls held
# in flight and idle WatchCredentials streams; the budget scenario against
# the Leaf emulator (Leaf's JSON, watches whose users change, a
# BatchGetCredentials, callers waiting for the request budget). Every
# function of the service binary that executed at least one instruction is
# listed, in three blocks in that order (each run's new functions), so that
# the code every process runs stays packed; within a block in the order of
# the current binary's addresses, so that a regeneration moves as little as
# possible. Functions the load does not reach (other RPCs, error paths) keep
# the linker's order after the listed ones and fault in when
# used. A list gone stale costs memory, never correctness: names it lists
# that no longer exist are ignored. //tests/server:hot_text_order_test fails
# when too few of its names still exist. About a minute after the build.
# Needs valgrind (not one of the project's dependencies: apt-get install
# valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
  echo "text_order: valgrind is not installed; on Debian: apt-get install valgrind" >&2
  exit 1
fi
bash scripts/setup.sh
OPT=(-c opt --symlink_prefix=/)
bazel build "${OPT[@]}" //bench:bench //bench:fast_upstream //server:agleader_credentials_server \
  //emulator:leaf_emulator
BIN="$(bazel info "${OPT[@]}" bazel-bin 2>/dev/null)"
server="$BIN/server/agleader_credentials_server"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Every service the benchmark starts runs under callgrind, one output each.
cat >"$work/server.sh" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --demangle=no --callgrind-out-file=$work/cg.\${CG_GROUP}.%p "$server" "\$@"
EOF
chmod +x "$work/server.sh"

# Three groups, listed in this order: start-up and GetCredentials (the code
# every process runs, kept packed), then calls held in flight and idle
# WatchCredentials streams, then the budget scenario.
profile() {
  local group="$1"
  shift
  CG_GROUP="$group" "$@" >"$work/$group.txt" 2>&1 || {
    tail -20 "$work/$group.txt" >&2
    echo "text_order: the profiled run '$group' failed" >&2
    exit 1
  }
}
profile get "$BIN/bench/bench" --upstream_bin="$BIN/bench/fast_upstream" \
  --server_bin="$work/server.sh" --out_dir="$work" --modes=through --concurrency=16 --channels=1 \
  --rounds=1 --warmup_ms=1000 --duration_ms=3000 --users=50 --hold_calls=0 --hol_duration_ms=0 \
  --idle_streams=0 --stalled_seconds=0
profile watch "$BIN/bench/bench" --upstream_bin="$BIN/bench/fast_upstream" \
  --server_bin="$work/server.sh" --out_dir="$work" --modes=through --concurrency=1 --channels=1 \
  --rounds=1 --warmup_ms=200 --duration_ms=200 --hold_calls=200 --hol_duration_ms=0 \
  --idle_streams=300 --idle_seconds=5 --stalled_seconds=0
profile budget "$BIN/bench/bench" --scenario=budget --server_bin="$work/server.sh" \
  --emulator_bin="$BIN/emulator/leaf_emulator" --out_dir="$work" --budget_seconds=20

nm --defined-only "$server" >"$work/nm.txt"
python3 - "$work" >server/hot_text.order <<'EOF'
import glob, re, sys
work = sys.argv[1]
addr = {}
for line in open(f"{work}/nm.txt"):
    p = line.split()
    if len(p) == 3 and p[1] in "tTwW":
        addr[p[2]] = int(p[0], 16)
ran = {"get": set(), "watch": set(), "budget": set()}
name_re = re.compile(r"^(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?$")
for out in glob.glob(f"{work}/cg.*"):
    group = ran[out.split("/cg.")[1].split(".")[0]]
    obs, fns, ob, fn = {}, {}, None, None
    for line in open(out, errors="replace"):
        m = name_re.match(line.rstrip("\n"))
        if m:
            kind, i, name = m.groups()
            table = obs if kind in ("ob", "cob") else fns
            if name:
                table[i] = name
            if kind == "ob":
                ob = obs[i]
            elif kind == "fn":
                fn = fns[i] if ob and ob.endswith("/agleader_credentials_server") else None
            continue
        if fn and line[:1].isdigit():
            group.add(fn)
# Each group's new functions, in its own block: the code every process runs
# stays packed, not diluted by the objects of rarer paths.
listed, seen = [], set()
counts = []
for g in ("get", "watch", "budget"):
    block = sorted((f for f in ran[g] - seen if f in addr), key=lambda f: addr[f])
    listed += block
    seen |= ran[g]
    counts.append(f"{len(block)} {g}")
print("text_order: " + ", ".join(counts), file=sys.stderr)
print("# generated by bench/text_order.sh: functions run at start-up and under load, placed first in .text")
print("\n".join(listed))
EOF
echo "text_order: $(($(wc -l <server/hot_text.order) - 1)) functions in server/hot_text.order" >&2
