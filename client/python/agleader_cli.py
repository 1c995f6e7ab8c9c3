#!/usr/bin/env python3
"""Command-line example of the Python client of leaf.agleader.v1.AgLeaderCredentials.

  agleader_cli.py [--server HOST:PORT] [--timeout S] [--service_config FILE] COMMAND ...
  ($AGLEADER_CLIENT_API_KEY, if set, is sent as "authorization: Bearer <key>")
    create --leaf_user_id ID --public_key K   secrets from $AGLEADER_CLIENT_REFRESH_TOKEN,
                                              $AGLEADER_CLIENT_PRIVATE_KEY (and optionally
                                              $AGLEADER_CLIENT_ACCESS_TOKEN), or the flags
    get    --leaf_user_id ID [--view basic|full]
    events --leaf_user_id ID [--page_size N] [--page_token T] [--all]
    delete --leaf_user_id ID [--allow_missing]

Responses are printed as JSON (proto3 JSON mapping, like grpcurl). On an error it
prints "error: CODE (n): message" and the decoded ErrorInfo to stderr and exits 1.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from google.protobuf import json_format  # noqa: E402 pylint: disable=wrong-import-position

import agleader_client  # noqa: E402 pylint: disable=wrong-import-position
from agleader_client import (
    AgLeaderClient,
    AgLeaderError,
    pb,
)  # noqa: E402 pylint: disable=wrong-import-position

VIEWS = {"basic": pb.CREDENTIALS_VIEW_BASIC, "full": pb.CREDENTIALS_VIEW_FULL}


def _print(message):
    print(json_format.MessageToJson(message, indent=2))


def _secret(flag_value, env_name):
    return flag_value if flag_value is not None else os.environ.get(env_name, "")


def _parser():
    env = os.environ.get
    parser = argparse.ArgumentParser(
        description="Python client of leaf.agleader.v1.AgLeaderCredentials"
    )
    parser.add_argument("--server", default=env("AGLEADER_CLIENT_SERVER", "127.0.0.1:50051"))
    parser.add_argument(
        "--timeout", type=float, default=float(env("AGLEADER_CLIENT_TIMEOUT", "10")), help="seconds"
    )
    parser.add_argument(
        "--service_config",
        help="gRPC service config JSON file (default: client/service_config.json if present; "
        '"none" for none)',
    )
    # The API key only from the environment: a flag would show in `ps` and the shell history.
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


def run(args):
    with AgLeaderClient(args.server, args.timeout, args.service_config) as client:
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
                page = client.list_credential_events(
                    args.leaf_user_id, args.page_size, args.page_token
                )
            _print(page)
        elif args.command == "delete":
            client.delete_credentials(args.leaf_user_id, args.allow_missing)
            print("{}")


def main():
    args = _parser().parse_args()
    try:
        run(args)
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
