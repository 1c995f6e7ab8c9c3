#include "server/watch/polling_watch_hub.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/observability/log.h"
#include "server/watch/resume_token.h"

namespace leafsvc::watch {

absl::string_view PromptResultName(PromptResult result) {
  switch (result) {
    case PromptResult::kPrompted:
      return "prompted";
    case PromptResult::kCoalesced:
      return "coalesced";
    case PromptResult::kUnknownCredential:
      return "unknown_credential";
  }
  return "unknown_credential";
}

namespace {

// A log id of this hub alone: its tokens are unknown to any other.
std::string RandomLogId(absl::string_view prefix) {
  absl::BitGen random;
  return absl::StrFormat("%s%016x", prefix, absl::Uniform<uint64_t>(random));
}

// A snapshot as a subscription's first change: kInitial as it is, or
// kResync (the reads failing: with the error and the credentials last
// known).
Change FirstChange(Change snapshot, ChangeKind kind) {
  if (kind == ChangeKind::kResync) snapshot.kind = ChangeKind::kResync;
  return snapshot;
}

}  // namespace

PollingWatchHub::PollingWatchHub(PollControl* poller, HubOptions options)
    : poller_(poller),
      options_(options),
      table_(options.limits),
      log_id_(options.log_id.empty() ? RandomLogId("p") : options.log_id),
      local_log_id_(RandomLogId("l")),
      // A single process's log starts with this hub: complete from the
      // start. The fleet's is complete once its reader says from where.
      history_(options.history,
               options.fleet ? std::nullopt : std::optional<ChangePosition>(ChangePosition{})) {
  if (options_.alerts != nullptr) {
    bus_subscription_ =
        options_.alerts->Subscribe([this](const CredentialAlert& alert) { OnAlert(alert); });
  }
}

PollingWatchHub::~PollingWatchHub() {
  if (options_.alerts != nullptr) options_.alerts->Unsubscribe(bus_subscription_);
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](PollingWatchHub* h)
           ABSL_NO_THREAD_SAFETY_ANALYSIS { return !h->applying_ && h->pins_.empty(); },
      this));
}

void PollingWatchHub::Pin(WatchId id, Watcher* watcher, std::optional<absl::Status> end,
                          std::vector<Delivery>& out) {
  pins_[id].push_back(std::this_thread::get_id());
  out.push_back(Delivery{id, watcher, std::move(end)});
}

void PollingWatchHub::Run(std::vector<Delivery>& deliveries) {
  const std::thread::id self = std::this_thread::get_id();
  for (Delivery& d : deliveries) {
    bool call;
    {
      // Not called once its Unsubscribe ran: from an earlier call on this
      // very thread it did not wait for this pin, and the watcher may be
      // gone. A Deliver is also dropped once Shutdown let go of the watcher
      // (its OnEnd ends the stream).
      absl::MutexLock lock(&mu_);
      call = !unsubscribed_.contains(d.id) && (d.end || watchers_.contains(d.id));
    }
    if (call && d.end) {
      d.watcher->OnEnd(*d.end);
    } else if (call) {
      d.watcher->Deliver();
    }
    absl::MutexLock lock(&mu_);
    auto it = pins_.find(d.id);
    it->second.erase(std::find(it->second.begin(), it->second.end(), self));
    if (it->second.empty()) {
      pins_.erase(it);
      unsubscribed_.erase(d.id);
    }
  }
}

void PollingWatchHub::ApplyPollOps() {
  {
    absl::MutexLock lock(&mu_);
    if (applying_) return;
    applying_ = true;
  }
  for (;;) {
    PollOp op;
    {
      absl::MutexLock lock(&mu_);
      if (poll_ops_.empty()) {
        applying_ = false;
        return;
      }
      op = std::move(poll_ops_.front());
      poll_ops_.pop_front();
    }
    if (op.add) {
      poller_->Add(op.user);
    } else {
      poller_->Remove(op.user);
    }
  }
}

