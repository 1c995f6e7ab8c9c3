"""watch_credentials() across stream ends, against a fake gRPC server in this process
that plays a script per stream (changes, then a status): the next stream asks for the
same users and view with the last change's resume_token, only retriable ends are
watched again, RetryInfo and the limit are honoured. Sleep, clock and jitter are
replaced: nothing really waits.

Run by //client/python:watch_resume_test (the package from runfiles, with its stubs).
"""

import threading
import unittest
from concurrent import futures

import grpc

import agleader_client
from agleader_client import AgLeaderClient, AgLeaderError, RewatchPolicy, pb, pb_grpc
from agleader_client._gen import error_details_pb2, status_pb2

USER = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
OTHER = "0b0e8a52-1c2d-4e3f-8a9b-123456789abc"


def change(token, kind=pb.CHANGE_KIND_STATUS_CHANGED):
    c = pb.CredentialsChange(leaf_user_id=USER, kind=kind, resume_token=token)
    c.current.id = "cred-1"
    c.current.leaf_status = "OK"
    return c


def status(code, message="ended", reason=None, retry_seconds=None):
    """A stream's end: (code, message, google.rpc.Status bytes or None)."""
    if reason is None and retry_seconds is None:
        return (code, message, None)
    proto = status_pb2.Status(code=code.value[0], message=message)
    if reason is not None:
        proto.details.add().Pack(error_details_pb2.ErrorInfo(reason=reason, domain="x"))
    if retry_seconds is not None:
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromNanoseconds(int(retry_seconds * 1e9))
        proto.details.add().Pack(retry)
    return (code, message, proto.SerializeToString())


SHUTTING_DOWN = status(grpc.StatusCode.UNAVAILABLE, "shutting down", reason="SHUTTING_DOWN")
INVALID = status(grpc.StatusCode.INVALID_ARGUMENT, "bad users", reason="INVALID_REQUEST")


