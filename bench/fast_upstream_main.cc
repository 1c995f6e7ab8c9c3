// fast_upstream: the benchmark's stand-in for Leaf (see fast_upstream.h).
//   fast_upstream [--host=127.0.0.1] [--port=0] [--threads=1] [--delay_ms=0] [--events=100000]
// Prints "fast_upstream listening on HOST:PORT" when ready; runs until
// SIGTERM or SIGINT.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/fast_upstream.h"
#include "server/platform/stop_signals.h"

int main(int argc, char** argv) {
  const leafsvc::StopSignals stop_signals = leafsvc::StopSignals::Block();
  bench::FastUpstreamOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      const std::string prefix = std::string("--") + name + "=";
      return arg.rfind(prefix, 0) == 0 ? argv[i] + prefix.size() : nullptr;
    };
    if (const char* v = value("host")) {
      options.host = v;
    } else if (const char* v = value("port")) {
      options.port = std::atoi(v);
    } else if (const char* v = value("threads")) {
      options.threads = std::atoi(v);
    } else if (const char* v = value("delay_ms")) {
      options.delay_ms = std::atoi(v);
    } else if (const char* v = value("events")) {
      options.events = std::atoi(v);
    } else {
      std::fprintf(stderr,
                   "usage: fast_upstream [--host=127.0.0.1] [--port=0] [--threads=1] "
                   "[--delay_ms=0] [--events=100000]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);

  std::string error;
  std::unique_ptr<bench::FastUpstream> server = bench::FastUpstream::Start(options, &error);
  if (server == nullptr) {
    std::fprintf(stderr, "fast_upstream: %s\n", error.c_str());
    return 1;
  }
  std::printf("fast_upstream listening on %s:%d\n", options.host.c_str(), server->port());
  std::fflush(stdout);
  stop_signals.Wait();
  server.reset();
  return 0;
}
