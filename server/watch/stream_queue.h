// One stream's changes waiting to be sent, in the order the hub decided
// them, with the stream's two rules: it starts with the state of each
// requested user (changes that arrive before every user had its first
// message are held back until then), and it holds at most `max_waiting`
// (a caller that does not read loses the stream, not the server's memory).
// Plain data: the stream's reactor holds its own lock around it.
#ifndef SERVER_WATCH_STREAM_QUEUE_H_
#define SERVER_WATCH_STREAM_QUEUE_H_

#include <cstddef>
#include <list>
#include <set>
#include <string>
#include <vector>

#include "server/watch/change.h"

namespace leafsvc::watch {

class StreamQueue {
 public:
  struct Entry {
    std::string user;
    Change change;
  };

  StreamQueue(const std::vector<std::string>& users, size_t max_waiting);

  // Takes `change` of `user`. False when more than max_waiting changes now
  // wait (counting the one being sent): the stream is too slow.
  bool Push(const std::string& user, const Change& change);
  // The next change to send, or null; it stays (and counts) until Pop.
  const Entry* Front() const { return ready_.empty() ? nullptr : &ready_.front(); }
  void Pop() { ready_.pop_front(); }
  // Drops everything but, if `keep_front`, the change being sent.
  void Clear(bool keep_front);

  size_t waiting() const { return ready_.size() + held_.size(); }

 private:
  const size_t max_waiting_;
  std::set<std::string> awaiting_first_;
  // A list, not a deque: an idle stream's empty queue holds no memory
  // (libstdc++'s deque keeps its map and one block even when empty, some
  // 420 bytes here, per idle stream).
  std::list<Entry> ready_;
  std::vector<Entry> held_;
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_STREAM_QUEUE_H_
