#include "emulator/request_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace leafemu {

bool RequestMatches(const std::string& method, const std::string& path_contains,
                    const std::string& req_method, const std::string& req_path) {
  return (method.empty() || absl::EqualsIgnoreCase(method, req_method)) &&
         absl::StrContains(req_path, path_contains);
}

RequestLog::RequestLog(int max_recorded)
    : max_recorded_(static_cast<size_t>(std::max(1, max_recorded))) {}

RequestLog::Entry RequestLog::Record(const httplib::Request& req) {
  auto rec = std::make_shared<RecordedRequest>();
  rec->method = req.method;
  rec->path = req.path;
  size_t q = req.target.find('?');
  if (q != std::string::npos) rec->query = req.target.substr(q + 1);
  for (const auto& [name, value] : req.headers) {
    std::string key = absl::AsciiStrToLower(name);
    auto it = rec->headers.find(key);
    if (it == rec->headers.end()) {
      rec->headers.emplace(std::move(key), value);
    } else {
      absl::StrAppend(&it->second, ", ", value);
    }
  }
  rec->body = req.body;
  std::lock_guard<std::mutex> l(mu_);
  entries_.push_back(rec);
  while (entries_.size() > max_recorded_) entries_.pop_front();
  return rec;
}

void RequestLog::SetStatus(const Entry& entry, int status) {
  std::lock_guard<std::mutex> l(mu_);
  entry->status = status;
}

int RequestLog::StatusOf(const Entry& entry) const {
  std::lock_guard<std::mutex> l(mu_);
  return entry->status;
}

std::vector<RecordedRequest> RequestLog::Matching(const std::string& method,
                                                  const std::string& path_contains) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<RecordedRequest> out;
  for (const Entry& r : entries_) {
    if (RequestMatches(method, path_contains, r->method, r->path)) out.push_back(*r);
  }
  return out;
}

int RequestLog::Count(const std::string& method, const std::string& path_contains) const {
  std::lock_guard<std::mutex> l(mu_);
  int n = 0;
  for (const Entry& r : entries_) {
    if (RequestMatches(method, path_contains, r->method, r->path)) ++n;
  }
  return n;
}

size_t RequestLog::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return entries_.size();
}

void RequestLog::Clear() {
  std::lock_guard<std::mutex> l(mu_);
  entries_.clear();
}

}  // namespace leafemu
