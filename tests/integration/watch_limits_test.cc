// WatchCredentials against hostile or careless callers, through the real
// stack: malformed requests, the x-leaf-token rule, the per-caller cap on
// watched users, and a caller that never reads.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/watch/change.h"
#include "tests/integration/harness.h"
#include "tests/integration/watch_stream.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

void SlowPolls(ServerConfig& c) {
  c.watch_poll_interval = absl::Hours(1);
  c.watch_poll_jitter = absl::ZeroDuration();
}

// Before the fix: UNIMPLEMENTED with an empty message (gRPC refused the bytes
// before any handler ran).
TEST(WatchLimitsTest, AMalformedRequestIsInvalidArgumentMalformedRequest) {
  auto h = Harness::Start(nullptr, SlowPolls);
  ASSERT_NE(h, nullptr);
  const std::vector<std::string> bodies = {
      std::string("\x0a\x20"
                  "3fa85f64",
                  10),                                                  // truncated
      std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11),  // varint too long
      std::string("\x0a\x04"
                  "ab\xff"
                  "c",
                  6),  // leaf_user_ids[0] not UTF-8
  };
  for (const std::string& body : bodies) {
    grpc::Status st = CallRaw(*h, "WatchCredentials", body);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    EXPECT_NE(st.error_message().find("could not be parsed"), std::string::npos)
        << st.error_message();
    EXPECT_EQ(ErrorInfoOf(st).reason(), "MALFORMED_REQUEST");
  }
  EXPECT_EQ(h->app().watch_hub().streams(), 0);
  EXPECT_EQ(h->emulator().CountRequests("GET", "ag-leader-credentials"), 0);
  EXPECT_NE(h->app().metrics().Text().find(
                R"(agleader_rejected_calls_total{reason="MALFORMED_REQUEST"} 3)"),
            std::string::npos);
  // A well-formed raw request still streams (the first message, then the
  // deadline of this generic call ends it).
  v1::WatchCredentialsRequest good;
  good.add_leaf_user_ids(kUserA);
  WatchStream s(h->stub(), {kUserA});
  EXPECT_TRUE(s.Next().has_value());
}

// The same rule as every unary RPC. Before the fix the token was ignored and
// the stream ran.
TEST(WatchLimitsTest, XLeafTokenIsRefusedUnlessAllowed) {
  for (bool allowed : {false, true}) {
    SCOPED_TRACE(allowed ? "allowed" : "not allowed");
    auto h = Harness::Start(nullptr, [&](ServerConfig& c) {
      SlowPolls(c);
      c.allow_caller_leaf_token = allowed;
    });
    ASSERT_NE(h, nullptr);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    ctx.AddMetadata("x-leaf-token", "some-callers-own-leaf-token");
    v1::WatchCredentialsRequest req;
    req.add_leaf_user_ids(kUserA);
    auto reader = h->stub().WatchCredentials(&ctx, req);
    v1::CredentialsChange change;
    if (!allowed) {
      EXPECT_FALSE(reader->Read(&change));
      grpc::Status st = reader->Finish();
      EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
      EXPECT_EQ(ErrorInfoOf(st).reason(), "CALLER_LEAF_TOKEN_NOT_ALLOWED");
      EXPECT_EQ(h->app().watch_hub().streams(), 0);
    } else {
      EXPECT_TRUE(reader->Read(&change));
      EXPECT_EQ(change.kind(), v1::CHANGE_KIND_INITIAL);
      ctx.TryCancel();
      reader->Finish();
    }
  }
}

// Watches `users` on `stub` with `api_key` (if any); the stream's first
// status, or OK once every user had its first message.
class KeyedStream {
 public:
  KeyedStream(v1::AgLeaderCredentials::Stub& stub, const std::vector<std::string>& users,
              const std::string& api_key = "") {
    ctx_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    if (!api_key.empty()) ctx_.AddMetadata("authorization", "Bearer " + api_key);
    v1::WatchCredentialsRequest req;
    for (const std::string& u : users) req.add_leaf_user_ids(u);
    reader_ = stub.WatchCredentials(&ctx_, req);
    v1::CredentialsChange change;
    for (size_t i = 0; i < users.size(); ++i) {
      if (!reader_->Read(&change)) {
        status_ = reader_->Finish();
        finished_ = true;
        return;
      }
    }
  }
  ~KeyedStream() {
    if (finished_) return;
    ctx_.TryCancel();
    reader_->Finish();
  }
  const grpc::Status& status() const { return status_; }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::CredentialsChange>> reader_;
  grpc::Status status_;
  bool finished_ = false;
};

std::string User(int i) { return absl::StrCat("3fa85f64-5717-4562-b3fc-", 100000000000 + i); }

