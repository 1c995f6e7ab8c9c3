// Everything one emulator instance holds, shared by Leaf's routes, the
// control API and the public facade. Each part has its own lock.
#ifndef EMULATOR_STATE_H_
#define EMULATOR_STATE_H_

#include <utility>

#include "emulator/agfiniti/oauth_store.h"
#include "emulator/alert_sender.h"
#include "emulator/auth.h"
#include "emulator/faults.h"
#include "emulator/rate_limit.h"
#include "emulator/request_log.h"
#include "emulator/store.h"
#include "emulator/types.h"
#include "emulator/webhooks.h"

namespace leafemu {

struct EmulatorState {
  explicit EmulatorState(EmulatorOptions opts)
      : options(std::move(opts)),
        store(options.duplicate_create_mode),
        auth(options),
        requests(options.max_recorded_requests),
        alerts(options.alert_retry_scale),
        rate_limit({options.rate_limit_per_minute, options.rate_limit_retry_after_seconds}),
        agfiniti(options.agfiniti) {}

  // Forgets all credentials, events, faults, requests, webhooks, pending
  // alerts, the login count and the request limit's windows and counters,
  // and restores the configured duplicate mode and request limit. Issued
  // tokens stay valid. AgFiniti goes back to its configured applications and
  // growers, without codes or tokens.
  void Reset() {
    store.Reset();
    faults.Clear();
    requests.Clear();
    auth.ResetLoginCount();
    webhooks.Reset();
    alerts.Reset();
    rate_limit.Reset();
    agfiniti.Reset();
  }

  const EmulatorOptions options;
  Store store;
  Auth auth;
  FaultPlan faults;
  RequestLog requests;
  WebhookStore webhooks;
  AlertSender alerts;
  RateLimiter rate_limit;
  agfiniti::AgFinitiStore agfiniti;
};

}  // namespace leafemu

#endif  // EMULATOR_STATE_H_
