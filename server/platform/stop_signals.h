// Synchronous handling of SIGTERM and SIGINT for the project's binaries.
//
// A process-directed signal goes to any thread that does not block it; with
// the default action that thread kills the whole process. So the signals must
// be blocked before the first thread starts (threads inherit the mask: gRPC's,
// libcurl's, the log writer's, the scheduler's), and then taken by one thread
// with sigwait. Call StopSignals::Block() as the first statement of main(),
// before anything can log or start a thread, and Wait() where the process
// serves until told to stop.
#ifndef LEAFSVC_SERVER_PLATFORM_STOP_SIGNALS_H_
#define LEAFSVC_SERVER_PLATFORM_STOP_SIGNALS_H_

#include <signal.h>

namespace leafsvc {

class StopSignals {
 public:
  // Blocks SIGTERM and SIGINT in the calling thread and every thread it
  // starts from now on.
  static StopSignals Block();

  // Waits for SIGTERM or SIGINT and returns which.
  int Wait() const;

  // "SIGTERM", "SIGINT" or "another signal".
  static const char* Name(int signal_number);

 private:
  StopSignals() = default;
  sigset_t set_{};
};

}  // namespace leafsvc

#endif  // LEAFSVC_SERVER_PLATFORM_STOP_SIGNALS_H_