// One caller (here: one address) with random ids gets at most its share;
// the others still find slots. Before the fix it took every
// --watch_max_users slot.
TEST(WatchLimitsTest, OneCallerCannotTakeEveryWatchedUserSlot) {
  auto h = Harness::Start(nullptr, [](ServerConfig& c) {
    SlowPolls(c);
    c.watch_max_users = 10;
    c.watch_max_users_per_caller = 3;
  });
  ASSERT_NE(h, nullptr);
  KeyedStream first(h->stub(), {User(1), User(2)});
  ASSERT_TRUE(first.status().ok()) << first.status().error_message();
  // A second connection from the same address is the same caller.
  auto other_channel =
      grpc::CreateCustomChannel(h->app().target(), grpc::InsecureChannelCredentials(), [] {
        grpc::ChannelArguments args;
        args.SetInt("grpc.use_local_subchannel_pool", 1);  // its own connection
        return args;
      }());
  auto other_stub = v1::AgLeaderCredentials::NewStub(other_channel);
  KeyedStream over(*other_stub, {User(3), User(4)});
  EXPECT_EQ(over.status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ErrorInfoOf(over.status()).reason(), "TOO_MANY_WATCHED_USERS_FOR_CALLER");
  EXPECT_NE(over.status().error_message().find("--watch_max_users_per_caller"), std::string::npos);
  KeyedStream fits(*other_stub, {User(3), User(1)});  // User(1): already its slot
  EXPECT_TRUE(fits.status().ok()) << fits.status().error_message();
  EXPECT_EQ(h->app().watch_hub().users(), 3);
}

// With API keys, the caller is its key: two keys from one address each get
// their own share.
TEST(WatchLimitsTest, WithApiKeysTheCallerIsItsKey) {
  constexpr char kKey1[] = "watch-caller-key-1111111111111111";
  constexpr char kKey2[] = "watch-caller-key-2222222222222222";
  auto h = Harness::Start(nullptr, [&](ServerConfig& c) {
    SlowPolls(c);
    c.watch_max_users = 10;
    c.watch_max_users_per_caller = 2;
    c.security.api_keys = Secret(absl::StrCat(kKey1, ",", kKey2));
  });
  ASSERT_NE(h, nullptr);
  KeyedStream a(h->stub(), {User(1), User(2)}, kKey1);
  ASSERT_TRUE(a.status().ok()) << a.status().error_message();
  KeyedStream a_more(h->stub(), {User(3)}, kKey1);
  EXPECT_EQ(ErrorInfoOf(a_more.status()).reason(), "TOO_MANY_WATCHED_USERS_FOR_CALLER");
  // Another key on its own connection (a connection counts as the first key
  // it authenticated with).
  auto channel =
      grpc::CreateCustomChannel(h->app().target(), grpc::InsecureChannelCredentials(), [] {
        grpc::ChannelArguments args;
        args.SetInt("grpc.use_local_subchannel_pool", 1);
        return args;
      }());
  auto stub = v1::AgLeaderCredentials::NewStub(channel);
  KeyedStream b(*stub, {User(3), User(4)}, kKey2);
  EXPECT_TRUE(b.status().ok()) << b.status().error_message();
}

// A caller that never reads: once more than 1,024 changes wait, the stream
// ends at once (RESOURCE_EXHAUSTED) and frees its registry slot, although
// its write is stuck behind HTTP/2 flow control. Before the fix the stream
// (slot, queue) stayed for as long as the connection lived.
TEST(WatchLimitsTest, ACallerThatNeverReadsLosesTheStreamAtOnce) {
  auto h = Harness::Start(nullptr, SlowPolls);
  ASSERT_NE(h, nullptr);
  h->Create(kUserA);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  v1::WatchCredentialsRequest req;
  req.add_leaf_user_ids(kUserA);
  auto reader = h->stub().WatchCredentials(&ctx, req);  // never Read
  watch::PollingWatchHub& registry = h->app().watch_hub();
  ASSERT_TRUE(WaitFor([&] { return registry.streams() == 1; }));
  // Changes as fast as the registry takes them (what a flapping credential
  // read by a fast poll would give), until the stream is gone.
  watch::Observation o;
  o.kind = watch::Observation::Kind::kPresent;
  o.credentials.id = "credential-1";
  int fed = 0;
  for (; fed < 400000 && registry.streams() > 0; ++fed) {
    o.credentials.status = fed % 2 == 0 ? "UNAUTHENTICATED" : "OK";
    registry.OnResult(kUserA, o, watch::Source::kPoll);
    if (fed % 1000 == 999) absl::SleepFor(absl::Milliseconds(1));
  }
  const absl::Time stopped = absl::Now();
  EXPECT_TRUE(WaitFor([&] { return registry.streams() == 0; }, absl::Seconds(5)))
      << "the stream still holds its slot after " << fed << " changes";
  EXPECT_EQ(registry.users(), 0);
  // The server is done with the call (OnDone ran: the reactor and its queue
  // are freed) while the caller still has not read a thing.
  EXPECT_TRUE(WaitFor(
      [&] {
        return h->app().metrics().Text().find(
                   R"(agleader_watch_streams_ended_total{code="RESOURCE_EXHAUSTED"} 1)") !=
               std::string::npos;
      },
      absl::Seconds(5)));
  EXPECT_LT(absl::Now() - stopped, absl::Seconds(5));
  // What the caller finds when it finally reads: the changes that made it
  // out, then the status (sent as trailers before the reset).
  v1::CredentialsChange change;
  while (reader->Read(&change)) {
  }
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("WATCH_STREAM_TOO_SLOW"), std::string::npos)
      << st.error_message();
  std::cout << "stream ended after " << fed << " changes\n";
}

}  // namespace
}  // namespace leafsvc::testing
