// Secrets never leak: every RPC, on its happy path and on every error path,
// with known secret values and the most verbose log level. No log line, error
// message, error detail (ErrorInfo, BadRequest) or default-view response may
// contain any of them — even when Leaf quotes them back in its errors.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/observability/log.h"
#include "tests/integration/harness.h"

namespace leafsvc::testing {
namespace {

namespace v1 = ::leaf::agleader::v1;
using Kind = leafemu::Fault::Kind;

constexpr char kRefresh[] = "LEAKCHECK-refresh-token-0001";
constexpr char kPrivate[] = "LEAKCHECK-private-key-0002";
constexpr char kAccess[] = "LEAKCHECK-access-token-0003";
constexpr char kLeafToken[] = "LEAKCHECK-leaf-api-token-0004";
constexpr char kPassword[] = "LEAKCHECK-leaf-password-0005";
constexpr char kCallerToken[] = "LEAKCHECK-caller-leaf-token-0006";
constexpr char kApiKey[] = "LEAKCHECK-caller-api-key-0007";
const char* const kSecrets[] = {kRefresh,  kPrivate,     kAccess, kLeafToken,
                                kPassword, kCallerToken, kApiKey};

// Captures every log line at the most verbose level for the test's checks.
class CapturedLogs : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kDebug);
    SetLogSink([this](absl::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      logs_.emplace_back(line);
    });
  }
  void TearDown() override {
    SetLogSink(nullptr);
    SetLogLevel(LogLevel::kInfo);
  }

  std::mutex mu_;
  std::vector<std::string> logs_;
};

class SecretLeakTest : public CapturedLogs {
 protected:
  void TearDown() override {
    CapturedLogs::TearDown();
    std::lock_guard<std::mutex> lock(mu_);
    ASSERT_FALSE(logs_.empty());  // the check below looked at real output
    for (const std::string& line : logs_) {
      for (const char* secret : kSecrets) {
        EXPECT_EQ(line.find(secret), std::string::npos) << "log line leaks: " << line;
      }
    }
  }

  static std::unique_ptr<Harness> Start(bool login) {
    return Harness::Start(
        [login](leafemu::EmulatorOptions& o) {
          o.static_tokens = {kLeafToken, kCallerToken};
          if (login) o.accounts["leak@example.com"] = kPassword;
        },
        [login](ServerConfig& c) {
          c.leaf_token = Secret(login ? "" : kLeafToken);
          if (login) {
            c.leaf_username = "leak@example.com";
            c.leaf_password = Secret(kPassword);
          }
          c.allow_caller_leaf_token = true;
          c.security.api_keys = Secret(kApiKey);
          c.max_attempts = 2;
          c.max_response_bytes = 64 * 1024;
          c.upstream_timeout = absl::Seconds(2);
          c.log_level = LogLevel::kDebug;
        });
  }

  static std::unique_ptr<grpc::ClientContext> Context(bool api_key = true,
                                                      bool caller_token = false) {
    auto ctx = Harness::Context();
    if (api_key) ctx->AddMetadata("authorization", std::string("Bearer ") + kApiKey);
    if (caller_token) ctx->AddMetadata("x-leaf-token", kCallerToken);
    return ctx;
  }

  // Asserts that nothing the caller sees contains a secret.
  void Check(const std::string& what, const grpc::Status& status,
             const google::protobuf::Message& response) {
    ++checked_;
    const std::string wire = response.SerializeAsString();
    for (const char* secret : kSecrets) {
      EXPECT_EQ(status.error_message().find(secret), std::string::npos)
          << what << ": message leaks: " << status.error_message();
      EXPECT_EQ(status.error_details().find(secret), std::string::npos) << what << ": details leak";
      EXPECT_EQ(wire.find(secret), std::string::npos) << what << ": response leaks";
    }
  }

  // Runs all four RPCs (create with every secret) and checks each.
  void DriveAll(Harness& h, const std::string& what, bool caller_token = false) {
    v1::CreateCredentialsRequest create;
    create.set_leaf_user_id(kUserA);
    create.set_refresh_token(kRefresh);
    create.set_public_key("public-key");
    create.set_private_key(kPrivate);
    create.set_access_token(kAccess);
    v1::Credentials creds;
    Check(what + " create",
          h.stub().CreateCredentials(Context(true, caller_token).get(), create, &creds), creds);

    v1::GetCredentialsRequest get;
    get.set_leaf_user_id(kUserA);
    v1::Credentials got;
    Check(what + " get", h.stub().GetCredentials(Context(true, caller_token).get(), get, &got),
          got);

    v1::ListCredentialEventsRequest list;
    list.set_leaf_user_id(kUserA);
    v1::ListCredentialEventsResponse events;
    Check(what + " list",
          h.stub().ListCredentialEvents(Context(true, caller_token).get(), list, &events), events);

    v1::DeleteCredentialsRequest del;
    del.set_leaf_user_id(kUserA);
    google::protobuf::Empty empty;
    Check(what + " delete",
          h.stub().DeleteCredentials(Context(true, caller_token).get(), del, &empty), empty);
  }

