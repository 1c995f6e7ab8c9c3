#include "client/progress.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace leafsvc::client {
namespace {

constexpr int kBarWidth = 20;

std::string Seconds(double s) {
  if (s >= 3600)
    return absl::StrFormat("%dh%02dm", static_cast<int>(s / 3600),
                           static_cast<int>(std::fmod(s, 3600) / 60));
  if (s >= 60)
    return absl::StrFormat("%dm%02ds", static_cast<int>(s / 60),
                           static_cast<int>(std::fmod(s, 60)));
  return absl::StrFormat("%ds", static_cast<int>(std::ceil(s)));
}

}  // namespace

std::string FormatProgress(int64_t done, std::optional<int64_t> total, absl::Duration elapsed,
                           bool bar) {
  const double secs = absl::ToDoubleSeconds(elapsed);
  const double rate = secs > 0 ? done / secs : 0;
  // Slow rates (a real Leaf, one GET per user) need the decimal.
  const std::string rate_text = absl::StrFormat(rate < 10 ? "%.1f/s" : "%.0f/s", rate);
  if (!total || *total <= 0) {
    return bar ? absl::StrCat(done, " done  ", rate_text)
               : absl::StrCat(done, " users, ", rate_text);
  }
  const double fraction = std::min(1.0, static_cast<double>(done) / *total);
  const std::string eta =
      rate > 0 ? Seconds((*total - std::min(done, *total)) / rate) : std::string("?");
  const int percent = static_cast<int>(fraction * 100);
  if (!bar) {
    return absl::StrCat(done, "/", *total, " users (", percent, "%), ", rate_text, ", ETA ", eta);
  }
  const int filled = static_cast<int>(fraction * kBarWidth);
  return absl::StrCat("[", std::string(filled, '#'), std::string(kBarWidth - filled, '-'), "] ",
                      done, "/", *total, "  ", percent, "%  ", rate_text, "  ETA ", eta);
}

Progress::Progress(std::ostream& err, Mode mode, absl::Duration plain_interval,
                   std::function<absl::Time()> now)
    : err_(err),
      mode_(mode),
      interval_(plain_interval),
      now_(now ? std::move(now) : [] { return absl::Now(); }),
      start_(now_()),
      last_shown_(start_) {}

void Progress::Advance(int64_t n) {
  done_ += n;
  if (mode_ == Mode::kNone) return;
  // A bar is cheap to redraw; a plain line is printed only now and then.
  if (mode_ == Mode::kBar || now_() - last_shown_ >= interval_) Show();
}

void Progress::Show() {
  const absl::Time now = now_();
  last_shown_ = now;
  const std::string text = FormatProgress(done_, total_, now - start_, mode_ == Mode::kBar);
  if (mode_ == Mode::kBar) {
    err_ << "\r" << text << "\x1b[K";  // erase what a longer line left
  } else {
    err_ << "audit: " << text << "\n";
  }
  err_.flush();
}

void Progress::Finish() {
  if (mode_ == Mode::kNone) return;
  Show();
  if (mode_ == Mode::kBar) err_ << "\n";
  err_.flush();
}

}  // namespace leafsvc::client
