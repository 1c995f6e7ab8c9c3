#include "server/fleet/fleet_limiter.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace leafsvc::fleet {
namespace {

// KEYS: 1 bucket (hash: tokens, ts), 2 window (hash: second -> grants),
// 3 pause (string, PX), 4 steps (429s in a row), 5 rate (hash: low, from,
// at). ARGV: 1 op (acquire | limited | answered), 2 n or retry_after_ms
// (-1: none), 3 requests_per_minute, 4 burst, 5 rate floor (share),
// 6 recovery_ms, 7 first_cooldown_ms, 8 max_cooldown_ms, 9 jitter factor,
// 10 background (1: no caller among the requests: the minute's last tenth,
// at most a burst, stays for callers of every replica).
// Times in ms from Redis's TIME (Redis 7 replicates scripts by effects, so
// TIME is allowed before writes). Rates cross as integers: milli-requests a
// minute (Lua numbers become integers in replies).
constexpr char kScript[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local op = ARGV[1]
local rpm = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local floor_rpm = tonumber(ARGV[5]) * rpm
local recovery = tonumber(ARGV[6])
local first_cd = tonumber(ARGV[7])
local max_cd = tonumber(ARGV[8])

-- The rate in force: lowered by 429s, back up linearly after the pause.
local function rate_now()
  local r = redis.call('HMGET', KEYS[5], 'low', 'from')
  local low, from = tonumber(r[1]), tonumber(r[2])
  if not low then return rpm end
  if now <= from then return math.min(low, rpm) end
  return math.min(rpm, low + rpm * (now - from) / recovery)
end

local steps = tonumber(redis.call('GET', KEYS[4]) or '0')

if op == 'answered' then
  redis.call('DEL', KEYS[4])
  return {0}
end

if op == 'limited' then
  local retry = tonumber(ARGV[2])
  local jitter = tonumber(ARGV[9])
  local pttl = redis.call('PTTL', KEYS[3])
  if pttl < 0 then pttl = 0 end
  -- Answers to requests sent before the pause began come back together:
  -- one step and one halving per pause, not per answer.
  local fresh = pttl == 0
  if fresh then steps = redis.call('INCR', KEYS[4]) end
  redis.call('PEXPIRE', KEYS[4], 3600000)
  local cooldown
  if retry >= 0 then
    cooldown = retry
  else
    local d = math.min(math.max(steps, 1) - 1, 20)
    cooldown = math.floor(math.min(max_cd, first_cd * 2 ^ d) * jitter)
  end
  local rate = rate_now()
  local at = tonumber(redis.call('HGET', KEYS[5], 'at') or '-1')
  if fresh and (at < 0 or now >= at + first_cd) then
    rate = math.max(floor_rpm, rate / 2)
    at = now
  end
  if cooldown > pttl then
    redis.call('SET', KEYS[3], '1', 'PX', cooldown)
    pttl = cooldown
  end
  local pause_end = now + pttl
  -- The rate recovers only once the pause is over.
  if rate < rpm then
    redis.call('HSET', KEYS[5], 'low', rate, 'from', pause_end, 'at', at)
    redis.call('PEXPIRE', KEYS[5], math.ceil(pttl + recovery + 1000))
  end
  -- Nothing accrues during the pause; one request may probe Leaf at its end.
  redis.call('HSET', KEYS[1], 'tokens', 1, 'ts', pause_end)
  redis.call('PEXPIRE', KEYS[1], math.ceil(pttl + 61000 * burst / math.max(rate, 1) + 1000))
  return {pttl, math.floor(rate * 1000), steps, math.floor(now)}
end

-- acquire
local n = tonumber(ARGV[2])
local rate = rate_now()
local pause = redis.call('PTTL', KEYS[3])
if pause > 0 then
  return {0, pause, math.floor(rate * 1000), math.floor(now), steps}
end

local per_ms = rate / 61000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(b[1]), tonumber(b[2])
if not tokens then tokens = burst; ts = now end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * per_ms)
  ts = now
end

-- Grants per second of Redis time. Any 61 s span touches at most 62 of
-- them, so capping the sum of the last 62 caps every 61 s.
local sec = math.floor(now / 1000)
local w = redis.call('HGETALL', KEYS[2])
local used, oldest = 0, nil
local stale = {}
for i = 1, #w, 2 do
  local s, c = tonumber(w[i]), tonumber(w[i + 1])
  if s <= sec - 62 then
    stale[#stale + 1] = w[i]
  else
    used = used + c
    if c > 0 and (oldest == nil or s < oldest) then oldest = s end
  end
end
if #stale > 0 then redis.call('HDEL', KEYS[2], unpack(stale)) end
local cap = math.max(1, math.floor(rate + 1e-9))
if ARGV[10] == '1' then cap = math.max(1, cap - math.min(burst, math.floor(cap / 10))) end

local granted = math.min(n, math.floor(tokens + 1e-9), cap - used)
if granted < 0 then granted = 0 end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', ts)
redis.call('PEXPIRE', KEYS[1], math.ceil(61000 * burst / math.max(rate, 1) + 1000))
if granted > 0 then
  redis.call('HINCRBY', KEYS[2], sec, granted)
  redis.call('PEXPIRE', KEYS[2], 63000)
  used = used + granted
  if oldest == nil then oldest = sec end
end

local wait = 0
if tokens < 1 - 1e-9 then wait = (1 - tokens) / per_ms end
if used >= cap and oldest ~= nil then
  wait = math.max(wait, (oldest + 62) * 1000 - now)
end
return {granted, math.ceil(wait), math.floor(rate * 1000), math.floor(now), steps}
)lua";

constexpr int kMaxBatch = 1000;
constexpr absl::Duration kMaxRetryAfter = absl::Minutes(10);

bool IsIntegerArray(const RedisReply& r, size_t n) {
  if (r.type != RedisReply::Type::kArray || r.elements.size() < n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (r.elements[i].type != RedisReply::Type::kInteger) return false;
  }
  return true;
}

}  // namespace

