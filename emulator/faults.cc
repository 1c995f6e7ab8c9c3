#include "emulator/faults.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "emulator/ids.h"
#include "emulator/leaf_json.h"
#include "emulator/problem.h"
#include "emulator/request_log.h"

namespace leafemu {

const char* FaultKindName(Fault::Kind kind) {
  switch (kind) {
    case Fault::Kind::kLatencyOnly:
      return "latency_only";
    case Fault::Kind::kStatus:
      return "status";
    case Fault::Kind::kMalformedJson:
      return "malformed_json";
    case Fault::Kind::kEmptyBody:
      return "empty_body";
    case Fault::Kind::kHtml:
      return "html";
    case Fault::Kind::kCloseConnection:
      return "close_connection";
    case Fault::Kind::kResetMidBody:
      return "reset_mid_body";
    case Fault::Kind::kHugeBody:
      return "huge_body";
    case Fault::Kind::kSlowDrip:
      return "slow_drip";
  }
  return "status";
}

std::optional<Fault::Kind> FaultKindFromName(absl::string_view name) {
  static constexpr Fault::Kind kAll[] = {
      Fault::Kind::kLatencyOnly,  Fault::Kind::kStatus,   Fault::Kind::kMalformedJson,
      Fault::Kind::kEmptyBody,    Fault::Kind::kHtml,     Fault::Kind::kCloseConnection,
      Fault::Kind::kResetMidBody, Fault::Kind::kHugeBody, Fault::Kind::kSlowDrip};
  for (Fault::Kind k : kAll) {
    if (name == FaultKindName(k)) return k;
  }
  return std::nullopt;
}

// --- The plan ----------------------------------------------------------------

void FaultPlan::Inject(Fault fault) {
  std::lock_guard<std::mutex> l(mu_);
  int times = fault.times;
  faults_.push_back(ActiveFault{std::move(fault), times});
}

void FaultPlan::Clear() {
  std::lock_guard<std::mutex> l(mu_);
  faults_.clear();
}

std::optional<Fault> FaultPlan::Take(const std::string& method, const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->remaining == 0) continue;
    if (!RequestMatches(it->fault.method, it->fault.path_contains, method, path)) continue;
    if (it->fault.probability < 1.0 &&
        std::uniform_real_distribution<double>(0.0, 1.0)(rng_) >= it->fault.probability) {
      continue;
    }
    Fault fault = it->fault;
    if (it->remaining > 0 && --it->remaining == 0) faults_.erase(it);
    return fault;
  }
  return std::nullopt;
}

// --- Bodies ------------------------------------------------------------------

namespace {
constexpr absl::string_view kHugePrefix = "{\"data\":\"";
constexpr absl::string_view kHugeSuffix = "\"}";
}  // namespace

HugeBody::HugeBody(size_t n) : n_(n) {
  if (n >= kHugePrefix.size() + kHugeSuffix.size()) {
    prefix_ = kHugePrefix;
    suffix_ = kHugeSuffix;
  } else if (n >= 2) {
    prefix_ = "{}";
  }
}

char HugeBody::At(size_t i) const {
  if (i < prefix_.size()) return prefix_[i];
  if (!suffix_.empty() && i >= n_ - suffix_.size()) return suffix_[i - (n_ - suffix_.size())];
  return suffix_.empty() ? ' ' : 'x';
}

void HugeBody::Fill(size_t offset, size_t len, std::string& out) const {
  out.resize(len);
  size_t plain_begin = prefix_.size();
  size_t plain_end = n_ - suffix_.size();
  char plain = suffix_.empty() ? ' ' : 'x';
  for (size_t i = 0; i < len; ++i) {
    size_t pos = offset + i;
    out[i] = (pos >= plain_begin && pos < plain_end) ? plain : At(pos);
  }
}

std::string GatewayHtml(int status) {
  static constexpr char kGatewayHtml[] =
      "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
      "<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n"
      "</body>\r\n</html>\r\n";
  std::string title = StatusTitle(status);
  char buf[512];
  std::snprintf(buf, sizeof(buf), kGatewayHtml, status, title.c_str(), status, title.c_str());
  return buf;
}

std::string GuessContentType(const std::string& body) {
  absl::string_view b = absl::StripLeadingAsciiWhitespace(body);
  if (absl::StartsWith(b, "{") || absl::StartsWith(b, "[")) return kJson;
  if (absl::StartsWith(b, "<")) return "text/html";
  return "text/plain";
}

// --- Application -------------------------------------------------------------

