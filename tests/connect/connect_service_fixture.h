// The fixture of the connect flow's tests (connect_service_test.cc,
// connect_service_callback_test.cc): AgFiniti's token endpoint is a fake
// HttpClient, Leaf a real LeafClient over another fake HttpClient, the links
// in memory; the secrets of the flow are known constants, scanned for.
#ifndef TESTS_CONNECT_CONNECT_SERVICE_FIXTURE_H_
#define TESTS_CONNECT_CONNECT_SERVICE_FIXTURE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/connect/connect_service.h"
#include "server/connect/memory_link_store.h"
#include "server/connect/oauth_state.h"
#include "server/errors/status_details.h"
#include "server/providers/agleader/agleader_spec.h"
#include "tests/connect/store_sync.h"
#include "tests/leaf/fake_http_client.h"
#include "tests/leaf/test_token_sources.h"

namespace leafsvc::connect {
namespace service_test {

using ::leafsvc::testing::CountingTokenSource;
using ::leafsvc::testing::FakeHttpClient;
using ::leafsvc::testing::HeaderOf;

inline constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
inline constexpr char kCode[] = "the-code-Qx7Zk2mN9pL4wR8t";
inline constexpr char kRefresh[] = "refresh-token-Hj3Kd9sLq2Zx";
inline constexpr char kAccess[] = "access-token-Pw5Nb7cVt1Ym";
inline constexpr char kPrivate[] = "private-key-Rt6Yu8Io0Pa2";
inline constexpr char kCredsJson[] =
    R"({"id":"cred-1","status":"OK","refreshToken":"refresh-token-Hj3Kd9sLq2Zx",)"
    R"("publicKey":"public-key-1","privateKey":"private-key-Rt6Yu8Io0Pa2"})";

inline std::string TokenAnswer() {
  return std::string(R"({"access_token":")") + kAccess + R"(","refresh_token":")" + kRefresh +
         R"(","expires_in":3600,"token_type":"bearer"})";
}

// The value of query parameter `name` in `url` (raw).
inline std::string Param(const std::string& url, const std::string& name) {
  size_t p = url.find("?" + name + "=");
  if (p == std::string::npos) p = url.find("&" + name + "=");
  if (p == std::string::npos) return "";
  p += name.size() + 2;
  return url.substr(p, url.find('&', p) - p);
}

inline leaf::LeafClientOptions NoRetries() {
  leaf::LeafClientOptions o;
  o.retry.max_attempts = 1;
  return o;
}

class ConnectServiceTest : public ::testing::Test {
 protected:
  ConnectServiceTest()
      : store_(StoreOptions()),
        leaf_client_(&leaf_http_, &tokens_,
                     leaf::LeafEndpoints("http://leaf", providers::AgLeaderSpec()), NoRetries()) {
    Rebuild(/*pkce=*/false);
  }

  MemoryLinkStoreOptions StoreOptions() {
    MemoryLinkStoreOptions o;
    o.clock = clock_.Fn();
    return o;
  }

  void Rebuild(bool pkce) {
    ConnectOptions o;
    o.public_key = "public-key-1";
    o.private_key = Secret(kPrivate);
    o.authorize_url = "https://agfiniti.test/Account/Authorize";
    o.token_url = "http://127.0.0.1:1/api/token";
    o.public_url = "https://connect.example.com";
    o.return_url_allow = {"https://app.example/back"};
    o.pkce = pkce;
    service_ =
        std::make_unique<ConnectService>(o, &store_, &agfiniti_, &leaf_client_, clock_.Fn(),
                                         [this](const ConnectLink& l) { connected_.push_back(l); });
  }

  ConnectLink NewLink(std::optional<absl::Duration> ttl = std::nullopt) {
    std::optional<absl::StatusOr<ConnectLink>> got;
    service_->CreateLink(kUser, "https://app.example/back/done", ttl,
                         [&](absl::StatusOr<ConnectLink> r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value() && got->ok());
    Remember(got->status());
    return got->ok() ? **got : ConnectLink{};
  }

  absl::StatusOr<AttemptStart> Start(const std::string& id) {
    std::optional<absl::StatusOr<AttemptStart>> got;
    service_->StartAttempt(id, [&](absl::StatusOr<AttemptStart> r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value());
    Remember(got->status());
    return *got;
  }

  // Starts Complete; answer AgFiniti and Leaf with the fakes, then read.
  void Complete(CallbackParams p) {
    result_.reset();
    service_->Complete(std::move(p),
                       [&](absl::StatusOr<ConnectLink> r) { result_ = std::move(r); });
  }
  absl::StatusOr<ConnectLink> Result() {
    EXPECT_TRUE(result_.has_value());
    if (!result_.has_value()) return absl::InternalError("no answer");
    Remember(result_->status());
    if (result_->ok()) Remember(**result_);
    return *result_;
  }
  CallbackParams Callback(const AttemptStart& a, std::string code = kCode) {
    CallbackParams p;
    p.state = Param(a.authorize_url, "state");
    p.code = std::move(code);
    p.browser_binding = a.browser_binding;
    return p;
  }
  absl::StatusOr<ConnectLink> Get(const std::string& id) {
    std::optional<absl::StatusOr<ConnectLink>> got;
    service_->GetLink(id, [&](absl::StatusOr<ConnectLink> r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value());
    Remember(got->status());
    if (got->ok()) Remember(**got);
    return *got;
  }
  // Runs a whole successful completion of a fresh attempt on `id`.
  absl::StatusOr<ConnectLink> Connect(const std::string& id) {
    absl::StatusOr<AttemptStart> a = Start(id);
    if (!a.ok()) return a.status();
    Complete(Callback(*a));
    EXPECT_TRUE(agfiniti_.Respond(200, TokenAnswer()));
    EXPECT_TRUE(leaf_http_.Respond(201, kCredsJson));
    return Result();
  }

  // Everything the service said, for the final scan.
  void Remember(const absl::Status& s) {
    if (s.ok()) return;
    said_.push_back(std::string(s.message()));
    StatusDetails d = GetStatusDetails(s);
    for (const auto& [k, v] : d.metadata) said_.push_back(v);
    for (const auto& v : d.field_violations) said_.push_back(v.description);
  }
  void Remember(const ConnectLink& l) {
    for (const std::string* f : {&l.id, &l.leaf_user_id, &l.return_url, &l.error_reason,
                                 &l.error_message, &l.credentials_id}) {
      said_.push_back(*f);
    }
  }

  void TearDown() override {
    for (const std::string& text : said_) {
      for (const char* secret : {kCode, kRefresh, kAccess, kPrivate, "Qx7Zk2mN", "Hj3Kd9sL"}) {
        EXPECT_FALSE(absl::StrContains(text, secret)) << "leaked in: " << text;
      }
    }
  }

  testing::FakeClock clock_;
  MemoryLinkStore store_;
  FakeHttpClient agfiniti_;
  FakeHttpClient leaf_http_;
  CountingTokenSource tokens_;
  leaf::LeafClient leaf_client_;
  std::unique_ptr<ConnectService> service_;
  std::vector<ConnectLink> connected_;
  std::optional<absl::StatusOr<ConnectLink>> result_;
  std::vector<std::string> said_;
};

}  // namespace service_test
}  // namespace leafsvc::connect

#endif  // TESTS_CONNECT_CONNECT_SERVICE_FIXTURE_H_
