#include "server/fleet/redis_client.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <utility>

#include "absl/base/internal/raw_logging.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/fleet/inflight_commands.h"
#include "server/fleet/reconnect_backoff.h"
#include "server/fleet/wake_inbox.h"
#include "server/observability/log.h"

namespace leafsvc::fleet {
class RedisClient::Impl {
 public:
  explicit Impl(RedisClientOptions options)
      : options_(std::move(options)),
        backoff_(options_.min_reconnect_backoff, options_.max_reconnect_backoff,
                 std::random_device{}()) {}

  ~Impl() {
    if (thread_.joinable()) {
      ABSL_RAW_CHECK(std::this_thread::get_id() != thread_.get_id(),
                     "RedisClient destroyed from its own callback");
      inbox_.Stop();
      thread_.join();
    }
  }

  absl::Status Start() {
    if (inbox_.fd() < 0) return absl::InternalError("eventfd failed");
    thread_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }

  void Submit(std::vector<std::string> argv, absl::Duration timeout, Done done) {
    PendingCommand p;
    p.id = next_id_.fetch_add(1) + 1;
    p.timeout = timeout;
    p.deadline = absl::Now() + timeout;
    p.done = std::move(done);
    if (argv.empty()) {
      p.preset = absl::InvalidArgumentError("a Redis command needs at least its name");
    } else if (timeout <= absl::ZeroDuration()) {
      p.preset = absl::InvalidArgumentError("a Redis command's timeout must be positive");
    } else if (pending_.fetch_add(1) >= options_.max_pending) {
      pending_.fetch_sub(1);
      p.preset = absl::ResourceExhaustedError(
          absl::StrCat("too many Redis commands pending (", options_.max_pending, ")"));
    } else {
      p.counted = true;
    }
    if (!argv.empty()) p.name = argv[0].substr(0, 32);
    p.argv = std::move(argv);
    if (!inbox_.Push(p)) {
      // Misuse (a Command after the loop ended): still exactly once.
      if (p.counted) pending_.fetch_sub(1);
      p.done(absl::CancelledError("the Redis client has stopped"));
    }
  }

  absl::Duration command_timeout() const { return options_.command_timeout; }
  bool up() const { return up_.load(std::memory_order_acquire); }
  std::size_t pending() const { return pending_.load(); }

 private:
  enum class State { kDown, kConnecting, kHandshaking, kUp, kDraining };

  // ---- Everything below runs on thread_ only. ----

  void Loop() {
    std::vector<PendingCommand> batch;
    while (true) {
      const bool stop = inbox_.Take(&batch);
      for (PendingCommand& p : batch) Dispatch(std::move(p));
      batch.clear();
      if (stop) break;

      const absl::Time now = absl::Now();
      ExpireDeadlines(now);
      if (ctx_ != nullptr && state_ == State::kConnecting && now >= connect_deadline_) {
        RequestDrop("connecting to Redis timed out");
      }
      if (state_ == State::kDraining && inflight_.empty()) {
        RequestDrop("a Redis command timed out");
      }
      if (drop_requested_) {
        drop_requested_ = false;
        Drop(drop_reason_);
      }
      if (state_ == State::kDown && ctx_ == nullptr && now >= next_attempt_) Connect(now);

      pollfd fds[2];
      fds[0] = {inbox_.fd(), POLLIN, 0};
      fds[1] = {-1, 0, 0};
      if (ctx_ != nullptr) {
        const short events =
            static_cast<short>((want_read_ ? POLLIN : 0) | (want_write_ ? POLLOUT : 0));
        if (events != 0) fds[1] = {ctx_->c.fd, events, 0};
      }
      // With work already queued, still poll (without waiting): a steady
      // stream of commands must not starve the socket.
      const bool sleep = inbox_.BeginSleep();
      const int n = poll(fds, 2, sleep ? PollTimeoutMs(absl::Now()) : 0);
      if (sleep) inbox_.EndSleep();
      if (n <= 0) continue;
      if (fds[0].revents != 0) inbox_.Drain();
      if (fds[1].fd >= 0 && fds[1].revents != 0 && ctx_ != nullptr) {
        const short r = fds[1].revents;
        if (want_read_ && (r & (POLLIN | POLLHUP | POLLERR))) redisAsyncHandleRead(ctx_);
        if (ctx_ != nullptr && want_write_ && (r & (POLLOUT | POLLHUP | POLLERR))) {
          redisAsyncHandleWrite(ctx_);
        }
      }
    }
    Shutdown();
  }

