"""Multi-byte secrets through the Python client: hints are whole characters,
and event logs come back redacted in the default view.

Run by //tests/polyglot:utf8_hints_test (AGLEADER_TARGET, LEAF_EMULATOR_URL).
"""

import os
import unittest
import uuid

from agleader_client import AgLeaderClient, pb

TARGET = os.environ.get("AGLEADER_TARGET", "")
EURO = "abcdefghijkl\u20ac\u20ac"
EMOJI = "private-key-\U0001F511\U0001F511\U0001F511"


class Utf8HintsTest(unittest.TestCase):
    def setUp(self):
        if not TARGET:
            raise unittest.SkipTest("AGLEADER_TARGET is not set")
        self.client = AgLeaderClient(TARGET, timeout=10)
        self.addCleanup(self.client.close)

    def test_hints_are_the_last_four_characters(self):
        user = str(uuid.uuid4())
        created = self.client.create_credentials(
            user, refresh_token=EURO, public_key="py-public", private_key=EMOJI
        )
        got = self.client.get_credentials(user)
        for creds in (created, got):
            self.assertEqual(creds.refresh_token_hint, "****kl\u20ac\u20ac")
            self.assertEqual(creds.private_key_hint, "****-\U0001F511\U0001F511\U0001F511")

    def test_default_view_events_carry_no_access_token_value(self):
        user = str(uuid.uuid4())
        self.client.create_credentials(
            user, refresh_token=EURO, public_key="py-public", private_key=EMOJI
        )
        page = self.client.list_credential_events(user)
        self.assertGreaterEqual(len(page.events), 1)
        for event in page.events:
            if "access_token" in event.body:
                self.assertIn('"access_token":"[redacted]"', event.body)


if __name__ == "__main__":
    unittest.main()
