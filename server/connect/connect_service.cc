#include "server/connect/connect_service.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/connect/oauth_state.h"
#include "server/connect/url_encoding.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"

namespace leafsvc::connect {

// One Complete in progress: what AgFiniti sent, what the store had, and
// the secrets in flight, all wiped when the last step lets go of it.
struct ConnectService::Completion {
  CallbackParams params;
  std::function<void(absl::StatusOr<ConnectLink>)> done;
  Secret code;  // the params' code, moved here at once
  Attempt attempt;
  ConnectLink link;
  AgfinitiTokens tokens;
  leaf::NewProviderCredentials credentials;
};

namespace {

// Longest code taken from a callback (real ones are far shorter).
constexpr size_t kMaxCodeBytes = 4096;

absl::Status StateInvalid() { return MakeError(reasons::kConnectStateInvalid); }

absl::Status LinkNotFound(const absl::Status& store_status) {
  if (store_status.code() == absl::StatusCode::kNotFound) {
    return MakeError(reasons::kConnectLinkNotFound);
  }
  return store_status;
}

// An error code from AgFiniti's redirect, for a message: RFC 6749 error
// codes are short printable ASCII; anything else is not quoted.
std::string QuotableErrorCode(absl::string_view error) {
  if (error.size() > 64) return "";
  for (char c : error) {
    if (!(absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.')) return "";
  }
  return std::string(error);
}

bool ContainsAny(absl::string_view text, const std::vector<const Secret*>& secrets) {
  for (const Secret* s : secrets) {
    if (!s->empty() && absl::StrContains(text, s->Reveal())) return true;
  }
  return false;
}

}  // namespace

ConnectService::ConnectService(ConnectOptions options, LinkStore* store,
                               http::HttpClient* agfiniti_http, leaf::LeafClient* leaf,
                               std::function<absl::Time()> clock,
                               std::function<void(const ConnectLink&)> on_connected)
    : options_(std::move(options)),
      store_(store),
      leaf_(leaf),
      clock_(std::move(clock)),
      on_connected_(std::move(on_connected)),
      return_urls_(options_.return_url_allow),
      tokens_(agfiniti_http, options_) {}

absl::Time ConnectService::Now() const { return clock_ ? clock_() : absl::Now(); }

std::string ConnectService::UrlOf(const ConnectLink& link) const {
  return options_.LinkUrl(link.id);
}

void ConnectService::CreateLink(std::string leaf_user_id, std::string return_url,
                                std::optional<absl::Duration> ttl,
                                std::function<void(absl::StatusOr<ConnectLink>)> done) {
  if (ttl.has_value() && (*ttl < kMinLinkTtl || *ttl > kMaxLinkTtl)) {
    StatusDetails details;
    details.field_violations.push_back(
        {"ttl", "ttl must be between 1 minute and 30 days (omit it for the server's default)"});
    return done(MakeError(reasons::kInvalidRequest, {}, std::move(details)));
  }
  if (leaf_user_id.empty()) {
    StatusDetails details;
    details.field_violations.push_back({"leaf_user_id", "leaf_user_id is required"});
    return done(MakeError(reasons::kInvalidRequest, {}, std::move(details)));
  }
  if (!return_url.empty()) {
    if (absl::Status s = return_urls_.Check(return_url); !s.ok()) return done(s);
  }
  absl::StatusOr<std::string> id = NewLinkId();
  if (!id.ok()) return done(id.status());
  const absl::Time now = Now();
  ConnectLink link;
  link.id = *std::move(id);
  link.leaf_user_id = std::move(leaf_user_id);
  link.return_url = std::move(return_url);
  link.state = LinkState::kPending;
  link.create_time = now;
  link.update_time = now;
  link.expire_time = now + ttl.value_or(options_.link_ttl);
  store_->CreateLink(link, [link, done = std::move(done)](absl::Status s) mutable {
    if (s.code() == absl::StatusCode::kAlreadyExists) {
      // 128 random bits colliding: not expected in the life of the universe.
      return done(absl::InternalError("a new connect link id collided; try again"));
    }
    if (!s.ok()) return done(s);
    done(std::move(link));
  });
}

void ConnectService::GetLink(const std::string& id,
                             std::function<void(absl::StatusOr<ConnectLink>)> done) {
  // Anything that is not an id this service could have made never reaches
  // the store (nor becomes a Redis key).
  if (!IsWellFormedToken(id, kLinkIdBytes)) return done(MakeError(reasons::kConnectLinkNotFound));
  store_->GetLink(id, [done = std::move(done)](absl::StatusOr<ConnectLink> r) {
    if (!r.ok()) return done(LinkNotFound(r.status()));
    done(std::move(r));
  });
}

std::string ConnectService::AuthorizeUrl(const std::string& state,
                                         const std::string& challenge) const {
  std::string url = options_.authorize_url;
  url += absl::StrContains(url, '?') ? "&" : "?";
  absl::StrAppend(&url, "response_type=code&client_id=", PercentEncode(options_.public_key),
                  "&redirect_uri=", PercentEncode(options_.RedirectUri()),
                  "&scope=", PercentEncode(options_.scopes), "&state=", PercentEncode(state));
  if (!challenge.empty()) {
    absl::StrAppend(&url, "&code_challenge=", PercentEncode(challenge),
                    "&code_challenge_method=S256");
  }
  return url;
}

void ConnectService::StartAttempt(const std::string& id,
                                  std::function<void(absl::StatusOr<AttemptStart>)> done) {
  GetLink(id, [this, done = std::move(done)](absl::StatusOr<ConnectLink> link) mutable {
    if (!link.ok()) return done(link.status());
    const absl::Time now = Now();
    if (link->state == LinkState::kConnected) {
      return done(MakeError(reasons::kConnectLinkAlreadyUsed));
    }
    if (link->StateAt(now) == LinkState::kExpired) {
      return done(MakeError(reasons::kConnectLinkExpired));
    }
    absl::StatusOr<std::string> state = NewState();
    absl::StatusOr<std::string> binding = NewBrowserBinding();
    if (!state.ok()) return done(state.status());
    if (!binding.ok()) return done(binding.status());
    Attempt attempt;
    attempt.state_hash = HashToken(*state);
    attempt.link_id = link->id;
    attempt.binding_hash = HashToken(*binding);
    attempt.expire_time = now + options_.attempt_ttl;
    std::string challenge;
    if (options_.pkce) {
      absl::StatusOr<std::string> verifier = NewPkceVerifier();
      if (!verifier.ok()) return done(verifier.status());
      challenge = PkceChallenge(*verifier);
      attempt.pkce_verifier = Secret(*std::move(verifier));
    }
    AttemptStart start;
    start.authorize_url = AuthorizeUrl(*state, challenge);
    start.browser_binding = *std::move(binding);
    start.expire_time = attempt.expire_time;
    WipeString(*state);
    store_->PutAttempt(attempt,
                       [start = std::move(start), done = std::move(done)](absl::Status s) mutable {
                         if (!s.ok()) return done(s);
                         done(std::move(start));
                       });
  });
}

void ConnectService::Complete(CallbackParams params,
                              std::function<void(absl::StatusOr<ConnectLink>)> done) {
  auto c = std::make_shared<Completion>();
  c->code = Secret(std::move(params.code));
  c->params = std::move(params);
  c->done = std::move(done);
  if (!IsWellFormedToken(c->params.state, kStateBytes)) return c->done(StateInvalid());
  store_->TakeAttempt(HashToken(c->params.state), [this, c](absl::StatusOr<Attempt> a) {
    if (!a.ok()) {
      if (a.status().code() == absl::StatusCode::kNotFound) return c->done(StateInvalid());
      return c->done(a.status());
    }
    c->attempt = *std::move(a);
    CompleteWithAttempt(c);
  });
}

void ConnectService::CompleteWithAttempt(std::shared_ptr<Completion> c) {
  // The attempt is spent whatever follows: a state replayed from another
  // browser burns it, so a leaked state cannot be tried twice.
  const bool bound =
      IsWellFormedToken(c->params.browser_binding, kStateBytes) &&
      ConstantTimeEquals(HashToken(c->params.browser_binding), c->attempt.binding_hash);
  if (!bound || c->attempt.expire_time <= Now()) return c->done(StateInvalid());
  store_->GetLink(c->attempt.link_id, [this, c](absl::StatusOr<ConnectLink> link) {
    if (!link.ok()) return c->done(LinkNotFound(link.status()));
    CompleteWithLink(c, *std::move(link));
  });
}

void ConnectService::CompleteWithLink(std::shared_ptr<Completion> c, ConnectLink link) {
  c->link = std::move(link);
  // A late attempt never touches a connected link (nor spends its code).
  if (c->link.state == LinkState::kConnected) return c->done(c->link);
  if (c->link.StateAt(Now()) == LinkState::kExpired) {
    return c->done(MakeError(reasons::kConnectLinkExpired));
  }
  if (!c->params.error.empty()) {
    if (c->params.error == "access_denied") {
      return Finish(c, MakeError(reasons::kConnectConsentDenied));
    }
    std::string message(reasons::kAgfinitiAuthorizationFailed.message);
    if (std::string code = QuotableErrorCode(c->params.error); !code.empty()) {
      absl::StrAppend(&message, " (AgFiniti: ", code, ")");
    }
    return Finish(c, MakeError(reasons::kAgfinitiAuthorizationFailed, message));
  }
  if (c->code.empty() || c->code.Reveal().size() > kMaxCodeBytes) {
    return Finish(c, MakeError(reasons::kAgfinitiAuthorizationFailed,
                               "AgFiniti's answer carried no usable authorization code; the "
                               "grower should open the link again"));
  }
  tokens_.Exchange(c->code, c->attempt.pkce_verifier,
                   [this, c](absl::StatusOr<AgfinitiTokens> tokens) {
                     if (!tokens.ok()) return Finish(c, tokens.status());
                     c->tokens = *std::move(tokens);
                     Attach(c, /*replacing=*/false);
                   });
}

void ConnectService::Attach(std::shared_ptr<Completion> c, bool replacing) {
  c->credentials.fields.clear();
  for (const providers::FieldSpec& spec : leaf_->provider().fields) {
    leaf::CredentialField field;
    field.name = spec.json_name;
    field.secret = spec.secret;
    if (spec.json_name == "refreshToken") {
      field.value = c->tokens.refresh_token;
    } else if (spec.json_name == "publicKey") {
      field.value = Secret(options_.public_key);
    } else if (spec.json_name == "privateKey") {
      field.value = options_.private_key;
    }
    c->credentials.fields.push_back(std::move(field));
  }
  leaf::CallOptions call(absl::Now() + options_.agfiniti_timeout);
  leaf_->CreateCredentials(
      c->link.leaf_user_id, c->credentials, call,
      [this, c, replacing](absl::StatusOr<leaf::ProviderCredentials> created) {
        if (created.ok()) return Finish(c, absl::OkStatus(), created->id);
        const bool exists =
            GetStatusDetails(created.status()).reason == reasons::kCredentialsAlreadyExist.name;
        if (!exists || replacing) return Finish(c, created.status());
        // Leaf does not overwrite: the broken set goes, then the new one.
        leaf::CallOptions del(absl::Now() + options_.agfiniti_timeout);
        leaf_->DeleteCredentials(c->link.leaf_user_id, del, [this, c](absl::Status deleted) {
          if (!deleted.ok() &&
              GetStatusDetails(deleted).reason != reasons::kCredentialsNotFound.name) {
            return Finish(c, deleted);
          }
          Attach(c, /*replacing=*/true);
        });
      });
}

void ConnectService::Finish(std::shared_ptr<Completion> c, const absl::Status& failure,
                            std::string credentials_id) {
  LinkUpdate update;
  update.update_time = Now();
  if (failure.ok()) {
    update.state = LinkState::kConnected;
    update.credentials_id = std::move(credentials_id);
  } else {
    const std::string reason = GetStatusDetails(failure).reason;
    update.state =
        reason == reasons::kConnectConsentDenied.name ? LinkState::kDenied : LinkState::kFailed;
    update.error_reason = reason.empty() ? std::string(reasons::kLeafTransportError.name) : reason;
    update.error_message = std::string(failure.message());
    // Belt and braces: the steps' messages are built never to quote a
    // secret; one that does anyway gives way to the reason's own words.
    const std::vector<const Secret*> secrets = {&c->code, &c->tokens.refresh_token,
                                                &c->tokens.access_token, &options_.private_key,
                                                &c->attempt.pkce_verifier};
    if (ContainsAny(update.error_message, secrets)) {
      const Reason* row = FindReason(update.error_reason);
      update.error_message = row != nullptr ? std::string(row->message) : "connecting failed";
    }
  }
  // Leaf has answered (or was never asked): the grower's tokens and the
  // code are not needed any more.
  c->code.Wipe();
  c->tokens.refresh_token.Wipe();
  c->tokens.access_token.Wipe();
  c->attempt.pkce_verifier.Wipe();
  for (leaf::CredentialField& f : c->credentials.fields) f.value.Wipe();
  Store(std::move(c), std::move(update));
}

void ConnectService::Store(std::shared_ptr<Completion> c, LinkUpdate update) {
  const std::string id = c->link.id;
  store_->UpdateLink(id, update, [this, c, id](absl::StatusOr<ConnectLink> stored) {
    if (stored.ok()) {
      if (stored->state == LinkState::kConnected && on_connected_) on_connected_(*stored);
      return c->done(*std::move(stored));
    }
    if (stored.status().code() != absl::StatusCode::kFailedPrecondition) {
      return c->done(LinkNotFound(stored.status()));
    }
    // Another attempt connected the link first: answer it as it now is.
    store_->GetLink(id, [c](absl::StatusOr<ConnectLink> now) {
      if (!now.ok()) return c->done(LinkNotFound(now.status()));
      c->done(*std::move(now));
    });
  });
}

}  // namespace leafsvc::connect
