#include "bench/scenario_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <thread>

#include "bench/stats.h"
#include "bench/upstream_control.h"
#include "emulator/leaf_emulator.h"

namespace bench {

std::vector<std::string> SeededIds(int users, int seed) {
  leafemu::EmulatorOptions options;
  absl::StatusOr<std::unique_ptr<leafemu::LeafEmulator>> emulator =
      leafemu::LeafEmulator::Start(options);
  if (!emulator.ok()) return {};
  leafemu::SeedSpec spec;
  spec.users = users;
  spec.mix = {{"OK", 100}};
  spec.seed = seed;
  std::vector<std::string> ids;
  for (const auto& [id, status] : (*emulator)->Seed(spec).users) ids.push_back(id);
  return ids;
}

bool HelpLists(const std::string& binary, const std::string& flag) {
  const std::string command = "'" + binary + "' --help 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return false;
  std::string help;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) help.append(buf, n);
  pclose(pipe);
  return help.find("--" + flag + " ") != std::string::npos;
}

int MetricsPort(const std::string& server_log) {
  for (int i = 0; i < 100; ++i) {
    const std::int64_t port = JsonInt(ReadFileOrEmpty(server_log), "metrics_port");
    if (port > 0) return static_cast<int>(port);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return -1;
}

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace bench
