// The Leaf-shaped bodies the fast upstream serves (see fast_upstream.h).
#include <cstdlib>
#include <string>

#include "bench/fast_upstream.h"

namespace bench {

const std::string& FastUpstreamCredentialsBody() {
  // Field for field what Leaf (and the emulator) return for a GET.
  static const std::string* body = new std::string(
      "{\"id\":\"765f6f20-6917-4aed-a072-17bf3bcc3835\",\"status\":\"OK\","
      "\"createdTime\":\"2023-04-21T12:16:27.997586Z\",\"accessToken\":null,"
      "\"refreshToken\":\"bench-refresh-token-2f6c1e0a9b7d4c3e8f5a0b1c2d3e4f50001\","
      "\"publicKey\":\"bench-public-key-8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f\","
      "\"privateKey\":\"bench-private-key-0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b0002\"}");
  return *body;
}

const std::string& FastUpstreamUnauthenticatedBody() {
  static const std::string* body = [] {
    std::string b = FastUpstreamCredentialsBody();
    const std::string ok = "\"status\":\"OK\"";
    b.replace(b.find(ok), ok.size(), "\"status\":\"UNAUTHENTICATED\"");
    return new std::string(std::move(b));
  }();
  return *body;
}

bool IsChangingUser(std::string_view user_id) { return user_id.substr(0, 9) == "ffffffff-"; }

int ChangingSlot(std::string_view user_id) {
  const std::string_view tail = user_id.size() > 12 ? user_id.substr(user_id.size() - 12) : user_id;
  return static_cast<int>(std::strtoull(std::string(tail).c_str(), nullptr, 16) % kChangingSlots);
}

std::string FastUpstreamEventsBody(int count) {
  std::string body = "[";
  body.reserve(static_cast<std::size_t>(count) * 150 + 2);
  for (int i = count; i > 0; --i) {
    if (body.size() > 1) body += ',';
    // Field for field what Leaf records: one exchange with AgLeader each.
    body += "{\"id\":\"" + std::to_string(i) +
            "\",\"createdDate\":\"2023-04-21T12:16:27.997586Z\",\"statusCode\":200,"
            "\"headers\":\"Content-Type: application/json\",\"body\":\"{\\\"ok\\\":true}\"}";
  }
  body += "]";
  return body;
}

}  // namespace bench
