// Metrics and logs after real traffic: /metrics is scraped over HTTP and the
// counters checked for the exact amounts; each RPC leaves one JSON log line
// with its request id, which also reaches Leaf and the caller.
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <mutex>
#include <optional>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/observability/log.h"
#include "tests/integration/harness.h"
#include "tests/integration/watch_stream.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

// The value of the sample `name{labels}` in a text exposition (-1 if absent).
double Sample(const std::string& text, const std::string& name_and_labels) {
  size_t at = text.find("\n" + name_and_labels + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name_and_labels.size() + 2));
}

class ObservabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogSink([this](absl::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      logs_.emplace_back(line);
    });
    h_ = Harness::Start(nullptr, [](ServerConfig& c) {
      c.metrics_listen = "127.0.0.1:0";
      c.max_attempts = 3;
    });
    ASSERT_NE(h_, nullptr);
    ASSERT_GT(h_->app().metrics_port(), 0);
  }
  void TearDown() override { SetLogSink(nullptr); }

  std::string Scrape() {
    httplib::Client client("127.0.0.1", h_->app().metrics_port());
    auto res = client.Get("/metrics");
    EXPECT_TRUE(res && res->status == 200);
    return res ? "\n" + res->body : "";
  }

  grpc::Status Get(const std::string& request_id = "") {
    v1::GetCredentialsRequest req;
    req.set_leaf_user_id(kUserA);
    v1::Credentials out;
    auto ctx = Harness::Context();
    if (!request_id.empty()) ctx->AddMetadata("x-request-id", request_id);
    grpc::Status st = h_->stub().GetCredentials(ctx.get(), req, &out);
    auto trailer = ctx->GetServerTrailingMetadata().find("x-request-id");
    last_trailer_ = trailer == ctx->GetServerTrailingMetadata().end()
                        ? ""
                        : std::string(trailer->second.data(), trailer->second.size());
    return st;
  }

  std::vector<rapidjson::Document> RpcLines() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<rapidjson::Document> out;
    for (const std::string& line : logs_) {
      rapidjson::Document doc;
      doc.Parse(line.c_str());
      EXPECT_FALSE(doc.HasParseError()) << line;
      if (doc.IsObject() && doc.HasMember("msg") && std::string(doc["msg"].GetString()) == "rpc") {
        out.push_back(std::move(doc));
      }
    }
    return out;
  }

  std::unique_ptr<Harness> h_;
  std::mutex mu_;
  std::vector<std::string> logs_;
  std::string last_trailer_;
};

