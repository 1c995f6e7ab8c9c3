#include "server/observability/async_log_sink.h"

#include <errno.h>
#include <unistd.h>

#include <chrono>
#include <utility>

namespace leafsvc {

AsyncLogSink::AsyncLogSink(Options options) : options_(std::move(options)) {
  thread_ = std::thread([this] { Run(); });
}

AsyncLogSink::~AsyncLogSink() {
  Flush(absl::Seconds(1));
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  // A writer stuck on a stalled descriptor cannot be joined: leave it.
  if (Flush(absl::ZeroDuration())) {
    thread_.join();
  } else {
    thread_.detach();
  }
}

void AsyncLogSink::Write(absl::string_view line) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (buffer_.size() + line.size() > options_.max_buffered_bytes) {
      ++dropped_;
      ++dropped_unreported_;
      return;
    }
    buffer_.append(line.data(), line.size());
    ++accepted_;
    // Only a writer waiting for a first line needs the wake-up; a busy one
    // takes this line with its next batch.
    wake = idle_;
    idle_ = false;
  }
  if (wake) wake_.notify_one();
}

bool AsyncLogSink::Flush(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  const std::uint64_t target = accepted_;
  if (done_ >= target) return true;
  hurry_ = true;
  idle_ = false;
  wake_.notify_one();
  return written_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                           [&] { return done_ >= target; });
}

std::uint64_t AsyncLogSink::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

void AsyncLogSink::Run() {
  std::string batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (buffer_.empty() && dropped_unreported_ == 0) {
      if (stopping_) return;
      idle_ = true;
      wake_.wait(lock, [&] { return !buffer_.empty() || stopping_ || hurry_; });
      idle_ = false;
      // Collect the lines that follow the first for a moment.
      if (!hurry_ && !stopping_) {
        wake_.wait_for(lock, absl::ToChronoNanoseconds(options_.batch_window),
                       [&] { return hurry_ || stopping_; });
      }
    }
    batch.clear();
    batch.swap(buffer_);
    const std::uint64_t lines = accepted_ - done_;
    const std::uint64_t dropped = dropped_unreported_;
    dropped_unreported_ = 0;
    hurry_ = false;
    lock.unlock();
    WriteAll(batch);
    if (dropped > 0 && options_.dropped_notice) WriteAll(options_.dropped_notice(dropped));
    lock.lock();
    done_ += lines;
    written_.notify_all();
  }
}

void AsyncLogSink::WriteAll(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(options_.fd, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return;  // a closed or broken descriptor: the lines are lost
    }
  }
}

}  // namespace leafsvc
