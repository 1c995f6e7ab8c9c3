// HttpServer's async routes: suspending a request, resuming it with its
// answer (or the server's 503 at the deadline), and the bounds on how many
// wait. All on the loop thread, or in Stop() after the loop ended.
#include <microhttpd.h>

#include <algorithm>

#include "absl/time/clock.h"
#include "server/httpd/async_answer.h"
#include "server/httpd/http_server.h"

namespace leafsvc::httpd {

bool HttpServer::Suspend(MHD_Connection* connection, const std::shared_ptr<AsyncSlot>& slot) {
  if (static_cast<int>(pending_.size()) >= options_.max_pending) return false;
  int& from_ip = pending_per_ip_[slot->ip];
  if (from_ip >= options_.max_pending_per_ip) {
    if (from_ip == 0) pending_per_ip_.erase(slot->ip);
    return false;
  }
  ++from_ip;
  slot->connection = connection;
  slot->deadline = table_.Hold(connection);
  pending_[connection] = slot;
  pending_count_.store(static_cast<int>(pending_.size()));
  MHD_suspend_connection(connection);
  return true;
}

bool HttpServer::Forget(const std::shared_ptr<AsyncSlot>& slot) {
  auto it = pending_.find(slot->connection);
  if (it == pending_.end() || it->second != slot) return false;  // already resumed or gone
  pending_.erase(it);
  auto ip = pending_per_ip_.find(slot->ip);
  if (ip != pending_per_ip_.end() && --ip->second <= 0) pending_per_ip_.erase(ip);
  pending_count_.store(static_cast<int>(pending_.size()));
  return true;
}

void HttpServer::Resume(const std::shared_ptr<AsyncSlot>& slot, bool with_answer) {
  if (!Forget(slot)) return;
  table_.Release(slot->connection, absl::Now());
  slot->ready = with_answer;
  MHD_resume_connection(slot->connection);
}

void HttpServer::ResumeAnswered() {
  std::vector<std::shared_ptr<AsyncSlot>> answered;
  {
    std::lock_guard<std::mutex> lock(inbox_->mu);
    answered.swap(inbox_->answered);
  }
  for (const auto& slot : answered) Resume(slot, /*with_answer=*/true);
}

void HttpServer::AnswerOverdue(absl::Time now) {
  std::vector<std::shared_ptr<AsyncSlot>> overdue;
  for (const auto& [connection, slot] : pending_) {
    if (slot->deadline <= now) overdue.push_back(slot);
  }
  for (const auto& slot : overdue) {
    {
      std::lock_guard<std::mutex> lock(slot->mu);
      if (!slot->responded) {
        // The answer never came in time: the server answers, and a late
        // `respond` is ignored.
        slot->responded = true;
        slot->response.status = 503;
        slot->response.content_type = "text/plain; charset=utf-8";
        slot->response.body = "the answer took too long; try again shortly\n";
        slot->response.headers.emplace_back("Retry-After", "1");
        Refuse(kRefusedAnswerTimeout);
      }
    }
    Resume(slot, /*with_answer=*/true);
  }
}

absl::Time HttpServer::NextPendingDeadline() const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [connection, slot] : pending_) next = std::min(next, slot->deadline);
  return next;
}

}  // namespace leafsvc::httpd
