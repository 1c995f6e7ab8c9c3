// A request message that does not parse (truncated bytes, invalid UTF-8 in
// a string field) is INVALID_ARGUMENT MALFORMED_REQUEST with a message that
// says so, one JSON log line and a metric, for every method; it never
// reaches Leaf. Sent as raw bytes through grpc::GenericStub, as a broken or
// hostile client would.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/observability/log.h"
#include "tests/integration/harness.h"

namespace leafsvc::testing {
namespace {

// String field `field` (length-delimited) holding a byte that is not UTF-8.
std::string InvalidUtf8String(int field) {
  std::string s(1, static_cast<char>(field << 3 | 2));
  s += "\x04";
  s += "ab";
  s += '\xff';
  s += 'c';
  return s;
}

TEST(MalformedRequestTest, EveryMethodAnswersInvalidArgumentWithAReasonALogLineAndAMetric) {
  auto h = Harness::Start();
  ASSERT_NE(h, nullptr);
  std::mutex mu;
  std::vector<std::string> lines;
  SetLogSink([&](absl::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(line);
  });
  h->emulator().ClearRequests();
  const std::vector<std::string> methods = {"GetCredentials",    "CreateCredentials",
                                            "DeleteCredentials", "ListCredentialEvents",
                                            "ListCredentials",   "BatchGetCredentials"};
  const std::vector<std::string> bodies = {
      std::string("\x0a\x20"
                  "3fa85f64",
                  10),  // claims 32 bytes, has 8: truncated
      std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11),  // a varint too long
  };
  int calls = 0;
  for (const std::string& method : methods) {
    // The first string field: leaf_user_id(s), or ListCredentials' page_token.
    std::vector<std::string> method_bodies = bodies;
    method_bodies.push_back(InvalidUtf8String(method == "ListCredentials" ? 2 : 1));
    for (const std::string& body : method_bodies) {
      SCOPED_TRACE(method + " body of " + std::to_string(body.size()) + " bytes");
      grpc::Status st = CallRaw(*h, method, body);
      ++calls;
      EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
      EXPECT_NE(st.error_message().find("could not be parsed"), std::string::npos)
          << st.error_message();
      EXPECT_EQ(ErrorInfoOf(st).reason(), "MALFORMED_REQUEST");
      EXPECT_FALSE(ErrorInfoOf(st).metadata().at("request_id").empty());
    }
  }
  SetLogSink(nullptr);
  EXPECT_EQ(h->emulator().Requests().size(), 0u) << "a malformed request reached Leaf";
  int logged = 0;
  for (const std::string& line : lines) {
    if (line.find("\"msg\":\"rpc\"") != std::string::npos &&
        line.find("MALFORMED_REQUEST") != std::string::npos) {
      ++logged;
    }
  }
  EXPECT_EQ(logged, calls);
  const std::string metrics = h->app().metrics().Text();
  EXPECT_NE(metrics.find("agleader_rejected_calls_total{reason=\"MALFORMED_REQUEST\"} " +
                         std::to_string(calls)),
            std::string::npos)
      << metrics;
}

TEST(MalformedRequestTest, AWellFormedRawRequestStillWorks) {
  auto h = Harness::Start();
  ASSERT_NE(h, nullptr);
  h->Create(kUserA);
  ::leaf::agleader::v1::GetCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  grpc::Status st = CallRaw(*h, "GetCredentials", req.SerializeAsString());
  EXPECT_TRUE(st.ok()) << st.error_message();
}

}  // namespace
}  // namespace leafsvc::testing
