// The requests the emulator saw on Leaf's API (control calls aside), newest
// last and bounded, for tests that count upstream calls. Thread-safe behind
// its own lock.
#ifndef EMULATOR_REQUEST_LOG_H_
#define EMULATOR_REQUEST_LOG_H_

#include <httplib.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "emulator/types.h"

namespace leafemu {

// The selection rule shared by faults and request queries: `method` matches
// case-insensitively (empty: any) and `req_path` contains `path_contains`.
bool RequestMatches(const std::string& method, const std::string& path_contains,
                    const std::string& req_method, const std::string& req_path);

class RequestLog {
 public:
  // A recorded request whose status is filled in once it is answered.
  using Entry = std::shared_ptr<RecordedRequest>;

  // Keeps at most `max_recorded` (at least 1); the oldest are dropped.
  explicit RequestLog(int max_recorded);

  // Records `req` (header names lower-cased, repeats joined with ", ") with
  // status 0.
  Entry Record(const httplib::Request& req);
  void SetStatus(const Entry& entry, int status);
  int StatusOf(const Entry& entry) const;
  // Oldest first, those matching (see RequestMatches; "", "": all).
  std::vector<RecordedRequest> Matching(const std::string& method,
                                        const std::string& path_contains) const;
  int Count(const std::string& method, const std::string& path_contains) const;
  size_t size() const;
  void Clear();

 private:
  const size_t max_recorded_;
  mutable std::mutex mu_;
  std::deque<Entry> entries_;
};

}  // namespace leafemu

#endif  // EMULATOR_REQUEST_LOG_H_
