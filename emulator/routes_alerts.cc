// Leaf's alerts service: webhooks under /services/alerts/api/alerts
// (a service of its own behind the gateway, so outside the user-management
// prefix; the Bearer check is done here). POST /webhooks registers one (400
// eventRegisteredTwice when an event already has one) and Leaf then POSTs
// the registration confirmation to it; GET /webhooks, GET and DELETE
// /webhooks/{id}; GET /webhooks/failed-calls lists failed deliveries.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emulator/json.h"
#include "emulator/routes.h"

namespace leafemu {
namespace {

constexpr char kWebhooks[] = "/services/alerts/api/alerts/webhooks";

std::string WebhookJson(const Webhook& h) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "id");
  WriteString(w, h.id);
  WriteKey(w, "name");
  WriteString(w, h.name);
  WriteKey(w, "url");
  WriteString(w, h.url);
  WriteKey(w, "events");
  w.StartArray();
  for (const std::string& e : h.events) WriteString(w, e);
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

std::string Join(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) absl::StrAppend(&out, i ? "," : "", items[i]);
  return out + "]";
}

// Serves `serve` only with a valid Bearer token, like Leaf's gateway.
Router::Handler Authorized(Auth& auth, Router::Handler serve) {
  return [&auth, serve](const RouteRequest& req, httplib::Response& res) {
    absl::Status st = auth.CheckAuthorization(
        req.http.has_header("Authorization")
            ? std::optional<std::string>(req.http.get_header_value("Authorization"))
            : std::nullopt);
    if (!st.ok()) {
      Problem p;
      p.status = 401;
      p.title = "Unauthorized";
      p.detail = std::string(st.message());
      SendProblem(req.http, res, p);
      return;
    }
    serve(req, res);
  };
}

template <typename Ctx>
void CreateWebhook(const Ctx& ctx, const RouteRequest& req, httplib::Response& res) {
  rapidjson::Document doc;
  Webhook hook;
  bool valid = ParseObject(req.http.body, doc);
  if (valid) {
    hook.name = StringMember(doc, "name").value_or("");
    hook.url = StringMember(doc, "url").value_or("");
    hook.secret = StringMember(doc, "secret").value_or("");
    auto events = doc.FindMember("events");
    valid = events != doc.MemberEnd() && events->value.IsArray() && !events->value.Empty();
    if (valid) {
      for (const auto& e : events->value.GetArray()) {
        if (!e.IsString()) valid = false;
        if (e.IsString()) hook.events.emplace_back(e.GetString(), e.GetStringLength());
      }
    }
    valid = valid && !hook.url.empty() && !hook.secret.empty();
  }
  if (!valid) {
    Problem p;
    p.status = 400;
    p.detail = "expected {\"events\":[...],\"name\":\"...\",\"secret\":\"...\",\"url\":\"...\"}";
    p.error_key = "invalidWebhook";
    SendProblem(req.http, res, p);
    return;
  }
  std::string taken;
  std::optional<Webhook> created = ctx.webhooks.Create(hook, &taken);
  if (!created) {
    Problem p;
    p.status = 400;
    p.title = "Event registered twice";
    p.detail = absl::StrCat("A webhook for event ", taken, " already exists");
    p.message = "eventRegisteredTwice";
    p.error_key = "eventRegisteredTwice";
    SendProblem(req.http, res, p);
    return;
  }
  ctx.alerts.Send(*created, AlertSender::ConfirmationBody());
  SendJson(res, 201, WebhookJson(*created));
}

Problem NoWebhook(const std::string& id) {
  Problem p;
  p.status = 404;
  p.detail = absl::StrCat("No webhook with id ", id);
  p.error_key = "webhooknotfound";
  return p;
}

}  // namespace

void RegisterAlertRoutes(Router& router, const LeafApiContext& ctx) {
  Auth& auth = ctx.auth;
  // `ctx` itself may be a temporary: keep what it refers to.
  struct Parts {
    WebhookStore& webhooks;
    AlertSender& alerts;
  };
  auto c = std::make_shared<Parts>(Parts{ctx.webhooks, ctx.alerts});
  router.AddPublic("POST", kWebhooks,
                   Authorized(auth, [c](const RouteRequest& req, httplib::Response& res) {
                     CreateWebhook(*c, req, res);
                   }));
  router.AddPublic("GET", kWebhooks,
                   Authorized(auth, [c](const RouteRequest&, httplib::Response& res) {
                     std::vector<std::string> items;
                     for (const Webhook& h : c->webhooks.List()) items.push_back(WebhookJson(h));
                     SendJson(res, 200, Join(items));
                   }));
  router.AddPublic(
      "GET", absl::StrCat(kWebhooks, "/failed-calls"),
      Authorized(auth, [c](const RouteRequest&, httplib::Response& res) {
        std::vector<std::string> items;
        for (const AlertDelivery& d : c->alerts.Deliveries()) {
          if (d.http_status >= 200 && d.http_status < 300) continue;
          items.push_back(absl::StrCat("{\"webhookId\":", JsonQuote(d.webhook_id),
                                       ",\"url\":", JsonQuote(d.url), ",\"attempt\":", d.attempt,
                                       ",\"statusCode\":", d.http_status, "}"));
        }
        SendJson(res, 200, Join(items));
      }));
  router.AddPublic("GET", absl::StrCat(kWebhooks, "/{webhookId}"),
                   Authorized(auth, [c](const RouteRequest& req, httplib::Response& res) {
                     std::optional<Webhook> h = c->webhooks.Get(req.param("webhookId"));
                     if (!h) return SendProblem(req.http, res, NoWebhook(req.param("webhookId")));
                     SendJson(res, 200, WebhookJson(*h));
                   }));
  router.AddPublic("DELETE", absl::StrCat(kWebhooks, "/{webhookId}"),
                   Authorized(auth, [c](const RouteRequest& req, httplib::Response& res) {
                     if (!c->webhooks.Delete(req.param("webhookId"))) {
                       return SendProblem(req.http, res, NoWebhook(req.param("webhookId")));
                     }
                     res.status = 204;
                   }));
}

}  // namespace leafemu
