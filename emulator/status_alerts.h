// Leaf's alert after a background status change: the webhooks registered
// for the new status's event (webhooks.h) each get one delivery.
#ifndef EMULATOR_STATUS_ALERTS_H_
#define EMULATOR_STATUS_ALERTS_H_

#include <string>

#include "emulator/alert_sender.h"
#include "emulator/types.h"
#include "emulator/webhooks.h"

namespace leafemu {

// Sends the alerts for credentials `now` that were in `old_status`; none
// when the status did not change or its event has no alert.
void SendStatusAlerts(const WebhookStore& webhooks, AlertSender& alerts,
                      const ProviderSpec& provider, const std::string& old_status,
                      const StoredCredentials& now);

}  // namespace leafemu

#endif  // EMULATOR_STATUS_ALERTS_H_
