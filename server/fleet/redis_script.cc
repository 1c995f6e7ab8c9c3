#include "server/fleet/redis_script.h"

#include <atomic>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace leafsvc::fleet {

struct RedisScript::State {
  RedisClient* client;
  std::string source;
  std::string what;
  std::atomic<std::int64_t> loads{0};
  absl::Mutex mu;
  std::string sha ABSL_GUARDED_BY(mu);  // empty: not loaded yet

  std::string Sha() {
    absl::MutexLock lock(&mu);
    return sha;
  }
};

namespace {

using StatePtr = std::shared_ptr<RedisScript::State>;

void Run(const StatePtr& st, std::vector<std::string> argv_tail, bool may_reload,
         RedisClient::Done done);

// SCRIPT LOAD, then the EVALSHA again (once).
void LoadThenRun(const StatePtr& st, std::vector<std::string> argv_tail, RedisClient::Done done) {
  st->client->Command({"SCRIPT", "LOAD", st->source},
                      [st, argv_tail = std::move(argv_tail),
                       done = std::move(done)](absl::StatusOr<RedisReply> r) mutable {
                        if (!r.ok()) return done(r.status());
                        if (r->type != RedisReply::Type::kString || r->str.empty()) {
                          return done(absl::InternalError(
                              absl::StrCat("Redis refused ", st->what, ": ", r->DebugString())));
                        }
                        st->loads.fetch_add(1);
                        {
                          absl::MutexLock lock(&st->mu);
                          st->sha = r->str;
                        }
                        Run(st, std::move(argv_tail), /*may_reload=*/false, std::move(done));
                      });
}

// argv_tail: numkeys, keys..., args...
void Run(const StatePtr& st, std::vector<std::string> argv_tail, bool may_reload,
         RedisClient::Done done) {
  std::string sha = st->Sha();
  if (sha.empty()) return LoadThenRun(st, std::move(argv_tail), std::move(done));
  std::vector<std::string> argv = {"EVALSHA", std::move(sha)};
  argv.insert(argv.end(), argv_tail.begin(), argv_tail.end());
  st->client->Command(
      std::move(argv), [st, argv_tail = std::move(argv_tail), may_reload,
                        done = std::move(done)](absl::StatusOr<RedisReply> r) mutable {
        if (r.ok() && r->is_error() && absl::StartsWith(r->str, "NOSCRIPT") && may_reload) {
          return LoadThenRun(st, std::move(argv_tail), std::move(done));
        }
        if (r.ok() && r->is_error()) {
          return done(absl::InternalError(absl::StrCat(st->what, " failed: ", r->str)));
        }
        done(std::move(r));
      });
}

}  // namespace

RedisScript::RedisScript(RedisClient* client, std::string source, std::string what)
    : state_(std::make_shared<State>()) {
  state_->client = client;
  state_->source = std::move(source);
  state_->what = std::move(what);
}

void RedisScript::Eval(std::vector<std::string> keys, std::vector<std::string> args,
                       RedisClient::Done done) const {
  std::vector<std::string> tail;
  tail.reserve(1 + keys.size() + args.size());
  tail.push_back(absl::StrCat(keys.size()));
  for (std::string& k : keys) tail.push_back(std::move(k));
  for (std::string& a : args) tail.push_back(std::move(a));
  Run(state_, std::move(tail), /*may_reload=*/true, std::move(done));
}

std::int64_t RedisScript::loads() const { return state_->loads.load(); }

}  // namespace leafsvc::fleet
