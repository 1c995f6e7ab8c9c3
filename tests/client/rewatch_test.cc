// The re-watch rules: which ends are retried, the backoff and its jitter,
// RetryInfo, the attempt limit and what resets it.
#include "client/rewatch.h"

#include <optional>
#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

// A status as the service sends it: an ErrorInfo, and a RetryInfo of
// `retry` when given.
grpc::Status ServiceStatus(grpc::StatusCode code, std::optional<absl::Duration> retry) {
  google::rpc::Status proto;
  proto.set_code(static_cast<int>(code));
  proto.set_message("refused");
  google::rpc::ErrorInfo info;
  info.set_reason("SOME_REASON");
  info.set_domain("leaf.agleader.v1");
  proto.add_details()->PackFrom(info);
  if (retry.has_value()) {
    google::rpc::RetryInfo ri;
    ri.mutable_retry_delay()->set_seconds(absl::ToInt64Seconds(*retry));
    ri.mutable_retry_delay()->set_nanos(
        static_cast<int>(absl::ToInt64Nanoseconds(*retry % absl::Seconds(1))));
    proto.add_details()->PackFrom(ri);
  }
  return grpc::Status(code, "refused", proto.SerializeAsString());
}

const grpc::Status kUnavailable(grpc::StatusCode::UNAVAILABLE, "Socket closed");

TEST(IsRetriableWatchEndTest, UnavailableAndCutStreamsAreRetried) {
  EXPECT_TRUE(IsRetriableWatchEnd(kUnavailable));
  EXPECT_TRUE(IsRetriableWatchEnd(ServiceStatus(grpc::StatusCode::UNAVAILABLE, std::nullopt)));
  // No status from the service: the stream was cut (e.g. RST_STREAM).
  EXPECT_TRUE(IsRetriableWatchEnd(grpc::Status(grpc::StatusCode::INTERNAL, "RST_STREAM")));
  EXPECT_TRUE(IsRetriableWatchEnd(grpc::Status(grpc::StatusCode::UNKNOWN, "Stream removed")));
  EXPECT_TRUE(
      IsRetriableWatchEnd(ServiceStatus(grpc::StatusCode::RESOURCE_EXHAUSTED, absl::Seconds(3))));
}

