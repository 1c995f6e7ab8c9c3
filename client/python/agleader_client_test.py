"""Tests of the installed Python client against a running server (and the Leaf
emulator behind it).

Run by //tests/polyglot:python_client_test, which installs the package into a
venv, starts the servers and sets AGLEADER_TARGET (host:port of the server),
LEAF_EMULATOR_URL, AGLEADER_CLIENT_CLI (the agleader-client console script) and
the TLS targets and files (see tests/polyglot/tls_lib.sh). By hand, with the
package installed:
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

import agleader_client
from agleader_client import AgLeaderClient, AgLeaderError, pb

TARGET = os.environ.get("AGLEADER_TARGET", "")
EMULATOR_URL = os.environ.get("LEAF_EMULATOR_URL", "")
REFRESH_TOKEN = "python-refresh-token-4321"
PRIVATE_KEY = "python-private-key-8765"
CLI = (
    [os.environ["AGLEADER_CLIENT_CLI"]]
    if os.environ.get("AGLEADER_CLIENT_CLI")
    else [sys.executable, "-m", "agleader_client"]
)


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

    def test_watch_starts_with_the_state_of_every_user(self):
        user, other = new_user(), new_user()
        created = self.create(user)
        changes = self.client.watch_credentials([user, other], timeout=10)
        first = {}
        for change in changes:
            first[change.leaf_user_id] = change
            if len(first) == 2:
                break
        changes.close()  # cancels the stream
        self.assertEqual(first[user].kind, pb.CHANGE_KIND_INITIAL)
        self.assertEqual(first[user].current.id, created.id)
        self.assertEqual(first[user].current.refresh_token, "")  # basic view
        self.assertFalse(first[other].HasField("current"))

    def test_watch_with_a_bad_id_raises_invalid_argument(self):
        with self.assertRaises(AgLeaderError) as caught:
            next(self.client.watch_credentials(["not-a-uuid"], timeout=10))
        self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(caught.exception.field_violations[0][0], "leaf_user_ids[0]")

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

    def test_list_and_batch_get_credentials_of_seeded_users(self):
        request = urllib.request.Request(
            EMULATOR_URL + "/_emulator/seed",
            data=json.dumps({"users": 12, "mix": {"OK": 1, "UNAUTHENTICATED": 1}, "seed": 99}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            self.assertEqual(json.load(response)["counts"], {"OK": 6, "UNAUTHENTICATED": 6})
        unauthenticated = list(
            self.client.iter_credentials(
                page_size=5, statuses=[pb.CREDENTIAL_STATUS_UNAUTHENTICATED]
            )
        )
        self.assertGreaterEqual(len(unauthenticated), 6)
        for c in unauthenticated:
            self.assertEqual(c.status, pb.CREDENTIAL_STATUS_UNAUTHENTICATED)
            self.assertEqual(c.refresh_token, "")
        ids = [c.leaf_user_id for c in unauthenticated[:3]]
        missing = new_user()
        results = self.client.batch_get_credentials(ids + [missing])
        self.assertEqual([r.leaf_user_id for r in results], ids + [missing])
        for r in results[:3]:
            self.assertEqual(r.credentials.leaf_status, "UNAUTHENTICATED")
        self.assertEqual(results[3].WhichOneof("result"), "error")
        details = agleader_client.decode_result_error(results[3].error)
        self.assertEqual(details.code, grpc.StatusCode.NOT_FOUND)
        self.assertEqual(details.reason, "CREDENTIALS_NOT_FOUND")
        self.assertEqual(details.metadata["leaf_user_id"], missing)

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
        # The repository's client/service_config.json, bundled in the package.
        shipped = os.environ.get("AGLEADER_TEST_SHIPPED_SERVICE_CONFIG", "")
        if not os.path.exists(shipped):
            self.skipTest("AGLEADER_TEST_SHIPPED_SERVICE_CONFIG is not set")
        self.assertNotIn(os.path.dirname(shipped), agleader_client.__file__)
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

    def cli(self, *args, env=None, target=None):
        return subprocess.run(
            [*CLI, "--server", target or TARGET, *args],
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

    def test_cli_help_exits_0(self):
        r = self.cli("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--api_key_file", r.stdout)

    def test_cli_prints_canonical_proto3_json(self):
        user = new_user()
        env = {"AGLEADER_CLIENT_REFRESH_TOKEN": REFRESH_TOKEN, "AGLEADER_CLIENT_PRIVATE_KEY": ""}
        r = self.cli("create", "--leaf_user_id", user, "--public_key", "pk", env=env)
        # An empty private key is refused: a BadRequest names the field.
        self.assertEqual(r.returncode, 1)
        self.assertIn("field private_key:", r.stderr)
        env["AGLEADER_CLIENT_PRIVATE_KEY"] = PRIVATE_KEY
        r = self.cli("create", "--leaf_user_id", user, "--public_key", "pk", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertRegex(out["createTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertEqual(out["status"], "CREDENTIAL_STATUS_OK")
        self.assertNotIn("accessTokenHint", out)  # no access token given: empty, so absent
        r = self.cli("get", "--leaf_user_id", user)
        self.assertEqual(json.loads(r.stdout)["leafUserId"], user)
        self.assertEqual(self.cli("delete", "--leaf_user_id", user).stdout.strip(), "{}")


class TlsCliTest(unittest.TestCase):
    """agleader-client over TLS (with API keys) and mutual TLS, flags and env twins."""

    @classmethod
    def setUpClass(cls):
        if not os.environ.get("AGLEADER_TLS_TARGET"):
            raise unittest.SkipTest("AGLEADER_TLS_TARGET is not set")
        cls.tls = os.environ["AGLEADER_TLS_TARGET"]
        cls.mtls = os.environ["AGLEADER_MTLS_TARGET"]
        cls.ca = os.environ["AGLEADER_TEST_CA"]
        cls.cert = os.environ["AGLEADER_TEST_CLIENT_CERT"]
        cls.key = os.environ["AGLEADER_TEST_CLIENT_KEY"]
        cls.api_key_file = os.environ["AGLEADER_TEST_API_KEY_FILE"]
        cls.api_key = os.environ["AGLEADER_TEST_API_KEY"]

    def cli(self, target, *args, env=None):
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AGLEADER_CLIENT_")}
        r = subprocess.run(
            [*CLI, "--server", target, *args, "delete", "--leaf_user_id", new_user(),
             "--allow_missing"],
            env={**clean, **(env or {})},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        self.assertNotIn(self.api_key, r.stdout + r.stderr)
        return r

    def test_tls_with_api_key_file(self):
        r = self.cli(self.tls, "--ca_file", self.ca, "--api_key_file", self.api_key_file)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "{}")

    def test_tls_with_api_key_flag_and_server_name(self):
        r = self.cli(
            self.tls, "--ca_file", self.ca, "--server_name", "localhost", "--api_key", self.api_key
        )
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_tls_from_environment_twins(self):
        env = {
            "AGLEADER_CLIENT_TLS": "true",
            "AGLEADER_CLIENT_TLS_CA_FILE": self.ca,
            "AGLEADER_CLIENT_SERVER_NAME": "localhost",
            "AGLEADER_CLIENT_API_KEY": self.api_key,
        }
        self.assertEqual(self.cli(self.tls, env=env).returncode, 0)
        env.pop("AGLEADER_CLIENT_API_KEY")
        env["AGLEADER_CLIENT_API_KEY_FILE"] = self.api_key_file
        self.assertEqual(self.cli(self.tls, env=env).returncode, 0)

    def test_tls_without_key_is_unauthenticated(self):
        r = self.cli(self.tls, "--ca_file", self.ca)
        self.assertEqual(r.returncode, 1)
        self.assertIn("error: UNAUTHENTICATED (16)", r.stderr)

    def test_plaintext_or_unknown_ca_cannot_reach_a_tls_server(self):
        r = self.cli(self.tls, "--api_key", self.api_key, "--timeout", "3")
        self.assertEqual(r.returncode, 1)
        self.assertIn("UNAVAILABLE", r.stderr)
        r = self.cli(self.tls, "--tls", "--api_key", self.api_key, "--timeout", "3")
        self.assertEqual(r.returncode, 1)  # default roots do not know the test CA

    def test_mutual_tls(self):
        r = self.cli(
            self.mtls, "--ca_file", self.ca, "--cert_file", self.cert, "--key_file", self.key
        )
        self.assertEqual(r.returncode, 0, r.stderr)
        env = {
            "AGLEADER_CLIENT_TLS_CA_FILE": self.ca,
            "AGLEADER_CLIENT_CERT_FILE": self.cert,
            "AGLEADER_CLIENT_KEY_FILE": self.key,
        }
        self.assertEqual(self.cli(self.mtls, env=env).returncode, 0)
        r = self.cli(self.mtls, "--ca_file", self.ca, "--timeout", "3")
        self.assertEqual(r.returncode, 1)  # no client certificate

    def test_bad_tls_flags_are_usage_errors(self):
        r = self.cli(self.mtls, "--ca_file", self.ca, "--cert_file", self.cert)
        self.assertEqual(r.returncode, 2)
        self.assertIn("needs both --cert_file and --key_file", r.stderr)
        r = self.cli(self.mtls, "--ca_file", self.key)
        self.assertEqual(r.returncode, 2)
        self.assertIn("holds no PEM certificate", r.stderr)
        self.assertNotIn("PRIVATE KEY", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
