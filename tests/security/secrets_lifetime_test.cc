// Secrets do not linger in the configuration, and the page token key is never
// a public constant: through the real stack (emulator + App on loopback).
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "server/observability/log.h"
#include "tests/integration/harness.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr char kUsername[] = "ops@example.com";
constexpr char kPassword[] = "lifetime-test-password-0042";

// Log lines written while it lives.
class LogCapture {
 public:
  LogCapture() {
    SetLogSink([this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() { SetLogSink(nullptr); }
  bool Contains(absl::string_view text) {
    absl::MutexLock lock(&mu_);
    for (const std::string& l : lines_) {
      if (absl::StrContains(l, text)) return true;
    }
    return false;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_;
};

void AddEvents(Harness& h) {
  h.Create(kUserA);
  for (int i = 0; i < 3; ++i) {
    leafemu::StoredEvent e;
    e.id = "e" + std::to_string(i);
    e.created_date = "2024-01-01T00:00:0" + std::to_string(i) + "Z";
    ASSERT_TRUE(h.emulator().AddEvent(kUserA, e));
  }
}

grpc::Status List(Harness& h, const std::string& token, v1::ListCredentialEventsResponse* out) {
  v1::ListCredentialEventsRequest req;
  req.set_leaf_user_id(kUserA);
  req.set_page_size(1);
  req.set_page_token(token);
  return h.stub().ListCredentialEvents(Harness::Context().get(), req, out);
}

std::unique_ptr<Harness> StartWithKey(const std::string& key) {
  return Harness::Start(nullptr, [key](ServerConfig& c) { c.page_token_key = key; });
}

// Two replicas started with `key`, each with the same user and events.
struct Replicas {
  std::unique_ptr<Harness> a, b;
};
Replicas StartReplicas(const std::string& key) {
  Replicas r{StartWithKey(key), StartWithKey(key)};
  if (r.a == nullptr || r.b == nullptr) return {};
  AddEvents(*r.a);
  AddEvents(*r.b);
  return r;
}

TEST(SecretsLifetimeTest, WithoutAKeyEachProcessDrawsItsOwnAndWarns) {
  LogCapture log;
  auto [a, b] = StartReplicas("");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(log.Contains("no --page_token_key"));
  EXPECT_TRUE(log.Contains("replicas behind one load balancer must share one key"));

  v1::ListCredentialEventsResponse first;
  ASSERT_TRUE(List(*a, "", &first).ok());
  ASSERT_FALSE(first.next_page_token().empty());
  v1::ListCredentialEventsResponse next;
  EXPECT_TRUE(List(*a, first.next_page_token(), &next).ok());  // its own token
  grpc::Status st = List(*b, first.next_page_token(), &next);  // another key
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(st).reason(), "INVALID_PAGE_TOKEN");
}

TEST(SecretsLifetimeTest, ReplicasSharingAKeyAcceptEachOthersTokensWithoutAWarning) {
  LogCapture log;
  auto [a, b] = StartReplicas("shared-key");
  ASSERT_NE(a, nullptr);
  EXPECT_FALSE(log.Contains("no --page_token_key"));
  v1::ListCredentialEventsResponse first, next;
  ASSERT_TRUE(List(*a, "", &first).ok());
  grpc::Status st = List(*b, first.next_page_token(), &next);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

TEST(SecretsLifetimeTest, TheAppKeepsNoConfiguredSecretYetStillLogsInLater) {
  auto h = Harness::Start(
      [](leafemu::EmulatorOptions& o) {
        o.static_tokens.clear();
        o.accounts[kUsername] = kPassword;
      },
      [](ServerConfig& c) {
        c.leaf_token = Secret("");
        c.leaf_username = kUsername;
        c.leaf_password = Secret(kPassword);
        c.security.api_keys = Secret("");
        c.page_token_key = "a-configured-page-key";
      });
  ASSERT_NE(h, nullptr);
  const ServerConfig& kept = h->app().config();
  EXPECT_TRUE(kept.leaf_password.empty());
  EXPECT_TRUE(kept.leaf_token.empty());
  EXPECT_TRUE(kept.security.api_keys.empty());
  EXPECT_TRUE(kept.page_token_key.empty());
  EXPECT_EQ(kept.leaf_username, kUsername);  // not a secret: kept

  // The first call logs in only now, with the token source's own copy.
  EXPECT_EQ(h->emulator().LoginCount(), 0);
  v1::GetCredentialsRequest req;
  req.set_leaf_user_id(kUserA);
  v1::Credentials out;
  grpc::Status st = h->stub().GetCredentials(Harness::Context().get(), req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_EQ(h->emulator().LoginCount(), 1);
  // And paging (keyed by the service's copy of the page key) still works.
  AddEvents(*h);
  v1::ListCredentialEventsResponse first, next;
  ASSERT_TRUE(List(*h, "", &first).ok());
  EXPECT_TRUE(List(*h, first.next_page_token(), &next).ok());
}

// The alerts webhook secret is kept by the alert listener and the registrar
// only: the App's configuration forgets it, and a log line that quotes it
// (an error from Leaf echoing the webhook it was sent) shows [redacted].
TEST(SecretsLifetimeTest, TheAlertsSecretIsWipedAndRedactedLikeTheOthers) {
  const std::string secret = "alerts-webhook-secret-for-the-lifetime-test-0001";
  auto h = Harness::Start(nullptr, [&](ServerConfig& c) {
    c.alerts_listen = "127.0.0.1:0";
    c.alerts_secret = Secret(secret);
  });
  ASSERT_NE(h, nullptr);
  EXPECT_TRUE(h->app().config().alerts_secret.empty());
  LogCapture log;
  Log(LogLevel::kWarning, "Leaf said: bad webhook secret " + secret,
      {{"body", "{\"secret\":\"" + secret + "\"}"}});
  EXPECT_TRUE(log.Contains("[redacted]"));
  EXPECT_FALSE(log.Contains(secret.substr(0, 20)));
  EXPECT_FALSE(log.Contains(secret.substr(20)));
}

}  // namespace
}  // namespace leafsvc::testing
