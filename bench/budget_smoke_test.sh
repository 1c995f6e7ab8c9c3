#!/usr/bin/env bash
# The budget scenario (issue 20) shrunk to a few seconds: it must start the
# emulator and the service, drive all three loads and print every figure.
# Figures are not judged here (the full scenario is `bash bench/run.sh budget`).
set -euo pipefail

RUNFILES="${RUNFILES_DIR:-${TEST_SRCDIR:-$0.runfiles}}"
WS="${RUNFILES}/${TEST_WORKSPACE:-leaf_agleader_credentials}"
OUT="${TEST_TMPDIR:-$(mktemp -d)}/out"
mkdir -p "$OUT"

"${WS}/bench/bench" --scenario=budget \
  --server_bin="${WS}/server/agleader_credentials_server" \
  --emulator_bin="${WS}/emulator/leaf_emulator" \
  --out_dir="$OUT" --budget_seconds=5 --budget_users=600 --budget_callers=3 \
  --budget_caller_pause_ms=200 --budget_batch_users=600 >"$OUT/stdout.txt" || {
  echo "bench --scenario=budget failed:" >&2
  cat "$OUT/stdout.txt" "$OUT"/budget-*.log >&2 || true
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
expect '^Budget scenario \(issue 20\): 600 users watched in 6 WatchCredentials streams, 3 callers'
expect 'in 2 calls; 5 s\.$'
expect '^\| 0-5 s \| [0-9]+ \| [0-9]+ \| [0-9]+ \| [0-9]+ \| [0-9]+ \| '
expect "^Leaf's 429s \(emulator rate_limited_count\): ([0-9]+|n/a) \(target 0\)"
expect '^Most requests Leaf accepted in any 60 s .*\(budget 1000\)$'
expect '^Effective poll interval \(agleader_watch_effective_poll_interval_seconds\): [0-9.]+ s$'
# The callers made calls, and every one has a code.
expect '^Callers: [1-9][0-9]* GetCredentials, p50 [0-9.]+ ms, p99 [0-9.]+ ms, .*; by code: [A-Z_]+ [0-9]+'
expect '^BatchGetCredentials: 600 users in 2 calls: fetched [0-9]+, LEAF_RATE_LIMITED [0-9]+'
expect '^Watch: 6 streams; '
# Nothing the benchmark drove ended on its own, and the service exited cleanly.
expect 'streams that ended before the end: none$'
if grep -q 'did not exit cleanly' "$OUT/stdout.txt"; then
  echo "FAIL: the service did not exit cleanly" >&2
  fail=1
fi
[ -s "$OUT/budget.txt" ] || { echo "FAIL: no budget.txt" >&2; fail=1; }
exit "$fail"
