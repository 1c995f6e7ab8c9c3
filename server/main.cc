// agleader_credentials_server: parses the configuration, starts the service
// and runs until SIGTERM or SIGINT, then shuts down gracefully.
#include <cstdio>
#include <iostream>

#include "absl/synchronization/mutex.h"
#include "server/app.h"
#include "server/config/config.h"
#include "server/config/config_secrets.h"
#include "server/observability/log.h"
#include "server/observability/log_bridge.h"
#include "server/platform/fd_limit.h"
#include "server/platform/malloc_arenas.h"
#include "server/platform/stop_signals.h"

int main(int argc, char** argv) {
  // Before any thread allocates (server/platform/malloc_arenas.h).
  leafsvc::LimitMallocArenas();
  // First, before any thread exists (the log writer starts with the first
  // line): a stop signal delivered to a thread that does not block it would
  // kill the process instead of shutting it down.
  const leafsvc::StopSignals stop_signals = leafsvc::StopSignals::Block();
  // Before anything can log: gRPC, protobuf and abseil lines become JSON too.
  leafsvc::InstallLogBridges();
  // Debian builds abseil without NDEBUG, which leaves absl::Mutex deadlock
  // detection on: every lock and every Mutex destruction then updates a global
  // lock graph under a global spin lock (gRPC's own locks are absl::Mutex
  // too). It is a debugging aid; tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::StatusOr<leafsvc::ParsedConfig> parsed = leafsvc::ParseServerConfig(argc, argv);
  if (!parsed.ok()) {
    leafsvc::Log(leafsvc::LogLevel::kError, parsed.status().message(),
                 {{"event", "invalid configuration"}});
    return 2;
  }
  if (!parsed->help.empty()) {
    std::cout << parsed->help;
    return 0;
  }
  // The configuration holds its own copies: the secrets leave the process's
  // environment block and command line (/proc/PID/environ, /proc/PID/cmdline).
  leafsvc::ServerFlags().WipeSecretSources(argc, argv);
  leafsvc::SetLogLevel(parsed->config.log_level);
  absl::StatusOr<leafsvc::FdBudget> fds =
      leafsvc::RaiseFdLimitAndReserve(parsed->config.connection_limits.fd_reserve);
  if (!fds.ok()) {
    leafsvc::Log(leafsvc::LogLevel::kError, fds.status().message(),
                 {{"event", "invalid configuration"}});
    return 2;
  }
  leafsvc::Log(leafsvc::LogLevel::kInfo, "file descriptor limit",
               {{"soft_limit", fds->soft_limit},
                {"hard_limit", fds->hard_limit},
                {"caller_connections_below_fd", fds->caller_below}});

  absl::StatusOr<std::unique_ptr<leafsvc::App>> app = leafsvc::App::Start(parsed->config);
  if (!app.ok()) {
    leafsvc::Log(leafsvc::LogLevel::kError, app.status().message(), {{"event", "could not start"}});
    return 1;
  }
  // The App, the token source and the listener hold their own copies.
  leafsvc::WipeSecrets(parsed->config);
  // Process tests and scripts wait for this line.
  std::printf("agleader_credentials_server listening on %s\n", (*app)->target().c_str());
  if ((*app)->connect_port() != 0) {
    std::printf("connect pages listening on port %d\n", (*app)->connect_port());
  }
  std::fflush(stdout);

  const int signal_number = stop_signals.Wait();
  leafsvc::Log(leafsvc::LogLevel::kInfo, "stop signal received",
               {{"signal", leafsvc::StopSignals::Name(signal_number)}});
  (*app)->Shutdown(parsed->config.shutdown_grace);
  app->reset();
  return 0;
}
