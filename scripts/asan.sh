#!/usr/bin/env bash
# Runs the shutdown lifetimes test (the real service torn down with a login,
# a prompted watch read and large bodies in flight), the unit tests of the
# objects it tears down, and the HTTP door's hostile-peer tests under AddressSanitizer + UndefinedBehaviorSanitizer
# (bazel test --config=asan, see .bazelrc and docs/development.md). A use
# after free, overflow or undefined behaviour fails the test that hit it.
# Exits with Bazel's exit code; extra arguments go to `bazel test`.
#
# Not part of scripts/test.sh: it builds a second configuration of the tree.
set -uo pipefail
cd "$(dirname "$0")/.."

targets=(
  //tests/integration:shutdown_lifetimes_test
  //tests/alerts:webhook_registrar_test
  //tests/leaf:completion_pool_test
  //tests/leaf:leaf_client_test
  //tests/leaf:login_policy_test
  //tests/leaf:token_source_test
  //tests/secrets:redact_test
  //tests/http:response_reader_test
  //tests/http:http_client_test
  //tests/http:curl_http_client_test
  //tests/http:curl_socket_driver_test
  //tests/http:curl_http_client_stress_test
  //tests/http:idle_connection_test
  //tests/config:config_test
  //tests/operations:user_listing_test
  //tests/httpd:http_server_test
  //tests/httpd:connection_table_test
  //tests/alerts:alert_listener_test
  //tests/watch:poller_test
  //tests/watch:stream_queue_test
  //tests/watch:polling_watch_hub_test
  //tests/watch:polling_watch_hub_interleaving_test
  //tests/watch:alert_bus_test
  //tests/platform:scheduler_test
  //tests/json:untrusted_json_test
  //tests/httpd:http_server_async_test
  //tests/connect:connect_pages_test
  //tests/connect:connect_service_test
  //tests/connect:connect_service_callback_test
  //tests/connect:agfiniti_token_client_test
  //tests/connect:memory_link_store_test
  //tests/connect:redis_link_store_test
)
started=$(date +%s)
bazel test --config=asan -k "${targets[@]}" "$@"
rc=$?
echo "asan: bazel test took $(($(date +%s) - started)) s (exit $rc)"
# Where --platform_suffix=asan puts them (bazel info would wait for the lock).
testlogs="bazel-out/k8-fastbuildasan/testlogs"
for t in "${targets[@]}"; do
  log="$testlogs/$(echo "${t#//}" | tr ':' '/')/test.log"
  if [[ ! -f "$log" ]]; then
    echo "asan: $t: NOT RUN"
  elif grep -qE "ERROR: AddressSanitizer|runtime error:" "$log"; then
    echo "asan: $t: REPORT"
    grep -E -m3 -A3 "ERROR: AddressSanitizer|runtime error:" "$log" | sed 's/^/asan:   /'
  else
    echo "asan: $t: no report"
  fi
done
exit "$rc"