struct FleetLimiter::State {
  FleetLimiterOptions options;
  RedisClient* client;
  std::vector<std::string> keys;
  std::atomic<double> rate_per_minute;
  std::atomic<std::int64_t> loads{0};
  // A 429 step may be in force (so OnAnswered must reset it).
  std::atomic<bool> steps_nonzero{false};
  absl::Mutex mu;
  std::string sha ABSL_GUARDED_BY(mu);  // empty: not loaded yet
  absl::BitGen jitter ABSL_GUARDED_BY(mu);

  std::string Sha() {
    absl::MutexLock lock(&mu);
    return sha;
  }
};

namespace {

using StatePtr = std::shared_ptr<FleetLimiter::State>;
using ReplyDone = std::function<void(absl::StatusOr<RedisReply>)>;

void Eval(const StatePtr& st, std::vector<std::string> args, bool may_reload, ReplyDone done);

// SCRIPT LOAD, then the EVALSHA again (once).
void LoadThenEval(const StatePtr& st, std::vector<std::string> args, ReplyDone done) {
  st->client->Command(
      {"SCRIPT", "LOAD", kScript},
      [st, args = std::move(args), done = std::move(done)](absl::StatusOr<RedisReply> r) mutable {
        if (!r.ok()) return done(r.status());
        if (r->type != RedisReply::Type::kString || r->str.empty()) {
          return done(absl::InternalError(
              absl::StrCat("Redis refused the budget script: ", r->DebugString())));
        }
        st->loads.fetch_add(1);
        {
          absl::MutexLock lock(&st->mu);
          st->sha = r->str;
        }
        Eval(st, std::move(args), /*may_reload=*/false, std::move(done));
      });
}

void Eval(const StatePtr& st, std::vector<std::string> args, bool may_reload, ReplyDone done) {
  std::string sha = st->Sha();
  if (sha.empty()) return LoadThenEval(st, std::move(args), std::move(done));
  std::vector<std::string> argv = {"EVALSHA", std::move(sha), absl::StrCat(st->keys.size())};
  argv.insert(argv.end(), st->keys.begin(), st->keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  st->client->Command(
      std::move(argv), [st, args = std::move(args), may_reload,
                        done = std::move(done)](absl::StatusOr<RedisReply> r) mutable {
        // Redis lost its script cache (SCRIPT FLUSH, a restart, a failover).
        if (r.ok() && r->is_error() && absl::StartsWith(r->str, "NOSCRIPT") && may_reload) {
          return LoadThenEval(st, std::move(args), std::move(done));
        }
        if (r.ok() && r->is_error()) {
          return done(absl::InternalError(absl::StrCat("Redis budget script failed: ", r->str)));
        }
        done(std::move(r));
      });
}

std::string Ms(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d)); }

}  // namespace

