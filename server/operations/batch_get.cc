#include "server/operations/batch_get.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/ids/leaf_user_id.h"
#include "server/leaf/leaf_endpoints.h"

namespace leafsvc {

BatchGet::BatchGet(std::vector<std::string> leaf_user_ids, int fan_out, absl::Time deadline,
                   Fetch fetch)
    : ids_(std::move(leaf_user_ids)),
      fan_out_(std::max(1, fan_out)),
      deadline_(deadline),
      fetch_(std::move(fetch)) {
  absl::flat_hash_map<std::string, size_t> slots;
  slot_of_.reserve(ids_.size());
  for (size_t i = 0; i < ids_.size(); ++i) {
    auto [it, added] = slots.emplace(CanonicalLeafUserId(ids_[i]), first_of_slot_.size());
    if (added) first_of_slot_.push_back(i);
    slot_of_.push_back(it->second);
  }
  absl::MutexLock lock(&mu_);
  results_.resize(first_of_slot_.size());
}

void BatchGet::Start(Done done) {
  done_ = std::move(done);
  Pump();
}

void BatchGet::Cancel() {
  std::vector<std::shared_ptr<leaf::Cancellable>> live;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    for (auto& [slot, call] : live_) live.push_back(call);
  }
  for (auto& call : live) call->Cancel();
  Pump();
}

void BatchGet::SkipRemaining(const absl::Status& why) {
  for (; next_ < results_.size(); ++next_) results_[next_] = why;
}

void BatchGet::Pump() {
  {
    absl::MutexLock lock(&mu_);
    if (pumping_) {
      // Another thread is in the loop below; it will look again.
      repump_ = true;
      return;
    }
    pumping_ = true;
  }
  for (;;) {
    std::optional<size_t> slot;
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      const size_t started = next_;
      if (next_ < results_.size() && (cancelled_ || absl::Now() >= deadline_)) {
        if (!cancelled_ && rate_limited_.has_value()) {
          // Out of time because Leaf's request budget ran short: the users
          // not reached are told so, with the budget's RetryInfo, so that
          // the caller asks again for them after that delay.
          SkipRemaining(*rate_limited_);
        } else {
          StatusDetails d;
          d.metadata["users_started"] = absl::StrCat(started);
          SkipRemaining(MakeError(
              cancelled_ ? reasons::kBatchCancelled : reasons::kBatchDeadlineExceeded, {}, d));
        }
      }
      if (next_ < results_.size() && in_flight_ < fan_out_) {
        slot = next_++;
        ++in_flight_;
      } else if (next_ == results_.size() && in_flight_ == 0 && !finished_) {
        finished_ = true;
        finish = true;
      }
      if (!slot && !finish) {
        if (repump_) {
          repump_ = false;
          continue;
        }
        pumping_ = false;
        return;
      }
    }
    if (finish) {
      std::vector<Result> out;
      out.reserve(ids_.size());
      {
        absl::MutexLock lock(&mu_);
        for (size_t i = 0; i < ids_.size(); ++i) out.push_back(*results_[slot_of_[i]]);
        pumping_ = false;
      }
      done_(std::move(out));
      return;
    }
    std::shared_ptr<BatchGet> self = shared_from_this();
    const size_t s = *slot;
    std::shared_ptr<leaf::Cancellable> call =
        fetch_(ids_[first_of_slot_[s]], [self, s](Result r) { self->OnResult(s, std::move(r)); });
    bool cancel_now = false;
    {
      absl::MutexLock lock(&mu_);
      if (!results_[s]) {
        live_[s] = call;
        cancel_now = cancelled_;
      }
    }
    if (cancel_now) call->Cancel();
  }
}

void BatchGet::OnResult(size_t slot, Result result) {
  {
    absl::MutexLock lock(&mu_);
    if (!result.ok() &&
        GetStatusDetails(result.status()).reason == reasons::kLeafRateLimited.name) {
      rate_limited_ = result.status();
    }
    results_[slot] = std::move(result);
    live_.erase(slot);
    --in_flight_;
  }
  Pump();
}

}  // namespace leafsvc
