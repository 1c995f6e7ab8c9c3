#include "emulator/status_alerts.h"

#include <optional>

namespace leafemu {

void SendStatusAlerts(const WebhookStore& webhooks, AlertSender& alerts,
                      const ProviderSpec& provider, const std::string& old_status,
                      const StoredCredentials& now) {
  if (old_status == now.status) return;
  std::optional<std::string> event = AlertEventForStatus(now.status);
  if (!event) return;
  for (const Webhook& hook : webhooks.ForEvent(*event)) {
    alerts.Send(hook, AlertSender::AlertBody(*event, now.id, now.status, provider));
  }
}

}  // namespace leafemu
