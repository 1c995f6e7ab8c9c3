// Several replicas through the real stack: one real redis-server on a free
// loopback port, one Leaf emulator, and N Apps in fleet mode sharing both,
// each with its own gRPC port, stub and alert listener. Replica 0 is a
// Harness (it owns the emulator); the others are plain Apps.
#ifndef TESTS_INTEGRATION_FLEET_HARNESS_H_
#define TESTS_INTEGRATION_FLEET_HARNESS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/integration/harness.h"
#include "tests/support/redis_server.h"

namespace leafsvc::testing {

inline constexpr char kFleetAlertSecret[] = "webhook-secret-for-fleet-tests-0123456789";

class FleetHarness {
 public:
  // Starts Redis (fails when redis-server is missing: check Available()
  // first), the emulator and `replicas` servers; `tweak` adjusts each
  // replica's config (after the fleet settings), `tweak_emulator` the
  // emulator's.
  static absl::StatusOr<std::unique_ptr<FleetHarness>> Start(
      int replicas, std::function<void(int replica, ServerConfig&)> tweak = nullptr,
      std::function<void(leafemu::EmulatorOptions&)> tweak_emulator = nullptr);
  ~FleetHarness();

  int size() const { return static_cast<int>(apps_.size()); }
  leafemu::LeafEmulator& emulator() { return first_->emulator(); }
  RedisServer& redis() { return redis_; }
  App& app(int i) { return i == 0 ? first_->app() : *apps_[i]; }
  ::leaf::agleader::v1::AgLeaderCredentials::Stub& stub(int i) { return *stubs_[i]; }
  // Creates credentials for `user` through replica 0.
  ::leaf::agleader::v1::Credentials Create(const std::string& user) { return first_->Create(user); }

  // Kills replica i abruptly (its App is destroyed without Shutdown's
  // grace; its streams end).
  void Kill(int i);
  // Restarts replica i with the same configuration (a new port).
  absl::Status Restart(int i);

  // Changes the user's status at the emulator (no alert), then posts Leaf's
  // alert about it to replica i's alert listener; false if the post failed.
  bool AlertTo(int i, const std::string& user, const std::string& status);

  // Whether replica i's metrics say Redis is up.
  bool RedisUp(int i);

 private:
  FleetHarness() = default;
  ServerConfig ConfigFor(int i);

  RedisServer redis_;
  std::function<void(int, ServerConfig&)> tweak_;
  std::vector<int> alert_ports_;
  std::unique_ptr<Harness> first_;
  std::vector<std::unique_ptr<App>> apps_;  // [0] unused: first_ owns it
  std::vector<std::unique_ptr<::leaf::agleader::v1::AgLeaderCredentials::Stub>> stubs_;
};

}  // namespace leafsvc::testing

#endif  // TESTS_INTEGRATION_FLEET_HARNESS_H_
