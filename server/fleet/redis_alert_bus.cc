#include "server/fleet/redis_alert_bus.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "server/fleet/reconnect_backoff.h"
#include "server/observability/log.h"
#include "server/observability/log_throttle.h"

namespace leafsvc::fleet {
namespace {

// How far back a new reader starts when the stream has recent entries.
constexpr absl::Duration kStartLookback = absl::Seconds(5);

// Fallback deliveries waiting for the reader thread; beyond, dropped (the
// watchers' own polls still catch the change).
constexpr std::size_t kMaxLocalQueue = 10000;
// Own alerts remembered to deliver each exactly once (see Shared::fates).
constexpr std::size_t kMaxRemembered = 10000;
constexpr std::int64_t kReadCount = 100;

// Stream entry fields.
constexpr char kCredentialId[] = "credential_id";
constexpr char kProvider[] = "provider";
constexpr char kCredentialType[] = "credential_type";
constexpr char kEvent[] = "event";
constexpr char kStatus[] = "status";
constexpr char kOrigin[] = "origin";
constexpr char kSeq[] = "seq";
constexpr char kLeafUserId[] = "leaf_user_id";

std::string Bounded(std::string s) {
  if (s.size() > kMaxFieldBytes) s.resize(kMaxFieldBytes);
  return s;
}

// A credential id cut short would name another credential: refused instead.
bool UsableId(const std::string& id) { return !id.empty() && id.size() <= kMaxFieldBytes; }

// Stream ids are "<ms>-<seq>"; false when `s` is not one.
bool ParseId(absl::string_view s, std::pair<std::uint64_t, std::uint64_t>* out) {
  std::vector<absl::string_view> parts = absl::StrSplit(s, '-');
  return parts.size() == 2 && absl::SimpleAtoi(parts[0], &out->first) &&
         absl::SimpleAtoi(parts[1], &out->second);
}

std::uint64_t RandomSeed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

struct RedisAlertBus::Shared {
  // How an own alert reached (or must reach) this replica's subscribers.
  enum class Fate { kLocal, kStream };

  absl::Mutex mu;
  bool stop ABSL_GUARDED_BY(mu) = false;
  std::atomic<bool> stopping{false};  // stop, read without mu
  bool wake ABSL_GUARDED_BY(mu) = false;
  std::deque<watch::CredentialAlert> local ABSL_GUARDED_BY(mu);
  // The reader's one command in flight, once answered.
  std::optional<absl::StatusOr<RedisReply>> result ABSL_GUARDED_BY(mu);
  // Own alerts by sequence number, so that one delivered locally (XADD
  // failed, e.g. timed out) is skipped if Redis appended it all the same, and
  // one already read from the stream is not delivered locally when its XADD
  // reply comes too late. Bounded, oldest forgotten first.
  absl::flat_hash_map<std::uint64_t, Fate> fates ABSL_GUARDED_BY(mu);
  std::deque<std::uint64_t> fate_order ABSL_GUARDED_BY(mu);

  std::string origin;  // this bus's random id, in each entry it appends
  std::atomic<std::uint64_t> next_seq{0};
  std::atomic<std::uint64_t> reads{0};
  std::atomic<std::uint64_t> fallbacks{0};
  std::atomic<std::uint64_t> malformed{0};

