#include "server/http/first_byte_watch.h"

#include <curl/curl.h>

#include <algorithm>

#include "absl/strings/cord.h"

namespace leafsvc::http {

absl::Time FindSilentTransfers(ActiveTransfers& active, absl::Time now, int* watched,
                               std::vector<TransferId>* silent) {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [id, t] : active) {
    if (t->first_byte_deadline == absl::InfiniteFuture() || t->reader.answered()) continue;
    long new_connections = 0;
    long request_bytes = 0;
    curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &new_connections);
    curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_bytes);
    if (new_connections == 0 && request_bytes == 0) {
      // Not yet on a connection: cannot tell reused from new yet.
      next = std::min(next, std::max(now + absl::Milliseconds(10), t->first_byte_deadline));
      continue;
    }
    if (new_connections > 0) {
      // A connection made for this transfer: only the deadline applies.
      t->first_byte_deadline = absl::InfiniteFuture();
      --*watched;
      continue;
    }
    if (now >= t->first_byte_deadline) {
      silent->push_back(id);
    } else {
      next = std::min(next, t->first_byte_deadline);
    }
  }
  return next;
}

absl::Status NoAnswerStatus() {
  absl::Status status = absl::UnavailableError(
      "Leaf sent no byte of an answer on a reused connection within the first-byte timeout");
  status.SetPayload(kNoAnswerPayload, absl::Cord("true"));
  status.SetPayload(kMaybeSentPayload, absl::Cord("true"));
  return status;
}

}  // namespace leafsvc::http
