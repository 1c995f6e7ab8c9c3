// A TCP port on 127.0.0.1 free at the time of the call, for tests that must
// name a listener's port on a command line or in a config before it starts.
//
// It is picked below the kernel's ephemeral range (32768 and up by
// default): a port the kernel handed out with bind(0) and that was then
// closed is free again for the kernel's next outgoing connection, and the
// tests make many (gRPC, libcurl, Redis), so such a port was sometimes taken
// by one of them before the listener bound it ("Address already in use").
// Below the range only another listener can take it.
#ifndef TESTS_UTIL_FREE_PORT_H_
#define TESTS_UTIL_FREE_PORT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <random>

namespace leafsvc::testing {

// Binds a socket to 127.0.0.1:`port` (0: any); returns the port bound, or
// 0 if it could not bind.
inline int BindAndRelease(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int bound = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      bound = ntohs(addr.sin_port);
    }
  }
  close(fd);
  return bound;
}

inline int FreePort() {
  thread_local std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> below_ephemeral(20000, 32000);
  for (int attempt = 0; attempt < 64; ++attempt) {
    if (const int port = BindAndRelease(below_ephemeral(rng)); port != 0) return port;
  }
  return BindAndRelease(0);
}

}  // namespace leafsvc::testing

#endif  // TESTS_UTIL_FREE_PORT_H_
