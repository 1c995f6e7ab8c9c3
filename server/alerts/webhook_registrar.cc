#include "server/alerts/webhook_registrar.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/budget/budgeted_http_client.h"
#include "server/json/untrusted_json.h"
#include "server/observability/log.h"

namespace leafsvc::alerts {
namespace {

constexpr char kAlertsPath[] = "/services/alerts/api/alerts";

std::string CreateBody(const WebhookRegistrarOptions& o, const std::vector<std::string>& events) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("events");
  w.StartArray();
  for (const std::string& e : events) w.String(e.c_str(), e.size());
  w.EndArray();
  w.Key("name");
  w.String(o.name.c_str(), o.name.size());
  w.Key("secret");
  w.String(o.secret.Reveal().c_str(), o.secret.Reveal().size());
  w.Key("url");
  w.String(o.public_url.c_str(), o.public_url.size());
  w.EndObject();
  return buf.GetString();
}

absl::Status HttpError(absl::string_view what, const http::HttpResponse& r) {
  return absl::UnavailableError(absl::StrCat(what, ": Leaf answered HTTP ", r.status_code));
}

}  // namespace

struct WebhookRegistrar::Life {
  absl::Mutex mu;
  WebhookRegistrar* self ABSL_GUARDED_BY(mu) = nullptr;
  int running ABSL_GUARDED_BY(mu) = 0;  // callbacks inside the registrar now
};

template <typename F>
auto WebhookRegistrar::Guarded(F f) {
  return [life = life_, f = std::move(f)](auto&&... args) {
    WebhookRegistrar* self;
    {
      absl::MutexLock lock(&life->mu);
      self = life->self;
      if (self == nullptr) return;
      ++life->running;
    }
    f(self, std::forward<decltype(args)>(args)...);
    absl::MutexLock lock(&life->mu);
    --life->running;
  };
}

WebhookRegistrar::WebhookRegistrar(http::HttpClient* http, leaf::TokenSource* tokens,
                                   Scheduler* scheduler, WebhookRegistrarOptions options)
    : http_(http),
      tokens_(tokens),
      scheduler_(scheduler),
      options_(std::move(options)),
      life_(std::make_shared<Life>()) {
  absl::MutexLock lock(&life_->mu);
  life_->self = this;
}

WebhookRegistrar::~WebhookRegistrar() {
  Stop();
  absl::MutexLock lock(&life_->mu);
  life_->self = nullptr;
  // A callback already inside finishes first (its own thread: it returns
  // before touching the registrar again, there is nothing to wait for).
  Life* life = life_.get();
  life->mu.Await(absl::Condition(
      +[](Life* l) ABSL_EXCLUSIVE_LOCKS_REQUIRED(l->mu) { return l->running == 0; }, life));
}

std::string WebhookRegistrar::WebhooksUrl() const {
  std::string base = options_.leaf_api_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return absl::StrCat(base, kAlertsPath, "/webhooks");
}

absl::StatusOr<std::vector<std::string>> WebhookRegistrar::MissingEvents(
    absl::string_view list_body, absl::string_view public_url,
    std::vector<std::string>* elsewhere) {
  rapidjson::Document doc;
  if (!json::ParseUntrusted(list_body, doc).ok() || !doc.IsArray()) {
    return absl::InternalError("Leaf's webhook list is not a JSON array");
  }
  std::vector<std::string> missing;
  for (const char* event : kCredentialEvents) {
    bool found = false;
    for (const auto& hook : doc.GetArray()) {
      if (!hook.IsObject()) continue;
      auto events = hook.FindMember("events");
      if (events == hook.MemberEnd() || !events->value.IsArray()) continue;
      for (const auto& e : events->value.GetArray()) {
        if (!e.IsString() || absl::string_view(e.GetString()) != event) continue;
        found = true;
        auto url = hook.FindMember("url");
        const bool ours = url != hook.MemberEnd() && url->value.IsString() &&
                          absl::string_view(url->value.GetString()) == public_url;
        if (!ours && elsewhere != nullptr) elsewhere->push_back(event);
      }
    }
    if (!found) missing.push_back(event);
  }
  return missing;
}

void WebhookRegistrar::Start() { Attempt(); }

void WebhookRegistrar::Stop() {
  Scheduler::TaskId retry = 0;
  bool retry_set = false;
  http::TransferId transfer = 0;
  bool transfer_set = false;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    retry = retry_;
    retry_set = std::exchange(retry_set_, false);
    transfer = transfer_;
    transfer_set = std::exchange(transfer_set_, false);
  }
  if (retry_set) scheduler_->Cancel(retry);
  if (transfer_set) http_->Cancel(transfer);
}

