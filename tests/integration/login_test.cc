// Username/password mode against the emulator's real login endpoint.
#include <atomic>
#include <thread>
#include <vector>

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

// Leaf refuses one user's resource whatever the token (401): each call used
// to discard the fresh token and log in again (2,200 calls, 2,201 logins).
// Logins are spaced by the login backoff; other users' calls go on.
TEST(LoginTest, A401StormOnOneResourceCostsOneLoginPerBackoffStep) {
  auto h = Harness::Start(
      [](leafemu::EmulatorOptions& o) {
        o.static_tokens.clear();
        o.accounts[kUsername] = kPassword;
      },
      [](ServerConfig& c) {
        c.leaf_token = Secret("");
        c.leaf_username = kUsername;
        c.leaf_password = Secret(kPassword);
        c.leaf_login_backoff = absl::Seconds(1);
        c.leaf_login_max_backoff = absl::Seconds(8);
      });
  ASSERT_NE(h, nullptr);
  h->Create(kUserB);
  leafemu::Fault fault;
  fault.kind = leafemu::Fault::Kind::kStatus;
  fault.status = 401;
  fault.path_contains = kUserA;
  fault.times = -1;
  h->emulator().InjectFault(fault);
  const int logins_before = h->emulator().LoginCount();
  const absl::Time start = absl::Now();
  std::atomic<int> unauthenticated{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        if (Get(*h).error_code() == grpc::StatusCode::UNAUTHENTICATED) ++unauthenticated;
      }
    });
  }
  // Meanwhile another user's calls are served with the token.
  v1::GetCredentialsRequest other;
  other.set_leaf_user_id(kUserB);
  for (int i = 0; i < 20; ++i) {
    v1::Credentials out;
    grpc::Status st = h->stub().GetCredentials(Harness::Context().get(), other, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
  }
  for (auto& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const int logins = h->emulator().LoginCount() - logins_before;
  EXPECT_EQ(unauthenticated.load(), 2000);
  // One at once, then one per step (1, 2, 4, 8, 8 ... s) while the storm lasts.
  EXPECT_LE(logins, 5 + static_cast<int>(seconds / 8)) << seconds << " s";
}

}  // namespace
}  // namespace leafsvc::testing
