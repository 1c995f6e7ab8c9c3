"""Tests of the Python client against a running server (and the Leaf emulator behind it).

Run by //tests/polyglot:python_client_test, which starts both and sets
AGLEADER_TARGET (host:port of the server) and LEAF_EMULATOR_URL. By hand:
  AGLEADER_TARGET=127.0.0.1:50051 LEAF_EMULATOR_URL=http://127.0.0.1:8080 \
      python3 client/python/agleader_client_test.py
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.request
import uuid

import grpc

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

import agleader_client  # noqa: E402 pylint: disable=wrong-import-position
from agleader_client import (
    AgLeaderClient,
    AgLeaderError,
    pb,
)  # noqa: E402 pylint: disable=wrong-import-position

TARGET = os.environ.get("AGLEADER_TARGET", "")
EMULATOR_URL = os.environ.get("LEAF_EMULATOR_URL", "")
REFRESH_TOKEN = "python-refresh-token-4321"
PRIVATE_KEY = "python-private-key-8765"
CLI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agleader_cli.py")


def new_user():
    return str(uuid.uuid4())


def slow_leaf(user, latency_ms):
    """Makes the emulator delay its next answer about `user`."""
    add_fault({"kind": "latency_only", "path_contains": user, "times": 1, "latency_ms": latency_ms})


def add_fault(fault):
    request = urllib.request.Request(
        EMULATOR_URL + "/_emulator/faults",
        data=json.dumps(fault).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200, response.status


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not TARGET or not EMULATOR_URL:
            raise unittest.SkipTest("AGLEADER_TARGET or LEAF_EMULATOR_URL is not set")

    def setUp(self):
        self.client = AgLeaderClient(TARGET, timeout=10)
        self.addCleanup(self.client.close)

    def create(self, user):
        return self.client.create_credentials(
            user,
            refresh_token=REFRESH_TOKEN,
            public_key="python-public-key",
            private_key=PRIVATE_KEY,
        )

    def test_create_get_list_delete_round_trip(self):
        user = new_user()
        created = self.create(user)
        self.assertEqual(created.leaf_user_id, user)
        self.assertEqual(created.name, f"users/{user}/agLeaderCredentials")
        self.assertEqual(created.status, pb.CREDENTIAL_STATUS_OK)
        self.assertEqual(created.refresh_token_hint, "****4321")
        self.assertEqual(created.private_key_hint, "****8765")
        self.assertEqual(created.refresh_token, "")  # basic view: no secret values
        self.assertNotIn(REFRESH_TOKEN, str(created))

        got = self.client.get_credentials(user)
        self.assertEqual(got.id, created.id)
        self.assertEqual(got.public_key, "python-public-key")
        self.assertGreater(got.create_time.seconds, 0)

        page = self.client.list_credential_events(user, page_size=1)
        self.assertEqual(len(page.events), 1)
        self.assertTrue(page.events[0].name.startswith(f"users/{user}/agLeaderCredentials/events/"))
        everything = list(self.client.iter_credential_events(user, page_size=1))
        self.assertGreaterEqual(len(everything), 1)
        self.assertEqual(everything[0].id, page.events[0].id)

        self.client.delete_credentials(user)
        with self.assertRaises(AgLeaderError) as caught:
            self.client.get_credentials(user)
        self.assertEqual(caught.exception.code, grpc.StatusCode.NOT_FOUND)

    def test_missing_credentials_decode_to_not_found_with_error_info(self):
        user = new_user()
        with self.assertRaises(AgLeaderError) as caught:
            self.client.get_credentials(user)
        e = caught.exception
        self.assertEqual(e.code, grpc.StatusCode.NOT_FOUND)
        self.assertEqual(e.reason, "CREDENTIALS_NOT_FOUND")
        self.assertEqual(e.domain, "leaf.agleader.v1")
        self.assertEqual(e.metadata.get("leaf_http_status"), "404")
        self.assertEqual(e.metadata.get("leaf_user_id"), user)
        self.assertIsInstance(e.__cause__, grpc.RpcError)

    def test_decode_error_reads_status_details_of_a_raw_rpc_error(self):
        stub = agleader_client.pb_grpc.AgLeaderCredentialsStub(
            self.client._channel
        )  # pylint: disable=protected-access
        with self.assertRaises(grpc.RpcError) as caught:
            stub.DeleteCredentials(pb.DeleteCredentialsRequest(leaf_user_id=new_user()), timeout=10)
        details = agleader_client.decode_error(caught.exception)
        self.assertEqual(details.code, grpc.StatusCode.NOT_FOUND)
        self.assertEqual(details.reason, "CREDENTIALS_NOT_FOUND")

    def test_invalid_user_id_decodes_field_violation(self):
        with self.assertRaises(AgLeaderError) as caught:
            self.client.get_credentials("not-a-uuid")
        e = caught.exception
        self.assertEqual(e.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(e.reason, "INVALID_REQUEST")
        self.assertEqual([f for f, _ in e.field_violations], ["leaf_user_id"])

    def test_rate_limit_decodes_retry_info(self):
        user = new_user()
        add_fault(
            {
                "kind": "status",
                "status": 429,
                "headers": {"Retry-After": "7"},
                "path_contains": user,
                "times": 1,
            }
        )
        with self.assertRaises(AgLeaderError) as caught:
            self.client.get_credentials(user)
        e = caught.exception
        self.assertEqual(e.code, grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(e.reason, "LEAF_RATE_LIMITED")
        self.assertEqual(e.retry_delay, 7.0)

    def test_delete_with_allow_missing_succeeds_without_credentials(self):
        self.client.delete_credentials(new_user(), allow_missing=True)

    def test_api_key_is_sent_as_bearer_authorization(self):
        keyed = os.environ.get("AGLEADER_KEYED_TARGET")
        if not keyed:
            self.skipTest("AGLEADER_KEYED_TARGET is not set")
        with AgLeaderClient(keyed, timeout=10, api_key="") as anonymous:
            with self.assertRaises(AgLeaderError) as caught:
                anonymous.delete_credentials(new_user(), allow_missing=True)
        self.assertEqual(caught.exception.code, grpc.StatusCode.UNAUTHENTICATED)
        with AgLeaderClient(
            keyed, timeout=10, api_key=os.environ["AGLEADER_TEST_API_KEY"]
        ) as keyed_client:
            keyed_client.delete_credentials(new_user(), allow_missing=True)

    def test_service_config_file_is_applied_to_the_channel(self):
        # Leaf (the emulator) answers this user after 300 ms; the service
        # config's method timeout is 50 ms. Only a channel that loaded the file
        # fails the call with DEADLINE_EXCEEDED despite the client's 10 s.
        user = new_user()
        slow_leaf(user, latency_ms=300)
        config = {
            "methodConfig": [
                {"name": [{"service": "leaf.agleader.v1.AgLeaderCredentials"}], "timeout": "0.05s"}
            ]
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(config, f)
        self.addCleanup(os.unlink, f.name)
        with AgLeaderClient(TARGET, timeout=10, service_config=f.name) as client:
            with self.assertRaises(AgLeaderError) as caught:
                client.get_credentials(user)
        self.assertEqual(caught.exception.code, grpc.StatusCode.DEADLINE_EXCEEDED)


class ServiceConfigTest(unittest.TestCase):
    def test_shipped_service_config_is_the_default(self):
        shipped = os.path.join(agleader_client.REPO, "client", "service_config.json")
        if not os.path.exists(shipped):
            self.skipTest("client/service_config.json is not in this checkout")
        os.environ.pop("AGLEADER_CLIENT_SERVICE_CONFIG", None)
        with open(shipped, encoding="utf-8") as f:
            self.assertEqual(agleader_client.load_service_config(), f.read())

    def test_explicit_service_config_wins_over_environment(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as env_file:
            env_file.write('{"methodConfig": []}')
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as explicit:
            explicit.write('{"loadBalancingConfig": [{"round_robin": {}}]}')
        self.addCleanup(os.unlink, env_file.name)
        self.addCleanup(os.unlink, explicit.name)
        os.environ["AGLEADER_CLIENT_SERVICE_CONFIG"] = env_file.name
        self.addCleanup(os.environ.pop, "AGLEADER_CLIENT_SERVICE_CONFIG", None)
        self.assertIn("methodConfig", agleader_client.load_service_config())
        self.assertIn("round_robin", agleader_client.load_service_config(explicit.name))
        self.assertIsNone(agleader_client.load_service_config("none"))


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not TARGET:
            raise unittest.SkipTest("AGLEADER_TARGET is not set")

    def cli(self, *args, env=None):
        return subprocess.run(
            [sys.executable, CLI, "--server", TARGET, *args],
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def test_cli_creates_from_env_secrets_and_prints_json(self):
        user = new_user()
        r = self.cli(
            "create",
            "--leaf_user_id",
            user,
            "--public_key",
            "cli-pk",
            env={
                "AGLEADER_CLIENT_REFRESH_TOKEN": REFRESH_TOKEN,
                "AGLEADER_CLIENT_PRIVATE_KEY": PRIVATE_KEY,
            },
        )
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["leafUserId"], user)
        self.assertEqual(out["refreshTokenHint"], "****4321")
        self.assertNotIn(REFRESH_TOKEN, r.stdout + r.stderr)
        self.assertNotIn(PRIVATE_KEY, r.stdout + r.stderr)

        r = self.cli("events", "--leaf_user_id", user, "--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreaterEqual(len(json.loads(r.stdout)["events"]), 1)

        r = self.cli("delete", "--leaf_user_id", user)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_cli_prints_error_info_and_exits_1(self):
        r = self.cli("get", "--leaf_user_id", new_user())
        self.assertEqual(r.returncode, 1)
        self.assertIn("error: NOT_FOUND (5):", r.stderr)
        self.assertIn("reason: CREDENTIALS_NOT_FOUND (domain leaf.agleader.v1)", r.stderr)
        self.assertIn("leaf_http_status=404", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
