// A real redis-server for tests, on a free loopback port, with no
// persistence. Start waits until it answers PING. Kill (SIGKILL), Pause
// (SIGSTOP), Resume (SIGCONT) and Restart (same port) play the faults fleet
// mode must survive; the destructor stops it.
#ifndef TESTS_SUPPORT_REDIS_SERVER_H_
#define TESTS_SUPPORT_REDIS_SERVER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace leafsvc::testing {

inline constexpr char kRedisServerPath[] = "/usr/bin/redis-server";

class RedisServer {
 public:
  // True when kRedisServerPath exists and is executable; tests skip
  // (GTEST_SKIP with the reason) otherwise.
  static bool Available();

  // `extra_args` go to redis-server as is (e.g. {"--requirepass", "pw"}).
  explicit RedisServer(std::vector<std::string> extra_args = {});
  ~RedisServer();

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts it (on the port chosen at construction) and waits, up to 10 s,
  // until it answers PING.
  absl::Status Start();
  void Kill();    // SIGKILL, and reaps it
  void Pause();   // SIGSTOP
  void Resume();  // SIGCONT
  // Kill (if running), then Start on the same port.
  absl::Status Restart();

  int port() const { return port_; }
  bool running() const { return pid_ > 0; }

 private:
  bool Answers() const;

  std::vector<std::string> extra_args_;
  int port_;
  pid_t pid_ = -1;
};

}  // namespace leafsvc::testing

#endif  // TESTS_SUPPORT_REDIS_SERVER_H_
