#!/usr/bin/env bash
# Profiles the service under the benchmark's "through" load at one concurrency:
#   bash bench/profile.sh [perf|callgrind] [C]        (default: perf 64)
#
# perf       samples the running service (cpu-clock, DWARF call graphs) during
#            the measured window; kernel, libraries and the service's own code
#            all show. Writes bench/out/profile/perf-C.txt.
# callgrind  runs the service under valgrind and counts user-space
#            instructions inside the measured window only: slow, but exact and
#            repeatable on a noisy shared machine, so good for before/after
#            comparisons. Writes bench/out/profile/callgrind-C.txt with
#            instructions per request.
# Extra bench flags can be passed in BENCH_ARGS (e.g. BENCH_ARGS=--server_args=--log_level=warning).
# Needs `perf` (Debian: linux-perf) or `valgrind`; neither is part of the
# project's dependencies, so this script does not install them.
set -euo pipefail
cd "$(dirname "$0")/.."

tool="${1:-perf}"
c="${2:-64}"
case "$tool" in
  perf) need=perf pkg=linux-perf ;;
  callgrind) need=valgrind pkg=valgrind ;;
  *) echo "usage: bash bench/profile.sh [perf|callgrind] [C]" >&2; exit 2 ;;
esac
if ! command -v "$need" >/dev/null; then
  echo "profile: '$need' is not installed; on Debian: apt-get install $pkg" >&2
  exit 1
fi

bash scripts/setup.sh
OPT=(-c opt --symlink_prefix=/)
bazel build "${OPT[@]}" //bench:bench //bench:fast_upstream //server:agleader_credentials_server
BIN="$(bazel info "${OPT[@]}" bazel-bin 2>/dev/null)"
out=bench/out/profile
mkdir -p "$out"
common=(--upstream_bin="$BIN/bench/fast_upstream"
        --server_bin="$BIN/server/agleader_credentials_server"
        --out_dir="$out" --modes=through --concurrency="$c" --hold_calls=0
        --channels=1 --hol_duration_ms=0
        ${BENCH_ARGS:-})

# Share of the samples/instructions per shared object, from a listing whose
# lines end in "[object]" and start with a count.
by_object() {
  awk '{ n = $1; gsub(",", "", n); if (n !~ /^[0-9.]+%?$/) next;
         obj = $0; if (obj !~ /\[/) next; sub(/.*\[/, "", obj); sub(/\].*/, "", obj);
         sub(/.*\//, "", obj); sub(/%$/, "", n); s[obj] += n; t += n }
       END { for (o in s) printf "  %6.2f%%  %s\n", 100 * s[o] / t, o }' | sort -rn | head -15
}

# The report pipelines stop reading early (head, grep -m1): no pipefail.
set +o pipefail
if [ "$tool" = perf ]; then
  data="$out/perf-$c.data"
  "$BIN/bench/bench" "${common[@]}" --duration_ms=5000 --perf_record="$data" \
    --perf_args="-e cpu-clock -F 499 --call-graph dwarf,16384" >"$out/bench-perf-$c.txt"
  report="$out/perf-$c.txt"
  {
    echo "# perf profile of agleader_credentials_server, through load at C=$c"
    grep -E "requests/s|service CPU|context switches|other CPU" "$out/bench-perf-$c.txt" || true
    echo
    echo "## Samples by object (self time): the service's own code is agleader_credentials_server"
    perf report -i "$data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E "^ +[0-9]"
    echo
    echo "## Samples by thread"
    perf report -i "$data" --no-children --sort pid,comm --stdio -g none 2>/dev/null |
      grep -E "^ +[0-9]"
    echo
    echo "## Top symbols, self time"
    perf report -i "$data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
      grep -E "^ +[0-9]" | head -40 | cut -c1-200
    echo
    echo "## Top symbols, inclusive (children) time"
    perf report -i "$data" --children --sort sym --stdio -g none --percent-limit 1 2>/dev/null |
      grep -E "^ +[0-9]" | head -80 | cut -c1-200
  } >"$report"
else
  cg="$out/callgrind-$c.out"
  rm -f "$cg"
  "$BIN/bench/bench" "${common[@]}" --warmup_ms=2000 --duration_ms=3000 \
    --server_prefix="valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$cg" \
    --begin_cmd="callgrind_control -i on {pid} >/dev/null" \
    --end_cmd="callgrind_control -i off {pid} >/dev/null" >"$out/bench-callgrind-$c.txt"
  requests="$(grep -m1 -o '"requests": [0-9]*' "$out/results.json" | grep -o '[0-9]*$')"
  total="$(callgrind_annotate "$cg" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n {n = $1} END {print n}' | tr -d ,)"
  report="$out/callgrind-$c.txt"
  {
    echo "# callgrind profile of agleader_credentials_server, through load at C=$c"
    echo "instructions in the window: $total; requests: $requests;" \
      "instructions per request: $((total / (requests > 0 ? requests : 1)))"
    echo
    echo "## Instructions by object (self): the service's own code is agleader_credentials_server"
    callgrind_annotate --threshold=100 "$cg" 2>/dev/null | sed -n '/file:function/,$p' | by_object
    echo
    echo "## Top functions, self"
    callgrind_annotate "$cg" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '3,42p' | cut -c1-200
    echo
    echo "## Top functions, inclusive"
    callgrind_annotate --inclusive=yes "$cg" 2>/dev/null | sed -n '/file:function/,$p' |
      sed -n '3,82p' | cut -c1-200
  } >"$report"
fi
cat "$report"
echo
echo "Wrote $report"
