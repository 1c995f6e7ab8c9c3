#include "server/http/transfer_pool.h"

#include <utility>

namespace leafsvc::http {

std::unique_ptr<Transfer> TransferPool::Acquire() {
  if (!pooled_.empty()) {
    std::unique_ptr<Transfer> t = std::move(pooled_.back());
    pooled_.pop_back();
    return t;
  }
  auto t = std::make_unique<Transfer>();
  t->easy = curl_easy_init();
  if (t->easy == nullptr) return nullptr;
  return t;
}

void TransferPool::Recycle(std::unique_ptr<Transfer> t) {
  t->done = nullptr;
  curl_slist_free_all(t->headers);
  t->headers = nullptr;
  WipeRequest(t->request);
  t->request = HttpRequest();
  t->reader.Release();
  t->error[0] = '\0';
  t->first_byte_deadline = absl::InfiniteFuture();
  if (pooled_.size() < kMaxPooled) {
    pooled_.push_back(std::move(t));
  } else {
    curl_easy_cleanup(t->easy);
  }
}

void TransferPool::Clear() {
  for (std::unique_ptr<Transfer>& t : pooled_) curl_easy_cleanup(t->easy);
  pooled_.clear();
}

}  // namespace leafsvc::http