namespace {

// kResetMidBody and kSlowDrip: the body that gets cut or dripped is the
// fault's, else the normal answer's, else a plausible credential.
void CutOrDrip(const Fault& fault, const FaultContext& ctx, const httplib::Request& req,
               httplib::Response& res) {
  std::string body, content_type;
  int status;
  if (!fault.body.empty()) {
    body = fault.body;
    status = fault.status > 0 ? fault.status : 200;
    content_type = GuessContentType(body);
  } else {
    httplib::Response normal;
    ctx.serve(req, normal);
    body = normal.body;
    status = fault.status > 0 ? fault.status : normal.status;
    content_type = normal.get_header_value("Content-Type");
    for (const auto& [name, value] : normal.headers) {
      if (!absl::EqualsIgnoreCase(name, "Content-Type") &&
          !absl::EqualsIgnoreCase(name, "Content-Length")) {
        res.set_header(name, value);
      }
    }
  }
  if (body.empty()) {
    // A credentials object with no provider fields: any provider's reader
    // accepts it (this fault is about the timing, not the fields).
    static const ProviderSpec kNoFields;
    StoredCredentials c{NewUuidV4(), "OK", NowTimestamp(), {}};
    body = CredentialsJson(c, kNoFields);
    status = fault.status > 0 ? fault.status : 200;
    content_type = kJson;
  }
  if (content_type.empty()) content_type = kJson;
  res.status = status;
  for (const auto& [name, value] : fault.headers) res.set_header(name, value);
  auto shared_body = std::make_shared<const std::string>(std::move(body));
  if (fault.kind == Fault::Kind::kResetMidBody) {
    ctx.record_status(0);
    res.set_content_provider(shared_body->size(), content_type,
                             [shared_body](size_t offset, size_t, httplib::DataSink& sink) {
                               size_t half = std::max<size_t>(1, shared_body->size() / 2);
                               if (offset < half) {
                                 sink.write(shared_body->data() + offset, half - offset);
                               }
                               return false;  // httplib closes the connection
                             });
    return;
  }
  ctx.record_status(status);
  res.set_content_provider(
      shared_body->size(), content_type,
      [server = ctx.server, record = ctx.record_status, shared_body,
       interval = fault.drip_interval](size_t offset, size_t, httplib::DataSink& sink) {
        if (!server->SleepUnlessStopping(interval) || !sink.is_writable() ||
            !sink.write(shared_body->data() + offset, 1)) {
          record(0);
          return false;
        }
        return true;
      });
}

void ServeHuge(const Fault& fault, const FaultContext& ctx, httplib::Response& res) {
  int status = fault.status > 0 ? fault.status : 200;
  size_t size = static_cast<size_t>(std::max<int64_t>(1, fault.huge_bytes));
  auto body = std::make_shared<HugeBody>(size);
  res.status = status;
  for (const auto& [name, value] : fault.headers) res.set_header(name, value);
  ctx.record_status(status);
  res.set_content_provider(size, kJson,
                           [server = ctx.server, record = ctx.record_status, body](
                               size_t offset, size_t length, httplib::DataSink& sink) {
                             if (server->stopping()) {
                               record(0);
                               return false;
                             }
                             std::string chunk;
                             body->Fill(offset, std::min<size_t>(length, 64 << 10), chunk);
                             if (!sink.write(chunk.data(), chunk.size())) {
                               record(0);
                               return false;
                             }
                             return true;
                           });
}

}  // namespace

void ApplyFault(const Fault& fault, const FaultContext& ctx, const httplib::Request& req,
                httplib::Response& res) {
  if (fault.latency > absl::ZeroDuration() && !ctx.server->SleepUnlessStopping(fault.latency)) {
    ctx.record_status(0);
    ctx.server->CutConnection(req, res);
    return;
  }
  auto add_headers = [&fault, &res] {
    for (const auto& [name, value] : fault.headers) res.set_header(name, value);
  };
  // Status, content type and body of the simple kinds.
  auto answer = [&](int status, const std::string& body, const std::string& content_type) {
    res.status = status;
    if (!content_type.empty()) res.set_content(body, content_type);
    add_headers();
    ctx.record_status(status);
  };

  switch (fault.kind) {
    case Fault::Kind::kLatencyOnly:
      ctx.serve(req, res);
      ctx.record_status(res.status);
      add_headers();
      return;

    case Fault::Kind::kStatus: {
      int status = fault.status > 0 ? fault.status : 500;
      auto ct = fault.headers.find("Content-Type");
      if (!fault.body.empty()) {
        answer(status, fault.body,
               ct != fault.headers.end() ? ct->second : GuessContentType(fault.body));
        return;
      }
      res.status = status;
      if (status >= 400) {
        Problem p;
        p.status = status;
        p.detail = "Injected fault";
        SendProblem(req, res, p);
      }
      add_headers();
      ctx.record_status(status);
      return;
    }

    case Fault::Kind::kMalformedJson:
      answer(fault.status > 0 ? fault.status : 200,
             fault.body.empty()
                 ? absl::StrCat("{\"id\":\"", NewUuidV4(), "\",\"status\":\"OK\",\"createdTi")
                 : fault.body,
             kJson);
      return;

    case Fault::Kind::kEmptyBody:
      res.set_header("Content-Type", kJson);
      answer(fault.status > 0 ? fault.status : 200, "", "");
      return;

    case Fault::Kind::kHtml: {
      int status = fault.status > 0 ? fault.status : 502;
      answer(status, fault.body.empty() ? GatewayHtml(status) : fault.body, "text/html");
      return;
    }

    case Fault::Kind::kCloseConnection:
      ctx.record_status(0);
      ctx.server->CutConnection(req, res);
      return;

    case Fault::Kind::kResetMidBody:
    case Fault::Kind::kSlowDrip:
      CutOrDrip(fault, ctx, req, res);
      return;

    case Fault::Kind::kHugeBody:
      ServeHuge(fault, ctx, res);
      return;
  }
}

}  // namespace leafemu