class FakeServer(pb_grpc.AgLeaderCredentialsServicer):
    """Plays script[n] on the n-th stream: (changes, end, seconds the stream lasts on
    the test's clock); past the script every stream ends FAILED_PRECONDITION."""

    def __init__(self, clock):
        self.clock = clock
        self.script = []
        self.requests = []
        self.lock = threading.Lock()

    def WatchCredentials(self, request, context):
        with self.lock:
            n = len(self.requests)
            self.requests.append(pb.WatchCredentialsRequest.FromString(request.SerializeToString()))
            step = self.script[n] if n < len(self.script) else ([], status(
                grpc.StatusCode.FAILED_PRECONDITION, "script over"), 0)
        changes, (code, message, details), lasts = (list(step) + [0])[:3]
        for c in changes:
            yield c
        self.clock.now += lasts
        if details is not None:
            context.set_trailing_metadata((("grpc-status-details-bin", details),))
        context.set_code(code)
        context.set_details(message)


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class WatchResumeTest(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.fake = FakeServer(self.clock)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pb_grpc.add_AgLeaderCredentialsServicer_to_server(self.fake, self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.client = AgLeaderClient(f"127.0.0.1:{port}", service_config="none", api_key="")
        self.policy = RewatchPolicy(
            sleep=self.clock.sleep, clock=lambda: self.clock.now, random=lambda: 0.999999
        )
        self.notes = []

    def tearDown(self):
        self.client.close()
        self.server.stop(None)

    def watch(self, **kwargs):
        """(changes yielded, the AgLeaderError that ended the watch or None)."""
        got = []
        kwargs.setdefault("policy", self.policy)
        kwargs.setdefault("on_rewatch", lambda *note: self.notes.append(note))
        try:
            for c in self.client.watch_credentials([USER, OTHER], timeout=10, **kwargs):
                got.append(c)
        except AgLeaderError as e:
            return got, e
        return got, None

    def test_watches_again_from_the_last_changes_token(self):
        self.fake.script = [
            ([change("t1", pb.CHANGE_KIND_INITIAL), change("t2")], SHUTTING_DOWN),
            ([change("t3", pb.CHANGE_KIND_RESYNC)], INVALID),
        ]
        got, error = self.watch(view=pb.CREDENTIALS_VIEW_FULL)
        self.assertEqual([c.resume_token for c in got], ["t1", "t2", "t3"])
        self.assertEqual(got[2].kind, pb.CHANGE_KIND_RESYNC)  # passed on as such
        self.assertEqual([r.resume_token for r in self.fake.requests], ["", "t2"])
        for r in self.fake.requests:
            self.assertEqual(list(r.leaf_user_ids), [USER, OTHER])
            self.assertEqual(r.view, pb.CREDENTIALS_VIEW_FULL)
        self.assertEqual(error.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(len(self.clock.sleeps), 1)
        self.assertTrue(0.05 <= self.clock.sleeps[0] <= 0.1, self.clock.sleeps)
        details, delay, attempt = self.notes[0]
        self.assertEqual((details.code, details.reason, attempt),
                         (grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN", 1))
        self.assertEqual(delay, self.clock.sleeps[0])

    def test_starts_from_the_given_token_and_keeps_it_when_changes_carry_none(self):
        self.fake.script = [
            ([], status(grpc.StatusCode.UNAVAILABLE, "Socket closed")),
            ([change("", pb.CHANGE_KIND_INITIAL)], SHUTTING_DOWN),
            ([change("t9")], SHUTTING_DOWN),
            ([], INVALID),
        ]
        got, _ = self.watch(resume_token="t0")
        self.assertEqual([r.resume_token for r in self.fake.requests], ["t0", "t0", "t0", "t9"])
        self.assertEqual(len(got), 2)

    def test_a_stream_cut_without_the_services_status_is_watched_again(self):
        self.fake.script = [
            ([change("t1")], status(grpc.StatusCode.INTERNAL, "Received RST_STREAM")),
            ([], status(grpc.StatusCode.INTERNAL, "broken", reason="INTERNAL")),
        ]
        got, error = self.watch()
        self.assertEqual(len(self.fake.requests), 2)
        self.assertEqual(self.fake.requests[1].resume_token, "t1")
        self.assertEqual((error.code, error.reason), (grpc.StatusCode.INTERNAL, "INTERNAL"))

    def test_non_retriable_ends_stop_at_once(self):
        for code in (
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.PERMISSION_DENIED,
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        ):
            with self.subTest(code=code):
                self.fake.requests.clear()
                self.fake.script = [
                    ([change("t1")], status(code, "no", reason="WATCH_STREAM_TOO_SLOW")),
                    ([], SHUTTING_DOWN),
                ]
                got, error = self.watch()
                self.assertEqual(error.code, code)
                self.assertEqual(len(got), 1)
                self.assertEqual(len(self.fake.requests), 1)
                self.assertEqual(self.clock.sleeps, [])

    def test_waits_what_the_retry_info_asks(self):
        self.fake.script = [
            ([change("t1")], status(grpc.StatusCode.RESOURCE_EXHAUSTED, "budget",
                                    reason="LEAF_RATE_LIMITED", retry_seconds=3)),
            ([], INVALID),
        ]
        self.watch()
        self.assertEqual(self.fake.requests[1].resume_token, "t1")
        self.assertEqual(self.clock.sleeps, [3.0])

    def test_gives_up_after_the_limit_of_attempts_in_a_row(self):
        self.fake.script = [([], SHUTTING_DOWN)] * 10
        got, error = self.watch(max_rewatches=3)
        self.assertEqual(error.code, grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(len(self.fake.requests), 4)  # the first stream and 3 re-watches
        self.assertEqual(len(self.clock.sleeps), 3)
        for before, after in zip(self.clock.sleeps, self.clock.sleeps[1:]):
            self.assertGreater(after, before * 1.9)  # backing off

    def test_zero_never_watches_again(self):
        self.fake.script = [([change("t1")], SHUTTING_DOWN), ([], INVALID)]
        got, error = self.watch(max_rewatches=0)
        self.assertEqual(error.reason, "SHUTTING_DOWN")
        self.assertEqual(len(self.fake.requests), 1)
        self.assertEqual(self.clock.sleeps, [])

    def test_a_change_or_a_long_quiet_stream_starts_the_count_over(self):
        quiet = ([], SHUTTING_DOWN)
        self.fake.script = [quiet, quiet, ([change("t1")], SHUTTING_DOWN), quiet,
                            ([], SHUTTING_DOWN, 120), quiet, quiet, quiet]
        self.watch(max_rewatches=2)
        # 2 re-watches; a change: 1 more; the long one: 2 more; then the limit.
        self.assertEqual(len(self.fake.requests), 7)
        s = self.clock.sleeps
        self.assertEqual(len(s), 6)
        self.assertLess(s[2], s[1])
        self.assertLess(s[4], s[3])

    def test_leaving_the_loop_cancels_without_watching_again(self):
        self.fake.script = [([change("t1"), change("t2")], SHUTTING_DOWN)]
        watch = self.client.watch_credentials([USER], policy=self.policy)
        self.assertEqual(next(watch).resume_token, "t1")
        watch.close()
        self.assertEqual(len(self.fake.requests), 1)
        self.assertEqual(self.clock.sleeps, [])

    def test_bad_limit_is_refused(self):
        with self.assertRaises(ValueError):
            next(self.client.watch_credentials([USER], max_rewatches=-1))

    def test_classification(self):
        D = agleader_client.ErrorDetails
        U = grpc.StatusCode
        self.assertTrue(agleader_client.is_retriable(D(U.UNAVAILABLE, "")))
        self.assertTrue(agleader_client.is_retriable(D(U.UNKNOWN, "Stream removed")))
        self.assertFalse(agleader_client.is_retriable(D(U.UNKNOWN, "", reason="X")))
        self.assertFalse(agleader_client.is_retriable(D(U.RESOURCE_EXHAUSTED, "")))
        self.assertTrue(agleader_client.is_retriable(D(U.RESOURCE_EXHAUSTED, "", retry_delay=1)))
        for code in (U.DEADLINE_EXCEEDED, U.CANCELLED, U.PERMISSION_DENIED, U.NOT_FOUND):
            self.assertFalse(agleader_client.is_retriable(D(code, "")))


if __name__ == "__main__":
    unittest.main()
