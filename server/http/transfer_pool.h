// The transport's transfers and the pool of them kept for reuse, each with
// its libcurl easy handle (a reused handle keeps its connection-independent
// options and buffers). A transfer returned to the pool is wiped first: its
// request's Authorization header and body, and a failed response's partial
// body, may hold secrets, and a pooled handle lives on.
//
// Not thread-safe: CurlHttpClient uses it under its lock.
#ifndef SERVER_HTTP_TRANSFER_POOL_H_
#define SERVER_HTTP_TRANSFER_POOL_H_

#include <curl/curl.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "server/http/http_client.h"
#include "server/http/response_reader.h"

namespace leafsvc::http {

// One transfer in curl's hands.
struct Transfer {
  CURL* easy = nullptr;
  TransferId id = 0;
  HttpRequest request;
  HttpCallback done;
  ResponseReader reader;
  curl_slist* headers = nullptr;
  // The easy handle holds a plain GET's options (see EasyTarget).
  bool configured_for_get = false;
  // request.first_byte_timeout after the start; InfiniteFuture: none.
  absl::Time first_byte_deadline = absl::InfiniteFuture();
  char error[CURL_ERROR_SIZE];
};

class TransferPool {
 public:
  // Idle transfers kept beyond this are freed; the pool otherwise grows to
  // the peak number of concurrent transfers.
  static constexpr std::size_t kMaxPooled = 512;

  TransferPool() { pooled_.reserve(64); }
  TransferPool(const TransferPool&) = delete;
  TransferPool& operator=(const TransferPool&) = delete;
  ~TransferPool() { Clear(); }

  // A pooled transfer, or a new one; nullptr when curl_easy_init fails.
  std::unique_ptr<Transfer> Acquire();

  // Wipes `t` (already out of any multi handle; its callback taken) and
  // keeps it for reuse, or frees it beyond kMaxPooled.
  void Recycle(std::unique_ptr<Transfer> t);

  // Frees every pooled transfer and its easy handle.
  void Clear();

  std::size_t size() const { return pooled_.size(); }

 private:
  std::vector<std::unique_ptr<Transfer>> pooled_;
};

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_TRANSFER_POOL_H_
