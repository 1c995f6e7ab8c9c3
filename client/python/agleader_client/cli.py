"""agleader-client: the command line of the Python client of leaf.agleader.v1.AgLeaderCredentials.

  agleader-client [--server HOST:PORT] [--timeout S] [--service_config FILE]
                  [--tls] [--ca_file PEM] [--cert_file PEM --key_file PEM] [--server_name N]
                  [--api_key_file FILE | --api_key KEY] COMMAND ...
    create --leaf_user_id ID --public_key K   secrets from $AGLEADER_CLIENT_REFRESH_TOKEN,
                                              $AGLEADER_CLIENT_PRIVATE_KEY (and optionally
                                              $AGLEADER_CLIENT_ACCESS_TOKEN), or the flags
    get    --leaf_user_id ID [--view basic|full]
    events --leaf_user_id ID [--page_size N] [--page_token T] [--all]
    delete --leaf_user_id ID [--allow_missing]
    list   [--page_size N] [--page_token T] [--all] [--status S ...] [--view basic|full]
    batch-get --leaf_user_id ID [--leaf_user_id ID ...] [--view basic|full]
    watch  --leaf_user_id ID [--leaf_user_id ID ...] [--view basic|full]
           [--resume_token T] [--max_rewatch_attempts N]   one JSON object per line
    audit  [--users FILE|-] [--csv] [--chunk_size N] [--max_rate_limited_waits N]
           [--links [--return_url URL] [--ttl 7d]]         exit 3: some must re-authorize
    connect --leaf_user_id ID [--return_url URL] [--ttl 7d] [--qr]
    get-link --name connectLinks/ID [--qr]

The command names and flags are the C++ client's; list and batch-get are this
client's own (ListCredentials, BatchGetCredentials). --qr needs the optional qrcode
module (python3-qrcode); without it the URL is printed alone.

The connection flags are those of the C++ client, with the same environment
variables (AGLEADER_CLIENT_TLS, AGLEADER_CLIENT_TLS_CA_FILE, AGLEADER_CLIENT_CERT_FILE,
AGLEADER_CLIENT_KEY_FILE, AGLEADER_CLIENT_SERVER_NAME, AGLEADER_CLIENT_API_KEY_FILE,
AGLEADER_CLIENT_API_KEY). API key, highest precedence first: --api_key; --api_key_file;
$AGLEADER_CLIENT_API_KEY. It is sent as "authorization: Bearer <key>" and never printed.

Responses are printed as canonical proto3 JSON (camelCase, RFC 3339 timestamps, enum
names, no default values), like grpcurl and the C++ client's --json. On an error it
prints "error: CODE (n): message" and the decoded ErrorInfo to stderr and exits 1;
a usage error exits 2.
"""

import argparse
import datetime
import json
import os
import re
import sys

from google.protobuf import json_format

from agleader_client import (
    AgLeaderClient,
    AgLeaderError,
    pb,
    read_api_key_file,
    tls_credentials,
)
from agleader_client import qr
from agleader_client.audit import Audit

VIEWS = {"basic": pb.CREDENTIALS_VIEW_BASIC, "full": pb.CREDENTIALS_VIEW_FULL}
_TRUE = ("1", "true", "yes", "on")


def _print(message):
    print(json_format.MessageToJson(message, indent=2))


def _print_line(message):
    print(json.dumps(json_format.MessageToDict(message), separators=(",", ":")), flush=True)


