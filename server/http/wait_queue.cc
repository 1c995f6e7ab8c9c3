#include "server/http/wait_queue.h"

#include "absl/base/internal/raw_logging.h"

namespace leafsvc::http {

void WaitQueue::Push(PendingTransfer transfer) {
  const Sequence sequence = next_sequence_++;
  const bool inserted = sequence_of_.emplace(transfer.id, sequence).second;
  ABSL_RAW_CHECK(inserted, "transfer id already waiting");
  by_deadline_.emplace(transfer.request.deadline, sequence);
  by_arrival_.emplace(sequence, std::move(transfer));
}

PendingTransfer WaitQueue::PopFront() {
  ABSL_RAW_CHECK(!by_arrival_.empty(), "PopFront on an empty WaitQueue");
  return Erase(by_arrival_.begin());
}

absl::optional<PendingTransfer> WaitQueue::Remove(TransferId id) {
  auto it = sequence_of_.find(id);
  if (it == sequence_of_.end()) return absl::nullopt;
  return Erase(by_arrival_.find(it->second));
}

absl::optional<absl::Time> WaitQueue::EarliestDeadline() const {
  if (by_deadline_.empty()) return absl::nullopt;
  return by_deadline_.begin()->first;
}

std::vector<PendingTransfer> WaitQueue::PopExpired(absl::Time now) {
  std::vector<PendingTransfer> expired;
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
    expired.push_back(Erase(by_arrival_.find(by_deadline_.begin()->second)));
  }
  return expired;
}

std::vector<PendingTransfer> WaitQueue::TakeAll() {
  std::vector<PendingTransfer> all;
  all.reserve(by_arrival_.size());
  for (auto& [sequence, transfer] : by_arrival_) all.push_back(std::move(transfer));
  by_arrival_.clear();
  sequence_of_.clear();
  by_deadline_.clear();
  return all;
}

PendingTransfer WaitQueue::Erase(std::map<Sequence, PendingTransfer>::iterator it) {
  const Sequence sequence = it->first;
  PendingTransfer transfer = std::move(it->second);
  by_arrival_.erase(it);
  sequence_of_.erase(transfer.id);
  by_deadline_.erase({transfer.request.deadline, sequence});
  return transfer;
}

}  // namespace leafsvc::http
