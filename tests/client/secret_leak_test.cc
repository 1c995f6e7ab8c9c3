// Secrets never leak: not in usage errors, help, error reports or default
// output, whichever input they came from, even when a server echoes them.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "client/command_line.h"
#include "client/error_output.h"
#include "client/flag_table.h"
#include "client/json_output.h"
#include "client/secrets.h"
#include "client/text_output.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

using ::leaf::agleader::v1::Credentials;
using ::leaf::agleader::v1::CREDENTIALS_VIEW_BASIC;
using ::testing::HasSubstr;
using ::testing::Not;

class SecretLeakTest : public ClientTest {};

TEST_F(SecretLeakTest, SecretsOnInputNeverAppearInOutput) {
  setenv("AGLEADER_CLIENT_ACCESS_TOKEN", kAccessToken, 1);
  ParseResult r = Parse({"create", "--leaf_user_id", kUser, "--public_key", "pk", "--refresh_token",
                         kRefreshToken, "--secrets_from_stdin"},
                        std::string("private_key=") + kPrivateKey + "\n");
  ASSERT_EQ(r.outcome, ParseResult::Outcome::kRun) << r.message;
  const Invocation& inv = r.invocation;

  std::vector<std::string> outputs;
  // A server that echoes the secrets in its error.
  grpc::Status echo = StatusWithDetails(
      grpc::StatusCode::INVALID_ARGUMENT,
      std::string("bad token ") + kRefreshToken + " / " + kPrivateKey + " / " + kAccessToken, true,
      false);
  outputs.push_back(Redact(FormatError(echo), inv.secrets));
  // A basic-view response (and its JSON) that wrongly carries them.
  Credentials leaky = SampleCredentials(true);
  outputs.push_back(Redact(FormatCredentials(leaky, CREDENTIALS_VIEW_BASIC), inv.secrets));
  Credentials basic = SampleCredentials(false);
  outputs.push_back(FormatCredentials(basic, CREDENTIALS_VIEW_BASIC));
  outputs.push_back(Redact(*FormatJson(leaky), inv.secrets));
  outputs.push_back(*FormatJson(basic));
  outputs.push_back(Usage(Command::kCreate));
  outputs.push_back(Usage(std::nullopt));

  // Usage errors after the secrets were given.
  for (auto args : std::vector<std::vector<std::string>>{
           {"create", "--leaf_user_id", kUser, "--refresh_token", kRefreshToken},
           {"create", "--leaf_user_id", kUser, "--public_key", "pk", "--private_key", kPrivateKey,
            "--view", "bogus"},
           {"create", "--refresh_token=" + std::string(kRefreshToken), "--bad_flag"},
       }) {
    ParseResult bad = Parse(args);
    EXPECT_EQ(bad.outcome, ParseResult::Outcome::kUsageError);
    outputs.push_back(bad.message);
    outputs.push_back(bad.usage);
  }

  for (const std::string& out : outputs) {
    for (const char* secret : {kRefreshToken, kPrivateKey, kAccessToken}) {
      EXPECT_THAT(out, Not(HasSubstr(secret)));
    }
  }
}

TEST_F(SecretLeakTest, ApiKeyNeverInHelpOrUsageErrors) {
  setenv("AGLEADER_CLIENT_API_KEY", kApiKey, 1);
  std::vector<std::string> outputs = {Usage(std::nullopt), Usage(Command::kGet),
                                      Parse({"--help"}).usage, Parse({"get", "-h"}).usage};
  for (auto args : std::vector<std::vector<std::string>>{
           {"get", "--leaf_user_id", kUser, "--api_key", kApiKey, "--bogus"},
           {"get", "--api_key=" + std::string(kApiKey)},
           {"get", "--leaf_user_id", kUser, "--api_key", kApiKey, kApiKey},
           {"get", "--leaf_user_id", kUser, "--api_key", kApiKey, "--api_key_file",
            WriteFile("leak_key", kApiKey)},
       }) {
    ParseResult bad = Parse(args);
    EXPECT_EQ(bad.outcome, ParseResult::Outcome::kUsageError);
    outputs.push_back(bad.message);
    outputs.push_back(bad.usage);
  }
  for (const std::string& out : outputs) {
    EXPECT_THAT(out, Not(HasSubstr(kApiKey)));
  }
}

// A server that answers every call with an error quoting the authorization
// metadata it received.
class EchoAuthorizationService final : public grpc::CallbackGenericService {
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(std::string authorization) {
      Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "you sent authorization=" + authorization));
    }
    void OnDone() override { delete this; }
  };
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    std::string authorization = "(none)";
    auto it = ctx->client_metadata().find("authorization");
    if (it != ctx->client_metadata().end()) {
      authorization.assign(it->second.data(), it->second.size());
    }
    return new Reactor(authorization);
  }
};

TEST_F(SecretLeakTest, ApiKeyIsSentAsBearerAndRedactedFromWhatTheServerEchoes) {
  EchoAuthorizationService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  const std::string target = "127.0.0.1:" + std::to_string(port);

  CliResult r = RunCli({"--server", target, "get", "--leaf_user_id", kUser});
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_THAT(r.err, HasSubstr("you sent authorization=(none)"));

  r = RunCli({"--server", target, "get", "--leaf_user_id", kUser, "--api_key", kApiKey});
  EXPECT_EQ(r.exit_code, kExitRpcError);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
  // The key went out as "Bearer <key>", and came back redacted.
  EXPECT_THAT(r.err, HasSubstr("you sent authorization=Bearer [redacted]"));
  EXPECT_THAT(r.err, Not(HasSubstr(kApiKey)));
  EXPECT_THAT(r.out, Not(HasSubstr(kApiKey)));
  server->Shutdown();
}

}  // namespace
}  // namespace leafsvc::client
