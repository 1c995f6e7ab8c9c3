#include "server/fleet/change_stream_reader.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/fleet/reconnect_backoff.h"
#include "server/observability/log.h"
#include "server/observability/log_throttle.h"

namespace leafsvc::fleet {
namespace {

using watch::ChangePosition;
using Fields = ChangeStreamReaderCallbacks::Fields;

struct Entry {
  ChangePosition position;
  std::string id;
  Fields fields;
};

ChangePosition Next(ChangePosition p) { return {p.ms, p.seq + 1}; }

std::optional<ChangePosition> IdOf(const RedisReply& r) {
  if (r.type != RedisReply::Type::kString) return std::nullopt;
  return ChangePosition::Parse(r.str);
}

// One entry as XRANGE, XREVRANGE and XREAD give it: [id, [f, v, ...]].
std::optional<Entry> ParseEntry(const RedisReply& r) {
  if (r.type != RedisReply::Type::kArray || r.elements.size() != 2) return std::nullopt;
  std::optional<ChangePosition> pos = IdOf(r.elements[0]);
  if (!pos.has_value() || r.elements[1].type != RedisReply::Type::kArray) return std::nullopt;
  Entry e{*pos, r.elements[0].str, {}};
  const std::vector<RedisReply>& f = r.elements[1].elements;
  e.fields.reserve(f.size() / 2);
  for (std::size_t i = 0; i + 1 < f.size(); i += 2) e.fields.emplace_back(f[i].str, f[i + 1].str);
  return e;
}

// A list of entries in the order given; false on a reply of another shape.
bool ParseEntries(const RedisReply& r, std::vector<Entry>* out) {
  if (r.is_nil()) return true;
  if (r.type != RedisReply::Type::kArray) return false;
  for (const RedisReply& e : r.elements) {
    std::optional<Entry> entry = ParseEntry(e);
    if (!entry.has_value()) return false;
    out->push_back(std::move(*entry));
  }
  return true;
}

// XREAD's reply: nil (BLOCK ran out) or [[key, [entry, ...]]].
bool ParseRead(const RedisReply& r, std::vector<Entry>* out) {
  if (r.is_nil()) return true;
  if (r.type != RedisReply::Type::kArray) return false;
  for (const RedisReply& stream : r.elements) {
    if (stream.type != RedisReply::Type::kArray || stream.elements.size() != 2) return false;
    if (!ParseEntries(stream.elements[1], out)) return false;
  }
  return true;
}

std::uint64_t RandomSeed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

struct ChangeStreamReader::Core : std::enable_shared_from_this<Core> {
  enum class Phase { kStartInfo, kStartRange, kRecoverRead, kRecoverInfo, kTail };

  Core(RedisClient* c, ChangeStreamReaderOptions o, ChangeStreamReaderCallbacks cb)
      : client(c),
        options(std::move(o)),
        callbacks(std::move(cb)),
        backoff(absl::Milliseconds(50), absl::Seconds(1), RandomSeed()) {}

  RedisClient* const client;
  const ChangeStreamReaderOptions options;
  const ChangeStreamReaderCallbacks callbacks;

  absl::Mutex mu;
  bool started ABSL_GUARDED_BY(mu) = false;
  bool stopped ABSL_GUARDED_BY(mu) = false;
  std::atomic<bool> stop_flag{false};  // `stopped`, read without mu
  bool delivering ABSL_GUARDED_BY(mu) = false;
  std::thread::id delivering_thread ABSL_GUARDED_BY(mu);
  bool retry_pending ABSL_GUARDED_BY(mu) = false;
  bool wake ABSL_GUARDED_BY(mu) = false;
  absl::Time retry_at ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  ReconnectBackoff backoff ABSL_GUARDED_BY(mu);

  Phase phase ABSL_GUARDED_BY(mu) = Phase::kStartInfo;
  StreamInfo start_info ABSL_GUARDED_BY(mu);    // kStartInfo's answer
  std::vector<Entry> held ABSL_GUARDED_BY(mu);  // kRecoverRead's, until checked
  ChangePosition last ABSL_GUARDED_BY(mu);      // last id delivered
  std::optional<std::int64_t> added_through_last ABSL_GUARDED_BY(mu);
  std::optional<ChangePosition> floor ABSL_GUARDED_BY(mu);

  std::thread timer;  // sends the retries that wait out a backoff
  std::mutex join_mu;