void WebhookRegistrar::Attempt() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    retry_set_ = false;
  }
  tokens_->GetToken(Guarded([](WebhookRegistrar* self, absl::StatusOr<Secret> token) {
    if (!token.ok()) {
      self->Finish(token.status());
      return;
    }
    self->List(*token);
  }));
}

void WebhookRegistrar::List(const Secret& token) {
  http::HttpRequest req;
  req.method = "GET";
  req.url = WebhooksUrl();
  req.headers = {{"Authorization", absl::StrCat("Bearer ", token.Reveal())},
                 {"Accept", "application/json"}};
  req.deadline = absl::Now() + options_.timeout;
  // Background work in Leaf's request budget, after callers' calls.
  req.priority = budget::PriorityOf(budget::RequestClass::kPrompted);
  absl::MutexLock lock(&mu_);
  if (stopped_) return;
  transfer_set_ = true;
  transfer_ =
      http_->Send(std::move(req),
                  Guarded([token](WebhookRegistrar* self, absl::StatusOr<http::HttpResponse> r) {
                    self->OnListed(token, std::move(r));
                  }));
}

void WebhookRegistrar::OnListed(const Secret& token, absl::StatusOr<http::HttpResponse> r) {
  if (!r.ok()) return Finish(r.status());
  if (r->status_code != 200) return Finish(HttpError("listing webhooks", *r));
  std::vector<std::string> elsewhere;
  absl::StatusOr<std::vector<std::string>> missing =
      MissingEvents(r->body, options_.public_url, &elsewhere);
  if (!missing.ok()) return Finish(missing.status());
  if (!elsewhere.empty()) {
    Log(LogLevel::kWarning,
        "a Leaf webhook for these events delivers to another URL (Leaf allows one per event); "
        "left as is: delete it in Leaf for alerts to reach this service",
        {{"events", absl::StrJoin(elsewhere, ",")}});
  }
  if (missing->empty()) return Finish(absl::OkStatus());
  Create(token, *missing);
}

void WebhookRegistrar::Create(const Secret& token, const std::vector<std::string>& events) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = WebhooksUrl();
  req.headers = {{"Authorization", absl::StrCat("Bearer ", token.Reveal())},
                 {"Content-Type", "application/json"},
                 {"Accept", "application/json"}};
  req.body = CreateBody(options_, events);
  req.deadline = absl::Now() + options_.timeout;
  // Background work in Leaf's request budget, after callers' calls.
  req.priority = budget::PriorityOf(budget::RequestClass::kPrompted);
  req.fresh_connection = true;
  const std::string joined = absl::StrJoin(events, ",");
  absl::MutexLock lock(&mu_);
  if (stopped_) return;
  transfer_set_ = true;
  transfer_ =
      http_->Send(std::move(req),
                  Guarded([joined](WebhookRegistrar* self, absl::StatusOr<http::HttpResponse> r) {
                    self->OnCreated(joined, std::move(r));
                  }));
}

void WebhookRegistrar::OnCreated(const std::string& joined, absl::StatusOr<http::HttpResponse> r) {
  if (!r.ok()) return Finish(r.status());
  if (r->status_code == 200 || r->status_code == 201) {
    Log(LogLevel::kInfo, "registered the Leaf webhook", {{"events", joined}});
    return Finish(absl::OkStatus());
  }
  if (r->status_code == 400 && absl::StrContains(r->body, "eventRegisteredTwice")) {
    // Another replica got there first: the webhook exists.
    return Finish(absl::OkStatus());
  }
  Finish(HttpError("registering the webhook", *r));
}

void WebhookRegistrar::Finish(const absl::Status& status) {
  if (options_.on_attempt) options_.on_attempt(status);
  absl::MutexLock lock(&mu_);
  transfer_set_ = false;
  if (status.ok()) {
    done_ = true;
    return;
  }
  if (stopped_) return;
  ++failures_;
  const absl::Duration delay = std::min(
      options_.max_backoff, options_.initial_backoff * std::pow(2.0, std::min(failures_ - 1, 30)));
  Log(LogLevel::kWarning, "could not register the Leaf webhook; will retry",
      {{"error", std::string(status.message())},
       {"retry_in_ms", absl::ToInt64Milliseconds(delay)}});
  retry_set_ = true;
  retry_ = scheduler_->RunAt(absl::Now() + delay,
                             Guarded([](WebhookRegistrar* self) { self->Attempt(); }));
}

}  // namespace leafsvc::alerts
