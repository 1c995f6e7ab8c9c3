#include "server/connect/redis_link_store.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace leafsvc::connect {
namespace {

using fleet::RedisReply;

// KEYS: 1 the key. ARGV: 1 when it expires (Unix ms), then field, value...
// Writes only a key that does not exist: a link id or a state hash is
// never reused, and a collision must not overwrite what is there.
constexpr char kInsert[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
)lua";

// KEYS: 1 the link. ARGV: field, value... Never out of CONNECTED.
// Answers 0 (no link), 1 (already connected) or the link as updated.
constexpr char kUpdate[] = R"lua(
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
if state == '2' then return 1 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return redis.call('HGETALL', KEYS[1])
)lua";

// KEYS: 1 the attempt. Single use: read and delete in one step.
constexpr char kTake[] = R"lua(
local v = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return v
)lua";

absl::Status Unavailable(const absl::Status& s) {
  return absl::UnavailableError(
      absl::StrCat("the connect link store (Redis) is unavailable: ", s.message()));
}

std::string Millis(absl::Time t) { return absl::StrCat(absl::ToUnixMillis(t)); }

absl::Time FromMillis(const std::string& s) {
  int64_t ms = 0;
  if (!absl::SimpleAtoi(s, &ms)) return absl::UnixEpoch();
  return absl::FromUnixMillis(ms);
}

using Fields = absl::flat_hash_map<std::string, std::string>;

// HGETALL's flat [field, value, ...] array.
absl::StatusOr<Fields> ToFields(const RedisReply& reply) {
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() % 2 != 0) {
    return absl::UnavailableError("the connect link store (Redis) answered an unexpected reply");
  }
  Fields fields;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    fields[reply.elements[i].str] = reply.elements[i + 1].str;
  }
  return fields;
}

absl::StatusOr<ConnectLink> ToLink(const RedisReply& reply) {
  absl::StatusOr<Fields> f = ToFields(reply);
  if (!f.ok()) return f.status();
  if (f->empty()) return absl::NotFoundError("no such connect link");
  int state = 0;
  if (!absl::SimpleAtoi((*f)["state"], &state) || state < 1 || state > 5) {
    return absl::UnavailableError("the connect link store (Redis) holds an unreadable link");
  }
  ConnectLink link;
  link.id = (*f)["id"];
  link.leaf_user_id = (*f)["user"];
  link.return_url = (*f)["return_url"];
  link.state = static_cast<LinkState>(state);
  link.create_time = FromMillis((*f)["create_ms"]);
  link.expire_time = FromMillis((*f)["expire_ms"]);
  link.update_time = FromMillis((*f)["update_ms"]);
  link.error_reason = (*f)["error_reason"];
  link.error_message = (*f)["error_message"];
  link.credentials_id = (*f)["credentials_id"];
  return link;
}

std::string StateNumber(LinkState s) { return absl::StrCat(static_cast<int>(s)); }

// An insert's answer: 1 written, 0 the key exists.
absl::Status InsertResult(const absl::StatusOr<RedisReply>& r, absl::string_view what) {
  if (!r.ok()) return Unavailable(r.status());
  if (r->type != RedisReply::Type::kInteger) {
    return absl::UnavailableError("the connect link store (Redis) answered an unexpected reply");
  }
  if (r->integer == 0) return absl::AlreadyExistsError(absl::StrCat(what, " exists"));
  return absl::OkStatus();
}

}  // namespace

std::string ConnectKeyPrefix(absl::string_view fleet_name) {
  return absl::StrCat("agleader:connect:{", fleet_name, "}:");
}

RedisLinkStore::RedisLinkStore(fleet::RedisClient* client, std::string fleet_name)
    : client_(client),
      prefix_(ConnectKeyPrefix(fleet_name)),
      valid_(fleet_name.empty() || absl::StrContains(fleet_name, '{') ||
                     absl::StrContains(fleet_name, '}')
                 ? absl::InvalidArgumentError(
                       "connect link store: the fleet name must be non-empty, without braces")
                 : absl::OkStatus()),
      create_(client, kInsert, "the connect link insert script"),
      update_(client, kUpdate, "the connect link update script"),
      put_attempt_(client, kInsert, "the connect attempt insert script"),
      take_attempt_(client, kTake, "the connect attempt take script") {}

