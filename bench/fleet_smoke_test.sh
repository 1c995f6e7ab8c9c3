#!/usr/bin/env bash
# The fleet scenario (issue 21) shrunk to seconds: it must start Redis, the
# emulator and three replicas, open the streams, send alerts to one replica
# and print every figure. Figures are not judged here (the full scenario is
# `bash bench/run.sh fleet`; docs/performance.md).
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
  echo "SKIP: no redis-server on this machine (scripts/setup.sh installs it)"
  exit 0
fi
RUNFILES="${RUNFILES_DIR:-${TEST_SRCDIR:-$0.runfiles}}"
WS="${RUNFILES}/${TEST_WORKSPACE:-leaf_agleader_credentials}"
OUT="${TEST_TMPDIR:-$(mktemp -d)}/out"
mkdir -p "$OUT"

"${WS}/bench/bench" --scenario=fleet \
  --server_bin="${WS}/server/agleader_credentials_server" \
  --emulator_bin="${WS}/emulator/leaf_emulator" \
  --out_dir="$OUT" --fleet_seconds=8 --fleet_users=30 --fleet_streams=60 \
  --fleet_poll_interval_s=4 --fleet_alert_every_ms=250 >"$OUT/stdout.txt" || {
  echo "bench --scenario=fleet failed:" >&2
  cat "$OUT/stdout.txt" "$OUT"/fleet-*.log >&2 || true
  exit 1
}
cat "$OUT/stdout.txt"

fail=0
expect() {
  if ! grep -qE -- "$1" "$OUT/stdout.txt"; then
    echo "FAIL: the report has no line matching: $1" >&2
    fail=1
  fi
}
expect '^Fleet scenario \(issue 21\): 3 replicas and one Redis; 30 users watched by 60 WatchCredentials streams \(replica 1: 20, replica 2: 20, replica 3: 20; each user on 2 replicas\)'
expect '^Redis as each replica saw it at the end \(agleader_fleet_redis_up\): replica 1 [0-9]+, replica 2 [0-9]+, replica 3 [0-9]+$'
expect '^Every stream had its CHANGE_KIND_INITIAL after [0-9.]+ s\.$'
# Alerts went to replica 1 and were timed on every replica's streams.
for r in 1 2 3; do
  expect "^\| $r \| 20 \| [1-9][0-9]* \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9]+ \| CHANGE_SOURCE_"
done
expect '^Alerts sent: [1-9][0-9]* \(failed to send: 0\)$'
expect '^Leaf reads per user per poll interval, whole fleet: [0-9.]+ \(target <= 1\.0 \+ [0-9.]+ '
expect '^  \(the emulator, in the [0-9]+ s measured: [0-9]+ GETs of ag-leader-credentials \+ [0-9]+ listing pages \(sweeps\) = [0-9]+ user reads\)$'
expect '^The replicas. own count \(agleader_leaf_requests_total\{class\}, in the window\): replica 1 poll [0-9]+ prompted [0-9]+'
expect '^Most requests Leaf accepted in any 60 s \(emulator max_requests_in_any_minute\): [0-9]+ \(budget 1000\)'
expect "^Leaf's 429s in the window \(emulator rate_limited_count\): [0-9]+ \(target 0\)$"
expect '^Effective poll interval \(agleader_watch_effective_poll_interval_seconds\): replica 1 '
expect '^Watch: 60 streams; [0-9]+ CHANGE_KIND_INITIAL, '
# Nothing the benchmark drove ended on its own, and every replica exited cleanly.
expect 'streams that ended before the end: none$'
if grep -q 'did not exit cleanly' "$OUT/stdout.txt"; then
  echo "FAIL: a replica did not exit cleanly" >&2
  fail=1
fi
[ -s "$OUT/fleet.txt" ] || { echo "FAIL: no fleet.txt" >&2; fail=1; }
exit "$fail"