absl::StatusOr<WatchId> PollingWatchHub::Subscribe(const std::vector<std::string>& users,
                                                   Watcher* watcher, const std::string& caller,
                                                   const std::string& resume_token) {
  WatchId id;
  std::vector<Delivery> deliveries;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      return MakeError(reasons::kShuttingDown,
                       "this server is shutting down; watch again (another replica will answer)");
    }
    absl::StatusOr<SubscriptionTable::Added> added = table_.Add(users, caller);
    if (!added.ok()) return added.status();
    id = added->id;
    watchers_[id] = watcher;
    // Queued under mu_, so the poller sees adds and removes of a user in the
    // order decided here (a subscribe racing the last unsubscribe of the
    // same user must end with the user polled).
    for (const std::string& user : added->started) {
      UserState& state = states_[user];
      if (state.lingering != 0) {
        // Watched again: its last state (with the time it was read) is what
        // new watchers start from and what the next read is compared with.
        // (Holding it back until that read would not do: a stream's token
        // would then vouch for a state the stream never had.)
        state.lingering = 0;
        --lingering_count_;
      }
      if (options_.fleet && !state.detector.known()) Seed(user, state);
      poll_ops_.push_back({true, user});
    }
    if (Greet(id, users, resume_token)) Pin(id, watcher, std::nullopt, deliveries);
    PruneLingering();
    ReportCounts();
  }
  Run(deliveries);
  ApplyPollOps();
  return id;
}

void PollingWatchHub::Detach(WatchId id) {
  watchers_.erase(id);
  owed_users_.erase(id);
  for (const std::string& user : table_.Remove(id)) {
    Linger(user);
    poll_ops_.push_back({false, user});
  }
  PruneLingering();
}

void PollingWatchHub::Unsubscribe(WatchId id) {
  struct Args {
    PollingWatchHub* hub;
    WatchId id;
    std::thread::id self;
  } args{this, id, std::this_thread::get_id()};
  {
    absl::MutexLock lock(&mu_);
    Detach(id);
    ReportCounts();
    // Calls to the watcher decided before it left and not started yet are
    // dropped; one running on another thread returns before the watcher
    // may go.
    if (pins_.contains(id)) unsubscribed_.insert(id);
    mu_.Await(absl::Condition(
        +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          auto it = a->hub->pins_.find(a->id);
          return it == a->hub->pins_.end() ||
                 std::all_of(it->second.begin(), it->second.end(),
                             [a](std::thread::id t) { return t == a->self; });
        },
        &args));
  }
  ApplyPollOps();
}

void PollingWatchHub::OnResult(const std::string& user, const Observation& observation,
                               Source source) {
  if (options_.observer != nullptr) options_.observer->OnPoll(observation.kind, source);
  std::vector<Delivery> deliveries;
  {
    absl::MutexLock lock(&mu_);
    auto it = states_.find(user);
    if (it == states_.end()) return;  // nobody watched it for a while
    // A shared state older than (or the same as) one already applied: the
    // change stream or another read got here first.
    if (observation.version != 0 && observation.version <= it->second.version) return;
    Apply(user, it->second, observation, source, Now(),
          options_.fleet ? observation.position : std::nullopt, deliveries);
  }
  Run(deliveries);
}

void PollingWatchHub::OnLogged(const LoggedObservation& entry) {
  std::vector<Delivery> deliveries;
  {
    absl::MutexLock lock(&mu_);
    history_.Record(entry);
    if (last_ < entry.position) last_ = entry.position;
    auto it = states_.find(entry.user);
    if (it != states_.end() && entry.observation.version > it->second.version) {
      Apply(entry.user, it->second, entry.observation, entry.source, entry.observed, entry.position,
            deliveries);
    }
  }
  Run(deliveries);
}

void PollingWatchHub::SetHistoryFloor(ChangePosition floor) {
  absl::MutexLock lock(&mu_);
  history_.SetFloor(floor);
}

void PollingWatchHub::Send(WatchId id, const std::string& user, const Change& change) {
  Watcher* watcher = watchers_.at(id);
  if (owed_users_.contains(id)) {
    // The stream does not know every user yet: its token must not vouch
    // for a state it lacks.
    Change partial = change;
    std::optional<ResumePoint> point = DecodeResumeToken(change.resume_token);
    if (point) {
      point->partial = true;
      partial.resume_token = EncodeResumeToken(*point);
    }
    watcher->Enqueue(user, partial);
  } else {
    watcher->Enqueue(user, change);
  }
  if (options_.observer != nullptr) options_.observer->OnChangeSent(change.kind);
}

