# Sourced by the tests in this folder: starts the Leaf emulator binary and the
# server binary on free loopback ports, exports AGLEADER_TARGET (host:port of
# the gRPC server) and LEAF_EMULATOR_URL, and stops both (and anything else
# this shell started) when the test exits, however it exits.
#
# Expects to run under `bazel test` (RUNFILES_DIR / TEST_SRCDIR and
# TEST_TMPDIR set); the caller lists //emulator:leaf_emulator and
# //server:agleader_credentials_server in its data.

set -euo pipefail

readonly HARNESS_TOKEN="polyglot-test-token"
# For a stack started with --api_keys="${HARNESS_API_KEY}".
readonly HARNESS_API_KEY="polyglot-api-key-0123456789"
RUNFILES="${RUNFILES_DIR:-${TEST_SRCDIR:-$0.runfiles}}"
WS="${RUNFILES}/${TEST_WORKSPACE:-leaf_agleader_credentials}"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
HARNESS_PIDS=()

harness_cleanup() {
  local pid
  for pid in "${HARNESS_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${HARNESS_PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
}
trap harness_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# The real source directory of a workspace file, found through its runfile
# symlink (node_modules lives there, next to the lockfile, not in runfiles).
source_dir_of() {
  dirname "$(readlink -f "${WS}/$1")"
}

# wait_for_line FILE PREFIX PID: waits up to 20 s for a line starting with
# PREFIX in FILE; prints the rest of that line. Fails early if PID dies.
wait_for_line() {
  local file="$1" prefix="$2" pid="$3" line
  for _ in $(seq 1 200); do
    line="$(grep -m1 "^${prefix}" "$file" 2>/dev/null || true)"
    if [ -n "$line" ]; then
      printf '%s\n' "${line#"$prefix"}"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "harness: process $pid exited before printing '${prefix}'" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "harness: timed out waiting for '${prefix}' in ${file}" >&2
  return 1
}

# start_stack [SERVER_FLAG...]: emulator + server (each call a new pair, with
# its own logs); sets and exports LEAF_EMULATOR_URL and AGLEADER_TARGET.
STACK_DIRS=()
start_stack() {
  local dir="${TMP}/stack${#STACK_DIRS[@]}"
  mkdir -p "$dir"
  STACK_DIRS+=("$dir")
  "${WS}/emulator/leaf_emulator" --port=0 --token="${HARNESS_TOKEN}" \
    >"${dir}/emulator.out" 2>"${dir}/emulator.err" &
  HARNESS_PIDS+=("$!")
  LEAF_EMULATOR_URL="$(wait_for_line "${dir}/emulator.out" 'leaf_emulator listening on ' "$!")" || {
    cat "${dir}/emulator.err" >&2
    return 1
  }

  AGLEADER_LEAF_TOKEN="${HARNESS_TOKEN}" "${WS}/server/agleader_credentials_server" \
    --listen=127.0.0.1:0 --leaf_api_url="${LEAF_EMULATOR_URL}" "$@" \
    >"${dir}/server.out" 2>"${dir}/server.err" &
  HARNESS_PIDS+=("$!")
  AGLEADER_TARGET="$(wait_for_line "${dir}/server.out" 'agleader_credentials_server listening on ' "$!")" || {
    cat "${dir}/server.err" >&2
    return 1
  }
  export LEAF_EMULATOR_URL AGLEADER_TARGET
  echo "harness: emulator ${LEAF_EMULATOR_URL}, server ${AGLEADER_TARGET}" >&2
}

# No server log may contain the Leaf token or the API key the harness gave it.
assert_server_log_has_no_secret() {
  local dir
  for dir in "${STACK_DIRS[@]}"; do
    if grep -q -e "${HARNESS_TOKEN}" -e "${HARNESS_API_KEY}" "${dir}/server.err" "${dir}/server.out"; then
      echo "FAIL: the server log ${dir}/server.err contains a secret" >&2
      return 1
    fi
  done
}
