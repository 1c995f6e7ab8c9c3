#include "server/http/response_reader.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "server/secrets/secret.h"

namespace leafsvc::http {

void ResponseReader::Reset(std::size_t max_bytes, bool head_request) {
  max_bytes_ = max_bytes;
  head_request_ = head_request;
  too_large_ = false;
  answered_ = false;
  response_.status_code = 0;
  response_.headers.clear();
  response_.body.clear();
}

std::size_t ResponseReader::OnHeader(char* data, std::size_t size, std::size_t n, void* reader) {
  auto* r = static_cast<ResponseReader*>(reader);
  const std::size_t len = size * n;
  r->answered_ = true;
  absl::string_view line(data, len);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new response (after 1xx): only the final one's headers count.
    r->response_.headers.clear();
    return len;
  }
  const std::size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return len;  // End of block.
  std::string name(line.substr(0, colon));
  absl::AsciiStrToLower(&name);
  absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
  if (name == "content-length" && !r->head_request_) {
    std::uint64_t length = 0;
    if (absl::SimpleAtoi(value, &length)) {
      if (length > r->max_bytes_) {
        r->too_large_ = true;
        return 0;
      }
      // Bounded: a Content-Length is only a claim, and memory is spent on
      // bytes that actually arrive.
      r->response_.body.reserve(std::min<std::uint64_t>(length, kMaxReserveBytes));
    }
  }
  r->response_.headers.emplace_back(std::move(name), std::string(value));
  return len;
}

std::size_t ResponseReader::OnBody(char* data, std::size_t size, std::size_t n, void* reader) {
  auto* r = static_cast<ResponseReader*>(reader);
  const std::size_t len = size * n;
  if (len > r->max_bytes_ - r->response_.body.size()) {
    r->too_large_ = true;
    return 0;
  }
  r->response_.body.append(data, len);
  return len;
}

HttpResponse ResponseReader::Take(int status_code) {
  response_.status_code = status_code;
  HttpResponse response = std::move(response_);
  response_ = HttpResponse();
  return response;
}

}  // namespace leafsvc::http

namespace leafsvc::http {

void ResponseReader::Release() {
  WipeString(response_.body);
  for (auto& [name, value] : response_.headers) {
    WipeString(name);
    WipeString(value);
  }
  response_ = HttpResponse();  // the (zeroed) buffers go too
  too_large_ = false;
  answered_ = false;
}

std::size_t ResponseReader::held_bytes() const {
  std::size_t n =
      response_.body.capacity() > std::string().capacity() ? response_.body.capacity() : 0;
  for (const auto& [name, value] : response_.headers) n += name.capacity() + value.capacity();
  return n;
}

}  // namespace leafsvc::http
