// WatchCredentials served on gRPC's core API (server/edge/
// core_streaming_method.h, service_watch.cc), tried through real gRPC: what
// the callback API used to do for the stream and must still happen (the
// status with its trailers and details, compression, deadlines, message
// limits, UNIMPLEMENTED for unknown methods), bursts of streams beyond the
// calls requested ahead, and shutdown with a write stuck behind flow
// control.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/app.h"
#include "server/watch/change.h"
#include "tests/integration/harness.h"
#include "tests/integration/watch_stream.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kWatchPath[] = "/leaf.agleader.v1.AgLeaderCredentials/WatchCredentials";

void SlowPolls(ServerConfig& c) {
  c.watch_poll_interval = absl::Hours(1);
  c.watch_poll_jitter = absl::ZeroDuration();
}

void* Tag(intptr_t i) { return reinterpret_cast<void*>(i); }

// The next event of `cq` (fails the test after 10 s).
bool Await(grpc::CompletionQueue& cq, void* expected) {
  void* tag = nullptr;
  bool ok = false;
  const grpc::CompletionQueue::NextStatus st =
      cq.AsyncNext(&tag, &ok, absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(st, grpc::CompletionQueue::GOT_EVENT);
  EXPECT_EQ(tag, expected);
  return ok;
}

TEST(WatchEdgeTest, MethodsNobodyServesAreUnimplemented) {
  auto h = Harness::Start(nullptr, SlowPolls);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(CallRaw(*h, "NoSuchMethod", "").error_code(), grpc::StatusCode::UNIMPLEMENTED);
  grpc::GenericStub stub(h->channel());
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(&ctx, "/other.package.Service/Method", request, &cq);
  call->StartCall();
  grpc::Status st;
  call->Finish(&response, &st, Tag(1));
  Await(cq, Tag(1));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // The watch method itself still streams.
  WatchStream s(h->stub(), {kUserA});
  EXPECT_TRUE(s.Next().has_value());
}

TEST(WatchEdgeTest, ARefusedStreamEndsWithItsRequestIdAndErrorInfo) {
  auto h = Harness::Start(nullptr, SlowPolls);
  ASSERT_NE(h, nullptr);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  ctx.AddMetadata("x-request-id", "edge-test-0001");
  v1::WatchCredentialsRequest req;
  req.add_leaf_user_ids("not-a-user-id");
  auto reader = h->stub().WatchCredentials(&ctx, req);
  v1::CredentialsChange change;
  EXPECT_FALSE(reader->Read(&change));
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(ErrorInfoOf(st).reason(), "INVALID_REQUEST");
  EXPECT_EQ(ErrorInfoOf(st).metadata().at("request_id"), "edge-test-0001");
  auto trailer = ctx.GetServerTrailingMetadata().find("x-request-id");
  ASSERT_NE(trailer, ctx.GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(trailer->second.data(), trailer->second.size()), "edge-test-0001");
  EXPECT_EQ(h->app().watch_hub().streams(), 0);
}

TEST(WatchEdgeTest, AStreamEndedByTheServerCarriesItsTrailers) {
  auto h = Harness::Start(nullptr, SlowPolls);
  ASSERT_NE(h, nullptr);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  ctx.AddMetadata("x-request-id", "edge-test-0002");
  v1::WatchCredentialsRequest req;
  req.add_leaf_user_ids(kUserA);
  auto reader = h->stub().WatchCredentials(&ctx, req);
  v1::CredentialsChange change;
  ASSERT_TRUE(reader->Read(&change));
  h->app().Shutdown(absl::Seconds(2));
  while (reader->Read(&change)) {
  }
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_EQ(ErrorInfoOf(st).reason(), "SHUTTING_DOWN");
  auto trailer = ctx.GetServerTrailingMetadata().find("x-request-id");
  ASSERT_NE(trailer, ctx.GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(trailer->second.data(), trailer->second.size()), "edge-test-0002");
}

// A caller that half-closes without sending its request: nothing to parse.
TEST(WatchEdgeTest, AStreamWithoutARequestMessageIsMalformed) {
  auto h = Harness::Start(nullptr, SlowPolls);
  ASSERT_NE(h, nullptr);
  grpc::GenericStub stub(h->channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&ctx, kWatchPath, &cq);
  call->StartCall(Tag(1));
  ASSERT_TRUE(Await(cq, Tag(1)));
  call->WritesDone(Tag(2));
  Await(cq, Tag(2));
  grpc::ByteBuffer message;
  call->Read(&message, Tag(3));
  EXPECT_FALSE(Await(cq, Tag(3)));
  grpc::Status st;
  call->Finish(&st, Tag(4));
  Await(cq, Tag(4));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(ErrorInfoOf(st).reason(), "MALFORMED_REQUEST");
  EXPECT_EQ(h->app().watch_hub().streams(), 0);
}

TEST(WatchEdgeTest, ACompressedRequestIsRead) {
  auto h = Harness::Start(nullptr, SlowPolls);
  ASSERT_NE(h, nullptr);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  v1::WatchCredentialsRequest req;
  req.add_leaf_user_ids(kUserA);
  req.add_leaf_user_ids(kUserB);
  auto reader = h->stub().WatchCredentials(&ctx, req);
  v1::CredentialsChange change;
  ASSERT_TRUE(reader->Read(&change));
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(h->app().watch_hub().users(), 2);
  ctx.TryCancel();
  while (reader->Read(&change)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([&] { return h->app().watch_hub().streams() == 0; }));
}

// gRPC's limit on a request's size still applies to the method served on
// the core API.
TEST(WatchEdgeTest, AnOversizedRequestIsRefusedBeforeTheHandler) {
  auto h = Harness::Start(nullptr, SlowPolls);
  ASSERT_NE(h, nullptr);
  v1::WatchCredentialsRequest req;
  req.add_leaf_user_ids(kUserA);
  req.set_resume_token(std::string(kMaxRequestBytes + 1, 'x'));
  grpc::Status st = CallRaw(*h, "WatchCredentials", req.SerializeAsString());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_EQ(h->app().watch_hub().streams(), 0);
  EXPECT_EQ(h->emulator().CountRequests("GET", "ag-leader-credentials"), 0);
}

TEST(WatchEdgeTest, TheCallersDeadlineEndsTheStreamAndFreesItsSlot) {
  auto h = Harness::Start(nullptr, SlowPolls);
  ASSERT_NE(h, nullptr);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(700)));
  v1::WatchCredentialsRequest req;
  req.add_leaf_user_ids(kUserA);
  auto reader = h->stub().WatchCredentials(&ctx, req);
  v1::CredentialsChange change;
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(h->app().watch_hub().streams(), 1);
  EXPECT_FALSE(reader->Read(&change));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(WaitFor([&] { return h->app().watch_hub().streams() == 0; }));
  EXPECT_EQ(h->app().watch_hub().users(), 0);
}

