#include "server/http/loop_inbox.h"

#include <utility>

namespace leafsvc::http {

bool LoopInbox::Push(PendingTransfer transfer) {
  std::lock_guard<std::mutex> lock(mu_);
  transfers_.push_back(std::move(transfer));
  return WakeLocked();
}

bool LoopInbox::Cancel(TransferId id) {
  std::lock_guard<std::mutex> lock(mu_);
  cancels_.push_back(id);
  return WakeLocked();
}

void LoopInbox::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
}

bool LoopInbox::Take(std::vector<PendingTransfer>* transfers, std::vector<TransferId>* cancels) {
  transfers->clear();
  cancels->clear();
  std::lock_guard<std::mutex> lock(mu_);
  transfers->swap(transfers_);
  cancels->swap(cancels_);
  return stopping_;
}

bool LoopInbox::TryToSleep() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!transfers_.empty() || !cancels_.empty() || stopping_) return false;
  asleep_ = true;
  wake_sent_ = false;
  return true;
}

void LoopInbox::Awake() {
  std::lock_guard<std::mutex> lock(mu_);
  asleep_ = false;
}

std::vector<PendingTransfer> LoopInbox::TakeTransfers() {
  std::vector<PendingTransfer> out;
  std::lock_guard<std::mutex> lock(mu_);
  out.swap(transfers_);
  cancels_.clear();
  return out;
}

bool LoopInbox::WakeLocked() {
  if (!asleep_ || wake_sent_) return false;
  wake_sent_ = true;
  return true;
}

}  // namespace leafsvc::http
