// What the client's tests share: sample secrets, a fixture that keeps the
// client's environment variables out of each test, and helpers to parse or
// run a command line in-process.
#ifndef TESTS_CLIENT_TEST_UTIL_H_
#define TESTS_CLIENT_TEST_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "client/command_line.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"

namespace leafsvc::client {

inline constexpr char kUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
inline constexpr char kRefreshToken[] = "refresh-SECRET-0123456789abcdef";
inline constexpr char kPrivateKey[] = "private-SECRET-MIIEvQIBADANBgkqhkiG9w0BAQEFAA";
inline constexpr char kAccessToken[] = "access-SECRET-eyJhbGciOiJIUzI1NiJ9";
inline constexpr char kApiKey[] = "api-key-SECRET-0123456789abcdef";

// Unsets every AGLEADER_CLIENT_* variable the client reads (and the
// server's AGLEADER_CLIENT_CA_FILE) before and after each test.
class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ClearEnv(); }
  void TearDown() override { ClearEnv(); }
  static void ClearEnv();
};

// ParseCommandLine of "agleader_client" + `args`, with `stdin_text` as stdin.
ParseResult Parse(std::vector<std::string> args, const std::string& stdin_text = "");

// What RunCommandLine printed and returned.
struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CliResult RunCli(std::vector<std::string> args, const std::string& stdin_text = "");

// TEST_TMPDIR/`name`, and that file written with `contents`.
std::string TempPath(const std::string& name);
std::string WriteFile(const std::string& name, const std::string& contents);

// Credentials of kUser as the server returns them; `with_secrets` also
// fills in the secret values (as a full view, or a server that leaks).
leaf::agleader::v1::Credentials SampleCredentials(bool with_secrets);

// A status with ErrorInfo LEAF_RATE_LIMITED (three metadata entries) and,
// optionally, two BadRequest violations and a RetryInfo of 3s.
grpc::Status StatusWithDetails(grpc::StatusCode code, const std::string& message, bool bad_request,
                               bool retry);

}  // namespace leafsvc::client

#endif  // TESTS_CLIENT_TEST_UTIL_H_
