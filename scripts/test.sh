#!/usr/bin/env bash
# Runs every test (bazel test //...) and ends with one line "N passed, N failed"
# counting test cases from the JUnit XML of every test target. Exits with
# Bazel's exit code. Extra arguments go to `bazel test`.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || exit 1

bazel test //... "$@"
rc=$?

passed=0
failed=0
# Manual tests (e.g. //tests/tsan) are not run by `bazel test //...`.
for target in $(bazel query 'tests(//...) except attr(tags, "manual", //...)' 2>/dev/null); do
  path="${target#//}"
  xml="bazel-testlogs/${path/://}/test.xml"
  if [ ! -f "$xml" ]; then
    # Not run (e.g. the build failed): count the target as one failure.
    failed=$((failed + 1))
    continue
  fi
  # The first <testsuites ...> (or, for Bazel's own fallback XML, <testsuite ...>)
  # tag carries the totals.
  tag=$(grep -o -m1 '<testsuites [^>]*>' "$xml" || grep -o -m1 '<testsuite [^>]*>' "$xml")
  attr() { printf '%s' "$tag" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' | head -n1; }
  tests=$(attr tests); failures=$(attr failures); errors=$(attr errors); disabled=$(attr disabled)
  tests=${tests:-0}; failures=${failures:-0}; errors=${errors:-0}; disabled=${disabled:-0}
  bad=$((failures + errors))
  if [ "$tests" -eq 0 ] && [ "$bad" -eq 0 ]; then
    # A target that produced no cases: trust its overall result.
    if grep -q '<failure' "$xml"; then bad=1; fi
  fi
  good=$((tests - bad - disabled))
  [ "$good" -lt 0 ] && good=0
  passed=$((passed + good))
  failed=$((failed + bad))
done

if [ "${CI:-}" = "true" ]; then
  bazel shutdown >/dev/null 2>&1 || true
fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # Bazel failed (e.g. a build error) though no test case did
fi
echo "${passed} passed, ${failed} failed"
exit "$rc"