TEST_F(ObservabilityTest, CountersMoveByTheRightAmounts) {
  const std::string get =
      R"({grpc_method="GetCredentials",grpc_service="leaf.agleader.v1.AgLeaderCredentials",grpc_type="unary"})";
  EXPECT_EQ(Sample(Scrape(), "grpc_server_started_total" + get), 0);

  h_->Create(kUserA);       // 1 create, OK
  EXPECT_TRUE(Get().ok());  // 1 get, OK
  EXPECT_TRUE(Get().ok());  // 1 get, OK
  leafemu::Fault fault;
  fault.kind = leafemu::Fault::Kind::kStatus;
  fault.status = 503;
  fault.times = 1;
  h_->emulator().InjectFault(fault);
  EXPECT_TRUE(Get().ok());  // 503 then 200: one retry
  v1::GetCredentialsRequest bad;
  bad.set_leaf_user_id("nope");
  v1::Credentials out;
  EXPECT_EQ(h_->stub().GetCredentials(Harness::Context().get(), bad, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // rejected before Leaf

  const std::string text = Scrape();
  EXPECT_EQ(Sample(text, "grpc_server_started_total" + get), 4);
  EXPECT_EQ(
      Sample(
          text,
          R"(grpc_server_handled_total{grpc_code="OK",grpc_method="GetCredentials",grpc_service="leaf.agleader.v1.AgLeaderCredentials",grpc_type="unary"})"),
      3);
  EXPECT_EQ(
      Sample(
          text,
          R"(grpc_server_handled_total{grpc_code="InvalidArgument",grpc_method="GetCredentials",grpc_service="leaf.agleader.v1.AgLeaderCredentials",grpc_type="unary"})"),
      1);
  EXPECT_EQ(
      Sample(
          text,
          R"(grpc_server_handled_total{grpc_code="OK",grpc_method="CreateCredentials",grpc_service="leaf.agleader.v1.AgLeaderCredentials",grpc_type="unary"})"),
      1);
  EXPECT_EQ(Sample(text, "grpc_server_handling_seconds_count" + get), 4);
  EXPECT_EQ(Sample(text, R"(agleader_leaf_requests_total{method="GET",status="200"})"), 3);
  EXPECT_EQ(Sample(text, R"(agleader_leaf_requests_total{method="GET",status="503"})"), 1);
  EXPECT_EQ(Sample(text, R"(agleader_leaf_requests_total{method="POST",status="201"})"), 1);
  EXPECT_EQ(Sample(text, R"(agleader_leaf_request_duration_seconds_count{method="GET"})"), 4);
  EXPECT_EQ(Sample(text, R"(agleader_leaf_retries_total{method="GET"})"), 1);
  EXPECT_EQ(Sample(text, R"(agleader_rejected_calls_total{reason="INVALID_REQUEST"})"), 1);
  EXPECT_EQ(Sample(text, "agleader_calls_in_flight"), 0);
  EXPECT_EQ(Sample(text, "agleader_leaf_up"), 1);
}

// Every RPC of the service, the bulk and streaming ones included (which the
// metrics once dropped), is counted when it starts and when it is handled;
// a Watch stream is handled when it ends, with its code.
TEST_F(ObservabilityTest, EveryRpcIsCountedWithItsType) {
  auto labels = [](const std::string& method, const std::string& type) {
    return absl::StrCat("{grpc_method=\"", method,
                        "\",grpc_service=\"leaf.agleader.v1.AgLeaderCredentials\",grpc_type=\"",
                        type, "\"}");
  };
  auto handled = [](const std::string& code, const std::string& method, const std::string& type) {
    return absl::StrCat("grpc_server_handled_total{grpc_code=\"", code, "\",grpc_method=\"", method,
                        "\",grpc_service=\"leaf.agleader.v1.AgLeaderCredentials\",grpc_type=\"",
                        type, "\"}");
  };
  h_->Create(kUserA);
  v1::ListCredentialsResponse listed;
  ASSERT_TRUE(h_->stub()
                  .ListCredentials(Harness::Context().get(), v1::ListCredentialsRequest(), &listed)
                  .ok());
  v1::BatchGetCredentialsRequest batch;
  batch.add_leaf_user_ids(kUserA);
  v1::BatchGetCredentialsResponse got;
  ASSERT_TRUE(h_->stub().BatchGetCredentials(Harness::Context().get(), batch, &got).ok());
  v1::BatchGetCredentialsResponse none;
  EXPECT_EQ(
      h_->stub()
          .BatchGetCredentials(Harness::Context().get(), v1::BatchGetCredentialsRequest(), &none)
          .error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  {
    WatchStream watch(h_->stub(), {kUserA});
    ASSERT_TRUE(watch.Next().has_value());
    watch.Cancel();
    ASSERT_TRUE(watch.Ended().has_value());
  }
  {
    WatchStream refused(h_->stub(), {"not-a-user-id"});
    std::optional<grpc::Status> end = refused.Ended();
    ASSERT_TRUE(end.has_value());
    EXPECT_EQ(end->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  // The server counts a stream as handled in OnDone, which may run just
  // after the caller saw the end: wait for both (generously).
  const std::string watch_cancelled = handled("Cancelled", "WatchCredentials", "server_stream");
  const std::string watch_refused = handled("InvalidArgument", "WatchCredentials", "server_stream");
  std::string text = Scrape();
  for (absl::Time give_up = absl::Now() + absl::Seconds(10);
       (Sample(text, watch_cancelled) < 1 || Sample(text, watch_refused) < 1) &&
       absl::Now() < give_up;
       absl::SleepFor(absl::Milliseconds(20))) {
    text = Scrape();
  }
  EXPECT_EQ(Sample(text, "grpc_server_started_total" + labels("ListCredentials", "unary")), 1);
  EXPECT_EQ(Sample(text, handled("OK", "ListCredentials", "unary")), 1);
  EXPECT_EQ(Sample(text, "grpc_server_started_total" + labels("BatchGetCredentials", "unary")), 2);
  EXPECT_EQ(Sample(text, handled("OK", "BatchGetCredentials", "unary")), 1);
  EXPECT_EQ(Sample(text, handled("InvalidArgument", "BatchGetCredentials", "unary")), 1);
  EXPECT_EQ(
      Sample(text, "grpc_server_handling_seconds_count" + labels("BatchGetCredentials", "unary")),
      2);
  EXPECT_EQ(Sample(text, "grpc_server_started_total" + labels("WatchCredentials", "server_stream")),
            2);
  EXPECT_EQ(Sample(text, watch_cancelled), 1);
  EXPECT_EQ(Sample(text, watch_refused), 1);
  EXPECT_EQ(Sample(text, "grpc_server_handling_seconds_count" +
                             labels("WatchCredentials", "server_stream")),
            2);
  // Open streams are not calls in flight (agleader_watch_streams counts them).
  EXPECT_EQ(Sample(text, "agleader_calls_in_flight"), 0);
}

TEST_F(ObservabilityTest, OneJsonLinePerRpcWithTheRequestIdEverywhere) {
  logs_.clear();
  grpc::Status st = Get("trace-abc-123");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  // Back to the caller: trailing metadata and ErrorInfo.
  EXPECT_EQ(last_trailer_, "trace-abc-123");
  EXPECT_EQ(ErrorInfoOf(st).metadata().at("request_id"), "trace-abc-123");
  // On to Leaf.
  auto requests = h_->emulator().Requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().headers.at("x-request-id"), "trace-abc-123");
  // Into the log, once.
  auto lines = RpcLines();
  ASSERT_EQ(lines.size(), 1u);
  const rapidjson::Document& line = lines[0];
  EXPECT_STREQ(line["method"].GetString(), "GetCredentials");
  EXPECT_STREQ(line["code"].GetString(), "NOT_FOUND");
  EXPECT_STREQ(line["request_id"].GetString(), "trace-abc-123");
  EXPECT_EQ(line["leaf_status"].GetInt(), 404);
  EXPECT_EQ(line["attempts"].GetInt(), 1);
  EXPECT_TRUE(line["latency_ms"].IsNumber());
  EXPECT_TRUE(line.HasMember("time"));
}

TEST_F(ObservabilityTest, ARequestIdIsGeneratedWhenNoneOrAnUnusableOneIsSent) {
  EXPECT_EQ(Get().error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(std::regex_match(last_trailer_, std::regex("[0-9a-f]{32}"))) << last_trailer_;
  const std::string first = last_trailer_;
  Get(std::string(200, 'x'));  // too long: replaced
  EXPECT_EQ(last_trailer_.size(), 32u);
  EXPECT_NE(last_trailer_, first);
}

}  // namespace
}  // namespace leafsvc::testing
