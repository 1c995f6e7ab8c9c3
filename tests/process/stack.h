// The shipped binaries on loopback: a leaf_emulator process and an
// agleader_credentials_server process pointed at it.
#ifndef TESTS_PROCESS_STACK_H_
#define TESTS_PROCESS_STACK_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/process/subprocess.h"

namespace leafsvc::testing {

inline constexpr char kStackToken[] = "process-test-token";

class Stack {
 public:
  // Starts both; extra server flags in `server_args`. Logs go to
  // $TEST_TMPDIR/{emulator,server}.log. Returns nullptr (after a gtest
  // failure) when either does not come up.
  static std::unique_ptr<Stack> Start(const std::vector<std::string>& server_args = {});
  // Same, with the server started through `launcher` (e.g. {"/usr/bin/prlimit",
  // "--nofile=256", "--"}) and with `server_env` added to its environment.
  static std::unique_ptr<Stack> Start(const std::vector<std::string>& server_args,
                                      const std::vector<std::string>& launcher,
                                      const std::map<std::string, std::string>& server_env);

  Subprocess& emulator() { return *emulator_; }
  Subprocess& server() { return *server_; }
  const std::string& leaf_url() const { return leaf_url_; }  // http://127.0.0.1:PORT
  const std::string& target() const { return target_; }      // 127.0.0.1:PORT
  std::string ServerLog() const;

  // Calls the emulator's HTTP control API (e.g. POST /_emulator/faults);
  // returns the HTTP status (0 when unreachable).
  int Control(const std::string& method, const std::string& path, const std::string& json = "");
  // Requests the emulator has seen whose path contains `path_contains`.
  int UpstreamRequests(const std::string& path_contains);

 private:
  std::optional<Subprocess> emulator_;
  std::optional<Subprocess> server_;
  std::string leaf_url_;
  std::string target_;
  std::string server_log_;
};

}  // namespace leafsvc::testing

#endif  // TESTS_PROCESS_STACK_H_
