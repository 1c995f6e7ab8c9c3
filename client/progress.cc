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

std::string BudgetText(int64_t per_minute) {
  return absl::StrCat("Leaf budget: ", per_minute, " requests/min for bulk work");
}

// The ETA: the larger of the observed rate's and the budget's, and where the
// shown one came from.
std::string Eta(const ProgressView& v, double rate) {
  const int64_t left = *v.total - std::min(v.done, *v.total);
  std::optional<double> observed;
  if (rate > 0) observed = left / rate;
  std::optional<double> budget;
  if (v.budget_per_minute && *v.budget_per_minute > 0) {
    budget = v.budget_requests_left.value_or(static_cast<double>(left)) * 60 /
             static_cast<double>(*v.budget_per_minute);
  }
  if (budget && (!observed || *budget > *observed)) {
    return absl::StrCat(v.budget_requests_left ? "~" : "", Seconds(*budget), " (",
                        BudgetText(*v.budget_per_minute), ")");
  }
  return observed ? Seconds(*observed) : std::string("?");
}

std::string WaitingText(const ProgressView& v) {
  std::string text = absl::StrCat("waiting ", Seconds(absl::ToDoubleSeconds(v.waiting)),
                                  " for Leaf's request budget");
  // A refused page of a walk defers no user the audit knows of.
  if (v.deferred > 0) {
    absl::StrAppend(&text, "; ", v.deferred, v.deferred == 1 ? " user" : " users", " deferred");
  }
  return text;
}

}  // namespace

std::string FormatProgress(const ProgressView& v, bool bar) {
  const double secs = absl::ToDoubleSeconds(v.elapsed);
  const double rate = secs > 0 ? v.done / secs : 0;
  // Slow rates (a real Leaf, one GET per user) need the decimal.
  const std::string rate_text = absl::StrFormat(rate < 10 ? "%.1f/s" : "%.0f/s", rate);
  const char* const sep = bar ? "  " : ", ";
  std::string text;
  if (!v.total || *v.total <= 0) {
    text = bar ? absl::StrCat(v.done, " done  ", rate_text)
               : absl::StrCat(v.done, " users, ", rate_text);
    // Only the budget's view, from Leaf's user count: pages of users hold
    // users without credentials too, so the count above never reaches it.
    if (v.budget_per_minute && *v.budget_per_minute > 0 && v.budget_requests_left &&
        *v.budget_requests_left > 0) {
      absl::StrAppend(&text, sep, "ETA ~",
                      Seconds(*v.budget_requests_left * 60 / *v.budget_per_minute),
                      " (approximate; ", BudgetText(*v.budget_per_minute), ")");
    }
  } else {
    const double fraction = std::min(1.0, static_cast<double>(v.done) / *v.total);
    const int percent = static_cast<int>(fraction * 100);
    if (!bar) {
      text = absl::StrCat(v.done, "/", *v.total, " users (", percent, "%), ", rate_text, ", ETA ",
                          Eta(v, rate));
    } else {
      const int filled = static_cast<int>(fraction * kBarWidth);
      text = absl::StrCat("[", std::string(filled, '#'), std::string(kBarWidth - filled, '-'), "] ",
                          v.done, "/", *v.total, "  ", percent, "%  ", rate_text, "  ETA ",
                          Eta(v, rate));
    }
  }
  if (v.waiting > absl::ZeroDuration()) absl::StrAppend(&text, sep, WaitingText(v));
  return text;
}

std::string FormatProgress(int64_t done, std::optional<int64_t> total, absl::Duration elapsed,
                           bool bar) {
  ProgressView v;
  v.done = done;
  v.total = total;
  v.elapsed = elapsed;
  return FormatProgress(v, bar);
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

void Progress::Waiting(absl::Duration delay, int64_t deferred) {
  waiting_ = delay;
  deferred_ = deferred;
  // A wait is news even in a log: shown at once, not at the next interval.
  if (mode_ != Mode::kNone) Show();
}

void Progress::EndWaiting() {
  waiting_ = absl::ZeroDuration();
  deferred_ = 0;
}

void Progress::Show() {
  const absl::Time now = now_();
  last_shown_ = now;
  ProgressView v;
  v.done = done_;
  v.total = total_;
  v.elapsed = now - start_;
  v.budget_per_minute = budget_per_minute_;
  if (budget_requests_total_ && budget_per_minute_) {
    // What is left of the walk if the budget's rate has held since the start.
    v.budget_requests_left = std::max(
        0.0, *budget_requests_total_ - absl::ToDoubleSeconds(v.elapsed) * *budget_per_minute_ / 60);
  }
  v.waiting = waiting_;
  v.deferred = deferred_;
  const std::string text = FormatProgress(v, mode_ == Mode::kBar);
  if (mode_ == Mode::kBar) {
    err_ << "\r" << text << "\x1b[K";  // erase what a longer line left
  } else {
    err_ << "audit: " << text << "\n";
  }
  err_.flush();
}

void Progress::Finish() {
  if (mode_ == Mode::kNone) return;
  EndWaiting();
  budget_requests_total_.reset();  // the walk is over, whatever the estimate said
  Show();
  if (mode_ == Mode::kBar) err_ << "\n";
  err_.flush();
}

}  // namespace leafsvc::client