// Far more streams at once than the calls requested ahead: the rest wait
// in gRPC's queue of pending calls, and every one starts, then leaves.
TEST(WatchEdgeTest, ABurstOfStreamsAllStartAndAllLeave) {
  constexpr int kStreams = 600;
  constexpr int kChannels = 4;
  auto h = Harness::Start(nullptr, [](ServerConfig& c) {
    SlowPolls(c);
    c.watch_max_users_per_caller = 0;
  });
  ASSERT_NE(h, nullptr);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < kChannels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("channel-index", i);  // distinct connections
    channels.push_back(
        grpc::CreateCustomChannel(h->app().target(), grpc::InsecureChannelCredentials(), args));
  }
  struct Stream {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientAsyncReader<v1::CredentialsChange>> reader;
    v1::CredentialsChange change;
    grpc::Status status;
  };
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<v1::AgLeaderCredentials::Stub>> stubs;
  for (auto& c : channels) stubs.push_back(v1::AgLeaderCredentials::NewStub(c));
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    auto s = std::make_unique<Stream>();
    s->ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    v1::WatchCredentialsRequest req;
    req.add_leaf_user_ids(i % 2 == 0 ? kUserA : kUserB);
    s->reader = stubs[i % kChannels]->AsyncWatchCredentials(&s->ctx, req, &cq, Tag(2 * i));
    streams.push_back(std::move(s));
  }
  // Each stream: started, then its first change read.
  int first_changes = 0;
  int events = 0;
  while (events < 2 * kStreams) {
    void* tag;
    bool ok;
    ASSERT_EQ(cq.AsyncNext(&tag, &ok, absl::ToChronoTime(absl::Now() + absl::Seconds(20))),
              grpc::CompletionQueue::GOT_EVENT)
        << "after " << events << " events";
    ++events;
    const intptr_t t = reinterpret_cast<intptr_t>(tag);
    Stream& s = *streams[t / 2];
    ASSERT_TRUE(ok) << "stream " << t / 2;
    if (t % 2 == 0) {
      s.reader->Read(&s.change, Tag(t + 1));
    } else {
      ++first_changes;
      EXPECT_EQ(s.change.kind(), v1::CHANGE_KIND_INITIAL);
    }
  }
  EXPECT_EQ(first_changes, kStreams);
  EXPECT_EQ(h->app().watch_hub().streams(), kStreams);
  for (auto& s : streams) s->ctx.TryCancel();
  for (int i = 0; i < kStreams; ++i) {
    streams[i]->reader->Finish(&streams[i]->status, Tag(-1 - i));
  }
  EXPECT_TRUE(WaitFor([&] { return h->app().watch_hub().streams() == 0; }, absl::Seconds(10)));
  EXPECT_EQ(h->app().watch_hub().users(), 0);
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
}

// A caller that stopped reading holds a write of the server's behind HTTP/2
// flow control; shutting down must still end that stream and return.
TEST(WatchEdgeTest, ShutdownEndsAStreamWhoseWriteIsStuck) {
  auto h = Harness::Start(nullptr, SlowPolls);
  ASSERT_NE(h, nullptr);
  h->Create(kUserA);
  // A small receive window that does not grow: the server's writes stall
  // after a few changes.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  auto stub = v1::AgLeaderCredentials::NewStub(
      grpc::CreateCustomChannel(h->app().target(), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  v1::WatchCredentialsRequest req;
  req.add_leaf_user_ids(kUserA);
  auto reader = stub->WatchCredentials(&ctx, req);  // never Read
  watch::PollingWatchHub& hub = h->app().watch_hub();
  ASSERT_TRUE(WaitFor([&] { return hub.streams() == 1; }));
  // Fewer changes than the stream may queue (1,024), more bytes than the
  // stream's flow-control window: a write stays stuck, the stream stays.
  watch::Observation o;
  o.kind = watch::Observation::Kind::kPresent;
  o.credentials.id = "credential-1";
  for (int i = 0; i < 1000; ++i) {
    o.credentials.status = i % 2 == 0 ? "UNAUTHENTICATED" : "OK";
    hub.OnResult(kUserA, o, watch::Source::kPoll);
  }
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_EQ(hub.streams(), 1);
  const absl::Time start = absl::Now();
  h->app().Shutdown(absl::Seconds(1));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(hub.streams(), 0);
  v1::CredentialsChange change;
  int read = 0;
  while (reader->Read(&change)) ++read;
  grpc::Status st = reader->Finish();
  EXPECT_NE(st.error_code(), grpc::StatusCode::OK);
  EXPECT_LT(read, 1000);
}

}  // namespace
}  // namespace leafsvc::testing