  std::atomic<std::uint64_t> reads{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> gaps{0};
  std::atomic<std::uint64_t> failures{0};

  // What one reply hands to the callbacks, outside the lock.
  struct Batch {
    std::optional<ChangePosition> floor;
    std::vector<Entry> entries;
  };

  std::vector<std::string> Argv() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const std::string& key = options.stream_key;
    switch (phase) {
      case Phase::kStartInfo:
      case Phase::kRecoverInfo:
        return {"XINFO", "STREAM", key};
      case Phase::kStartRange:
        return {"XREVRANGE", key, "+", "-", "COUNT", absl::StrCat(options.history)};
      case Phase::kRecoverRead:
        // No BLOCK: its answer waits for the check that follows.
        return {"XREAD", "COUNT", absl::StrCat(options.count), "STREAMS", key, last.ToString()};
      case Phase::kTail:
        break;
    }
    return {"XREAD",
            "BLOCK",
            absl::StrCat(absl::ToInt64Milliseconds(options.block)),
            "COUNT",
            absl::StrCat(options.count),
            "STREAMS",
            key,
            last.ToString()};
  }

  void Send(std::vector<std::string> argv) {
    const bool blocking = argv.size() > 1 && argv[0] == "XREAD" && argv[1] == "BLOCK";
    const absl::Duration timeout =
        blocking ? options.block + options.command_timeout : options.command_timeout;
    reads.fetch_add(1, std::memory_order_relaxed);
    client->Command(
        std::move(argv), timeout,
        [self = shared_from_this()](absl::StatusOr<RedisReply> r) { self->OnReply(std::move(r)); });
  }

  void Start() {
    std::vector<std::string> argv;
    {
      absl::MutexLock lock(&mu);
      if (started || stopped) return;
      started = true;
      argv = Argv();
    }
    Send(std::move(argv));
  }

  // Takes `entries` (ascending) newer than `last` into the batch.
  void Accept(std::vector<Entry> entries, Batch* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    for (Entry& e : entries) {
      if (e.position <= last) continue;  // never twice, never backwards
      last = e.position;
      if (added_through_last.has_value()) ++*added_through_last;
      out->entries.push_back(std::move(e));
    }
  }

  void SetFloor(ChangePosition f, Batch* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (floor.has_value() && f <= *floor) return;
    floor = f;
    out->floor = f;
  }

  // Advances the phase with a good reply; false on a reply of a bad shape.
  bool Handle(const RedisReply& r, Batch* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    switch (phase) {
      case Phase::kStartInfo: {
        absl::StatusOr<StreamInfo> info = ParseStreamInfo(r);
        if (!info.ok()) return false;
        start_info = *info;
        phase = Phase::kStartRange;
        return true;
      }
      case Phase::kStartRange: {
        if (r.is_error()) return false;
        std::vector<Entry> entries;
        if (!ParseEntries(r, &entries)) return false;
        std::reverse(entries.begin(), entries.end());
        const StreamInfo& s = start_info;
        if (entries.empty()) {
          // Nothing newer than what XINFO saw came since (XREVRANGE would
          // have it): read from the stream's last id.
          last = s.exists ? s.last_generated : ChangePosition{};
          added_through_last = s.exists ? s.entries_added : std::optional<std::int64_t>(0);
          SetFloor(last == ChangePosition{} ? ChangePosition{0, 1} : Next(last), out);
        } else {
          // The count is exact only if nothing came between XINFO and now.
          added_through_last = entries.back().position == s.last_generated
                                   ? s.entries_added
                                   : std::optional<std::int64_t>();
          if (added_through_last.has_value()) *added_through_last -= entries.size();
          SetFloor(entries.front().position, out);
          Accept(std::move(entries), out);
        }
        phase = Phase::kTail;
        return true;
      }
      case Phase::kRecoverRead: {
        if (r.is_error()) return false;
        held.clear();
        if (!ParseRead(r, &held)) return false;
        phase = Phase::kRecoverInfo;
        return true;
      }
      case Phase::kRecoverInfo: {
        absl::StatusOr<StreamInfo> info = ParseStreamInfo(r);
        if (!info.ok()) return false;
        if (std::optional<ChangePosition> f = GapFloor(*info, last, added_through_last)) {
          gaps.fetch_add(1, std::memory_order_relaxed);
          Log(LogLevel::kWarning,
              "change stream entries may have been lost while Redis was unreachable; older "
              "resume tokens will resync",
              {{"replica", options.replica_id}, {"floor", f->ToString()}});
          SetFloor(*f, out);
          // A stream gone: any new one counts from zero, all of it after us.
          added_through_last = info->exists ? std::nullopt : std::optional<std::int64_t>(0);
        }
        Accept(std::move(held), out);
        held.clear();
        phase = Phase::kTail;
        return true;
      }
      case Phase::kTail: {
        if (r.is_error()) return false;
        std::vector<Entry> entries;
        if (!ParseRead(r, &entries)) return false;
        Accept(std::move(entries), out);
        return true;
      }
    }
    return false;
  }

