#!/usr/bin/env bash
# Builds and starts the AgLeaderCredentials service on 127.0.0.1:50051 (or
# AGLEADER_LISTEN / --listen). With real Leaf credentials configured
# (AGLEADER_LEAF_TOKEN, or AGLEADER_LEAF_USERNAME + AGLEADER_LEAF_PASSWORD) it
# talks to AGLEADER_LEAF_API_URL (default https://api.withleaf.io); otherwise
# it starts the bundled Leaf emulator on 127.0.0.1:${LEAF_EMULATOR_PORT:-8080}
# and uses that. Extra arguments are passed to the server. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bazel build -c opt //server:agleader_credentials_server //emulator:leaf_emulator \
  //client:agleader_client
server=bazel-bin/server/agleader_credentials_server

if [ -n "${AGLEADER_LEAF_TOKEN:-}" ] || [ -n "${AGLEADER_LEAF_USERNAME:-}" ]; then
  echo "run: using the real Leaf API at ${AGLEADER_LEAF_API_URL:-https://api.withleaf.io}" >&2
  exec "$server" "$@"
fi

port="${LEAF_EMULATOR_PORT:-8080}"
token="local-emulator-token"
# Leaf's request limit, as Leaf enforces it (about 1,000 a minute per API
# owner); LEAF_EMULATOR_RATE_LIMIT_PER_MINUTE=0 turns it off.
rate_limit="${LEAF_EMULATOR_RATE_LIMIT_PER_MINUTE:-1000}"
# Connect links (docs/connect.md) against the emulator's AgFiniti: an
# application, the pages on 127.0.0.1:${CONNECT_PORT:-8090}, one grower.
connect_port="${CONNECT_PORT:-8090}"
connect_url="http://127.0.0.1:${connect_port}"
app_key="local-agleader-app"
key_file="$(mktemp)"
openssl rand -hex 24 >"$key_file"
bazel-bin/emulator/leaf_emulator --port="$port" --token="$token" \
  --account=dev@example.com:dev-password --rate_limit_per_minute="$rate_limit" \
  --agfiniti_app="${app_key}:$(cat "$key_file")" --agfiniti_app_name="Local example app" \
  --agfiniti_redirect_uri="${connect_url}/agleader/callback" \
  --agfiniti_grower=grower@example.com:grower-password &
emulator_pid=$!
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
  rm -f "$key_file"
  true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$emulator_pid" 2>/dev/null || { echo "run: the emulator did not start" >&2; exit 1; }
  sleep 0.1
done

cat >&2 <<MSG
run: Leaf emulator on http://127.0.0.1:$port (token $token); starting the service.
run: the emulator enforces Leaf's request limit: $rate_limit requests per minute per API owner
     (0: off; LEAF_EMULATOR_RATE_LIMIT_PER_MINUTE to change), answering 429 over it as Leaf does;
     GET http://127.0.0.1:$port/_emulator/stats shows rate_limited_count.
run: try, from another terminal:
  bazel-bin/client/agleader_client create --leaf_user_id 3fa85f64-5717-4562-b3fc-2c963f66afa6 \\
      --public_key my-public-key --refresh_token my-refresh-token --private_key my-private-key
  bazel-bin/client/agleader_client get --leaf_user_id 3fa85f64-5717-4562-b3fc-2c963f66afa6
run: connect links: the emulator plays AgFiniti (grower grower@example.com, password
     grower-password); make a link and open it in a browser:
  bazel-bin/client/agleader_client connect --leaf_user_id 3fa85f64-5717-4562-b3fc-2c963f66afa6
MSG
AGLEADER_LEAF_API_URL="http://127.0.0.1:$port" AGLEADER_LEAF_TOKEN="$token" \
  "$server" --agleader_public_key="$app_key" --agleader_private_key_file="$key_file" \
  --agfiniti_authorize_url="http://127.0.0.1:$port/agfiniti/Account/Authorize" \
  --agfiniti_token_url="http://127.0.0.1:$port/agfiniti/api/token" \
  --connect_public_url="$connect_url" --connect_listen="127.0.0.1:${connect_port}" \
  --connect_display_name="Local example app" "$@" &
server_pid=$!
wait "$server_pid"