absl::StatusOr<std::unique_ptr<FleetLimiter>> FleetLimiter::Create(FleetLimiterOptions options,
                                                                   RedisClient* client) {
  const budget::RequestBudgetOptions& b = options.budget;
  if (client == nullptr) return absl::InvalidArgumentError("fleet limiter: no Redis client");
  if (!(b.requests_per_minute > 0) || !std::isfinite(b.requests_per_minute)) {
    return absl::InvalidArgumentError(
        "fleet limiter: requests_per_minute must be > 0 (an unlimited budget needs no limiter)");
  }
  if (b.burst < 1) return absl::InvalidArgumentError("fleet limiter: burst must be >= 1");
  if (!(b.rate_floor > 0 && b.rate_floor <= 1)) {
    return absl::InvalidArgumentError("fleet limiter: rate_floor must be in (0, 1]");
  }
  if (b.first_cooldown <= absl::ZeroDuration() || b.max_cooldown < b.first_cooldown ||
      b.recovery_time < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError(
        "fleet limiter: need 0 < first_cooldown <= max_cooldown and recovery_time >= 1 ms");
  }
  if (options.name.empty() || absl::StrContains(options.name, "{") ||
      absl::StrContains(options.name, "}")) {
    return absl::InvalidArgumentError("fleet limiter: name must be non-empty, without braces");
  }
  return std::unique_ptr<FleetLimiter>(new FleetLimiter(std::move(options), client));
}

FleetLimiter::FleetLimiter(FleetLimiterOptions options, RedisClient* client)
    : state_(std::make_shared<State>()) {
  const std::string prefix = absl::StrCat("agleader:budget:{", options.name, "}:");
  state_->keys = {prefix + "bucket", prefix + "window", prefix + "pause", prefix + "steps",
                  prefix + "rate"};
  state_->rate_per_minute.store(options.budget.requests_per_minute);
  state_->options = std::move(options);
  state_->client = client;
}

FleetLimiter::~FleetLimiter() = default;

namespace {

std::vector<std::string> ScriptArgs(const FleetLimiter::State& st, absl::string_view op,
                                    std::string arg, double jitter, bool background = false) {
  const budget::RequestBudgetOptions& b = st.options.budget;
  return {std::string(op),
          std::move(arg),
          absl::StrCat(b.requests_per_minute),
          absl::StrCat(b.burst),
          absl::StrCat(b.rate_floor),
          Ms(b.recovery_time),
          Ms(b.first_cooldown),
          Ms(b.max_cooldown),
          absl::StrCat(jitter),
          background ? "1" : "0"};
}

}  // namespace

void FleetLimiter::Acquire(int n, AcquireDone done) { Acquire(n, false, std::move(done)); }

void FleetLimiter::Take(int n, bool background, Done done) {
  Acquire(n, background, [done = std::move(done)](absl::StatusOr<Grant> g) {
    if (!g.ok()) return done(g.status());
    done(Tokens{g->granted, g->wait, g->requests_per_minute});
  });
}