std::string PollingWatchHub::Token(ChangePosition position) const {
  return EncodeResumeToken({log_id_, position});
}

bool PollingWatchHub::Greet(WatchId id, const std::vector<std::string>& users,
                            const std::string& resume_token) {
  bool queued = false;
  // The point to resume from: none for a new watch, or for a token this
  // log cannot continue exactly (another log, older than the history, ahead
  // of what this hub has seen, or sent before its stream knew every user).
  std::optional<ResumePoint> from;
  if (!resume_token.empty()) {
    from = DecodeResumeToken(resume_token);
    if (from && (from->partial || from->log_id != log_id_ ||
                 !history_.CompleteAfter(from->position) || last_ < from->position)) {
      from.reset();
    }
  }
  // Users whose state here has been continuous since the token: the stream
  // had their state then, so the changes since bring it up to date.
  absl::flat_hash_set<std::string> continuous;
  if (from) {
    for (const std::string& user : users) {
      const UserState& state = states_.at(user);
      if (state.detector.known() && state.known_since && *state.known_since <= from->position) {
        continuous.insert(user);
      }
    }
  }
  // Users not read yet: owed their first change (their first read), and
  // until then this stream's tokens are partial.
  const ChangeKind first = resume_token.empty() ? ChangeKind::kInitial : ChangeKind::kResync;
  for (const std::string& user : users) {
    UserState& state = states_.at(user);
    if (continuous.contains(user) || state.detector.known()) continue;
    state.owed.emplace_back(id, first);
    ++owed_users_[id];
  }
  if (from) {
    for (const LoggedObservation* entry : history_.After(from->position, continuous)) {
      std::optional<Change> change = ReplayChange(*entry);
      if (!change) continue;
      change->resume_token = Token(entry->position);
      Send(id, entry->user, *change);
      queued = true;
    }
  }
  const std::string token = Token(last_);
  for (const std::string& user : users) {
    if (continuous.contains(user)) continue;
    std::optional<Change> snapshot = states_.at(user).detector.Snapshot();
    if (!snapshot) continue;  // owed
    snapshot->resume_token = token;
    Send(id, user, FirstChange(*std::move(snapshot), first));
    queued = true;
  }
  return queued;
}

void PollingWatchHub::Apply(const std::string& user, UserState& state,
                            const Observation& observation, Source source, absl::Time observed,
                            std::optional<ChangePosition> position,
                            std::vector<Delivery>& deliveries) {
  std::optional<Observation> previous = state.detector.State();
  const bool was_known = state.detector.known();
  std::optional<Change> change = state.detector.Observe(observation, source, observed);
  table_.IndexCredential(user, state.detector.last() ? state.detector.last()->id : "");
  if (options_.fleet) {
    // Continuous with the log as the shared state is; a read of this
    // process alone (Redis out of reach) is in no log.
    if (observation.version != 0) {
      state.version = observation.version;
      state.known_since = observation.known_since ? observation.known_since : position;
    } else {
      // This process's own view now: the next shared state is applied
      // whatever its version (the shared record may be older than this
      // read, yet it is what the fleet will report from here on).
      state.version = 0;
      state.known_since.reset();
    }
  } else if (change) {
    position = ChangePosition{0, last_.seq + 1};
    if (!was_known) state.known_since = position;
  }
  if (change) {
    if (position) {
      if (last_ < *position) last_ = *position;
      if (!history_.Contains(*position)) {
        history_.Record({*position, user, std::move(previous), observation, source, observed});
      }
      change->resume_token = Token(*position);
    } else {
      change->resume_token = EncodeResumeToken({local_log_id_, last_});
    }
  }
  std::vector<std::pair<WatchId, ChangeKind>> owed = std::move(state.owed);
  state.owed.clear();
  for (WatchId id : table_.WatchersOf(user)) {
    auto first =
        std::find_if(owed.begin(), owed.end(), [id](const auto& o) { return o.first == id; });
    if (first != owed.end()) {
      auto count = owed_users_.find(id);
      if (--count->second == 0) owed_users_.erase(count);
      std::optional<Change> snapshot = state.detector.Snapshot();
      if (!snapshot) continue;  // a kNotRead never gets here (the poller keeps it)
      snapshot->resume_token = change ? change->resume_token : Token(last_);
      Send(id, user, FirstChange(*std::move(snapshot), first->second));
    } else if (change) {
      Send(id, user, *change);
    } else {
      continue;
    }
    Pin(id, watchers_.at(id), std::nullopt, deliveries);
  }
}

