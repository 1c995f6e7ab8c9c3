#!/usr/bin/env bash
# Runs the Leaf client, transport, service and integration tests (plus the
# config's own check, tests/tsan) under ThreadSanitizer (bazel test
# --config=tsan, see docs/tsan.md) and prints, per test target, its result
# and its TSan reports split into those whose racing accesses are in project
# code and those entirely in library code (gRPC's inline headers, libstdc++).
# Exits with Bazel's exit code. Extra arguments go to `bazel test`.
#
# Not part of scripts/test.sh: it builds a second configuration of the tree
# (about 6 minutes cold on 2 cores; the tests then take about 20 s).
set -uo pipefail
cd "$(dirname "$0")/.."

targets=(//tests/leaf/... //tests/http/... //tests/httpd/... //tests/alerts/... //tests/watch/...
         //tests/integration/... //tests/server/... //tests/edge/... //tests/operations/... //tests/budget/... //tests/providers/...
         //tests/observability/... //tests/secrets/... //tests/platform/... //tests/config/... //tests/text/... //tests/errors/... //tests/fleet/... //tests/connect/... //tests/tsan:tsan_config_test)
started=$(date +%s)
bazel test --config=tsan -k "${targets[@]}" "$@"
rc=$?
echo "tsan: bazel test took $(($(date +%s) - started)) s"

testlogs="$(bazel info --config=tsan bazel-testlogs 2>/dev/null)"
mapfile -t tests < <(bazel query "tests(set(${targets[*]}))" 2>/dev/null)
python3 - "$testlogs" "${tests[@]}" <<'PY'
import os, re, sys

testlogs, targets = sys.argv[1], sys.argv[2:]
project_dirs = ("server/", "tests/", "emulator/", "client/", "bench/")
frame_re = re.compile(r"^\s+#\d+ (.*?) (\S+?):(\d+)(?::\d+)? \(")

def first_own_frame(stack):
    """File and function of the first frame that is neither TSan's, the
    shim's nor a standard-library header: where the access really is."""
    for line in stack:
        m = frame_re.match(line)
        if not m:
            continue
        func, path = m.group(1), m.group(2).replace("/proc/self/cwd/", "")
        if "/include/c++/" in path or path.startswith("bazel/tsan/"):
            continue
        return path, func
    return None, None

total_project = 0
for target in targets:
    log = os.path.join(testlogs, target.lstrip("/").replace(":", "/"), "test.log")
    if not os.path.exists(log):
        print(f"tsan: {target}: NOT RUN")
        total_project += 1
        continue
    text = open(log, errors="replace").read()
    passed = "test.exited_prematurely" not in text and re.search(r"^\[  FAILED  \]", text, re.M) is None
    reports = [r for r in text.split("==================\n") if "WARNING: ThreadSanitizer" in r]
    project, library = [], []
    for rep in reports:
        stacks, cur = [], None
        for line in rep.splitlines():
            if re.match(r"^  (Read|Write|Atomic|Previous|Mutex|Thread|Location|Lock|Unlock)", line):
                cur = [] if re.match(r"^  (Read|Write|Atomic|Previous)", line) else None
                if cur is not None:
                    stacks.append(cur)
            elif cur is not None:
                cur.append(line)
        where = [first_own_frame(s) for s in stacks] or [(None, None)]
        kind = re.search(r"WARNING: ThreadSanitizer: ([^(]*)", rep).group(1).strip()
        summary = "; ".join(f"{f} ({p})" for p, f in where if p)
        if any(p and p.startswith(project_dirs) for p, _ in where) or not stacks:
            project.append(f"{kind}: {summary or rep.splitlines()[0]}")
        else:
            library.append(kind)
    state = "ok" if not reports and "PASSED" in text else ("FAILED" if reports or not passed else "ok")
    print(f"tsan: {target}: {state}, {len(project)} report(s) in project code, "
          f"{len(library)} in library code only")
    for p in sorted(set(project)):
        print(f"tsan:   {p[:400]}")
    total_project += len(project)
print(f"tsan: {total_project} report(s) in project code")
PY
exit "$rc"
