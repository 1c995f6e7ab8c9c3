#!/usr/bin/env bash
# Builds every libFuzzer target in tests/fuzz (*_fuzzer.cc) with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer. For each target it first
# replays the inputs of past findings (tests/fuzz/regressions/<target>/<finding>.*),
# then fuzzes a writable copy of its seed corpus and regression inputs
# (tests/fuzz/corpus/<target>; the repository is never written). Exits
# non-zero on a build failure or on any finding (crash, sanitizer report,
# failed invariant, timeout, out-of-memory); the input that triggered it is
# kept and its path printed.
#
#   bash tests/fuzz/run_fuzzers.sh [TARGET...]
#       Deterministic (the test suite's mode): a fixed number of runs from a
#       fixed seed per target, so the same inputs every time: it fails only
#       when a change breaks something, never by the luck of a random run.
#   bash tests/fuzz/run_fuzzers.sh --open-ended [SECONDS_PER_TARGET] [TARGET...]
#       Random exploration for SECONDS_PER_TARGET (default 600), a new seed
#       each time: finds what the fixed runs do not. Run before a release;
#       turn each finding into a fix and a regression input.
#
# TARGET names (e.g. page_token_fuzzer) restrict the run. Environment:
#   FUZZ_RUNS  runs per target in the deterministic mode (default: per target,
#              see runs() below; a few seconds each)
#   FUZZ_SEED  the seed of the deterministic mode (default 1)
#   FUZZ_OUT   keep binaries, corpora, logs and findings in this folder
#              (default: a temporary folder, removed unless something was found)
#   FUZZ_JOBS  targets built and run at once (default: the number of CPUs)
#   CXX_FUZZ   the clang++ to use (default: clang++-14, else clang++)
#   FUZZ_IGNORE  comma-separated names of known, reported findings (e.g.
#              deep-nesting) that the targets then tolerate and whose
#              regression inputs are skipped, so that a long run can go on
#              past them; leave unset for the real verdict
# Under `bazel test` the sources come from the runfiles and findings are
# copied to $TEST_UNDECLARED_OUTPUTS_DIR.
set -uo pipefail

usage() {
  echo "usage: $0 [TARGET...] | $0 --open-ended [SECONDS_PER_TARGET] [TARGET...]" >&2
  exit 2
}
open_ended=0
seconds=600
if [ "${1:-}" = "--open-ended" ]; then
  open_ended=1
  shift
  case "${1:-}" in
    '' | *[!0-9]*) ;;
    *) seconds="$1"; shift ;;
  esac
fi
case "${1:-}" in
  -*) usage ;;
  [0-9]*) echo "fuzz: a number is a fuzzing time: use --open-ended $1" >&2; usage ;;
esac
seed="${FUZZ_SEED:-1}"
case "$seed$seconds" in *[!0-9]*) usage ;; esac

if [ -n "${TEST_SRCDIR:-}" ] && [ -n "${TEST_WORKSPACE:-}" ]; then
  root="$TEST_SRCDIR/$TEST_WORKSPACE"
else
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fi
fuzz_dir="$root/tests/fuzz"

cxx="${CXX_FUZZ:-}"
if [ -z "$cxx" ]; then
  cxx="$(command -v clang++-14 || command -v clang++ || true)"
fi
if [ -z "$cxx" ]; then
  echo "fuzz: clang++ not found (scripts/setup.sh installs clang and libclang-rt-14-dev)" >&2
  exit 1
fi
jobs="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}"

if [ -n "${FUZZ_OUT:-}" ]; then
  out="$FUZZ_OUT"
  keep=1
else
  out="$(mktemp -d "${TEST_TMPDIR:-${TMPDIR:-/tmp}}/fuzz.XXXXXX")"
  keep=0
fi
mkdir -p "$out/obj" "$out/bin" "$out/corpus" "$out/log" "$out/findings"