  // Records `fate` for `seq` unless it has one; returns the one it has.
  Fate Settle(std::uint64_t seq, Fate fate) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto [it, inserted] = fates.emplace(seq, fate);
    if (!inserted) return it->second;
    fate_order.push_back(seq);
    if (fate_order.size() > kMaxRemembered) {
      fates.erase(fate_order.front());
      fate_order.pop_front();
    }
    return fate;
  }
};

absl::StatusOr<std::unique_ptr<RedisAlertBus>> RedisAlertBus::Create(RedisAlertBusOptions options) {
  if (options.writer == nullptr || options.reader == nullptr) {
    return absl::InvalidArgumentError("the Redis alert bus needs a writer and a reader client");
  }
  if (options.writer == options.reader) {
    return absl::InvalidArgumentError(
        "the Redis alert bus needs a reader client of its own: XREAD BLOCK holds its connection");
  }
  if (options.stream_key.empty()) return absl::InvalidArgumentError("empty alert stream key");
  if (options.max_len < 1) return absl::InvalidArgumentError("alert stream MAXLEN must be >= 1");
  if (options.block < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError("alert stream XREAD BLOCK must be >= 1 ms");
  }
  std::unique_ptr<RedisAlertBus> bus(new RedisAlertBus(std::move(options)));
  bus->reader_thread_ = std::thread([b = bus.get()] { b->Run(); });
  return bus;
}

RedisAlertBus::RedisAlertBus(RedisAlertBusOptions options)
    : options_(std::move(options)), shared_(std::make_shared<Shared>()) {
  char origin[17];
  std::snprintf(origin, sizeof(origin), "%016llx",
                static_cast<unsigned long long>(RandomSeed()));  // NOLINT(runtime/int)
  shared_->origin = origin;
}

RedisAlertBus::~RedisAlertBus() {
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->stop = true;
    shared_->stopping = true;
  }
  // The reader finishes the handler call in progress, if any, and leaves; a
  // command still in flight completes later into `shared_`, harmlessly.
  reader_thread_.join();
}