  void OnReply(absl::StatusOr<RedisReply> r) {
    static LogThrottle throttle(LogLevel::kWarning, "reading the Redis change stream failed");
    Batch out;
    {
      absl::MutexLock lock(&mu);
      if (stopped) return;
      const bool ok = r.ok() && Handle(*r, &out);
      if (!ok) {
        failures.fetch_add(1, std::memory_order_relaxed);
        throttle.Note(!r.ok()         ? absl::StatusCodeToString(r.status().code())
                      : r->is_error() ? "redis_error"
                                      : "bad_reply",
                      "replica", options.replica_id);
        // Before the first sync: start over. After: read from `last`.
        const bool synced =
            phase == Phase::kRecoverRead || phase == Phase::kRecoverInfo || phase == Phase::kTail;
        phase = synced ? Phase::kRecoverRead : Phase::kStartInfo;
        held.clear();
        retry_at = absl::Now() + backoff.Next();
        retry_pending = true;
        wake = false;
        return;  // the timer thread sends the retry
      }
      backoff.Reset();
      if (out.floor.has_value() || !out.entries.empty()) {
        delivering = true;
        delivering_thread = std::this_thread::get_id();
      }
    }
    if (out.floor.has_value() && callbacks.floor && !stop_flag.load()) callbacks.floor(*out.floor);
    for (Entry& e : out.entries) {
      if (stop_flag.load()) break;
      delivered.fetch_add(1, std::memory_order_relaxed);
      callbacks.entry(std::move(e.id), std::move(e.fields));
    }
    std::vector<std::string> argv;
    {
      absl::MutexLock lock(&mu);
      delivering = false;
      if (stopped) return;
      argv = Argv();
    }
    Send(std::move(argv));
  }

  void TimerLoop() {
    for (;;) {
      std::vector<std::string> argv;
      {
        absl::MutexLock lock(&mu);
        // First a retry to wait for, then its time (or OnRedisUp). Its
        // time does not move while it waits: nothing is in flight then.
        mu.Await(absl::Condition(
            +[](Core* c) ABSL_NO_THREAD_SAFETY_ANALYSIS { return c->stopped || c->retry_pending; },
            this));
        mu.AwaitWithDeadline(absl::Condition(
                                 +[](Core* c) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                   return c->stopped || !c->retry_pending || c->wake;
                                 },
                                 this),
                             retry_at);
        if (stopped) return;
        if (!retry_pending || (!wake && absl::Now() < retry_at)) continue;
        retry_pending = false;
        wake = false;
        argv = Argv();
      }
      Send(std::move(argv));
    }
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu);
      stopped = true;
      stop_flag = true;
      // A callback in progress finishes first, unless it is the caller.
      if (delivering && delivering_thread != std::this_thread::get_id()) {
        mu.Await(absl::Condition(
            +[](Core* c) ABSL_NO_THREAD_SAFETY_ANALYSIS { return !c->delivering; }, this));
      }
    }
    std::lock_guard<std::mutex> lock(join_mu);
    if (timer.joinable() && timer.get_id() != std::this_thread::get_id()) timer.join();
  }
};

absl::StatusOr<std::unique_ptr<ChangeStreamReader>> ChangeStreamReader::Create(
    RedisClient* client, ChangeStreamReaderOptions options, ChangeStreamReaderCallbacks callbacks) {
  if (client == nullptr)
    return absl::InvalidArgumentError("the change stream reader needs a client");
  if (!callbacks.entry) {
    return absl::InvalidArgumentError("the change stream reader needs an entry callback");
  }
  if (options.stream_key.empty()) return absl::InvalidArgumentError("empty change stream key");
  if (options.history < 1) return absl::InvalidArgumentError("change stream history must be >= 1");
  if (options.count < 1)
    return absl::InvalidArgumentError("change stream XREAD COUNT must be >= 1");
  if (options.block < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError("change stream XREAD BLOCK must be >= 1 ms");
  }
  if (options.command_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("change stream command timeout must be positive");
  }
  auto core = std::make_shared<Core>(client, std::move(options), std::move(callbacks));
  core->timer = std::thread([c = core.get()] { c->TimerLoop(); });
  return std::unique_ptr<ChangeStreamReader>(new ChangeStreamReader(std::move(core)));
}

ChangeStreamReader::ChangeStreamReader(std::shared_ptr<Core> core) : core_(std::move(core)) {}

ChangeStreamReader::~ChangeStreamReader() { core_->Stop(); }

void ChangeStreamReader::Start() { core_->Start(); }
void ChangeStreamReader::Stop() { core_->Stop(); }

void ChangeStreamReader::OnRedisUp() {
  absl::MutexLock lock(&core_->mu);
  if (core_->retry_pending) core_->wake = true;
}

std::uint64_t ChangeStreamReader::read_commands() const { return core_->reads.load(); }
std::uint64_t ChangeStreamReader::delivered() const { return core_->delivered.load(); }
std::uint64_t ChangeStreamReader::gaps() const { return core_->gaps.load(); }
std::uint64_t ChangeStreamReader::failures() const { return core_->failures.load(); }

}  // namespace leafsvc::fleet
