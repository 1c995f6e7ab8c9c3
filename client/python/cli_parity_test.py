"""The Python client's connect-link calls and its CLI at parity with the C++ one
(list, batch-get, watch, audit with --links, connect, get-link), against a fake gRPC
server on 127.0.0.1 in this process: what reaches the server, what is printed, the
exit codes, errors decoded with their reason, and hostile answers kept harmless.

Run by //client/python:cli_parity_test (the package from runfiles, with its stubs).
For an end-to-end run, point AgLeaderClient (or --server) at the real server instead
of FakeServer: the CLI cases only read what it prints.
"""

import collections
import contextlib
import csv
import datetime
import io
import json
import os
import threading
import unittest
from concurrent import futures

import grpc

from agleader_client import AgLeaderClient, AgLeaderError, pb, pb_grpc, qr
from agleader_client import cli
from agleader_client._gen import error_details_pb2, status_pb2

USER = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
REAUTH = "00000000-0000-4000-8000-000000000001"
DENIED = "00000000-0000-4000-8000-000000000002"
OK_USER = "00000000-0000-4000-8000-000000000003"
API_KEY = "api-key-SECRET-0123456789abcdef"


def refuse(context, code, reason):
    status = status_pb2.Status(code=code.value[0], message=f"refused: {reason}")
    status.details.add().Pack(error_details_pb2.ErrorInfo(reason=reason, domain="leaf.agleader.v1"))
    context.abort_with_status(
        _RichStatus(
            code, status.message, (("grpc-status-details-bin", status.SerializeToString()),)
        )
    )


class _RichStatus(
    collections.namedtuple("_RichStatus", ("code", "details", "trailing_metadata")), grpc.Status
):
    """A status with the service's google.rpc details, as the server sends them."""


def credentials(user, status):
    return pb.Credentials(leaf_user_id=user, status=status, leaf_status="x", refresh_token_hint="…ab")


class FakeServer(pb_grpc.AgLeaderCredentialsServicer):
    def __init__(self):
        self.lock = threading.Lock()
        self.creates = []
        self.refuse_user = None
        self.url_suffix = ""
        self.metadata = {}

    def CreateConnectLink(self, request, context):
        with self.lock:
            self.creates.append(request)
            self.metadata = dict(context.invocation_metadata())
            n = len(self.creates)
        if request.leaf_user_id == self.refuse_user:
            refuse(context, grpc.StatusCode.FAILED_PRECONDITION, "CONNECT_NOT_CONFIGURED")
        link = pb.ConnectLink(
            name=f"connectLinks/L{n}",
            leaf_user_id=request.leaf_user_id,
            url=f"https://connect.example.com/connect/L{n}{self.url_suffix}",
            state=pb.ConnectLink.PENDING,
            return_url=request.return_url,
        )
        link.expire_time.FromDatetime(datetime.datetime(2026, 12, 14))
        return link

    def GetConnectLink(self, request, context):
        if request.name != "connectLinks/L1":
            refuse(context, grpc.StatusCode.NOT_FOUND, "CONNECT_LINK_NOT_FOUND")
        return pb.ConnectLink(
            name=request.name, state=pb.ConnectLink.CONNECTED, credentials_id="cred-7"
        )

    def BatchGetCredentials(self, request, context):
        results = []
        for user in request.leaf_user_ids:
            status = {
                OK_USER: pb.CREDENTIAL_STATUS_OK,
                DENIED: pb.CREDENTIAL_STATUS_MISSING_PERMISSION,
            }.get(user, pb.CREDENTIAL_STATUS_UNAUTHENTICATED)
            results.append(
                pb.BatchGetCredentialsResult(leaf_user_id=user, credentials=credentials(user, status))
            )
        return pb.BatchGetCredentialsResponse(results=results)

    def ListCredentials(self, request, context):
        if not request.page_token:
            return pb.ListCredentialsResponse(
                credentials=[credentials(REAUTH, pb.CREDENTIAL_STATUS_UNAUTHENTICATED)],
                next_page_token="p2",
            )
        return pb.ListCredentialsResponse(credentials=[credentials(OK_USER, pb.CREDENTIAL_STATUS_OK)])

    def WatchCredentials(self, request, context):
        for i, user in enumerate(request.leaf_user_ids):
            yield pb.CredentialsChange(
                leaf_user_id=user, kind=pb.CHANGE_KIND_INITIAL, resume_token=f"t{i}"
            )