  int PollTimeoutMs(absl::Time now) const {
    if (drop_requested_ || (state_ == State::kDraining && inflight_.empty())) return 0;
    absl::Time wake = inflight_.next_deadline();
    if (ctx_ != nullptr && state_ == State::kConnecting) wake = std::min(wake, connect_deadline_);
    if (ctx_ == nullptr && state_ == State::kDown) wake = std::min(wake, next_attempt_);
    if (wake == absl::InfiniteFuture()) return -1;
    if (wake <= now) return 0;
    // Rounded up: waking a millisecond early would only poll again.
    const double ms = std::ceil(absl::ToDoubleMilliseconds(wake - now));
    return static_cast<int>(std::min(ms, 60000.0));
  }

  void Dispatch(PendingCommand p) {
    if (!p.preset.ok()) {
      absl::Status s = p.preset;
      Complete(p, std::move(s));
      return;
    }
    if (state_ != State::kUp) {
      Complete(p, Unreachable());
      return;
    }
    Send(std::move(p));
  }

  void Send(PendingCommand p) {
    std::vector<const char*> args;
    std::vector<size_t> lens;
    args.reserve(p.argv.size());
    lens.reserve(p.argv.size());
    for (const std::string& a : p.argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
    const int rc = redisAsyncCommandArgv(ctx_, &Impl::OnReplyThunk,
                                         reinterpret_cast<void*>(static_cast<uintptr_t>(p.id)),
                                         static_cast<int>(args.size()), args.data(), lens.data());
    // hiredis has its own (formatted) copy now; ours is not needed.
    if (p.secret_args) {
      for (std::string& a : p.argv) WipeString(a);
    }
    p.argv.clear();
    p.argv.shrink_to_fit();
    if (rc != REDIS_OK) {
      Complete(p,
               absl::UnavailableError(
                   "Redis is unreachable (the connection is closing); the command was not sent"));
      return;
    }
    inflight_.Add(std::move(p));
  }

  void Complete(PendingCommand& p, absl::StatusOr<RedisReply> result) {
    if (p.counted) pending_.fetch_sub(1);
    Done done = std::move(p.done);
    p.done = nullptr;
    done(std::move(result));
  }

  absl::Status Unreachable() const {
    return absl::UnavailableError(
        absl::StrCat("Redis is unreachable (", down_reason_, "); the command was not sent"));
  }

  absl::Status Lost() const {
    if (shutting_down_) return absl::CancelledError("the Redis client is shutting down");
    return absl::UnavailableError(
        "Redis is unreachable (the connection was lost before the reply)");
  }

  void ExpireDeadlines(absl::Time now) {
    while (std::optional<PendingCommand> expired = inflight_.TakeExpired(now)) {
      PendingCommand& p = *expired;
      // Replies are ordered: the connection stays correct (late replies are
      // dropped by id), but a Redis this slow is suspect. Take nothing new on
      // it and reopen it once what it holds has answered or timed out.
      if (!p.internal && state_ == State::kUp) {
        state_ = State::kDraining;
        MarkDown(absl::StrCat("no reply to ", p.name, " within ", absl::FormatDuration(p.timeout)));
      }
      Complete(p,
               absl::DeadlineExceededError(absl::StrCat("Redis did not answer ", p.name, " within ",
                                                        absl::FormatDuration(p.timeout))));
    }
  }

  void Connect(absl::Time now) {
    ++generation_;
    redisAsyncContext* c = redisAsyncConnect(options_.host.c_str(), options_.port);
    if (c == nullptr) {
      ScheduleReconnect("hiredis could not allocate a connection");
      return;
    }
    if (c->err != 0) {
      std::string reason = c->errstr;
      redisAsyncFree(c);
      ScheduleReconnect(reason);
      return;
    }
    ctx_ = c;
    c->data = this;
    c->ev.data = this;
    c->ev.addRead = [](void* d) { static_cast<Impl*>(d)->want_read_ = true; };
    c->ev.delRead = [](void* d) { static_cast<Impl*>(d)->want_read_ = false; };
    c->ev.addWrite = [](void* d) { static_cast<Impl*>(d)->want_write_ = true; };
    c->ev.delWrite = [](void* d) { static_cast<Impl*>(d)->want_write_ = false; };
    c->ev.cleanup = [](void* d) {
      Impl* self = static_cast<Impl*>(d);
      self->want_read_ = self->want_write_ = false;
    };
    state_ = State::kConnecting;
    connect_deadline_ = now + options_.connect_timeout;
    redisAsyncSetDisconnectCallback(c, &Impl::OnDisconnectThunk);
    // Last: it asks for the first write event (the sign of a connection).
    redisAsyncSetConnectCallback(c, &Impl::OnConnectThunk);
  }

  static void OnConnectThunk(const redisAsyncContext* c, int status) {
    static_cast<Impl*>(c->data)->OnConnect(c, status);
  }

  void OnConnect(const redisAsyncContext* c, int status) {
    if (freeing_) return;
    if (status != REDIS_OK) {
      // hiredis frees the context after this returns.
      const std::string reason = c->errstr[0] != '\0' ? c->errstr : "connect failed";
      ForgetContext();
      state_ = State::kDown;
      ScheduleReconnect(reason);
      return;
    }
    state_ = State::kHandshaking;
    const std::uint64_t gen = generation_;
    if (!options_.password.empty()) {
      PendingCommand auth = Internal("AUTH", gen);
      // Built in place: an initializer list would leave an unwiped copy.
      auth.argv.reserve(2);
      auth.argv.emplace_back("AUTH");
      auth.argv.emplace_back(options_.password.Reveal());
      auth.secret_args = true;
      Send(std::move(auth));
    }
    if (options_.db != 0) {
      PendingCommand select = Internal("SELECT", gen);
      select.argv = {"SELECT", absl::StrCat(options_.db)};
      Send(std::move(select));
    }
    PendingCommand ping = Internal("PING", gen);
    ping.argv = {"PING"};
    Send(std::move(ping));
  }

  // A handshake command: any failure drops the connection; the PING's
  // reply (the last) makes the client up.
  PendingCommand Internal(const std::string& name, std::uint64_t gen) {
    PendingCommand p;
    p.id = next_id_.fetch_add(1) + 1;
    p.name = name;
    p.internal = true;
    p.timeout = options_.connect_timeout;
    p.deadline = connect_deadline_;
    p.done = [this, name, gen](absl::StatusOr<RedisReply> r) {
      if (gen != generation_ || state_ != State::kHandshaking) return;
      if (!r.ok()) {
        RequestDrop(
            absl::StrCat("the Redis handshake failed at ", name, ": ", r.status().message()));
      } else if (r->is_error()) {
        // Never Redis's text for AUTH: keep anything near the password out.
        RequestDrop(name == "AUTH" ? std::string("Redis refused the password (AUTH failed)")
                                   : absl::StrCat("Redis refused ", name, ": ", r->str));
      } else if (name == "PING") {
        state_ = State::kUp;
        backoff_.Reset();
        up_.store(true, std::memory_order_release);
        Log(LogLevel::kInfo, "Redis is up", {{"redis", Address()}});
        if (options_.on_state) options_.on_state(true);
      }
    };
    return p;
  }

  static void OnDisconnectThunk(const redisAsyncContext* c, int status) {
    static_cast<Impl*>(c->data)->OnDisconnect(c, status);
  }

  void OnDisconnect(const redisAsyncContext* c, int /*status*/) {
    if (freeing_) return;  // Drop's own redisAsyncFree
    // Lost: hiredis has failed every pending callback and frees the
    // context after this returns.
    const std::string reason = c->err != 0 && c->errstr[0] != '\0'
                                   ? std::string(c->errstr)
                                   : std::string("Redis closed the connection");
    ForgetContext();
    state_ = State::kDown;
    MarkDown(reason);
    FailAllInflight();
    ScheduleReconnect(reason);
  }

  static void OnReplyThunk(redisAsyncContext* c, void* reply, void* privdata) {
    static_cast<Impl*>(c->data)->OnReply(
        c, static_cast<redisReply*>(reply),
        static_cast<std::uint64_t>(reinterpret_cast<uintptr_t>(privdata)));
  }

  void OnReply(redisAsyncContext* c, redisReply* reply, std::uint64_t id) {
    std::optional<PendingCommand> taken = inflight_.Take(id);
    if (!taken) return;  // timed out already: a late reply is dropped
    PendingCommand& p = *taken;
    if (reply == nullptr) {
      // hiredis is failing its callbacks: the connection is gone. Say so
      // before the first callback hears of it.
      if (!freeing_ && (state_ == State::kUp || state_ == State::kDraining)) {
        state_ = State::kDown;
        MarkDown(c->err != 0 && c->errstr[0] != '\0' ? std::string(c->errstr)
                                                     : std::string("the connection was lost"));
      }
      Complete(p, Lost());
      return;
    }
    Complete(p, CopyHiredisReply(*reply));
  }

  void RequestDrop(std::string reason) {
    if (drop_requested_) return;
    drop_requested_ = true;
    drop_reason_ = std::move(reason);
  }

  // Closes the connection (if any): commands still on it fail, a
  // reconnect is scheduled.
  void Drop(const std::string& reason) {
    if (ctx_ != nullptr) {
      redisAsyncContext* c = ctx_;
      state_ = State::kDown;
      MarkDown(reason);
      freeing_ = true;
      redisAsyncFree(c);  // runs every pending callback with a null reply
      freeing_ = false;
      ForgetContext();
    }
    state_ = State::kDown;
    MarkDown(reason);
    FailAllInflight();
    if (!shutting_down_) ScheduleReconnect(reason);
  }

  void ForgetContext() {
    ctx_ = nullptr;
    want_read_ = want_write_ = false;
  }

  // Defensive: hiredis fails its callbacks itself; anything left over
  // would otherwise never complete.
  void FailAllInflight() {
    for (PendingCommand& p : inflight_.TakeAll()) Complete(p, Lost());
  }

  void MarkDown(const std::string& reason) {
    down_reason_ = reason;
    if (up_.exchange(false, std::memory_order_acq_rel)) {
      Log(LogLevel::kWarning, "Redis is down", {{"redis", Address()}, {"reason", reason}});
      if (!shutting_down_ && options_.on_state) options_.on_state(false);
    }
  }

  void ScheduleReconnect(const std::string& reason) {
    down_reason_ = reason;
    if (backoff_.failures() == 0) {
      Log(LogLevel::kWarning, "Redis is unreachable; reconnecting in the background",
          {{"redis", Address()}, {"reason", reason}});
    }
    next_attempt_ = absl::Now() + backoff_.Next();
  }

  std::string Address() const { return absl::StrCat(options_.host, ":", options_.port); }

  void Shutdown() {
    shutting_down_ = true;
    if (ctx_ != nullptr) Drop("the Redis client is shutting down");
    FailAllInflight();
    up_.store(false);
    // Callbacks may still submit (they complete CANCELLED, here, on this
    // thread); then the door closes.
    std::vector<PendingCommand> batch;
    while (inbox_.TakeOrClose(&batch)) {
      for (PendingCommand& p : batch) {
        Complete(p, absl::CancelledError("the Redis client is shutting down"));
      }
    }
  }

  const RedisClientOptions options_;
  std::atomic<std::uint64_t> next_id_{0};
  std::atomic<std::size_t> pending_{0};
  std::atomic<bool> up_{false};
  WakeInbox<PendingCommand> inbox_;

  // Loop thread only.
  redisAsyncContext* ctx_ = nullptr;
  State state_ = State::kDown;
  std::uint64_t generation_ = 0;  // of the connection, for the handshake's callbacks
  bool want_read_ = false;
  bool want_write_ = false;
  bool freeing_ = false;  // inside our own redisAsyncFree
  bool shutting_down_ = false;
  bool drop_requested_ = false;
  std::string drop_reason_;
  std::string down_reason_ = "not connected yet";
  absl::Time connect_deadline_;
  absl::Time next_attempt_ = absl::InfinitePast();
  ReconnectBackoff backoff_;
  InflightCommands inflight_;

  std::thread thread_;  // Last: started after everything above exists.
};

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Create(RedisClientOptions options) {
  if (options.host.empty()) return absl::InvalidArgumentError("Redis host is empty");
  if (options.port < 1 || options.port > 65535) {
    return absl::InvalidArgumentError("Redis port must be in 1..65535");
  }
  if (options.db < 0) return absl::InvalidArgumentError("Redis db must not be negative");
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.command_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("Redis timeouts must be positive");
  }
  if (options.min_reconnect_backoff <= absl::ZeroDuration() ||
      options.max_reconnect_backoff < options.min_reconnect_backoff) {
    return absl::InvalidArgumentError(
        "Redis reconnect backoff needs 0 < min_reconnect_backoff <= max_reconnect_backoff");
  }
  if (options.max_pending == 0) {
    return absl::InvalidArgumentError("Redis max_pending must be positive");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<RedisClient>(new RedisClient(std::move(impl)));
}

RedisClient::RedisClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisClient::~RedisClient() = default;

void RedisClient::Command(std::vector<std::string> argv, Done done) {
  impl_->Submit(std::move(argv), impl_->command_timeout(), std::move(done));
}

void RedisClient::Command(std::vector<std::string> argv, absl::Duration timeout, Done done) {
  impl_->Submit(std::move(argv), timeout, std::move(done));
}

bool RedisClient::up() const { return impl_->up(); }

std::size_t RedisClient::pending() const { return impl_->pending(); }

}  // namespace leafsvc::fleet
