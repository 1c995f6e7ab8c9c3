# Sourced after harness.sh: locates client/node/node_modules (in the source
# tree, installed by scripts/setup.sh with `npm ci`) and node.

NODE_DIR="$(source_dir_of client/node/package-lock.json)"
if [ ! -d "${NODE_DIR}/node_modules/@grpc/grpc-js" ]; then
  echo "FAIL: ${NODE_DIR}/node_modules is missing: run scripts/setup.sh (npm ci --prefix client/node)" >&2
  exit 1
fi
NODE="$(command -v node || command -v nodejs)"
BUF="${NODE_DIR}/node_modules/.bin/buf"

# run_node_tests FILE...: node --test, in the background so that a TERM from
# Bazel reaches the traps; under Node >= 20.13 (or >= 21.3) also writes JUnit
# XML to $XML_OUTPUT_FILE, so scripts/test.sh counts each case.
run_node_tests() {
  local reporters=()
  if [ -n "${XML_OUTPUT_FILE:-}" ] && "$NODE" -e '
      const [a, b] = process.versions.node.split(".").map(Number);
      process.exit(a > 21 || (a === 21 && b >= 3) || (a === 20 && b >= 13) ? 0 : 1)'; then
    reporters=(--test-reporter=spec --test-reporter-destination=stdout
               --test-reporter=junit --test-reporter-destination="${XML_OUTPUT_FILE}")
  fi
  "$NODE" --test "${reporters[@]}" "$@" &
  HARNESS_PIDS+=("$!")
  wait $! || return 1
  if [ "${#reporters[@]}" -gt 0 ]; then
    # Node's <testsuites> carries no totals; scripts/test.sh reads them there.
    "$NODE" -e '
      const fs = require("fs");
      const file = process.argv[1];
      const xml = fs.readFileSync(file, "utf8");
      const count = (re) => (xml.match(re) || []).length;
      const totals = `tests="${count(/<testcase\b/g)}" failures="${count(/<failure\b/g)}" ` +
          `errors="0" disabled="${count(/<skipped\b/g)}"`;
      fs.writeFileSync(file, xml.replace(/<testsuites>/, `<testsuites ${totals}>`));
    ' "${XML_OUTPUT_FILE}"
  fi
}
