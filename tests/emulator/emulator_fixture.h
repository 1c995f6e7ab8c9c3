// What the emulator's HTTP tests share: a running LeafEmulator with one
// account and one static token, a fresh loopback client per call, the
// credential paths of one Leaf user, and a problem+json assertion.
#ifndef TESTS_EMULATOR_EMULATOR_FIXTURE_H_
#define TESTS_EMULATOR_EMULATOR_FIXTURE_H_

#include <httplib.h>

#include <memory>
#include <string>

#include "emulator/leaf_emulator.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace leafemu {
namespace emutest {

inline constexpr char kUser[] = "grower@example.com";
inline constexpr char kPassword[] = "s3cret";
inline constexpr char kStaticToken[] = "static-test-token";
inline constexpr char kLeafUser[] = "5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
inline constexpr char kCredsPath[] =
    "/services/usermanagement/api/users/5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b/"
    "ag-leader-credentials";
inline constexpr char kEventsPath[] =
    "/services/usermanagement/api/users/5a0f2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b/"
    "ag-leader-credentials/events";
inline constexpr char kCreateBody[] =
    R"({"refreshToken":"rt-123","publicKey":"pub-456","privateKey":"priv-789"})";

std::string CredsPathFor(const std::string& user);
rapidjson::Document Parse(const std::string& body);
// The tests' own base64url decoder ("" on a bad character), independent of
// the emulator's.
std::string Base64UrlDecode(const std::string& in);

// Asserts `res` is a problem+json answer with `status` (and `error_key`).
void ExpectProblem(const httplib::Result& res, int status, const std::string& error_key = "");

class EmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith(DefaultOptions()); }

  static EmulatorOptions DefaultOptions();
  void StartWith(EmulatorOptions options);
  std::unique_ptr<httplib::Client> NewClient();
  httplib::Headers Auth(const std::string& token = kStaticToken);

  httplib::Result Login(const std::string& body);
  httplib::Result GetCreds(const std::string& token = kStaticToken);
  httplib::Result CreateCreds(const std::string& body = kCreateBody);
  httplib::Result DeleteCreds();
  httplib::Result GetEvents();

  std::unique_ptr<LeafEmulator> emu_;
};

}  // namespace emutest
}  // namespace leafemu

#endif  // TESTS_EMULATOR_EMULATOR_FIXTURE_H_
