#include "tests/httpd/raw_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"

namespace leafsvc::httpd::testing {

RawPeer::RawPeer(int port, const std::string& source_ip) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  if (!source_ip.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
      Close();
      return;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Close();
}

RawPeer::~RawPeer() { Close(); }

void RawPeer::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool RawPeer::Send(absl::string_view bytes) {
  while (!bytes.empty()) {
    if (fd_ < 0) return false;
    const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string RawPeer::ReadUntil(absl::string_view needle, absl::Duration wait) {
  std::string out;
  const absl::Time deadline = absl::Now() + wait;
  while (fd_ >= 0) {
    if (!needle.empty() && absl::StrContains(out, needle)) break;
    // Polls at least once, even when `wait` is already over.
    const int64_t left = std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) {
      if (left == 0) break;
      continue;
    }
    char buf[16384];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      Close();  // closed or reset by the server
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string RawPeer::ReadUntilClosed(absl::Duration wait) { return ReadUntil("", wait); }

bool RawPeer::ClosedWithin(absl::Duration wait) {
  ReadUntilClosed(wait);
  return fd_ < 0;
}

int StatusOf(absl::string_view raw) {
  if (!absl::StartsWith(raw, "HTTP/1.") || raw.size() < 12) return 0;
  int status = 0;
  return absl::SimpleAtoi(raw.substr(9, 3), &status) ? status : 0;
}

}  // namespace leafsvc::httpd::testing