def parse_ttl(text):
    """--ttl as the C++ client reads it: days ("7d") or h/m/s ("36h", "90m"), 1m to 30d."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(d|h|m|s)", text or "")
    if not match:
        raise argparse.ArgumentTypeError(f"--ttl={text!r} is not a duration: e.g. 7d, 36h or 90m")
    unit = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[match.group(2)]
    ttl = datetime.timedelta(**{unit: float(match.group(1))})
    if not datetime.timedelta(minutes=1) <= ttl <= datetime.timedelta(days=30):
        raise argparse.ArgumentTypeError(f"--ttl={text} is out of range: 1m to 30d")
    return ttl


def _name(text):
    if not text.startswith("connectLinks/") or text == "connectLinks/":
        raise argparse.ArgumentTypeError("--name must be connectLinks/ID, as connect printed it")
    return text


def _secret(flag_value, env_name):
    return flag_value if flag_value is not None else os.environ.get(env_name, "")


def _parser():
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="agleader-client",
        description="Python client of leaf.agleader.v1.AgLeaderCredentials",
        epilog="API key, highest precedence first: --api_key; --api_key_file; "
        "$AGLEADER_CLIENT_API_KEY. It is never printed.",
    )
    parser.add_argument("--server", default=env("AGLEADER_CLIENT_SERVER", "127.0.0.1:50051"))
    parser.add_argument(
        "--timeout", type=float, default=float(env("AGLEADER_CLIENT_TIMEOUT", "10")), help="seconds"
    )
    parser.add_argument(
        "--service_config",
        help="gRPC service config JSON file (default: the one shipped in the package, "
        'retrying Get/List/Delete on UNAVAILABLE; "none" for none)',
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        default=env("AGLEADER_CLIENT_TLS", "").lower() in _TRUE,
        help="connect with TLS, verifying the server's certificate (against --ca_file, else "
        "gRPC's default roots); implied by --ca_file, --cert_file, --key_file, --server_name",
    )
    parser.add_argument(
        "--ca_file",
        default=env("AGLEADER_CLIENT_TLS_CA_FILE"),
        help="PEM CA bundle that signed the server's certificate (TLS)",
    )
    parser.add_argument(
        "--cert_file",
        default=env("AGLEADER_CLIENT_CERT_FILE"),
        help="PEM client certificate chain for mutual TLS (with --key_file)",
    )
    parser.add_argument(
        "--key_file",
        default=env("AGLEADER_CLIENT_KEY_FILE"),
        help="PEM private key of --cert_file (mutual TLS)",
    )
    parser.add_argument(
        "--server_name",
        default=env("AGLEADER_CLIENT_SERVER_NAME"),
        help="name the server's certificate must carry, instead of the host of --server",
    )
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument(
        "--api_key",
        help='API key sent as "authorization: Bearer <key>" (secret; prefer --api_key_file '
        "or $AGLEADER_CLIENT_API_KEY)",
    )
    keys.add_argument(
        "--api_key_file",
        default=env("AGLEADER_CLIENT_API_KEY_FILE"),
        help="read the API key from this file: its one line that is not blank or a # comment",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="audit: JSON lines instead of the table (every other command prints JSON)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    create = commands.add_parser("create")
    create.add_argument("--leaf_user_id", required=True)
    create.add_argument("--public_key", required=True)
    create.add_argument("--refresh_token", help="prefer $AGLEADER_CLIENT_REFRESH_TOKEN")
    create.add_argument("--private_key", help="prefer $AGLEADER_CLIENT_PRIVATE_KEY")
    create.add_argument("--access_token", help="prefer $AGLEADER_CLIENT_ACCESS_TOKEN")
    create.add_argument("--view", choices=VIEWS, default="basic")

    get = commands.add_parser("get")
    get.add_argument("--leaf_user_id", required=True)
    get.add_argument("--view", choices=VIEWS, default="basic")

    events = commands.add_parser("events")
    events.add_argument("--leaf_user_id", required=True)
    events.add_argument("--page_size", type=int, default=0)
    events.add_argument("--page_token", default="")
    events.add_argument("--all", action="store_true", help="follow next_page_token to the end")

    delete = commands.add_parser("delete")
    delete.add_argument("--leaf_user_id", required=True)
    delete.add_argument("--allow_missing", action="store_true")

    listing = commands.add_parser("list")
    listing.add_argument("--page_size", type=int, default=0)
    listing.add_argument("--page_token", default="")
    listing.add_argument("--all", action="store_true", help="follow next_page_token to the end")
    listing.add_argument(
        "--status",
        action="append",
        default=[],
        choices=["OK", "UNAUTHENTICATED", "MISSING_PERMISSION", "TEMPORARILY_UNAVAILABLE"],
        help="only credentials of this status; repeat for more",
    )
    listing.add_argument("--view", choices=VIEWS, default="basic")

    batch = commands.add_parser("batch-get")
    batch.add_argument("--leaf_user_id", action="append", required=True, help="repeat, 1 to 500")
    batch.add_argument("--view", choices=VIEWS, default="basic")

    watch = commands.add_parser("watch")
    watch.add_argument("--leaf_user_id", action="append", required=True, help="repeat, up to 100")
    watch.add_argument("--view", choices=VIEWS, default="basic")
    watch.add_argument("--resume_token", default="")
    watch.add_argument(
        "--max_rewatch_attempts",
        type=int,
        default=-1,
        help="re-watches in a row after streams that brought no change; -1: for ever",
    )

    audit = commands.add_parser("audit")
    audit.add_argument("--users", help="file of Leaf user ids, one a line (- for stdin)")
    audit.add_argument("--csv", action="store_true")
    audit.add_argument("--chunk_size", type=int, default=100, help="1 to 500")
    audit.add_argument("--max_rate_limited_waits", type=int, default=30)
    audit.add_argument("--links", action="store_true", help="a connect link per user to re-authorize")
    audit.add_argument("--return_url", default="")
    audit.add_argument("--ttl", type=parse_ttl)

    link = commands.add_parser(
        "connect",
        epilog="--qr draws the QR code with the optional qrcode module (python3-qrcode); "
        "without it only the URL is printed.",
    )
    link.add_argument("--leaf_user_id", required=True)
    link.add_argument("--return_url", default="")
    link.add_argument("--ttl", type=parse_ttl, help="1m to 30d, e.g. 7d; default: the server's")
    link.add_argument("--qr", action="store_true", help="also print the URL as a QR code")

    get_link = commands.add_parser("get-link")
    get_link.add_argument("--name", type=_name, required=True)
    get_link.add_argument("--qr", action="store_true", help="also print the URL as a QR code")
    return parser


def _read_users(path):
    """One id a line, blank lines and # comments skipped, as the C++ client's --users."""
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
    with stream:
        return [l.strip() for l in stream if l.strip() and not l.strip().startswith("#")]


