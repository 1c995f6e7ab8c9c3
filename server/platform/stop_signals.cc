#include "server/platform/stop_signals.h"

#include <pthread.h>

namespace leafsvc {

StopSignals StopSignals::Block() {
  StopSignals s;
  sigemptyset(&s.set_);
  sigaddset(&s.set_, SIGTERM);
  sigaddset(&s.set_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &s.set_, nullptr);
  return s;
}

int StopSignals::Wait() const {
  int signal_number = 0;
  while (sigwait(&set_, &signal_number) != 0) {
  }
  return signal_number;
}

const char* StopSignals::Name(int signal_number) {
  switch (signal_number) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    default:
      return "another signal";
  }
}

}  // namespace leafsvc