  // Leaf answering an error that quotes what the request sent it: the
  // bearer token, and for a create every secret in the body.
  static std::string QuotingProblem(int status, bool create) {
    std::string quoted = std::string("bearer=") + kLeafToken;
    if (create) {
      quoted += std::string(" refreshToken=") + kRefresh + " privateKey=" + kPrivate +
                " accessToken=" + kAccess;
    }
    return std::string("{\"title\":\"Bad\",\"status\":") + std::to_string(status) +
           ",\"detail\":\"got " + quoted + "\",\"errorKey\":\"" + (create ? kRefresh : kLeafToken) +
           "\"}";
  }

  int checked_ = 0;
};

TEST_F(SecretLeakTest, HappyPathsAndEveryLeafFailure) {
  auto h = Start(/*login=*/false);
  ASSERT_NE(h, nullptr);
  DriveAll(*h, "happy");

  struct FaultCase {
    const char* name;
    Kind kind;
    int status;
    bool quote;
  } faults[] = {
      {"400", Kind::kStatus, 400, true},        {"401", Kind::kStatus, 401, true},
      {"403", Kind::kStatus, 403, true},        {"404", Kind::kStatus, 404, true},
      {"409", Kind::kStatus, 409, true},        {"429", Kind::kStatus, 429, true},
      {"500", Kind::kStatus, 500, true},        {"503", Kind::kStatus, 503, true},
      {"html", Kind::kHtml, 502, false},        {"malformed", Kind::kMalformedJson, 0, false},
      {"empty", Kind::kEmptyBody, 0, false},    {"close", Kind::kCloseConnection, 0, false},
      {"reset", Kind::kResetMidBody, 0, false}, {"huge", Kind::kHugeBody, 0, false},
  };
  for (const FaultCase& f : faults) {
    for (bool create : {true, false}) {
      leafemu::Fault fault;
      fault.kind = f.kind;
      fault.status = f.status;
      fault.times = -1;
      fault.path_contains = "ag-leader-credentials";
      if (create) fault.method = "POST";
      if (f.quote) fault.body = QuotingProblem(f.status, create);
      h->emulator().InjectFault(fault);
    }
    DriveAll(*h, f.name);
    h->emulator().ClearFaults();
  }
  EXPECT_GE(checked_, 4 * 15);
}

