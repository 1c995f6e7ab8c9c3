#include "tests/client/test_util.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "client/commands.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace leafsvc::client {
namespace {

const char* const kEnvVars[] = {
    "AGLEADER_CLIENT_SERVER",        "AGLEADER_CLIENT_TIMEOUT",
    "AGLEADER_CLIENT_JSON",          "AGLEADER_CLIENT_SERVICE_CONFIG",
    "AGLEADER_CLIENT_TLS",           "AGLEADER_CLIENT_TLS_CA_FILE",
    "AGLEADER_CLIENT_CA_FILE",       "AGLEADER_CLIENT_CERT_FILE",
    "AGLEADER_CLIENT_KEY_FILE",      "AGLEADER_CLIENT_SERVER_NAME",
    "AGLEADER_CLIENT_API_KEY",       "AGLEADER_CLIENT_API_KEY_FILE",
    "AGLEADER_CLIENT_LEAF_USER_ID",  "AGLEADER_CLIENT_VIEW",
    "AGLEADER_CLIENT_PUBLIC_KEY",    "AGLEADER_CLIENT_REFRESH_TOKEN",
    "AGLEADER_CLIENT_PRIVATE_KEY",   "AGLEADER_CLIENT_PRIVATE_KEY_FILE",
    "AGLEADER_CLIENT_ACCESS_TOKEN",  "AGLEADER_CLIENT_SECRETS_FROM_STDIN",
    "AGLEADER_CLIENT_ALLOW_MISSING", "AGLEADER_CLIENT_PAGE_SIZE",
    "AGLEADER_CLIENT_PAGE_TOKEN",    "AGLEADER_CLIENT_ALL",
    "AGLEADER_CLIENT_LINKS",         "AGLEADER_CLIENT_RETURN_URL",
    "AGLEADER_CLIENT_TTL",           "AGLEADER_CLIENT_QR",
    "AGLEADER_CLIENT_NAME",
};

// argv for "agleader_client" + `args`; points into `args`.
std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return argv;
}

}  // namespace

void ClientTest::ClearEnv() {
  for (const char* name : kEnvVars) unsetenv(name);
}

ParseResult Parse(std::vector<std::string> args, const std::string& stdin_text) {
  args.insert(args.begin(), "agleader_client");
  std::vector<char*> argv = Argv(args);
  std::istringstream in(stdin_text);
  return ParseCommandLine(static_cast<int>(args.size()), argv.data(), in);
}

CliResult RunCli(std::vector<std::string> args, const std::string& stdin_text) {
  args.insert(args.begin(), "agleader_client");
  std::vector<char*> argv = Argv(args);
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  CliResult result;
  result.exit_code = RunCommandLine(static_cast<int>(args.size()), argv.data(), in, out, err);
  result.out = out.str();
  result.err = err.str();
  return result;
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string WriteFile(const std::string& name, const std::string& contents) {
  std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

leaf::agleader::v1::Credentials SampleCredentials(bool with_secrets) {
  leaf::agleader::v1::Credentials c;
  c.set_name(std::string("users/") + kUser + "/agLeaderCredentials");
  c.set_id("0b8f2c5e-1111-2222-3333-444455556666");
  c.set_leaf_user_id(kUser);
  c.set_status(leaf::agleader::v1::CREDENTIAL_STATUS_OK);
  c.set_leaf_status("OK");
  google::protobuf::util::TimeUtil::FromString("2023-04-21T12:16:27.997586Z",
                                               c.mutable_create_time());
  c.set_public_key("public-key-value");
  c.set_refresh_token_hint("****cdef");
  c.set_private_key_hint("****AEFAA");
  c.set_access_token_hint("");
  if (with_secrets) {
    c.set_refresh_token(kRefreshToken);
    c.set_private_key(kPrivateKey);
    c.set_access_token(kAccessToken);
  }
  return c;
}

grpc::Status StatusWithDetails(grpc::StatusCode code, const std::string& message, bool bad_request,
                               bool retry) {
  google::rpc::Status proto;
  proto.set_code(static_cast<int>(code));
  proto.set_message(message);
  google::rpc::ErrorInfo info;
  info.set_reason("LEAF_RATE_LIMITED");
  info.set_domain("leaf.agleader.v1");
  (*info.mutable_metadata())["leaf_message"] = "Too many requests";
  (*info.mutable_metadata())["leaf_http_status"] = "429";
  (*info.mutable_metadata())["attempt"] = "2";
  proto.add_details()->PackFrom(info);
  if (bad_request) {
    google::rpc::BadRequest br;
    auto* v = br.add_field_violations();
    v->set_field("leaf_user_id");
    v->set_description("must be a UUID");
    v = br.add_field_violations();
    v->set_field("refresh_token");
    v->set_description("must not be empty");
    proto.add_details()->PackFrom(br);
  }
  if (retry) {
    google::rpc::RetryInfo ri;
    ri.mutable_retry_delay()->set_seconds(3);
    proto.add_details()->PackFrom(ri);
  }
  return grpc::Status(code, message, proto.SerializeAsString());
}

}  // namespace leafsvc::client