def _print_link(link, draw_qr):
    _print(link)
    if draw_qr:
        drawing = qr.render(link.url)
        if drawing is None:
            print(f"(no QR code: the qrcode module is not installed) {link.url}", file=sys.stderr)
        else:
            print(f"\n{drawing}scan to open {link.url}", file=sys.stderr)


def _api_key(args):
    if args.api_key is not None:
        key = args.api_key
    elif args.api_key_file:
        key = read_api_key_file(args.api_key_file)
    else:
        key = os.environ.get("AGLEADER_CLIENT_API_KEY", "")
    if any(not 0x21 <= ord(c) <= 0x7E for c in key):
        raise ValueError("the API key must be printable ASCII without spaces")
    return key


def connect(args):
    """The client the connection flags describe; ValueError for a bad flag or file."""
    credentials = None
    if args.tls or args.ca_file or args.cert_file or args.key_file or args.server_name:
        credentials = tls_credentials(args.ca_file, args.cert_file, args.key_file)
    return AgLeaderClient(
        args.server,
        args.timeout,
        args.service_config,
        credentials=credentials,
        api_key=_api_key(args),
        server_name=args.server_name,
    )


def run(args, client):
    if args.command == "create":
        _print(
            client.create_credentials(
                args.leaf_user_id,
                refresh_token=_secret(args.refresh_token, "AGLEADER_CLIENT_REFRESH_TOKEN"),
                public_key=args.public_key,
                private_key=_secret(args.private_key, "AGLEADER_CLIENT_PRIVATE_KEY"),
                access_token=_secret(args.access_token, "AGLEADER_CLIENT_ACCESS_TOKEN"),
                view=VIEWS[args.view],
            )
        )
    elif args.command == "get":
        _print(client.get_credentials(args.leaf_user_id, VIEWS[args.view]))
    elif args.command == "events":
        if args.all:
            page = pb.ListCredentialEventsResponse(
                events=list(client.iter_credential_events(args.leaf_user_id, args.page_size))
            )
        else:
            page = client.list_credential_events(args.leaf_user_id, args.page_size, args.page_token)
        _print(page)
    elif args.command == "delete":
        client.delete_credentials(args.leaf_user_id, args.allow_missing)
        print("{}")
    elif args.command == "list":
        statuses = [pb.CredentialStatus.Value("CREDENTIAL_STATUS_" + s) for s in args.status]
        if args.all:
            page = pb.ListCredentialsResponse(
                credentials=list(
                    client.iter_credentials(args.page_size, statuses, VIEWS[args.view])
                )
            )
        else:
            page = client.list_credentials(
                args.page_size, args.page_token, statuses, VIEWS[args.view]
            )
        _print(page)
    elif args.command == "batch-get":
        results = client.batch_get_credentials(args.leaf_user_id, VIEWS[args.view])
        _print(pb.BatchGetCredentialsResponse(results=results))
    elif args.command == "watch":
        limit = None if args.max_rewatch_attempts < 0 else args.max_rewatch_attempts
        for change in client.watch_credentials(
            args.leaf_user_id,
            VIEWS[args.view],
            resume_token=args.resume_token or None,
            max_rewatches=limit,
            on_rewatch=lambda d, delay, n: print(
                f"watch: the stream ended ({d.code.name}); watching again in {delay:.1f}s "
                f"(attempt {n})",
                file=sys.stderr,
            ),
        ):
            _print_line(change)
    elif args.command == "audit":
        fmt = "json" if args.json else "csv" if args.csv else "table"
        audit = Audit(
            client,
            fmt,
            links=args.links,
            return_url=args.return_url,
            ttl=args.ttl,
            chunk_size=args.chunk_size,
            max_rate_limited_waits=args.max_rate_limited_waits,
            write=lambda text: print(text, end="", flush=True),
            note=lambda text: print(text, end="", file=sys.stderr),
        )
        return audit.run(_read_users(args.users) if args.users else None)
    elif args.command == "connect":
        _print_link(
            client.create_connect_link(args.leaf_user_id, args.return_url, args.ttl), args.qr
        )
    elif args.command == "get-link":
        _print_link(client.get_connect_link(args.name), args.qr)
    return 0


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "audit":
        if not 1 <= args.chunk_size <= 500:
            print("usage error: --chunk_size must be 1 to 500", file=sys.stderr)
            return 2
        if not args.links and (args.return_url or args.ttl):
            print("usage error: --return_url and --ttl of audit need --links", file=sys.stderr)
            return 2
    try:
        client = connect(args)
    except ValueError as e:
        print(f"usage error: {e}", file=sys.stderr)
        return 2
    try:
        with client:
            code = run(args, client)
    except AgLeaderError as e:
        print(f"error: {e.code.name} ({e.code.value[0]}): {e.message}", file=sys.stderr)
        if e.reason:
            print(f"  reason: {e.reason} (domain {e.domain})", file=sys.stderr)
        for key in sorted(e.metadata):
            print(f"  {key}={e.metadata[key]}", file=sys.stderr)
        for field, description in e.field_violations:
            print(f"  field {field}: {description}", file=sys.stderr)
        if e.retry_delay is not None:
            print(f"  retry after: {e.retry_delay:g}s", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as e:  # audit --users: a file that cannot be read
        print(f"usage error: {e}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