TEST_F(SecretLeakTest, ValidationAndPermissionErrors) {
  auto h = Start(/*login=*/false);
  ASSERT_NE(h, nullptr);
  // A secret pasted into the wrong field, secrets with control characters,
  // an oversized secret, the full view refused, no or a wrong API key.
  v1::CreateCredentialsRequest create;
  create.set_leaf_user_id(kRefresh);
  create.set_refresh_token(std::string(kRefresh) + "\n");
  create.set_public_key("p");
  create.set_private_key(std::string(kPrivate) + std::string(9000, 'x'));
  create.set_access_token(std::string(kAccess) + "\t");
  v1::Credentials out;
  Check("invalid create", h->stub().CreateCredentials(Context().get(), create, &out), out);

  v1::GetCredentialsRequest get;
  get.set_leaf_user_id(kUserA);
  get.set_view(v1::CREDENTIALS_VIEW_FULL);
  Check("full view", h->stub().GetCredentials(Context().get(), get, &out), out);

  get.set_view(v1::CREDENTIALS_VIEW_BASIC);
  auto wrong_key = Harness::Context();
  wrong_key->AddMetadata("authorization", std::string("Bearer ") + kApiKey + "-wrong");
  grpc::Status st = h->stub().GetCredentials(wrong_key.get(), get, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  Check("wrong api key", st, out);
  Check("no api key", h->stub().GetCredentials(Context(false).get(), get, &out), out);

  auto bad_caller_token = Context();
  bad_caller_token->AddMetadata("x-leaf-token", std::string(kCallerToken) + "-revoked");
  st = h->stub().GetCredentials(bad_caller_token.get(), get, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  Check("rejected caller token", st, out);
  EXPECT_EQ(st.error_message().find("-revoked"), std::string::npos);
}

TEST_F(SecretLeakTest, CallerLeafTokenIsUsedAndNeverShown) {
  auto h = Start(/*login=*/false);
  ASSERT_NE(h, nullptr);
  DriveAll(*h, "caller token", /*caller_token=*/true);
  bool saw_caller_token = false;
  for (const auto& r : h->emulator().Requests()) {
    const std::string& auth = r.headers.at("authorization");
    if (auth == std::string("Bearer ") + kCallerToken) saw_caller_token = true;
    // The caller's own authorization (its API key) never goes to Leaf.
    EXPECT_EQ(auth.find(kApiKey), std::string::npos);
  }
  EXPECT_TRUE(saw_caller_token);
}

TEST_F(SecretLeakTest, LoginModeIncludingAFailedLoginThatQuotesThePassword) {
  auto h = Start(/*login=*/true);
  ASSERT_NE(h, nullptr);
  DriveAll(*h, "login");
  h->emulator().RevokeAllTokens();  // forces a new login
  leafemu::Fault fault;
  fault.kind = Kind::kStatus;
  fault.status = 401;
  fault.times = -1;
  fault.path_contains = "/api/authenticate";
  fault.body =
      std::string("{\"title\":\"Unauthorized\",\"detail\":\"bad password ") + kPassword + "\"}";
  h->emulator().InjectFault(fault);
  DriveAll(*h, "failed login");
}

// A random secret of `n` bytes from a token-like alphabet (deterministic).
std::string RandomSecret(size_t n, unsigned seed) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/";
  std::mt19937 gen(seed);
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(kAlphabet[gen() % (sizeof kAlphabet - 1)]);
  return s;
}

// The first 8-byte run of `secret` found in `text`, or "".
std::string SurvivingRun(const std::string& text, const std::string& secret) {
  for (size_t i = 0; i + 8 <= secret.size(); ++i) {
    if (text.find(secret.substr(i, 8)) != std::string::npos) return secret.substr(i, 8);
  }
  return "";
}

// A hostile Leaf that quotes secrets in its error messages: the caller's
// refresh token (8 B to 8 KiB), the service's own Leaf token (4 KiB) and a
// JWT, starting at every offset around the places where text is cut (300
// bytes for ErrorInfo metadata, 1 KiB for the message). Nothing of 8 or more
// bytes of any of them may reach the gRPC message, any ErrorInfo metadata
// value or any log line.
class SecretEchoTest : public CapturedLogs {
 protected:
  // Creates credentials whose refresh token is `secret` while Leaf answers
  // 400 quoting `quoted` after `offset` bytes; checks every exit.
  void CreateAgainstEcho(Harness& h, const std::string& secret, const std::string& quoted,
                         size_t offset, const std::vector<std::string>& watched) {
    leafemu::Fault fault;
    fault.kind = Kind::kStatus;
    fault.status = 400;
    fault.method = "POST";
    fault.path_contains = "ag-leader-credentials";
    fault.body = "{\"title\":\"Bad\",\"detail\":\"" + std::string(offset, 'x') + quoted +
                 " end\",\"errorKey\":\"" + std::string(offset % 300, 'k') + quoted + "\"}";
    h.emulator().InjectFault(fault);
    {
      std::lock_guard<std::mutex> lock(mu_);
      logs_.clear();
    }
    v1::CreateCredentialsRequest create;
    create.set_leaf_user_id(kUserA);
    create.set_refresh_token(secret);
    create.set_public_key("public-key");
    create.set_private_key("private-key-for-echo-test");
    v1::Credentials out;
    grpc::Status st = h.stub().CreateCredentials(Harness::Context().get(), create, &out);
    h.emulator().ClearFaults();
    ASSERT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    const auto info = ErrorInfoOf(st);
    ASSERT_FALSE(info.metadata().empty());
    std::lock_guard<std::mutex> lock(mu_);
    ASSERT_FALSE(logs_.empty());
    for (const std::string& w : watched) {
      const std::string where = " (secret of " + std::to_string(w.size()) + " B at offset " +
                                std::to_string(offset) + ")";
      ASSERT_EQ(SurvivingRun(st.error_message(), w), "") << "message" << where;
      for (const auto& [key, value] : info.metadata()) {
        ASSERT_EQ(SurvivingRun(value, w), "") << "metadata " << key << where;
      }
      for (const std::string& line : logs_) ASSERT_EQ(SurvivingRun(line, w), "") << line << where;
    }
  }
};

TEST_F(SecretEchoTest, NoRunOfAnySecretSurvivesAnyOffsetOrLength) {
  // The emulator's HTTP server refuses header lines over 8 KiB.
  const std::string leaf_token = RandomSecret(4096, 1);
  auto h = Harness::Start([&](leafemu::EmulatorOptions& o) { o.static_tokens = {leaf_token}; },
                          [&](ServerConfig& c) {
                            c.leaf_token = Secret(leaf_token);
                            c.max_attempts = 1;
                            c.log_level = LogLevel::kDebug;
                          });
  ASSERT_NE(h, nullptr);
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJlY2hvLXRlc3QifQ."
      "c2lnbmF0dXJlLW9mLXRoZS1lY2hvLXRlc3Q";
  int calls = 0;
  for (size_t n : {8, 9, 40, 299, 1000, 8192}) {
    const std::string refresh = RandomSecret(n, 100 + static_cast<unsigned>(n));
    // The Leaf text sits after ~70 bytes of the service's words in the
    // message, so offsets 0-330 cross the metadata cut and 900-1030 the
    // message cut.
    std::vector<size_t> offsets;
    for (size_t o = 0; o <= 330; o += (o >= 260 ? 1 : 37)) offsets.push_back(o);
    for (size_t o = 900; o <= 1030; o += (o >= 930 && o < 1000 ? 1 : 13)) offsets.push_back(o);
    for (size_t offset : offsets) {
      const std::string quoted =
          refresh + " " + jwt + " " + leaf_token.substr(0, std::min(n, leaf_token.size()));
      CreateAgainstEcho(*h, refresh, quoted, offset, {refresh, leaf_token, jwt});
      ++calls;
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_EQ(calls, 6 * 110);
}

}  // namespace
}  // namespace leafsvc::testing
