#include "server/fleet/shared_watch_state.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/fleet/observation_codec.h"
#include "server/fleet/poll_lease.h"

namespace leafsvc::fleet {
namespace {

using watch::ChangePosition;
using watch::Observation;

// KEYS: 1 record, 2 fence, 3 stream. ARGV: 1 fence, 2 fingerprint, 3 obs
// JSON, 4 user, 5 source, 6 time ms, 7 history, 8 record ttl ms.
// Reply: {outcome, version, position, known_since} as strings (Lua numbers
// are doubles: versions are formatted with %.0f, never tostring's "1e+15").
constexpr char kPublish[] = R"lua(
local fence = tonumber(ARGV[1])
local latest = tonumber(redis.call('GET', KEYS[2]) or '0')
local rec = redis.call('HMGET', KEYS[1], 'v', 'fp', 'obs', 'ks', 'pos')
if fence < latest then
  return {'stale', rec[1] or '0', rec[5] or '', rec[4] or ''}
end
if rec[1] and rec[2] == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
  return {'same', rec[1], rec[5] or '', rec[4] or ''}
end
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local v = string.format('%.0f', math.max(tonumber(rec[1] or '0') + 1, now_us))
local fields = {'user', ARGV[4], 'version', v, 'prev', rec[3] or '', 'obs', ARGV[3],
                'source', ARGV[5], 'time', ARGV[6]}
if rec[1] then
  fields[#fields + 1] = 'prev_version'
  fields[#fields + 1] = rec[1]
end
-- No known_since field: the history begins with this entry.
if rec[1] and rec[4] then
  fields[#fields + 1] = 'known_since'
  fields[#fields + 1] = rec[4]
end
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', unpack(fields))
local ks = rec[4]
if not (rec[1] and rec[4]) then ks = id end
redis.call('HSET', KEYS[1], 'v', v, 'fp', ARGV[2], 'obs', ARGV[3], 'ks', ks, 'pos', id)
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return {'changed', v, id, ks}
)lua";

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("change stream entry: ", what));
}

// "" is none; anything else must be a stream id.
absl::StatusOr<std::optional<ChangePosition>> OptionalPosition(absl::string_view text) {
  if (text.empty()) return std::optional<ChangePosition>();
  std::optional<ChangePosition> p = ChangePosition::Parse(text);
  if (!p.has_value()) return absl::InternalError("shared watch state: a bad stream id in Redis");
  return p;
}

std::optional<watch::Source> SourceFromName(absl::string_view name) {
  for (watch::Source s : {watch::Source::kInitial, watch::Source::kPoll, watch::Source::kAlert,
                          watch::Source::kConnect}) {
    if (watch::SourceName(s) == name) return s;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SharedWatchState>> SharedWatchState::Create(
    RedisClient* client, SharedWatchStateOptions options) {
  if (client == nullptr) return absl::InvalidArgumentError("shared watch state: no Redis client");
  if (options.fleet_name.empty() || absl::StrContains(options.fleet_name, "{") ||
      absl::StrContains(options.fleet_name, "}")) {
    return absl::InvalidArgumentError(
        "shared watch state: fleet name must be non-empty, without braces");
  }
  if (options.history < 1) {
    return absl::InvalidArgumentError("shared watch state: history must be >= 1");
  }
  if (options.record_ttl < absl::Seconds(1)) {
    return absl::InvalidArgumentError("shared watch state: record_ttl must be >= 1 s");
  }
  return std::unique_ptr<SharedWatchState>(new SharedWatchState(client, std::move(options)));
}

SharedWatchState::SharedWatchState(RedisClient* client, SharedWatchStateOptions options)
    : client_(client),
      options_(std::move(options)),
      prefix_(WatchKeyPrefix(options_.fleet_name)),
      stream_key_(prefix_ + "changes"),
      publish_(client, kPublish, "the shared watch state script") {}

void SharedWatchState::Publish(const std::string& user, std::uint64_t fence,
                               const Observation& observation, watch::Source source,
                               absl::Time observed, PublishDone done) {
  if (user.empty()) return done(absl::InvalidArgumentError("shared watch state: empty user"));
  if (observation.kind == Observation::Kind::kNotRead) {
    return done(absl::InvalidArgumentError("shared watch state: nothing to publish (not read)"));
  }
  // The record carries neither version nor known_since: the script keeps
  // them in their own fields.
  Observation bare = observation;
  bare.version = 0;
  bare.position.reset();
  bare.known_since.reset();
  publish_.Eval(
      {prefix_ + "state:" + user, prefix_ + "fence:" + user, stream_key_},
      {absl::StrCat(fence), Fingerprint(observation), EncodeObservation(bare), user,
       std::string(watch::SourceName(source)), absl::StrCat(absl::ToUnixMillis(observed)),
       absl::StrCat(options_.history),
       absl::StrCat(absl::ToInt64Milliseconds(options_.record_ttl))},
      [done = std::move(done)](absl::StatusOr<RedisReply> r) {
        if (!r.ok()) return done(r.status());
        auto bad = [&] {
          return absl::InternalError(
              absl::StrCat("shared watch state: unexpected reply ", r->DebugString()));
        };
        if (r->type != RedisReply::Type::kArray || r->elements.size() != 4) return done(bad());
        for (const RedisReply& e : r->elements) {
          if (e.type != RedisReply::Type::kString) return done(bad());
        }
        Published p;
        const std::string& outcome = r->elements[0].str;
        if (outcome != "stale" && outcome != "same" && outcome != "changed") return done(bad());
        p.stale = outcome == "stale";
        p.changed = outcome == "changed";
        if (!absl::SimpleAtoi(r->elements[1].str, &p.version)) return done(bad());
        absl::StatusOr<std::optional<ChangePosition>> pos = OptionalPosition(r->elements[2].str);
        absl::StatusOr<std::optional<ChangePosition>> ks = OptionalPosition(r->elements[3].str);
        if (!pos.ok() || !ks.ok()) return done(bad());
        p.position = *pos;
        p.known_since = *ks;
        done(p);
      });
}

void SharedWatchState::Get(const std::string& user, GetDone done) {
  if (user.empty()) return done(absl::InvalidArgumentError("shared watch state: empty user"));
  client_->Command(
      {"HMGET", prefix_ + "state:" + user, "v", "obs", "ks", "pos"},
      [done = std::move(done), provider = options_.provider](absl::StatusOr<RedisReply> r) {
        if (!r.ok()) return done(r.status());
        if (r->type != RedisReply::Type::kArray || r->elements.size() != 4) {
          return done(absl::InternalError(
              absl::StrCat("shared watch state: unexpected reply ", r->DebugString())));
        }
        const std::vector<RedisReply>& e = r->elements;
        if (e[0].is_nil() || e[1].is_nil()) return done(std::optional<Observation>());
        absl::StatusOr<Observation> o = DecodeObservation(e[1].str, provider);
        if (!o.ok()) {
          return done(absl::InternalError(
              absl::StrCat("shared watch state: a bad record in Redis: ", o.status().message())));
        }
        absl::StatusOr<std::optional<ChangePosition>> ks = OptionalPosition(e[2].str);
        absl::StatusOr<std::optional<ChangePosition>> pos = OptionalPosition(e[3].str);
        if (!absl::SimpleAtoi(e[0].str, &o->version) || !ks.ok() || !pos.ok()) {
          return done(absl::InternalError("shared watch state: a bad record in Redis"));
        }
        o->known_since = *ks;
        o->position = *pos;
        done(std::optional<Observation>(*std::move(o)));
      });
}

const char* SharedWatchState::PublishScript() { return kPublish; }

absl::StatusOr<watch::LoggedObservation> ParseEntry(
    absl::string_view id, const std::vector<std::pair<std::string, std::string>>& fields,
    const providers::ProviderSpec* provider) {
  std::optional<ChangePosition> position = ChangePosition::Parse(id);
  if (!position.has_value()) return Bad("the id is not a stream id");
  const std::string *user = nullptr, *version = nullptr, *prev = nullptr, *obs = nullptr,
                    *source = nullptr, *time = nullptr, *prev_version = nullptr,
                    *known_since = nullptr;
  for (const auto& [name, value] : fields) {
    if (name == "user") user = &value;
    if (name == "version") version = &value;
    if (name == "prev") prev = &value;
    if (name == "obs") obs = &value;
    if (name == "source") source = &value;
    if (name == "time") time = &value;
    if (name == "prev_version") prev_version = &value;
    if (name == "known_since") known_since = &value;
  }
  if (user == nullptr || user->empty() || version == nullptr || obs == nullptr ||
      source == nullptr || time == nullptr) {
    return Bad("a field is missing");
  }
  watch::LoggedObservation out;
  out.position = *position;
  out.user = *user;
  std::int64_t ms = 0;
  if (!absl::SimpleAtoi(*time, &ms)) return Bad("time is not a number");
  out.observed = absl::FromUnixMillis(ms);
  std::optional<watch::Source> s = SourceFromName(*source);
  if (!s.has_value()) return Bad("unknown source");
  out.source = *s;
  absl::StatusOr<Observation> o = DecodeObservation(*obs, provider);
  if (!o.ok()) return Bad(o.status().message());
  out.observation = *std::move(o);
  if (!absl::SimpleAtoi(*version, &out.observation.version) || out.observation.version == 0) {
    return Bad("version is not a positive number");
  }
  out.observation.position = *position;
  // A first record is where its own history begins.
  out.observation.known_since = *position;
  if (known_since != nullptr) {
    out.observation.known_since = ChangePosition::Parse(*known_since);
    if (!out.observation.known_since.has_value()) return Bad("known_since is not a stream id");
  }
  if (prev != nullptr && !prev->empty()) {
    absl::StatusOr<Observation> p = DecodeObservation(*prev, provider);
    if (!p.ok()) return Bad(p.status().message());
    if (prev_version != nullptr && !absl::SimpleAtoi(*prev_version, &p->version)) {
      return Bad("prev_version is not a number");
    }
    p->known_since = out.observation.known_since;
    out.previous = *std::move(p);
  }
  return out;
}

absl::StatusOr<watch::LoggedObservation> ParseEntry(const RedisReply& entry,
                                                    const providers::ProviderSpec* provider) {
  if (entry.type != RedisReply::Type::kArray || entry.elements.size() != 2 ||
      entry.elements[0].type != RedisReply::Type::kString ||
      entry.elements[1].type != RedisReply::Type::kArray ||
      entry.elements[1].elements.size() % 2 != 0) {
    return Bad("not [id, [field, value, ...]]");
  }
  std::vector<std::pair<std::string, std::string>> fields;
  const std::vector<RedisReply>& fv = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < fv.size(); i += 2) {
    if (fv[i].type != RedisReply::Type::kString || fv[i + 1].type != RedisReply::Type::kString) {
      return Bad("a field or value is not a string");
    }
    fields.emplace_back(fv[i].str, fv[i + 1].str);
  }
  return ParseEntry(entry.elements[0].str, fields, provider);
}

}  // namespace leafsvc::fleet