void FleetLimiter::OnRateLimited(std::optional<absl::Duration> retry_after) {
  OnRateLimited(retry_after, nullptr);
}

void FleetLimiter::Acquire(int n, bool background, AcquireDone done) {
  if (n < 1 || n > kMaxBatch) {
    return done(absl::InvalidArgumentError(
        absl::StrCat("fleet limiter: asked for ", n, " tokens; 1 to ", kMaxBatch, " at once")));
  }
  StatePtr st = state_;
  Eval(st, ScriptArgs(*st, "acquire", absl::StrCat(n), 1.0, background), /*may_reload=*/true,
       [st, n, done = std::move(done)](absl::StatusOr<RedisReply> r) {
         if (!r.ok()) return done(r.status());
         if (!IsIntegerArray(*r, 5) || r->elements[0].integer < 0 || r->elements[0].integer > n ||
             r->elements[1].integer < 0) {
           return done(absl::InternalError(
               absl::StrCat("fleet limiter: unexpected reply ", r->DebugString())));
         }
         Grant g;
         g.granted = static_cast<int>(r->elements[0].integer);
         g.wait = absl::Milliseconds(r->elements[1].integer);
         g.requests_per_minute = r->elements[2].integer / 1000.0;
         g.redis_time = absl::FromUnixMillis(r->elements[3].integer);
         st->rate_per_minute.store(g.requests_per_minute);
         if (r->elements[4].integer > 0) st->steps_nonzero.store(true);
         done(g);
       });
}

void FleetLimiter::OnRateLimited(std::optional<absl::Duration> retry_after, PauseDone done) {
  StatePtr st = state_;
  std::string arg = "-1";
  if (retry_after.has_value()) {
    arg = Ms(std::clamp(*retry_after, absl::ZeroDuration(), kMaxRetryAfter));
  }
  double jitter;
  {
    absl::MutexLock lock(&st->mu);
    jitter = absl::Uniform(st->jitter, 0.8, 1.2);
  }
  st->steps_nonzero.store(true);
  Eval(st, ScriptArgs(*st, "limited", std::move(arg), jitter), /*may_reload=*/true,
       [st, done = std::move(done)](absl::StatusOr<RedisReply> r) {
         if (r.ok() && !IsIntegerArray(*r, 4)) {
           r = absl::InternalError(
               absl::StrCat("fleet limiter: unexpected reply ", r->DebugString()));
         }
         if (!r.ok()) {
           if (done) done(r.status());
           return;
         }
         st->rate_per_minute.store(r->elements[1].integer / 1000.0);
         if (done) done(absl::Milliseconds(r->elements[0].integer));
       });
}

void FleetLimiter::OnAnswered() {
  // Most answers are not after a 429: no command for them.
  if (!state_->steps_nonzero.exchange(false)) return;
  StatePtr st = state_;
  Eval(st, ScriptArgs(*st, "answered", "0", 1.0), /*may_reload=*/true,
       [st](absl::StatusOr<RedisReply> r) {
         // Not reset: try again at the next answer.
         if (!r.ok() || !IsIntegerArray(*r, 1)) st->steps_nonzero.store(true);
       });
}

double FleetLimiter::RatePerMinute() const { return state_->rate_per_minute.load(); }

absl::StatusOr<budget::RequestBudgetOptions> FleetLimiter::LocalShare(int fleet_size_hint) const {
  if (fleet_size_hint < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("fleet_size_hint must be >= 1, got ", fleet_size_hint));
  }
  budget::RequestBudgetOptions o = state_->options.budget;
  o.requests_per_minute /= fleet_size_hint;
  o.burst = std::max(1, o.burst / fleet_size_hint);
  return o;
}

std::int64_t FleetLimiter::script_loads() const { return state_->loads.load(); }

const char* FleetLimiter::Script() { return kScript; }

}  // namespace leafsvc::fleet
