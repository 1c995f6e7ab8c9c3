// Delivers Leaf's webhook calls: each body is POSTed to the webhook's URL
// with X-Leaf-Signature (base64 HMAC-SHA256 of the body with the webhook's
// secret). A delivery that fails (no answer, or not 2xx) is retried on Leaf's
// schedule, 1, 30, 60 and 240 minutes later, multiplied by `retry_scale`
// (tests use a tiny scale). Deliveries run on the sender's own thread, so a
// control call that triggers one returns at once.
#ifndef EMULATOR_ALERT_SENDER_H_
#define EMULATOR_ALERT_SENDER_H_

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "emulator/webhooks.h"
#include "server/providers/provider_spec.h"

namespace leafemu {

// One delivery attempt, as recorded for tests.
struct AlertDelivery {
  std::string webhook_id;
  std::string url;
  std::string body;
  int attempt = 0;      // 1 for the first try
  int http_status = 0;  // 0: no answer
};

class AlertSender {
 public:
  // Leaf's retry delays after a failed delivery.
  static std::vector<absl::Duration> RetrySchedule(double scale);

  explicit AlertSender(double retry_scale);
  ~AlertSender();  // drops what is still pending

  // Queues `body` for `hook` (first attempt at once).
  void Send(const Webhook& hook, std::string body);
  // The body of an alert about credential `credential_id` now in `status`;
  // "provider" and "credential" are the provider's as Leaf names them.
  static std::string AlertBody(const std::string& event, const std::string& credential_id,
                               const std::string& status,
                               const ::leafsvc::providers::ProviderSpec& provider);
  static std::string ConfirmationBody();

  std::vector<AlertDelivery> Deliveries() const;
  void Reset();  // forgets pending deliveries and the record

 private:
  struct Pending {
    Webhook hook;
    std::string body;
    int attempt = 1;
  };
  void Loop();
  int Post(const Pending& p) const;

  const std::vector<absl::Duration> schedule_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::multimap<absl::Time, Pending> pending_;
  std::vector<AlertDelivery> record_;
  std::thread thread_;
};

}  // namespace leafemu

#endif  // EMULATOR_ALERT_SENDER_H_