TEST(IsRetriableWatchEndTest, RefusalsAndTheCallersOwnEndsAreNot) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::RESOURCE_EXHAUSTED,
        grpc::StatusCode::INTERNAL, grpc::StatusCode::UNKNOWN, grpc::StatusCode::NOT_FOUND,
        grpc::StatusCode::FAILED_PRECONDITION}) {
    EXPECT_FALSE(IsRetriableWatchEnd(ServiceStatus(code, std::nullopt))) << code;
  }
  EXPECT_FALSE(IsRetriableWatchEnd(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "full")));
  EXPECT_FALSE(IsRetriableWatchEnd(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "late")));
  EXPECT_FALSE(IsRetriableWatchEnd(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")));
  EXPECT_FALSE(IsRetriableWatchEnd(grpc::Status::OK));
}

TEST(RetryInfoDelayTest, ReadsSecondsAndNanos) {
  EXPECT_EQ(
      RetryInfoDelay(ServiceStatus(grpc::StatusCode::RESOURCE_EXHAUSTED, absl::Milliseconds(2500))),
      absl::Milliseconds(2500));
  EXPECT_EQ(RetryInfoDelay(kUnavailable), std::nullopt);
  // Garbage details are no RetryInfo, not a crash.
  EXPECT_EQ(RetryInfoDelay(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x", "\xff\xff\xff")),
            std::nullopt);
}

TEST(RewatcherTest, BacksOffExponentiallyToTheCap) {
  Rewatcher r(RewatchOptions{}, [] { return 0.999999; });
  absl::Duration expected = absl::Milliseconds(100);
  for (int i = 0; i < 12; ++i) {
    std::optional<absl::Duration> delay = r.OnEnd(kUnavailable, absl::Seconds(1));
    ASSERT_TRUE(delay.has_value());
    EXPECT_NEAR(absl::ToDoubleMilliseconds(*delay), absl::ToDoubleMilliseconds(expected), 0.1)
        << "attempt " << i;
    expected = std::min(expected * 2, absl::Seconds(10));
  }
  EXPECT_EQ(r.attempts(), 12);
}

TEST(RewatcherTest, JitterDrawsBetweenHalfAndAllOfTheStep) {
  Rewatcher low(RewatchOptions{}, [] { return 0.0; });
  EXPECT_EQ(low.OnEnd(kUnavailable, absl::Seconds(1)), absl::Milliseconds(50));
  EXPECT_EQ(low.OnEnd(kUnavailable, absl::Seconds(1)), absl::Milliseconds(100));
  Rewatcher mid(RewatchOptions{}, [] { return 0.5; });
  EXPECT_EQ(mid.OnEnd(kUnavailable, absl::Seconds(1)), absl::Milliseconds(75));
  // A bad random source cannot make the delay negative or longer than the step.
  Rewatcher odd(RewatchOptions{}, [] { return -7.0; });
  EXPECT_EQ(odd.OnEnd(kUnavailable, absl::Seconds(1)), absl::Milliseconds(50));
  Rewatcher big(RewatchOptions{}, [] { return 9.0; });
  EXPECT_EQ(big.OnEnd(kUnavailable, absl::Seconds(1)), absl::Milliseconds(100));
}

TEST(RewatcherTest, HonoursRetryInfoWithinItsCap) {
  Rewatcher r(RewatchOptions{}, [] { return 0.0; });
  EXPECT_EQ(r.OnEnd(ServiceStatus(grpc::StatusCode::RESOURCE_EXHAUSTED, absl::Seconds(3)),
                    absl::Seconds(1)),
            absl::Seconds(3));
  EXPECT_EQ(r.OnEnd(ServiceStatus(grpc::StatusCode::UNAVAILABLE, absl::Milliseconds(1500)),
                    absl::Seconds(1)),
            absl::Milliseconds(1500));
  EXPECT_EQ(r.OnEnd(ServiceStatus(grpc::StatusCode::UNAVAILABLE, absl::Hours(5)), absl::Seconds(1)),
            absl::Seconds(60));
  EXPECT_EQ(r.attempts(), 3);
}

TEST(RewatcherTest, RespectsTheLimit) {
  RewatchOptions options;
  options.max_attempts = 2;
  Rewatcher r(options, [] { return 0.0; });
  EXPECT_TRUE(r.OnEnd(kUnavailable, absl::Seconds(1)).has_value());
  EXPECT_TRUE(r.OnEnd(kUnavailable, absl::Seconds(1)).has_value());
  EXPECT_FALSE(r.OnEnd(kUnavailable, absl::Seconds(1)).has_value());
  EXPECT_FALSE(r.OnEnd(kUnavailable, absl::Seconds(1)).has_value());

  options.max_attempts = 0;
  Rewatcher never(options, [] { return 0.0; });
  EXPECT_FALSE(never.OnEnd(kUnavailable, absl::Seconds(1)).has_value());
}

TEST(RewatcherTest, NonRetriableEndsGiveUpAtOnce) {
  Rewatcher r(RewatchOptions{}, [] { return 0.0; });
  EXPECT_FALSE(
      r.OnEnd(ServiceStatus(grpc::StatusCode::PERMISSION_DENIED, std::nullopt), absl::Seconds(1))
          .has_value());
  EXPECT_EQ(r.attempts(), 0);
}

TEST(RewatcherTest, AChangeOrALongStreamStartsTheBackoffAndTheCountOver) {
  RewatchOptions options;
  options.max_attempts = 2;
  Rewatcher r(options, [] { return 0.0; });
  EXPECT_EQ(r.OnEnd(kUnavailable, absl::Seconds(1)), absl::Milliseconds(50));
  EXPECT_EQ(r.OnEnd(kUnavailable, absl::Seconds(1)), absl::Milliseconds(100));
  r.OnChange();
  EXPECT_EQ(r.OnEnd(kUnavailable, absl::Seconds(1)), absl::Milliseconds(50));
  EXPECT_EQ(r.OnEnd(kUnavailable, absl::Seconds(1)), absl::Milliseconds(100));
  // A quiet stream that stayed open (e.g. closed by --max_connection_age)
  // was healthy too.
  EXPECT_EQ(r.OnEnd(kUnavailable, absl::Minutes(1)), absl::Milliseconds(50));
  EXPECT_EQ(r.attempts(), 1);
  // The change counts once: the next stream starts unhealthy again.
  r.OnChange();
  EXPECT_EQ(r.OnEnd(kUnavailable, absl::Seconds(1)), absl::Milliseconds(50));
  EXPECT_EQ(r.OnEnd(kUnavailable, absl::Seconds(1)), absl::Milliseconds(100));
  EXPECT_FALSE(r.OnEnd(kUnavailable, absl::Seconds(1)).has_value());
}

}  // namespace
}  // namespace leafsvc::client
