// Username/password mode against the emulator's real login endpoint.
#include <thread>

#include <grpcpp/grpcpp.h>

#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kUsername[] = "ops@example.com";
constexpr char kPassword[] = "correct horse battery staple";

std::unique_ptr<Harness> StartWithLogin(const std::string& password) {
  return Harness::Start(
      [](leafemu::EmulatorOptions& o) {
        o.static_tokens.clear();
        o.accounts[kUsername] = kPassword;
      },
      [password](ServerConfig& c) {
        c.leaf_token = Secret("");
        c.leaf_username = kUsername;
        c.leaf_password = Secret(password);
      });
}

grpc::Status Get(Harness& h) {
  v1::GetCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  v1::Credentials out;
  return h.stub().GetCredentials(Harness::Context().get(), req, &out);
}

TEST(LoginTest, ManyConcurrentFirstCallsCauseOneLogin) {
  auto h = StartWithLogin(kPassword);
  ASSERT_NE(h, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> not_found{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      if (Get(*h).error_code() == grpc::StatusCode::NOT_FOUND) ++not_found;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(not_found.load(), 16);
  EXPECT_EQ(h->emulator().LoginCount(), 1);
  EXPECT_EQ(h->emulator().CountRequests("POST", "/api/authenticate"), 1);
}

TEST(LoginTest, RejectedTokenCausesOneReloginAndRetry) {
  auto h = StartWithLogin(kPassword);
  ASSERT_NE(h, nullptr);
  h->Create(kUserA);
  ASSERT_EQ(h->emulator().LoginCount(), 1);
  h->emulator().RevokeAllTokens();
  EXPECT_TRUE(Get(*h).ok());
  EXPECT_EQ(h->emulator().LoginCount(), 2);
}

TEST(LoginTest, BadPasswordIsUnauthenticatedWithLeafsReason) {
  auto h = StartWithLogin("wrong password");
  ASSERT_NE(h, nullptr);
  grpc::Status st = Get(*h);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "LEAF_LOGIN_FAILED");
  EXPECT_EQ(ErrorInfoOf(st).metadata().at("leaf_http_status"), "401");
  EXPECT_EQ(st.error_message().find("wrong password"), std::string::npos);
  EXPECT_EQ(h->emulator().CountRequests("GET", "ag-leader-credentials"), 0);
}

}  // namespace
}  // namespace leafsvc::testing
