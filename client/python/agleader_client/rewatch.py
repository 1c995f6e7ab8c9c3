"""When and how soon AgLeaderClient.watch_credentials() opens a WatchCredentials
stream again after one ended: the rules of the C++ and Node clients too
(docs/clients.md, "Resuming").

Retried: UNAVAILABLE (a server shutting down, a connection closed by
--max_connection_age, a broken channel), RESOURCE_EXHAUSTED that carries a
RetryInfo, and UNKNOWN or INTERNAL without the service's ErrorInfo (a stream cut
without a status, e.g. reset by a proxy). Everything else ends the watch: the
service's own refusals would only be refused again, and DEADLINE_EXCEEDED or
CANCELLED were asked for by the caller.

The delay is the RetryInfo's (at most 60 s) or a jittered exponential backoff:
100 ms doubling to 10 s, each delay drawn in [half, all] of its step so that
clients dropped together do not come back together. A stream that delivered a
change, or stayed open a minute, was healthy: the backoff and the count of
attempts start over.
"""

import dataclasses
import random as _random
import time
from typing import Callable, Optional

import grpc

_RETRIED_WITHOUT_ERROR_INFO = (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)


def is_retriable(details) -> bool:
    """Whether a stream that ended with `details` (an ErrorDetails) is worth opening
    again."""
    if details.code == grpc.StatusCode.UNAVAILABLE:
        return True
    if details.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return details.retry_delay is not None
    # The service puts an ErrorInfo on every error it sends; without one the stream
    # was cut below it.
    return details.code in _RETRIED_WITHOUT_ERROR_INFO and not details.reason


@dataclasses.dataclass
class RewatchPolicy:
    """How a watch backs off, and what it waits with (tests replace sleep, clock and
    random so that nothing really waits)."""

    initial_backoff: float = 0.1  # seconds
    max_backoff: float = 10.0
    max_retry_info: float = 60.0  # a longer RetryInfo is cut to this
    healthy_after: float = 60.0  # a stream open this long was healthy
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    random: Callable[[], float] = _random.random


class Rewatcher:
    """The decisions of one watch, stream after stream."""

    def __init__(self, max_rewatches: Optional[int], policy: RewatchPolicy):
        if max_rewatches is not None and max_rewatches < 0:
            raise ValueError("max_rewatches must be None (for ever) or at least 0")
        self.max_rewatches = max_rewatches
        self.policy = policy
        self.attempts = 0  # re-watches since the last healthy stream
        self._healthy = False

    def on_change(self) -> None:
        self._healthy = True

    def on_end(self, details, lasted: float) -> Optional[float]:
        """The delay in seconds before watching again after a stream that ended with
        `details` after `lasted` seconds, or None to give up."""
        if self._healthy or lasted >= self.policy.healthy_after:
            self.attempts = 0
        self._healthy = False
        if not is_retriable(details):
            return None
        if self.max_rewatches is not None and self.attempts >= self.max_rewatches:
            return None
        step = self.attempts
        self.attempts += 1
        if details.retry_delay is not None:
            return min(max(details.retry_delay, 0.0), self.policy.max_retry_info)
        backoff = min(self.policy.initial_backoff * 2 ** min(step, 32), self.policy.max_backoff)
        return backoff * (0.5 + 0.5 * min(max(self.policy.random(), 0.0), 1.0))
