#include "server/watch/stream_queue.h"

#include <iterator>
#include <utility>

namespace leafsvc::watch {

StreamQueue::StreamQueue(const std::vector<std::string>& users, size_t max_waiting)
    : max_waiting_(max_waiting), awaiting_first_(users.begin(), users.end()) {}

bool StreamQueue::Push(const std::string& user, const Change& change) {
  if (awaiting_first_.erase(user) > 0) {
    ready_.push_back({user, change});
    if (awaiting_first_.empty()) {
      for (Entry& e : held_) ready_.push_back(std::move(e));
      std::vector<Entry>().swap(held_);  // its capacity too
    }
  } else if (!awaiting_first_.empty()) {
    held_.push_back({user, change});
  } else {
    ready_.push_back({user, change});
  }
  return waiting() <= max_waiting_;
}

void StreamQueue::Clear(bool keep_front) {
  ready_.erase(keep_front && !ready_.empty() ? std::next(ready_.begin()) : ready_.begin(),
               ready_.end());
  std::vector<Entry>().swap(held_);
}

}  // namespace leafsvc::watch