void RedisLinkStore::CreateLink(const ConnectLink& link, StatusDone done) {
  if (!valid_.ok()) return done(valid_);
  create_.Eval({LinkKey(link.id)},
               {Millis(link.expire_time + kLinkRetention),
                "id",
                link.id,
                "user",
                link.leaf_user_id,
                "return_url",
                link.return_url,
                "state",
                StateNumber(link.state),
                "create_ms",
                Millis(link.create_time),
                "expire_ms",
                Millis(link.expire_time),
                "update_ms",
                Millis(link.update_time),
                "error_reason",
                link.error_reason,
                "error_message",
                link.error_message,
                "credentials_id",
                link.credentials_id},
               [done = std::move(done)](absl::StatusOr<RedisReply> r) {
                 done(InsertResult(r, "a connect link with this id"));
               });
}

void RedisLinkStore::GetLink(const std::string& id, LinkDone done) {
  if (!valid_.ok()) return done(valid_);
  client_->Command({"HGETALL", LinkKey(id)},
                   [done = std::move(done)](absl::StatusOr<RedisReply> r) {
                     if (!r.ok()) return done(Unavailable(r.status()));
                     done(ToLink(*r));
                   });
}

void RedisLinkStore::UpdateLink(const std::string& id, const LinkUpdate& update, LinkDone done) {
  if (!valid_.ok()) return done(valid_);
  update_.Eval(
      {LinkKey(id)},
      {"state", StateNumber(update.state), "update_ms", Millis(update.update_time), "error_reason",
       update.error_reason, "error_message", update.error_message, "credentials_id",
       update.credentials_id},
      [done = std::move(done)](absl::StatusOr<RedisReply> r) {
        if (!r.ok()) return done(Unavailable(r.status()));
        if (r->type == RedisReply::Type::kInteger) {
          if (r->integer == 0) return done(absl::NotFoundError("no such connect link"));
          return done(absl::FailedPreconditionError("the connect link is already connected"));
        }
        done(ToLink(*r));
      });
}

void RedisLinkStore::PutAttempt(const Attempt& attempt, StatusDone done) {
  if (!valid_.ok()) return done(valid_);
  std::vector<std::string> args = {Millis(attempt.expire_time),
                                   "link",
                                   attempt.link_id,
                                   "binding",
                                   attempt.binding_hash,
                                   "verifier",
                                   attempt.pkce_verifier.Reveal(),
                                   "expire_ms",
                                   Millis(attempt.expire_time)};
  put_attempt_.Eval({AttemptKey(attempt.state_hash)}, std::move(args),
                    [done = std::move(done)](absl::StatusOr<RedisReply> r) {
                      done(InsertResult(r, "an attempt with this state"));
                    });
}

void RedisLinkStore::TakeAttempt(const std::string& state_hash, AttemptDone done) {
  if (!valid_.ok()) return done(valid_);
  take_attempt_.Eval({AttemptKey(state_hash)}, {},
                     [state_hash, done = std::move(done)](absl::StatusOr<RedisReply> r) mutable {
                       if (!r.ok()) return done(Unavailable(r.status()));
                       absl::StatusOr<Fields> f = ToFields(*r);
                       // The verifier's copies in the reply are wiped before they go.
                       for (RedisReply& e : r->elements) WipeString(e.str);
                       if (!f.ok()) return done(f.status());
                       if (f->empty()) return done(absl::NotFoundError("no such attempt"));
                       Attempt a;
                       a.state_hash = std::move(state_hash);
                       a.link_id = (*f)["link"];
                       a.binding_hash = (*f)["binding"];
                       a.pkce_verifier = Secret(std::move((*f)["verifier"]));
                       a.expire_time = FromMillis((*f)["expire_ms"]);
                       for (auto& [k, v] : *f) WipeString(v);
                       done(std::move(a));
                     });
}

}  // namespace leafsvc::connect
