#include "server/connect/agfiniti_token_client.h"

#include <openssl/crypto.h>

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rapidjson/document.h"
#include "server/connect/url_encoding.h"
#include "server/errors/reasons.h"
#include "server/json/untrusted_json.h"

namespace leafsvc::connect {
namespace {

// Overwrites a string value inside a parsed document (a token's copy in the
// document's own buffers) before the document is released.
void WipeJsonString(rapidjson::Value& v) {
  if (!v.IsString() || v.GetStringLength() == 0) return;
  OPENSSL_cleanse(const_cast<char*>(v.GetString()), v.GetStringLength());
}

void WipeDocument(rapidjson::Value& v) {
  if (v.IsString()) return WipeJsonString(v);
  if (v.IsObject()) {
    for (auto& m : v.GetObject()) {
      WipeJsonString(m.name);
      WipeDocument(m.value);
    }
  } else if (v.IsArray()) {
    for (auto& e : v.GetArray()) WipeDocument(e);
  }
}

// True when `text` holds a secret, whole or any 8 consecutive bytes of one
// (a shorter secret only whole): a description that quotes part of the code
// or the key is withheld as a whole.
bool QuotesASecret(absl::string_view text, const std::vector<absl::string_view>& secrets) {
  constexpr size_t kWindow = 8;
  for (absl::string_view s : secrets) {
    if (s.empty()) continue;
    if (s.size() <= kWindow) {
      if (absl::StrContains(text, s)) return true;
      continue;
    }
    for (size_t i = 0; i + kWindow <= s.size(); ++i) {
      if (absl::StrContains(text, s.substr(i, kWindow))) return true;
    }
  }
  return false;
}

// Printable ASCII only (anything else becomes "?"), at most `cap` bytes,
// and "" when it quotes a secret: AgFiniti's words are outside text that
// ends up in an error message, a log line and a page.
std::string Quote(absl::string_view text, size_t cap,
                  const std::vector<absl::string_view>& secrets) {
  if (QuotesASecret(text, secrets)) return "";
  std::string out;
  for (char c : text.substr(0, cap)) {
    const unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  return out;
}

absl::Status Unavailable(absl::string_view message, int http_status) {
  StatusDetails details;
  if (http_status != 0) details.metadata["agfiniti_http_status"] = absl::StrCat(http_status);
  return MakeError(reasons::kAgfinitiUnavailable, message, std::move(details));
}

// RFC 6749 §5.2's error codes.
absl::Status ErrorAnswer(absl::string_view error, absl::string_view description, int http_status,
                         const std::vector<absl::string_view>& secrets) {
  const Reason* reason = &reasons::kAgfinitiRequestRejected;
  if (error == "invalid_grant") {
    reason = &reasons::kAgfinitiCodeRejected;
  } else if (error == "invalid_client" || error == "unauthorized_client") {
    reason = &reasons::kAgfinitiClientRejected;
  }
  std::string code = Quote(error, 64, secrets);
  std::string said = Quote(description, kMaxErrorDescriptionBytes, secrets);
  std::string message(reason->message);
  if (!code.empty()) absl::StrAppend(&message, " (AgFiniti: ", code);
  if (!code.empty() && !said.empty()) absl::StrAppend(&message, ": ", said);
  if (!code.empty()) message += ")";
  StatusDetails details;
  details.metadata["agfiniti_http_status"] = absl::StrCat(http_status);
  if (!code.empty()) details.metadata["agfiniti_error"] = code;
  return MakeError(*reason, message, std::move(details));
}

absl::Status TransportError(const absl::Status& s, absl::Duration timeout) {
  if (s.code() == absl::StatusCode::kDeadlineExceeded) {
    return Unavailable(
        absl::StrCat("AgFiniti's token endpoint did not answer within ",
                     absl::FormatDuration(timeout), "; the grower should try the link again later"),
        0);
  }
  if (s.code() == absl::StatusCode::kResourceExhausted) {
    return Unavailable("AgFiniti's token answer was too large", 0);
  }
  // The transport's own words may name the URL or echo what curl saw; the
  // code alone says enough.
  return Unavailable(absl::StrCat("could not reach AgFiniti's token endpoint (",
                                  absl::StatusCodeToString(s.code()),
                                  "); the grower should try the link again later"),
                     0);
}

}  // namespace

absl::StatusOr<AgfinitiTokens> ParseTokenAnswer(const http::HttpResponse& response,
                                                const std::vector<absl::string_view>& secrets) {
  const int status = response.status_code;
  if (response.body.size() > kMaxTokenAnswerBytes) {
    return Unavailable("AgFiniti's token answer was larger than 64 KiB", status);
  }
  if (status >= 500) {
    return Unavailable(absl::StrCat("AgFiniti's token endpoint failed (HTTP ", status,
                                    "); the grower should try the link again later"),
                       status);
  }
  rapidjson::Document doc;
  const bool parsed = json::ParseUntrusted(response.body, doc).ok() && doc.IsObject();
  struct Wiper {
    rapidjson::Document& d;
    ~Wiper() { WipeDocument(d); }
  } wiper{doc};

  absl::string_view error;
  absl::string_view description;
  if (parsed) {
    auto e = doc.FindMember("error");
    if (e != doc.MemberEnd() && e->value.IsString()) {
      error = absl::string_view(e->value.GetString(), e->value.GetStringLength());
    }
    auto d = doc.FindMember("error_description");
    if (d != doc.MemberEnd() && d->value.IsString()) {
      description = absl::string_view(d->value.GetString(), d->value.GetStringLength());
    }
  }
  if (!error.empty()) return ErrorAnswer(error, description, status, secrets);
  if (status < 200 || status > 299) {
    // RFC 6749 §5.2: a refused Basic authentication is a 401, with or
    // without a readable body.
    if (status == 401) {
      StatusDetails details;
      details.metadata["agfiniti_http_status"] = "401";
      return MakeError(reasons::kAgfinitiClientRejected, {}, std::move(details));
    }
    return Unavailable(
        absl::StrCat("AgFiniti's token endpoint answered HTTP ", status, " without an OAuth error"),
        status);
  }
  if (!parsed) {
    return Unavailable("AgFiniti's token answer could not be read (not a JSON object)", status);
  }
  auto rt = doc.FindMember("refresh_token");
  if (rt == doc.MemberEnd() || !rt->value.IsString() || rt->value.GetStringLength() == 0) {
    return Unavailable("AgFiniti's token answer has no refresh_token", status);
  }
  AgfinitiTokens tokens;
  tokens.refresh_token =
      Secret(absl::string_view(rt->value.GetString(), rt->value.GetStringLength()));
  auto at = doc.FindMember("access_token");
  if (at != doc.MemberEnd() && at->value.IsString()) {
    tokens.access_token =
        Secret(absl::string_view(at->value.GetString(), at->value.GetStringLength()));
  }
  auto ex = doc.FindMember("expires_in");
  if (ex != doc.MemberEnd()) {
    std::optional<int64_t> seconds = json::NumberAsInt64(ex->value);
    if (seconds && *seconds > 0 && *seconds < int64_t{10} * 365 * 24 * 3600) {
      tokens.expires_in = absl::Seconds(*seconds);
    }
  }
  return tokens;
}

AgfinitiTokenClient::AgfinitiTokenClient(http::HttpClient* http, const ConnectOptions& options)
    : http_(http),
      token_url_(options.token_url),
      public_key_(options.public_key),
      private_key_(options.private_key),
      redirect_uri_(options.RedirectUri()),
      timeout_(options.agfiniti_timeout) {}

void AgfinitiTokenClient::Exchange(Secret code, Secret pkce_verifier, Done done) {
  // What the answer's words are checked against, kept until the answer.
  struct Held {
    Secret code;
    Secret verifier;
    Secret private_key;
    Secret basic;
  };
  auto held = std::make_shared<Held>();
  held->code = std::move(code);
  held->verifier = std::move(pkce_verifier);
  held->private_key = private_key_;

  http::HttpRequest request;
  request.method = "POST";
  request.url = token_url_;
  request.deadline = absl::Now() + timeout_;
  // A code is single use: never let the transport send it twice.
  request.fresh_connection = true;

  {
    std::string pair;
    pair.reserve(public_key_.size() + 1 + private_key_.Reveal().size());
    pair.append(public_key_).push_back(':');
    pair.append(private_key_.Reveal());
    std::string encoded;
    absl::Base64Escape(pair, &encoded);
    WipeString(pair);
    std::string header;
    header.reserve(6 + encoded.size());
    header.append("Basic ").append(encoded);
    WipeString(encoded);
    held->basic = Secret(header.substr(6));
    request.headers.emplace_back("Authorization", std::move(header));
  }
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.headers.emplace_back("Accept", "application/json");

  std::string& body = request.body;
  // Reserved up front so that appending never reallocates and leaves an
  // unwiped copy of the code behind.
  body.reserve(96 + 3 * (held->code.Reveal().size() + redirect_uri_.size() +
                         held->verifier.Reveal().size()));
  body.append("grant_type=authorization_code&code=");
  AppendPercentEncoded(held->code.Reveal(), body);
  body.append("&redirect_uri=");
  AppendPercentEncoded(redirect_uri_, body);
  if (!held->verifier.empty()) {
    body.append("&code_verifier=");
    AppendPercentEncoded(held->verifier.Reveal(), body);
  }

  const absl::Duration timeout = timeout_;
  http_->Send(std::move(request), [held, timeout, done = std::move(done)](
                                      absl::StatusOr<http::HttpResponse> r) mutable {
    if (!r.ok()) return done(TransportError(r.status(), timeout));
    absl::StatusOr<AgfinitiTokens> tokens =
        ParseTokenAnswer(*r, {held->code.Reveal(), held->verifier.Reveal(),
                              held->private_key.Reveal(), held->basic.Reveal()});
    WipeString(r->body);
    held->code.Wipe();
    held->verifier.Wipe();
    done(std::move(tokens));
  });
}

}  // namespace leafsvc::connect
