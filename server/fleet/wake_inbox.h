// What other threads hand to an event loop, and the eventfd that wakes it.
// The loop takes everything in one swap per turn and, before it sleeps in
// poll, asks BeginSleep, which refuses when something is queued: then the
// loop polls without waiting. A Push writes the eventfd only while the loop
// sleeps, and once per sleep: a burst of Pushes costs one wake-up, or none.
//
// Thread-safe. std::mutex (not absl::Mutex): TSan sees it (docs/tsan.md).
#ifndef SERVER_FLEET_WAKE_INBOX_H_
#define SERVER_FLEET_WAKE_INBOX_H_

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace leafsvc::fleet {

template <typename T>
class WakeInbox {
 public:
  WakeInbox() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~WakeInbox() {
    if (fd_ >= 0) close(fd_);
  }
  WakeInbox(const WakeInbox&) = delete;
  WakeInbox& operator=(const WakeInbox&) = delete;

  // -1 if the eventfd could not be made.
  int fd() const { return fd_; }

  // Any thread. Queues `item` (moving it) and wakes the loop if it sleeps;
  // false, leaving `item` as it was, once the inbox is closed.
  bool Push(T& item) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return false;
      items_.push_back(std::move(item));
      if (asleep_ && !wake_sent_) wake = wake_sent_ = true;
    }
    if (wake) Wake();
    return true;
  }
  // Any thread: asks the loop to stop, and wakes it.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    Wake();
  }

  // The loop's side. Moves everything queued into `out` (emptied first);
  // returns whether Stop was called.
  bool Take(std::vector<T>* out) {
    out->clear();
    std::lock_guard<std::mutex> lock(mu_);
    out->swap(items_);
    return stopping_;
  }
  // True: nothing is queued, the loop may wait in poll, and calls EndSleep
  // once poll returns. False: poll without waiting (no EndSleep).
  bool BeginSleep() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!items_.empty() || stopping_) return false;
    asleep_ = true;
    wake_sent_ = false;
    return true;
  }
  void EndSleep() {
    std::lock_guard<std::mutex> lock(mu_);
    asleep_ = false;
  }
  // Reads the eventfd empty (after poll reported it readable).
  void Drain() {
    std::uint64_t count;
    while (read(fd_, &count, sizeof(count)) > 0) {
    }
  }
  // For the final drain: like Take, but when nothing is queued closes the
  // inbox (every later Push fails) and returns false.
  bool TakeOrClose(std::vector<T>* out) {
    out->clear();
    std::lock_guard<std::mutex> lock(mu_);
    out->swap(items_);
    if (out->empty()) closed_ = true;
    return !out->empty();
  }

 private:
  void Wake() {
    const std::uint64_t one = 1;
    // EAGAIN only when the counter is already huge: the loop wakes anyway.
    ssize_t n = write(fd_, &one, sizeof(one));
    (void)n;
  }

  const int fd_;
  std::mutex mu_;
  std::vector<T> items_;    // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  bool closed_ = false;     // guarded by mu_
  bool asleep_ = false;     // in (or committed to) a poll; guarded by mu_
  bool wake_sent_ = false;  // for this sleep; guarded by mu_
};

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_WAKE_INBOX_H_
