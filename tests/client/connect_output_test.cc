// A connect link as agleader_client prints it: every field a caller acts on,
// the error's reason, unknown states by number, and the server's text made
// safe for a terminal.
#include "client/connect_output.h"

#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"

namespace leafsvc::client {
namespace {

namespace v1 = ::leaf::agleader::v1;

v1::ConnectLink Sample() {
  v1::ConnectLink link;
  link.set_name("connectLinks/abc123");
  link.set_leaf_user_id("3fa85f64-5717-4562-b3fc-2c963f66afa6");
  link.set_url("https://connect.example.com/connect/abc123");
  link.set_state(v1::ConnectLink::PENDING);
  link.mutable_create_time()->set_seconds(1796601600);  // 2026-12-07T00:00:00Z
  link.mutable_expire_time()->set_seconds(1797206400);  // 2026-12-14T00:00:00Z
  link.mutable_update_time()->set_seconds(1796601600);
  return link;
}

TEST(ConnectOutputTest, PendingLink) {
  const std::string text = FormatConnectLink(Sample());
  EXPECT_NE(text.find("url:            https://connect.example.com/connect/abc123\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("name:           connectLinks/abc123\n"), std::string::npos) << text;
  EXPECT_NE(text.find("state:          PENDING\n"), std::string::npos) << text;
  EXPECT_NE(text.find("expires:        2026-12-14T00:00:00Z\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("error:"), std::string::npos);
  EXPECT_EQ(text.find("credentials id:"), std::string::npos);
}

TEST(ConnectOutputTest, ConnectedAndFailed) {
  v1::ConnectLink link = Sample();
  link.set_state(v1::ConnectLink::CONNECTED);
  link.set_credentials_id("cred-42");
  link.set_return_url("https://app.example.com/done");
  std::string text = FormatConnectLink(link);
  EXPECT_NE(text.find("state:          CONNECTED\n"), std::string::npos) << text;
  EXPECT_NE(text.find("credentials id: cred-42\n"), std::string::npos) << text;
  EXPECT_NE(text.find("return url:     https://app.example.com/done\n"), std::string::npos);

  link.set_state(v1::ConnectLink::FAILED);
  link.mutable_error()->set_code(9);
  link.mutable_error()->set_message("AgFiniti refused the code");
  google::rpc::ErrorInfo info;
  info.set_reason("AGFINITI_CODE_REJECTED");
  link.mutable_error()->add_details()->PackFrom(info);
  text = FormatConnectLink(link);
  EXPECT_EQ(ConnectLinkErrorReason(link), "AGFINITI_CODE_REJECTED");
  EXPECT_NE(text.find("error:          AGFINITI_CODE_REJECTED: AgFiniti refused the code\n"),
            std::string::npos)
      << text;

  link.mutable_error()->clear_details();
  EXPECT_EQ(ConnectLinkErrorReason(link), "CODE_9");
}

TEST(ConnectOutputTest, UnknownStateAndMissingTimes) {
  v1::ConnectLink link;
  link.set_state(static_cast<v1::ConnectLink::State>(42));
  const std::string text = FormatConnectLink(link);
  EXPECT_NE(text.find("state:          STATE_42\n"), std::string::npos) << text;
  EXPECT_NE(text.find("expires:        (unknown)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("url:            (none)\n"), std::string::npos) << text;
  EXPECT_EQ(ConnectLinkStateName(v1::ConnectLink::STATE_UNSPECIFIED), "STATE_0");
}

TEST(ConnectOutputTest, HostileServerTextIsEscaped) {
  v1::ConnectLink link = Sample();
  link.set_url("https://x.example/\x1b]8;;evil\x07\nstate: CONNECTED");
  link.mutable_error()->set_message("bad\rline");
  const std::string text = FormatConnectLink(link);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find("\nstate: CONNECTED"), std::string::npos) << text;
  EXPECT_NE(text.find("\\x1b"), std::string::npos);
}

}  // namespace
}  // namespace leafsvc::client
