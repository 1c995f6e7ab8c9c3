// Keeps the README true: every server flag, its environment twin and every
// ErrorInfo reason the code can produce are documented.
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "server/config.h"
#include "server/leaf/leaf_errors.h"

namespace leafsvc {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(std::string(std::getenv("TEST_SRCDIR")) + "/" +
                   std::getenv("TEST_WORKSPACE") + "/" + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Readme() { return Read("README.md"); }

TEST(ReadmeTest, DocumentsEveryServerFlagAndItsEnvironmentVariable) {
  // docs/security-process.md documents the connection-limit flags until the
  // README's security section takes them over.
  const std::string readme = Readme() + Read("docs/security-process.md");
  ASSERT_FALSE(readme.empty());
  FlagSet flags = ServerFlags();
  for (const std::string& name : flags.Names()) {
    EXPECT_NE(readme.find("`--" + name + "`"), std::string::npos) << name;
    EXPECT_NE(readme.find("`" + flags.EnvName(name) + "`"), std::string::npos) << name;
  }
}

TEST(ReadmeTest, DocumentsEveryErrorReason) {
  const std::string readme = Readme();
  for (absl::string_view reason :
       {leaf::kReasonCredentialsNotFound, leaf::kReasonLeafUserNotFound,
        leaf::kReasonAlreadyExist, leaf::kReasonLeafRejected, leaf::kReasonLeafTokenRejected,
        leaf::kReasonLeafLoginFailed, leaf::kReasonLeafPermissionDenied,
        leaf::kReasonLeafRateLimited, leaf::kReasonLeafUnavailable, leaf::kReasonLeafUnreachable,
        leaf::kReasonLeafTimeout, leaf::kReasonLeafBadResponse, leaf::kReasonLeafResponseTooLarge,
        leaf::kReasonLeafUnexpectedResponse, leaf::kReasonCancelled, leaf::kReasonTransportError, leaf::kReasonTooManyInFlight, leaf::kReasonCallerTokenRejected,
        absl::string_view("SHUTTING_DOWN"), absl::string_view("CALLER_LEAF_TOKEN_NOT_ALLOWED"),
        absl::string_view("INVALID_REQUEST"), absl::string_view("INVALID_PAGE_TOKEN"),
        absl::string_view("FULL_VIEW_NOT_ALLOWED")}) {
    EXPECT_NE(readme.find("`" + std::string(reason) + "`"), std::string::npos) << reason;
  }
}

}  // namespace
}  // namespace leafsvc
