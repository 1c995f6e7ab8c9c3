'use strict';
// When and how soon AgLeaderClient.watchCredentials() opens a WatchCredentials
// stream again after one ended: the rules of the C++ and Python clients too
// (docs/clients.md, "Resuming").
//
// Retried: UNAVAILABLE (a server shutting down, a connection closed by
// --max_connection_age, a broken channel), RESOURCE_EXHAUSTED that carries a
// RetryInfo, and UNKNOWN or INTERNAL without the service's ErrorInfo (a stream
// cut without a status, e.g. reset by a proxy). Everything else ends the
// watch: the service's own refusals would only be refused again, and
// DEADLINE_EXCEEDED or CANCELLED were asked for by the caller.
//
// The delay is the RetryInfo's (at most 60 s) or a jittered exponential
// backoff: 100 ms doubling to 10 s, each delay drawn in [half, all] of its
// step so that clients dropped together do not come back together. A stream
// that delivered a change, or stayed open a minute, was healthy: the backoff
// and the count of attempts start over.

const grpc = require('@grpc/grpc-js');

/** Whether a stream that ended with `details` (decodeError's) is worth opening again. */
function isRetriable(details) {
  switch (details.code) {
    case grpc.status.UNAVAILABLE:
      return true;
    case grpc.status.RESOURCE_EXHAUSTED:
      return details.retryDelaySeconds !== null && details.retryDelaySeconds !== undefined;
    case grpc.status.UNKNOWN:
    case grpc.status.INTERNAL:
      // The service puts an ErrorInfo on every error it sends; without one
      // the stream was cut below it.
      return !details.reason;
    default:
      return false;
  }
}

/**
 * How a watch backs off, and what it waits with (tests replace sleep, now and
 * random so that nothing really waits). Times in milliseconds.
 */
const DEFAULT_POLICY = Object.freeze({
  initialBackoffMs: 100,
  maxBackoffMs: 10000,
  maxRetryInfoMs: 60000, // a longer RetryInfo is cut to this
  healthyAfterMs: 60000, // a stream open this long was healthy
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
  random: Math.random,
});

/** The decisions of one watch, stream after stream. */
class Rewatcher {
  /**
   * @param {number|null|undefined} maxRewatches re-watches in a row after
   *   unhealthy streams; null/undefined/Infinity: for ever, 0: never.
   * @param {object} policy overrides of DEFAULT_POLICY.
   */
  constructor(maxRewatches, policy = {}) {
    const max = maxRewatches ?? Infinity;
    if (typeof max !== 'number' || Number.isNaN(max) || max < 0) {
      throw new RangeError('maxRewatches must be null (for ever) or a number of at least 0');
    }
    this.maxRewatches = max;
    this.policy = { ...DEFAULT_POLICY, ...policy };
    this.attempts = 0; // re-watches since the last healthy stream
    this.healthy = false;
  }

  onChange() {
    this.healthy = true;
  }

  /**
   * The delay in ms before watching again after a stream that ended with
   * `details` after `lastedMs`, or null to give up.
   */
  onEnd(details, lastedMs) {
    if (this.healthy || lastedMs >= this.policy.healthyAfterMs) this.attempts = 0;
    this.healthy = false;
    if (!isRetriable(details)) return null;
    if (this.attempts >= this.maxRewatches) return null;
    const step = this.attempts++;
    if (details.retryDelaySeconds !== null && details.retryDelaySeconds !== undefined) {
      return Math.min(Math.max(details.retryDelaySeconds * 1000, 0), this.policy.maxRetryInfoMs);
    }
    const backoff = Math.min(
      this.policy.initialBackoffMs * 2 ** Math.min(step, 32),
      this.policy.maxBackoffMs,
    );
    return backoff * (0.5 + 0.5 * Math.min(Math.max(this.policy.random(), 0), 1));
  }
}

module.exports = { isRetriable, Rewatcher, DEFAULT_POLICY };
