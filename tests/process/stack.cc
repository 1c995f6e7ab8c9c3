#include "tests/process/stack.h"

#include <httplib.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace leafsvc::testing {
namespace {

std::string After(const std::string& line, const std::string& marker) {
  size_t at = line.find(marker);
  return at == std::string::npos ? "" : line.substr(at + marker.size());
}

}  // namespace

std::unique_ptr<Stack> Stack::Start(const std::vector<std::string>& server_args) {
  return Start(server_args, {}, {});
}

std::unique_ptr<Stack> Stack::Start(const std::vector<std::string>& server_args,
                                    const std::vector<std::string>& launcher,
                                    const std::map<std::string, std::string>& server_env) {
  auto stack = std::make_unique<Stack>();
  const std::string tmp = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  stack->server_log_ = tmp + "/server.log";
  auto emulator = Subprocess::Start(
      {RunfilePath("emulator/leaf_emulator"), "--port=0", absl::StrCat("--token=", kStackToken)},
      {}, tmp + "/emulator.log");
  EXPECT_TRUE(emulator.has_value());
  if (!emulator.has_value()) return nullptr;
  stack->emulator_.emplace(std::move(*emulator));
  auto line = stack->emulator_->WaitForLine("leaf_emulator listening on ", absl::Seconds(20));
  EXPECT_TRUE(line.has_value()) << "emulator did not start";
  if (!line.has_value()) return nullptr;
  stack->leaf_url_ = After(*line, "listening on ");

  std::vector<std::string> argv = launcher;
  argv.insert(argv.end(), {RunfilePath("server/agleader_credentials_server"),
                           "--listen=127.0.0.1:0", "--leaf_api_url=" + stack->leaf_url_});
  argv.insert(argv.end(), server_args.begin(), server_args.end());
  std::map<std::string, std::string> env = server_env;
  env.emplace("AGLEADER_LEAF_TOKEN", kStackToken);
  auto server = Subprocess::Start(argv, env, stack->server_log_);
  EXPECT_TRUE(server.has_value());
  if (!server.has_value()) return nullptr;
  stack->server_.emplace(std::move(*server));
  line =
      stack->server_->WaitForLine("agleader_credentials_server listening on ", absl::Seconds(20));
  EXPECT_TRUE(line.has_value()) << "server did not start";
  if (!line.has_value()) return nullptr;
  stack->target_ = After(*line, "listening on ");
  return stack;
}

std::string Stack::ServerLog() const {
  std::string out;
  FILE* f = std::fopen(server_log_.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

int Stack::Control(const std::string& method, const std::string& path, const std::string& json) {
  httplib::Client client(leaf_url_);
  client.set_connection_timeout(5);
  httplib::Result res = method == "DELETE" ? client.Delete(path.c_str())
                        : method == "GET"  ? client.Get(path.c_str())
                                           : client.Post(path.c_str(), json, "application/json");
  return res ? res->status : 0;
}

}  // namespace leafsvc::testing

namespace leafsvc::testing {

int Stack::UpstreamRequests(const std::string& path_contains) {
  httplib::Client client(leaf_url_);
  client.set_connection_timeout(5);
  httplib::Result res =
      client.Get(("/_emulator/requests/count?path_contains=" + path_contains).c_str());
  if (!res || res->status != 200) return -1;
  // {"count":N}
  size_t colon = res->body.find(':');
  return colon == std::string::npos ? -1 : std::atoi(res->body.c_str() + colon + 1);
}

}  // namespace leafsvc::testing
