"""The shipped client-side load-balancing config (deploy/client-service-config.json)
over two real replicas: each server behind its own Leaf emulator, so each
emulator's request count tells which replica served a call.

The headless Service's DNS name resolves to every pod's address; here the
`ipv4:` target lists the two replicas' addresses the same way. Run by
client_lb_test.sh with AGLEADER_TARGETS and LEAF_EMULATOR_URLS (comma-separated,
in the same order) and DEPLOY_DIR.
"""

import json
import os
import sys
import time
import unittest
import urllib.request
import uuid

import grpc

sys.path.insert(0, os.environ.get("PYTHON_CLIENT_DIR", ""))

from agleader_client import (
    AgLeaderClient,
    AgLeaderError,
)  # noqa: E402 pylint: disable=wrong-import-position

TARGETS = [t for t in os.environ.get("AGLEADER_TARGETS", "").split(",") if t]
EMULATORS = [u for u in os.environ.get("LEAF_EMULATOR_URLS", "").split(",") if u]
DEPLOY = os.environ.get("DEPLOY_DIR", "")
CALLS = 20


def leaf_requests(url):
    with urllib.request.urlopen(url + "/_emulator/stats", timeout=10) as response:
        return json.load(response)["request_count"]


class ClientLoadBalancingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if len(TARGETS) != 2 or len(EMULATORS) != 2 or not DEPLOY:
            raise unittest.SkipTest("needs two replicas (AGLEADER_TARGETS, LEAF_EMULATOR_URLS)")

    def get_missing(self, client):
        with self.assertRaises(AgLeaderError) as caught:
            client.get_credentials(str(uuid.uuid4()))
        self.assertEqual(caught.exception.code, grpc.StatusCode.NOT_FOUND)

    def calls_per_replica(self, client):
        """How many of CALLS calls each replica served (by its emulator's count)."""
        before = [leaf_requests(u) for u in EMULATORS]
        for _ in range(CALLS):
            self.get_missing(client)
        return [leaf_requests(u) - b for u, b in zip(EMULATORS, before)]

    def client(self, service_config):
        return AgLeaderClient(
            "ipv4:" + ",".join(TARGETS), timeout=10, service_config=service_config
        )

    def test_round_robin_config_spreads_calls_over_both_replicas(self):
        with self.client(os.path.join(DEPLOY, "client-service-config.json")) as client:
            # round_robin starts picking as soon as one connection is up; wait
            # (bounded) until the second one has served a call too.
            first = [leaf_requests(u) for u in EMULATORS]
            deadline = time.monotonic() + 10
            while any(leaf_requests(u) == b for u, b in zip(EMULATORS, first)):
                self.assertLess(time.monotonic(), deadline, "a replica never served a call")
                self.get_missing(client)
            counts = self.calls_per_replica(client)
        self.assertEqual(sum(counts), CALLS, counts)
        # Once both are connected, round robin alternates.
        self.assertLessEqual(abs(counts[0] - counts[1]), 2, counts)

    def test_without_it_one_connection_takes_every_call(self):
        # gRPC's default policy (pick_first): the control for the test above.
        path = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), "pick_first.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"loadBalancingConfig": [{"pick_first": {}}]}, f)
        with self.client(path) as client:
            self.get_missing(client)
            counts = self.calls_per_replica(client)
        self.assertEqual(sorted(counts), [0, CALLS], counts)


if __name__ == "__main__":
    unittest.main(verbosity=2)