# The project sources the targets exercise (with everything they call).
project_sources=(
  server/json/untrusted_json.cc
  server/leaf/leaf_json.cc
  server/leaf/leaf_users_json.cc
  server/leaf/timestamp.cc
  server/leaf/leaf_errors.cc
  server/http/retry_after.cc
  server/leaf/leaf_endpoints.cc
  server/ids/leaf_user_id.cc
  server/providers/provider_spec.cc
  server/providers/agleader/agleader_spec.cc
  server/operations/event_pages.cc
  server/errors/reasons.cc
  server/errors/status_details.cc
  server/http/http_client.cc
  server/text/utf8.cc
  server/secrets/redact.cc
  server/observability/log.cc
  server/observability/async_log_sink.cc
  server/secrets/secret.cc
)
absl_modules="absl_status absl_statusor absl_strings absl_str_format absl_time absl_cord absl_synchronization absl_hash absl_raw_hash_set"
read -r -a cflags <<<"$(pkg-config --cflags $absl_modules)"
read -r -a libs <<<"$(pkg-config --libs $absl_modules)"
# Every sanitizer report is fatal except pointer-overflow, which ubsan.supp
# silences in RapidJSON only (UBSAN_OPTIONS below still halts on any other).
# -ffile-prefix-map: the binaries do not depend on where the tree is (a Bazel
# sandbox's path changes from run to run; __FILE__ strings would move data).
common=(-std=c++17 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all
        -fsanitize-recover=pointer-overflow -I"$root" -ffile-prefix-map="$root"=.
        "${cflags[@]}")

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in "$fuzz_dir"/*_fuzzer.cc; do targets+=("$(basename "$f" .cc)"); done
fi

# Runs "$@" in the background, at most $jobs at a time; `wait_all` collects them.
pids=()
run_bg() {
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n 2>/dev/null || true; done
  "$@" &
  pids+=("$!")
}
wait_all() {
  local failed=0 pid
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  pids=()
  return "$failed"
}

compile() {  # compile SRC OBJ
  "$cxx" "${common[@]}" -fsanitize=fuzzer-no-link,address,undefined -c "$1" -o "$2" \
    2>"$2.log" || { echo "fuzz: compiling $1 failed:" >&2; cat "$2.log" >&2; return 1; }
}

started=$(date +%s)
objects=()
for src in "${project_sources[@]}"; do
  obj="$out/obj/$(echo "$src" | tr / _).o"
  objects+=("$obj")
  run_bg compile "$root/$src" "$obj"
done
for t in "${targets[@]}"; do
  if [ ! -f "$fuzz_dir/$t.cc" ]; then echo "fuzz: no such target $t" >&2; exit 2; fi
  run_bg compile "$fuzz_dir/$t.cc" "$out/obj/$t.o"
done
wait_all || exit 1
link() {  # link TARGET
  "$cxx" -fsanitize=fuzzer,address,undefined "$out/obj/$1.o" "${objects[@]}" \
    "${libs[@]}" -lssl -lcrypto -o "$out/bin/$1" 2>"$out/log/$1.link" ||
    { echo "fuzz: linking $1 failed:" >&2; cat "$out/log/$1.link" >&2; return 1; }
}
for t in "${targets[@]}"; do run_bg link "$t"; done
wait_all || exit 1
echo "fuzz: built ${#targets[@]} targets with $cxx in $(($(date +%s) - started)) s"

max_len() {
  case "$1" in
    leaf_timestamp_fuzzer) echo 64 ;;
    event_pages_fuzzer) echo 1024 ;;
    page_token_fuzzer) echo 2048 ;;
    *) echo 8192 ;;
  esac
}
dict() {
  case "$1" in
    leaf_timestamp_fuzzer) echo timestamp.dict ;;
    leaf_credentials_fuzzer | leaf_events_fuzzer | leaf_login_fuzzer | leaf_problem_fuzzer | \
      leaf_response_fuzzer | untrusted_json_fuzzer) echo leaf_json.dict ;;
  esac
}

# Runs per target in the deterministic mode: about 3 s each on one core with
# ASan and UBSan (the paging walk is a hundred times slower per input than a
# timestamp).
runs() {
  if [ -n "${FUZZ_RUNS:-}" ]; then echo "$FUZZ_RUNS"; return; fi
  case "$1" in
    event_pages_fuzzer) echo 4000 ;;
    page_token_fuzzer | leaf_response_fuzzer) echo 20000 ;;
    leaf_timestamp_fuzzer) echo 200000 ;;
    *) echo 40000 ;;
  esac
}

ignored() {  # ignored FILE: its finding name (up to the first dot) is in FUZZ_IGNORE
  local name
  name="$(basename "$1")"
  name="${name%%.*}"
  case ",${FUZZ_IGNORE:-}," in *",$name,"*) return 0 ;; esac
  return 1
}

# Every target runs in $out with a fixed, minimal environment and relative
# paths: the deterministic mode needs the same addresses every run (libFuzzer
# feeds the operands of comparisons, pointers among them, back into its
# mutations, and Abseil seeds its hashes from an address), and the stack's
# addresses move with the size of argv and the environment (a Bazel sandbox
# path differs from run to run). Address space randomization is off for the
# targets (setarch -R), and they log no warnings (fuzz_util.h: log lines carry
# the time).
cp "$fuzz_dir/ubsan.supp" "$fuzz_dir"/*.dict "$out/"
sanitizer_env=(PATH="/usr/lib/llvm-14/bin:/usr/bin:/bin"
               ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=ubsan.supp")
if [ -n "${FUZZ_IGNORE:-}" ]; then sanitizer_env+=(FUZZ_IGNORE="$FUZZ_IGNORE"); fi
no_aslr=()
if [ "$open_ended" = 0 ]; then
  sanitizer_env+=(FUZZ_DETERMINISTIC=1)
  if setarch "$(uname -m)" -R true 2>/dev/null; then
    no_aslr=(setarch "$(uname -m)" -R)
  else
    echo "fuzz: warning: setarch -R refused here; runs may differ slightly between runs" >&2
  fi
fi

# The first report in a libFuzzer log: a failed invariant and its detail
# line, else the sanitizer's or libFuzzer's error line.
first_report() {
  if grep -q 'FUZZ INVARIANT FAILED' "$1"; then
    grep -m1 -A1 'FUZZ INVARIANT FAILED' "$1" | cut -c1-300
  else
    grep -m1 -E 'ERROR: |SUMMARY: ' "$1" | cut -c1-300
  fi | sed -e "s|$fuzz_dir/||g"
}

fuzz() {  # fuzz TARGET; what it finds goes to $out/log/TARGET.findings
  local t="$1" corpus="$out/corpus/$1" d f name log rc=0
  local report="$out/log/$t.findings"
  : >"$report"
  # Past findings first, one process each (a crash ends the process).
  if [ -d "$fuzz_dir/regressions/$t" ]; then
    for f in "$fuzz_dir/regressions/$t"/*; do
      [ -f "$f" ] && ! ignored "$f" || continue
      name="$(basename "$f")"
      log="$out/log/$t.regression.$name.log"
      if ! (cd "$out" && env -i "${sanitizer_env[@]}" "${no_aslr[@]}" "./bin/$t" \
        -rss_limit_mb=2048 -timeout=10 "$f") >"$log" 2>&1; then
        rc=1
        { echo "regression input regressions/$t/$name fails again:"; first_report "$log"; } \
          >>"$report"
      fi
    done
  fi
  mkdir -p "$corpus"
  if [ -d "$fuzz_dir/corpus/$t" ]; then cp -L "$fuzz_dir/corpus/$t"/* "$corpus"/ 2>/dev/null; fi
  # Past findings seed the mutations too (libFuzzer cuts them at -max_len).
  for f in "$fuzz_dir/regressions/$t"/*; do
    [ -f "$f" ] && ! ignored "$f" && cp -L "$f" "$corpus/regression-$(basename "$f")"
  done 2>/dev/null
  chmod -R u+w "$corpus"
  local args=(-max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="findings/$t-")
  if [ "$open_ended" = 1 ]; then
    args+=(-max_total_time="$seconds")
  else
    # Same seed, same corpus, same run count: the same inputs every time.
    # -reload=0: no time-driven re-reading of the corpus folder.
    args+=(-runs="$(runs "$t")" -seed="$seed" -reload=0)
  fi
  d="$(dict "$t")"
  if [ -n "$d" ]; then args+=(-dict="$d"); fi
  log="$out/log/$t.log"
  if ! (cd "$out" && env -i "${sanitizer_env[@]}" "${no_aslr[@]}" "./bin/$t" "${args[@]}" \
    "corpus/$t") >"$log" 2>&1; then
    rc=1
    {
      echo "fuzzing found:"
      first_report "$log"
      grep -o 'Test unit written to .*' "$log" | head -n1 | sed "s|written to |written to $out/|"
    } >>"$report"
  fi
  return "$rc"
}

mode_text() {
  if [ "$open_ended" = 1 ]; then echo "${seconds} s (open-ended)"; else echo "seed $seed"; fi
}

pids=()
names=()
for t in "${targets[@]}"; do
  run_bg fuzz "$t"
  names+=("$t")
done
# Collect each target's result.
findings=0
for i in "${!pids[@]}"; do
  t="${names[$i]}"
  if wait "${pids[$i]}"; then result="ok"; else result="FINDING"; findings=$((findings + 1)); fi
  log="$out/log/$t.log"
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n1 | grep -o 'cov: [0-9]* ft: [0-9]*' || true)
  units=$(find "$out/corpus/$t" -type f | wc -l)
  echo "fuzz: $t: $result, ${runs:-?} runs ($(mode_text)), ${last:-cov: ? ft: ?}, corpus $units"
  if [ "$result" != "ok" ]; then
    sed 's/^/fuzz:   /' "$out/log/$t.findings"
    if [ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]; then
      cp "$out/log/$t".* "$TEST_UNDECLARED_OUTPUTS_DIR"/ 2>/dev/null
      cp "$out/findings/$t"-* "$TEST_UNDECLARED_OUTPUTS_DIR"/ 2>/dev/null
    else
      echo "fuzz:   logs: $out/log/$t.*"
    fi
  fi
done
pids=()

echo "fuzz: ${#targets[@]} targets, $(mode_text) each, ${findings} with findings"
if [ "$findings" -gt 0 ]; then
  if [ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]; then
    echo "fuzz: logs and inputs are in bazel-testlogs/tests/fuzz/fuzz_test/test.outputs/outputs.zip"
  else
    echo "fuzz: binaries, logs and findings are in $out"
  fi
  exit 1
fi
[ "$keep" = 1 ] || rm -rf "$out"
exit 0
