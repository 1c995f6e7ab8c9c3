// Every method of the service has its grpc_server_* series, with the
// grpc_type of its descriptor: the list used to be kept by hand and had lost
// ListCredentials, BatchGetCredentials and WatchCredentials.
#include "server/observability/metrics.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"

namespace leafsvc {
namespace {

constexpr char kServiceName[] = "leaf.agleader.v1.AgLeaderCredentials";

const google::protobuf::ServiceDescriptor& Service() {
  const google::protobuf::ServiceDescriptor* s =
      ::leaf::agleader::v1::GetCredentialsRequest::descriptor()->file()->FindServiceByName(
          "AgLeaderCredentials");
  EXPECT_NE(s, nullptr);
  EXPECT_EQ(s->full_name(), kServiceName);
  return *s;
}

std::string Labels(const google::protobuf::MethodDescriptor& m) {
  const char* type = m.server_streaming() ? "server_stream" : "unary";
  return absl::StrCat("{grpc_method=\"", m.name(), "\",grpc_service=\"", kServiceName,
                      "\",grpc_type=\"", type, "\"}");
}

// "\n<name><labels> <value>\n" appears in `text`.
bool HasSample(const std::string& text, const std::string& name, const std::string& labels,
               int value) {
  return text.find(absl::StrCat("\n", name, labels, " ", value, "\n")) != std::string::npos;
}

TEST(MetricsTest, EveryMethodHasItsSeriesBeforeItsFirstCall) {
  const google::protobuf::ServiceDescriptor& service = Service();
  ASSERT_EQ(service.method_count(), 9);  // the test must see the streaming one too
  Metrics metrics;
  const std::string text = "\n" + metrics.Text();
  for (int i = 0; i < service.method_count(); ++i) {
    const std::string labels = Labels(*service.method(i));
    EXPECT_TRUE(HasSample(text, "grpc_server_started_total", labels, 0)) << labels;
    EXPECT_TRUE(HasSample(text, "grpc_server_handling_seconds_count", labels, 0)) << labels;
  }
}

TEST(MetricsTest, EveryMethodIsCountedStartedAndHandledByCode) {
  const google::protobuf::ServiceDescriptor& service = Service();
  Metrics metrics;
  for (int i = 0; i < service.method_count(); ++i) {
    // Method i is started i+1 times and handled once NotFound, i times OK.
    const std::string& name = service.method(i)->name();
    for (int n = 0; n <= i; ++n) metrics.RpcStarted(name);
    metrics.RpcHandled(name, absl::StatusCode::kNotFound, absl::Milliseconds(3));
    for (int n = 0; n < i; ++n) metrics.RpcHandled(name, absl::StatusCode::kOk, absl::Seconds(1));
  }
  const std::string text = "\n" + metrics.Text();
  for (int i = 0; i < service.method_count(); ++i) {
    const google::protobuf::MethodDescriptor& m = *service.method(i);
    const std::string labels = Labels(m);
    EXPECT_TRUE(HasSample(text, "grpc_server_started_total", labels, i + 1)) << labels;
    EXPECT_TRUE(HasSample(text, "grpc_server_handling_seconds_count", labels, i + 1)) << labels;
    const std::string not_found = absl::StrCat("{grpc_code=\"NotFound\",", labels.substr(1));
    EXPECT_TRUE(HasSample(text, "grpc_server_handled_total", not_found, 1)) << not_found;
    if (i > 0) {
      const std::string ok = absl::StrCat("{grpc_code=\"OK\",", labels.substr(1));
      EXPECT_TRUE(HasSample(text, "grpc_server_handled_total", ok, i)) << ok;
    }
  }
  EXPECT_NE(text.find("grpc_type=\"server_stream\""), std::string::npos);
}

TEST(MetricsTest, AMethodOutsideTheServiceAddsNoSeries) {
  Metrics metrics;
  metrics.RpcStarted("NotAMethod");
  metrics.RpcHandled("NotAMethod", absl::StatusCode::kOk, absl::Seconds(1));
  EXPECT_EQ(metrics.Text().find("NotAMethod"), std::string::npos);
}

}  // namespace
}  // namespace leafsvc
