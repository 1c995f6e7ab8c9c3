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
import os
import sys

from google.protobuf import json_format

from agleader_client import (
    AgLeaderClient,
    AgLeaderError,
    pb,
    read_api_key_file,
    tls_credentials,
)

VIEWS = {"basic": pb.CREDENTIALS_VIEW_BASIC, "full": pb.CREDENTIALS_VIEW_FULL}
_TRUE = ("1", "true", "yes", "on")


def _print(message):
    print(json_format.MessageToJson(message, indent=2))


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
    return parser


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


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        client = connect(args)
    except ValueError as e:
        print(f"usage error: {e}", file=sys.stderr)
        return 2
    try:
        with client:
            run(args, client)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
