// What other threads hand to the transport's event loop (new transfers,
// cancellations, the request to stop) and whether the loop must be woken for
// it. The loop takes everything in one swap per turn; before it sleeps it
// asks TryToSleep, which refuses when something arrived during the turn, so
// that work is taken without a poll or a wake-up. A Push or Cancel reports
// "wake the loop" only while it sleeps, and only once per sleep: a burst of
// calls costs one wake-up, or none.
//
// Thread-safe. std::mutex rather than absl::Mutex: the system abseil is not
// built with ThreadSanitizer annotations, so TSan could not check this code.
#ifndef SERVER_HTTP_LOOP_INBOX_H_
#define SERVER_HTTP_LOOP_INBOX_H_

#include <mutex>
#include <vector>

#include "server/http/http_client.h"
#include "server/http/wait_queue.h"

namespace leafsvc::http {

class LoopInbox {
 public:
  // Each returns true when the caller must wake the loop.
  bool Push(PendingTransfer transfer);
  bool Cancel(TransferId id);
  // After Stop the caller always wakes the loop.
  void Stop();

  // The loop's side. Take moves everything queued into the (emptied)
  // vectors and returns whether Stop was called.
  bool Take(std::vector<PendingTransfer>* transfers, std::vector<TransferId>* cancels);
  // False when the loop must not sleep: work arrived since Take, or Stop.
  // True: the loop polls, and calls Awake once the poll returns.
  bool TryToSleep();
  void Awake();
  // For the shutdown drain: the queued transfers; cancellations are dropped.
  std::vector<PendingTransfer> TakeTransfers();

 private:
  bool WakeLocked();

  std::mutex mu_;
  std::vector<PendingTransfer> transfers_;  // guarded by mu_
  std::vector<TransferId> cancels_;         // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  bool asleep_ = false;                     // in (or committed to) a poll; guarded by mu_
  bool wake_sent_ = false;                  // for this sleep; guarded by mu_
};

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_LOOP_INBOX_H_