void PollingWatchHub::Seed(const std::string& user, UserState& state) {
  // The history is complete from its floor on, so a user's newest entry is
  // its shared state now: start from it, as if this hub had watched the
  // user all along (a resume from a token of another replica then goes on
  // without a snapshot; the first read only confirms it).
  if (!history_.floor()) return;
  const LoggedObservation* entry = history_.Latest(user);
  if (entry == nullptr) return;
  state.detector = ChangeDetector::Restore(entry->observation, entry->observed);
  state.version = entry->observation.version;
  state.known_since = entry->observation.known_since.value_or(entry->position);
  table_.IndexCredential(user, state.detector.last() ? state.detector.last()->id : "");
}

void PollingWatchHub::Linger(const std::string& user) {
  UserState& state = states_.at(user);
  state.lingering = ++linger_seq_;
  state.owed.clear();
  ++lingering_count_;
  lingering_.push_back({user, state.lingering, Now()});
}

void PollingWatchHub::PruneLingering() {
  const absl::Time now = Now();
  while (!lingering_.empty()) {
    const Left& left = lingering_.front();
    auto it = states_.find(left.user);
    if (it != states_.end() && it->second.lingering == left.seq) {
      if (lingering_count_ <= options_.history && now - left.since < options_.linger) return;
      states_.erase(it);
      --lingering_count_;
    }
    lingering_.pop_front();
  }
}

PromptResult PollingWatchHub::Prompt(const std::string& credential_id) {
  std::optional<std::string> user;
  {
    absl::MutexLock lock(&mu_);
    user = table_.UserOfCredential(credential_id);
  }
  if (!user) return PromptResult::kUnknownCredential;
  return poller_->PollNow(*user, Source::kAlert) ? PromptResult::kPrompted
                                                 : PromptResult::kCoalesced;
}

void PollingWatchHub::OnAlert(const CredentialAlert& alert) {
  if (!alert.leaf_user_id.empty()) {
    // A connect link completed: the user (if watched here) is read now.
    const bool watched = poller_->PollNow(alert.leaf_user_id, Source::kConnect);
    Log(LogLevel::kInfo, "connect link attached credentials",
        {{"leaf_user_id", alert.leaf_user_id}, {"watched", watched}});
    return;
  }
  const PromptResult result = Prompt(alert.credential_id);
  if (options_.observer != nullptr) options_.observer->OnAlert(result);
  // Replays do not log: a coalesced alert is a duplicate of one already
  // logged.
  if (result != PromptResult::kCoalesced) {
    Log(LogLevel::kInfo, "Leaf alert received",
        {{"type", alert.event},
         {"status", alert.status},
         {"watched", result == PromptResult::kPrompted}});
  }
}

void PollingWatchHub::Shutdown(const absl::Status& status) {
  std::vector<Delivery> deliveries;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (WatchId id : table_.ids()) {
      Watcher* watcher = watchers_.at(id);
      Detach(id);
      // Pinned: the watcher's own Unsubscribe (on its way out) waits for
      // its OnEnd, so it is still alive when it runs.
      Pin(id, watcher, status, deliveries);
    }
    ReportCounts();
  }
  Run(deliveries);
  ApplyPollOps();
}

void PollingWatchHub::ReportCounts() {
  if (options_.observer != nullptr) options_.observer->OnCounts(table_.streams(), table_.users());
}

int PollingWatchHub::streams() const {
  absl::MutexLock lock(&mu_);
  return table_.streams();
}

int PollingWatchHub::users() const {
  absl::MutexLock lock(&mu_);
  return table_.users();
}

}  // namespace leafsvc::watch