class CliParityTest(unittest.TestCase):
    def setUp(self):
        self.fake = FakeServer()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pb_grpc.add_AgLeaderCredentialsServicer_to_server(self.fake, self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.target = f"127.0.0.1:{port}"

    def tearDown(self):
        self.server.stop(None)

    def cli(self, *args, stdin=None):
        out, err = io.StringIO(), io.StringIO()
        code = None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(["--server", self.target, "--service_config", "none", *args])
            except SystemExit as e:  # argparse's usage errors
                code = e.code
        return code, out.getvalue(), err.getvalue()

    # The library.

    def test_create_and_get_connect_link(self):
        with AgLeaderClient(self.target, service_config="none") as client:
            link = client.create_connect_link(
                USER, return_url="https://app.example.com/done", ttl=datetime.timedelta(days=2)
            )
            self.assertEqual(link.name, "connectLinks/L1")
            self.assertEqual(link.state, pb.ConnectLink.PENDING)
            self.assertEqual(self.fake.creates[0].ttl.seconds, 2 * 86400)
            self.assertEqual(self.fake.creates[0].return_url, "https://app.example.com/done")
            client.create_connect_link(USER, ttl=90)
            self.assertEqual(self.fake.creates[1].ttl.seconds, 90)
            client.create_connect_link(USER)
            self.assertFalse(self.fake.creates[2].HasField("ttl"))
            got = client.get_connect_link("connectLinks/L1")
            self.assertEqual(got.state, pb.ConnectLink.CONNECTED)
            self.assertEqual(got.credentials_id, "cred-7")

    def test_errors_are_decoded(self):
        self.fake.refuse_user = USER
        with AgLeaderClient(self.target, service_config="none") as client:
            with self.assertRaises(AgLeaderError) as e:
                client.create_connect_link(USER)
            self.assertEqual(e.exception.code, grpc.StatusCode.FAILED_PRECONDITION)
            self.assertEqual(e.exception.reason, "CONNECT_NOT_CONFIGURED")
            with self.assertRaises(AgLeaderError) as e:
                client.get_connect_link("connectLinks/nope")
            self.assertEqual(e.exception.code, grpc.StatusCode.NOT_FOUND)
            self.assertEqual(e.exception.reason, "CONNECT_LINK_NOT_FOUND")

    # The CLI.

    def test_connect_prints_the_link_as_json(self):
        code, out, err = self.cli(
            "--api_key", API_KEY, "connect", "--leaf_user_id", USER, "--ttl", "7d", "--qr"
        )
        self.assertEqual(code, 0, err)
        link = json.loads(out)
        self.assertEqual(link["url"], "https://connect.example.com/connect/L1")
        self.assertEqual(link["state"], "PENDING")
        self.assertEqual(link["expireTime"], "2026-12-14T00:00:00Z")
        self.assertEqual(self.fake.creates[0].ttl.seconds, 7 * 86400)
        self.assertEqual(self.fake.metadata.get("authorization"), f"Bearer {API_KEY}")
        self.assertIn("https://connect.example.com/connect/L1", err)  # QR code or the URL alone
        self.assertNotIn(API_KEY, out + err)

    def test_connect_usage_errors(self):
        for args in (
            ["connect", "--leaf_user_id", USER, "--ttl", "31d"],
            ["connect", "--leaf_user_id", USER, "--ttl", "30s"],
            ["connect", "--leaf_user_id", USER, "--ttl", "soon"],
            ["connect"],
            ["get-link", "--name", "L1"],
            ["audit", "--ttl", "7d"],
            ["audit", "--chunk_size", "0"],
        ):
            code, _, _ = self.cli(*args)
            self.assertEqual(code, 2, args)
        self.assertEqual(self.fake.creates, [])

    def test_get_link(self):
        code, out, err = self.cli("get-link", "--name", "connectLinks/L1")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out)["state"], "CONNECTED")
        code, out, err = self.cli("get-link", "--name", "connectLinks/nope")
        self.assertEqual(code, 1)
        self.assertIn("NOT_FOUND", err)
        self.assertIn("reason: CONNECT_LINK_NOT_FOUND", err)

    def test_list_and_batch_get(self):
        code, out, err = self.cli("list", "--all")
        self.assertEqual(code, 0, err)
        users = [c["leafUserId"] for c in json.loads(out)["credentials"]]
        self.assertEqual(users, [REAUTH, OK_USER])
        code, out, err = self.cli("batch-get", "--leaf_user_id", OK_USER, "--leaf_user_id", DENIED)
        self.assertEqual(code, 0, err)
        results = json.loads(out)["results"]
        self.assertEqual([r["leafUserId"] for r in results], [OK_USER, DENIED])

    def test_watch_prints_json_lines(self):
        code, out, err = self.cli(
            "watch", "--leaf_user_id", USER, "--leaf_user_id", OK_USER, "--max_rewatch_attempts", "0"
        )
        self.assertEqual(code, 0, err)
        lines = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([c["leafUserId"] for c in lines], [USER, OK_USER])
        self.assertEqual(lines[1]["resumeToken"], "t1")

    def audit(self, *extra):
        with open(self.users_file(), "w", encoding="utf-8") as f:
            f.write(f"# growers\n{REAUTH}\n\n{DENIED}\n{OK_USER}\n")
        return self.cli("audit", "--users", self.users_file(), *extra)

    def users_file(self):
        return os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), "users.txt")

    def test_audit_links_table(self):
        self.fake.refuse_user = DENIED
        code, out, err = self.audit("--links", "--ttl", "3d")
        self.assertEqual(code, 3, err)
        lines = out.splitlines()
        self.assertIn("CONNECT LINK", lines[0])
        self.assertTrue(lines[1].startswith(REAUTH))
        self.assertTrue(lines[1].endswith("https://connect.example.com/connect/L1"), lines[1])
        self.assertTrue(lines[2].endswith("error: CONNECT_NOT_CONFIGURED"), lines[2])
        self.assertTrue(lines[3].startswith(OK_USER) and lines[3].endswith("-"), lines[3])
        self.assertIn("1 connect links created, 1 could not be created", out)
        self.assertEqual([c.leaf_user_id for c in self.fake.creates], [REAUTH, DENIED])
        self.assertEqual(self.fake.creates[0].ttl.seconds, 3 * 86400)

    def test_audit_links_csv_and_json(self):
        self.fake.refuse_user = DENIED
        self.fake.url_suffix = '",=cmd\n'
        code, out, err = self.audit("--csv", "--links")
        self.assertEqual(code, 3, err)
        rows = list(csv.DictReader(io.StringIO(out)))
        self.assertEqual(len(rows), 3, out)  # no injected row
        self.assertTrue(rows[0]["connect_link"].startswith("https://connect.example.com/"))
        self.assertNotIn("\n", rows[0]["connect_link"])
        self.assertEqual(rows[0]["connect_link_name"], "connectLinks/L1")
        self.assertEqual(rows[1]["connect_link_error"], "CONNECT_NOT_CONFIGURED")
        self.assertEqual(rows[2]["connect_link"], "")

        code, out, err = self.cli("--json", "audit", "--users", self.users_file(), "--links")
        self.assertEqual(code, 3, err)
        rows = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(rows[0]["connectLinkName"], "connectLinks/L3")
        self.assertEqual(rows[1]["connectLinkError"], "CONNECT_NOT_CONFIGURED")
        self.assertEqual(rows[2]["status"], "OK")
        self.assertIn("summary:", err)

    def test_audit_every_user_without_links(self):
        code, out, err = self.cli("audit", "--csv")
        self.assertEqual(code, 3, err)
        self.assertNotIn("connect_link", out)
        self.assertEqual(self.fake.creates, [])
        self.assertEqual(len(out.splitlines()), 3)


class QrDrawingTest(unittest.TestCase):
    def test_quiet_zone_and_half_blocks(self):
        modules = [[(x + y) % 2 == 0 for x in range(21)] for y in range(21)]
        drawing = qr.draw(modules).splitlines()
        size = 21 + 2 * qr.QUIET_ZONE
        self.assertEqual(len(drawing), (size + 1) // 2)
        self.assertTrue(all(len(line) == size for line in drawing))
        self.assertEqual(drawing[0], "\u2588" * size)  # quiet zone: light
        # Row 4 (first of the symbol) and 5: x=4 is dark over light.
        self.assertEqual(drawing[2][qr.QUIET_ZONE], "\u2584")
        self.assertEqual(drawing[2][qr.QUIET_ZONE + 1], "\u2580")


if __name__ == "__main__":
    unittest.main()
