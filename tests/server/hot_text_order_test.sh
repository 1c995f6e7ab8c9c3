#!/usr/bin/env bash
# The server binary is linked with the functions of server/hot_text.order
# first in .text (docs/performance.md, "Hot code first"): checks that lld
# linked it, that the list still names the code (at least 80% of its names are
# functions of this build; else run `bash bench/text_order.sh`), and that the
# listed functions do sit together at the start of .text (in archive order
# they spread over all of it).
set -euo pipefail
server="$TEST_SRCDIR/$TEST_WORKSPACE/server/agleader_credentials_server"
order="$TEST_SRCDIR/$TEST_WORKSPACE/server/hot_text.order"

if ! readelf -p .comment "$server" | grep -q "LLD"; then
  echo "FAIL: the server was not linked by lld (its .comment has no 'LLD'): the hot-code ordering did not apply; install lld (bash scripts/setup.sh), then run bazel sync --configure" >&2
  exit 1
fi

if [ "${GRPC_LINK:-}" = "shared" ]; then
  echo "gRPC, protobuf and abseil are linked shared in this build (a sanitizer build): only the linker is checked"
  exit 0
fi

python3 - "$server" "$order" <<'PY'
import subprocess, sys
server, order = sys.argv[1], sys.argv[2]
addr = {}
for line in subprocess.run(["nm", "--defined-only", server], capture_output=True, text=True,
                           check=True).stdout.splitlines():
    p = line.split()
    if len(p) == 3 and p[1] in "tTwW":
        addr[p[2]] = int(p[0], 16)
text = None
for line in subprocess.run(["readelf", "-SW", server], capture_output=True, text=True,
                           check=True).stdout.splitlines():
    if "] .text " in line:
        f = line.split("]", 1)[1].split()
        text = (int(f[2], 16), int(f[4], 16))
assert text, "no .text section in the server binary"
want = [l.strip() for l in open(order) if l.strip() and not l.startswith("#")]
have = [addr[s] - text[0] for s in want if s in addr]
present = len(have) / len(want) if want else 0.0
print(f"{len(have)} of {len(want)} listed functions are in this build ({present:.1%})")
failed = False
if len(want) < 1000 or present < 0.80:
    print("FAIL: server/hot_text.order no longer names this code: run `bash bench/text_order.sh`")
    failed = True
if have:
    have.sort()
    # The list's functions must lie together at the start of .text: the
    # farthest one within the first 70% (archive order spreads them over
    # all of it, 0.99 without the ordering).
    span = have[-1] / text[1]
    print(f"the listed functions span the first {span:.1%} of .text ({text[1] >> 10} KB)")
    if span > 0.70:
        print("FAIL: the listed functions are not grouped at the start of .text")
        failed = True
sys.exit(1 if failed else 0)
PY
