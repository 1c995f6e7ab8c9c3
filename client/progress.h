// Progress of a long client run on stderr: on a terminal, one bar redrawn in
// place (done/total, rate, ETA); otherwise a plain line every few seconds,
// so logs of a scripted run show it is alive without filling up.
#ifndef CLIENT_PROGRESS_H_
#define CLIENT_PROGRESS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "absl/time/time.h"

namespace leafsvc::client {

// "[##########----------] 500/1000  50%  250/s  ETA 2s" (bar) or
// "500/1000 users (50%), 250/s, ETA 2s" (plain). Without a total: the count
// and the rate only.
std::string FormatProgress(int64_t done, std::optional<int64_t> total, absl::Duration elapsed,
                           bool bar);

class Progress {
 public:
  enum class Mode { kBar, kPlain, kNone };
  // `now` is for tests; the real clock by default.
  Progress(std::ostream& err, Mode mode, absl::Duration plain_interval = absl::Seconds(5),
           std::function<absl::Time()> now = nullptr);

  void SetTotal(std::optional<int64_t> total) { total_ = total; }
  void Advance(int64_t n);
  // The last state, and a newline after a bar.
  void Finish();

 private:
  void Show();

  std::ostream& err_;
  const Mode mode_;
  const absl::Duration interval_;
  const std::function<absl::Time()> now_;
  const absl::Time start_;
  absl::Time last_shown_;
  int64_t done_ = 0;
  std::optional<int64_t> total_;
};

}  // namespace leafsvc::client

#endif  // CLIENT_PROGRESS_H_