void RedisAlertBus::Publish(watch::CredentialAlert alert) {
  if (!UsableId(alert.credential_id)) {
    shared_->malformed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  alert.provider = Bounded(std::move(alert.provider));
  alert.credential_type = Bounded(std::move(alert.credential_type));
  alert.event = Bounded(std::move(alert.event));
  alert.status = Bounded(std::move(alert.status));
  // A connect link's prompt names its user; an unusable one is dropped, not
  // guessed at.
  if (!alert.leaf_user_id.empty() && !UsableId(alert.leaf_user_id)) alert.leaf_user_id.clear();
  const std::uint64_t seq = shared_->next_seq.fetch_add(1, std::memory_order_relaxed) + 1;
  std::vector<std::string> argv = {"XADD",
                                   options_.stream_key,
                                   "MAXLEN",
                                   "~",
                                   absl::StrCat(options_.max_len),
                                   "*",
                                   kCredentialId,
                                   alert.credential_id,
                                   kProvider,
                                   alert.provider,
                                   kCredentialType,
                                   alert.credential_type,
                                   kEvent,
                                   alert.event,
                                   kStatus,
                                   alert.status,
                                   kOrigin,
                                   shared_->origin,
                                   kSeq,
                                   absl::StrCat(seq)};
  if (!alert.leaf_user_id.empty()) {
    argv.push_back(kLeafUserId);
    argv.push_back(alert.leaf_user_id);
  }
  options_.writer->Command(
      std::move(argv), [s = shared_, seq, on_fallback = options_.on_fallback,
                        alert = std::move(alert)](absl::StatusOr<RedisReply> r) mutable {
        if (r.ok() && !r->is_error()) return;  // the reader delivers it
        s->fallbacks.fetch_add(1, std::memory_order_relaxed);
        static LogThrottle throttle(LogLevel::kWarning,
                                    "alert not appended to the Redis stream; delivered here only");
        throttle.Note(r.ok() ? "redis_error" : absl::StatusCodeToString(r.status().code()));
        absl::MutexLock lock(&s->mu);
        if (s->stop) return;
        // Held under mu: the destructor sets stop under it, so no on_fallback
        // runs after the bus is gone.
        if (on_fallback) on_fallback();
        if (s->Settle(seq, Shared::Fate::kLocal) != Shared::Fate::kLocal) return;
        if (s->local.size() < kMaxLocalQueue) s->local.push_back(std::move(alert));
      });
}

watch::AlertBus::SubscriptionId RedisAlertBus::Subscribe(Handler handler) {
  absl::MutexLock lock(&mu_);
  const SubscriptionId id = ++next_id_;
  handlers_[id] = std::make_shared<const Handler>(std::move(handler));
  return id;
}

void RedisAlertBus::Unsubscribe(SubscriptionId id) {
  struct Args {
    RedisAlertBus* bus;
    SubscriptionId id;
  } args{this, id};
  absl::MutexLock lock(&mu_);
  handlers_.erase(id);
  mu_.Await(absl::Condition(
      +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS { return !a->bus->running_.contains(a->id); },
      &args));
}

void RedisAlertBus::OnRedisUp() {
  absl::MutexLock lock(&shared_->mu);
  shared_->wake = true;
}

std::uint64_t RedisAlertBus::read_commands() const { return shared_->reads.load(); }
std::uint64_t RedisAlertBus::fallbacks() const { return shared_->fallbacks.load(); }
std::uint64_t RedisAlertBus::malformed() const { return shared_->malformed.load(); }

void RedisAlertBus::Dispatch(const watch::CredentialAlert& alert) {
  if (shared_->stopping.load()) return;  // the destructor waits: do not add to it
  std::vector<std::pair<SubscriptionId, std::shared_ptr<const Handler>>> targets;
  {
    absl::MutexLock lock(&mu_);
    targets.assign(handlers_.begin(), handlers_.end());
    std::sort(targets.begin(), targets.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [id, handler] : targets) ++running_[id];
  }
  for (const auto& [id, handler] : targets) {
    {
      // Unsubscribed since the snapshot: its caller may be waiting already.
      absl::MutexLock lock(&mu_);
      if (!handlers_.contains(id)) {
        auto it = running_.find(id);
        if (--it->second == 0) running_.erase(it);
        continue;
      }
    }
    (*handler)(alert);
    absl::MutexLock lock(&mu_);
    auto it = running_.find(id);
    if (--it->second == 0) running_.erase(it);
  }
}

void RedisAlertBus::Run() {
  Shared* const s = shared_.get();
  ReconnectBackoff backoff(absl::Milliseconds(50), absl::Seconds(1), RandomSeed());
  static LogThrottle throttle(LogLevel::kWarning, "reading the Redis alert stream failed");
  // No id yet: the first command asks for the stream's last entry, so the
  // reader starts after it (no history) and misses nothing appended later.
  // The first time, it starts a few seconds back instead when the stream
  // has entries that recent: an alert published while this replica was
  // still connecting (its watchers may already be reading) is not missed.
  // An alert is a doorbell, so one heard twice costs at most a read.
  bool synced = false;
  bool first_sync = true;
  const std::uint64_t start_ms = static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, absl::ToUnixMillis(absl::Now() - kStartLookback)));
  bool in_flight = false;
  bool in_flight_is_read = false;
  std::string last_id;  // valid once synced
  absl::Time retry_at = absl::InfinitePast();

  auto fail = [&](const absl::StatusOr<RedisReply>& r) {
    throttle.Note(r.ok() ? "redis_error" : absl::StatusCodeToString(r.status().code()), "replica",
                  options_.replica_id);
    synced = false;  // check the stream again: Redis may have restarted
    retry_at = absl::Now() + backoff.Next();
  };

  for (;;) {
    std::deque<watch::CredentialAlert> local;
    std::optional<absl::StatusOr<RedisReply>> result;
    {
      absl::MutexLock lock(&s->mu);
      struct Ready {
        Shared* s;
        bool in_flight;
        bool operator()() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return s->stop || !s->local.empty() || s->result.has_value() || (!in_flight && s->wake);
        }
      } ready{s, in_flight};
      if (in_flight) {
        s->mu.Await(absl::Condition(&ready));
      } else {
        s->mu.AwaitWithDeadline(absl::Condition(&ready), retry_at);
      }
      if (s->stop) return;
      local.swap(s->local);
      if (s->result.has_value()) {
        result = std::move(s->result);
        s->result.reset();
      }
      if (s->wake) {
        s->wake = false;
        if (!in_flight) retry_at = absl::InfinitePast();
      }
    }
    for (const watch::CredentialAlert& alert : local) Dispatch(alert);

    if (result.has_value()) {
      in_flight = false;
      const absl::StatusOr<RedisReply>& r = *result;
      if (!r.ok() || r->is_error() || (!r->is_nil() && r->type != RedisReply::Type::kArray)) {
        fail(r);
      } else if (!in_flight_is_read) {
        // XREVRANGE key + - COUNT 1: the stream's last entry, if any.
        std::pair<std::uint64_t, std::uint64_t> top, mine;
        const bool has_top =
            !r->elements.empty() && r->elements[0].type == RedisReply::Type::kArray &&
            !r->elements[0].elements.empty() && ParseId(r->elements[0].elements[0].str, &top);
        if (!has_top) {
          // Empty or gone (a restarted Redis): whatever comes is new.
          last_id = "0-0";
        } else if (first_sync && top.first > start_ms) {
          last_id = absl::StrCat(start_ms, "-0");  // start: the last few seconds
        } else if (last_id.empty() || !ParseId(last_id, &mine)) {
          last_id = r->elements[0].elements[0].str;  // start: no history
        } else if (top < mine) {
          last_id = "0-0";  // ids went back: a new stream, all of it unseen
        }
        synced = true;
        first_sync = false;
        backoff.Reset();
      } else {
        backoff.Reset();
        // nil: BLOCK ran out with nothing new. Else [[key, [[id, [f, v, ...]], ...]]].
        for (const RedisReply& stream : r->elements) {
          if (stream.type != RedisReply::Type::kArray || stream.elements.size() != 2) continue;
          for (const RedisReply& entry : stream.elements[1].elements) {
            if (entry.type != RedisReply::Type::kArray || entry.elements.size() != 2 ||
                entry.elements[0].type != RedisReply::Type::kString) {
              s->malformed.fetch_add(1, std::memory_order_relaxed);
              if (options_.on_malformed) options_.on_malformed();
              continue;
            }
            last_id = entry.elements[0].str;
            watch::CredentialAlert alert;
            std::string origin, seq_text;
            const std::vector<RedisReply>& f = entry.elements[1].elements;
            for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
              const std::string& name = f[i].str;
              std::string value = Bounded(f[i + 1].str);
              if (name == kCredentialId) {
                // Checked whole: a cut id would name another credential.
                if (!UsableId(f[i + 1].str)) value.clear();
                alert.credential_id = std::move(value);
              } else if (name == kProvider) {
                alert.provider = std::move(value);
              } else if (name == kCredentialType) {
                alert.credential_type = std::move(value);
              } else if (name == kEvent) {
                alert.event = std::move(value);
              } else if (name == kStatus) {
                alert.status = std::move(value);
              } else if (name == kOrigin) {
                origin = std::move(value);
              } else if (name == kSeq) {
                seq_text = std::move(value);
              } else if (name == kLeafUserId) {
                if (!UsableId(f[i + 1].str)) value.clear();
                alert.leaf_user_id = std::move(value);
              }
            }
            if (alert.credential_id.empty()) {
              s->malformed.fetch_add(1, std::memory_order_relaxed);
              if (options_.on_malformed) options_.on_malformed();
              continue;
            }
            std::uint64_t seq = 0;
            if (origin == s->origin && absl::SimpleAtoi(seq_text, &seq)) {
              absl::MutexLock lock(&s->mu);
              if (s->Settle(seq, Shared::Fate::kStream) != Shared::Fate::kStream) continue;
            }
            Dispatch(alert);
          }
        }
      }
    }

    if (!in_flight && absl::Now() >= retry_at) {
      std::vector<std::string> argv;
      absl::Duration timeout;
      in_flight_is_read = synced;
      if (synced) {
        argv = {"XREAD",
                "BLOCK",
                absl::StrCat(absl::ToInt64Milliseconds(options_.block)),
                "COUNT",
                absl::StrCat(kReadCount),
                "STREAMS",
                options_.stream_key,
                last_id};
        timeout = options_.block + absl::Milliseconds(500);
      } else {
        argv = {"XREVRANGE", options_.stream_key, "+", "-", "COUNT", "1"};
        timeout = absl::Milliseconds(500);
      }
      in_flight = true;
      s->reads.fetch_add(1, std::memory_order_relaxed);
      options_.reader->Command(std::move(argv), timeout,
                               [sp = shared_](absl::StatusOr<RedisReply> r) {
                                 absl::MutexLock lock(&sp->mu);
                                 sp->result = std::move(r);
                               });
    }
  }
}

}  // namespace leafsvc::fleet
