#include "client/audit.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/audit_output.h"
#include "client/channel.h"
#include "client/error_output.h"
#include "client/progress.h"
#include "client/secrets.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace leafsvc::client {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr int kListPageSize = 500;
// Leaf users per page of the server's walk (its default page size): one
// Leaf request each, in the budget's view.
constexpr double kLeafUsersPerPage = 100;
// The initial metadata of bulk calls: Leaf requests a minute bulk work gets.
constexpr char kBudgetBulkPerMinuteKey[] = "x-leaf-budget-bulk-per-minute";
constexpr char kRateLimitedReason[] = "LEAF_RATE_LIMITED";
// Waiting for the budget: RetryInfo's delay, this without one, never longer
// than kMaxWait (a server's odd answer must not park the audit for hours),
// never shorter than kMinWait (no busy loop on a zero delay).
constexpr absl::Duration kDefaultWait = absl::Seconds(2);
constexpr absl::Duration kMaxWait = absl::Seconds(60);
constexpr absl::Duration kMinWait = absl::Milliseconds(100);
// Rounds in a row that read none of the deferred users before giving up.
constexpr int kMaxRoundsWithoutProgress = 2;

// The wait a refusal asks for, when `status` is one by Leaf's request budget
// (RESOURCE_EXHAUSTED, reason LEAF_RATE_LIMITED); nullopt otherwise.
std::optional<absl::Duration> RateLimitedWait(const google::rpc::Status& status) {
  if (status.code() != static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED)) return std::nullopt;
  bool rate_limited = false;
  absl::Duration wait = kDefaultWait;
  for (const auto& any : status.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&info)) {
      rate_limited = rate_limited || info.reason() == kRateLimitedReason;
    } else if (any.UnpackTo(&retry)) {
      wait = absl::Seconds(retry.retry_delay().seconds()) +
             absl::Nanoseconds(retry.retry_delay().nanos());
    }
  }
  if (!rate_limited) return std::nullopt;
  return std::clamp(wait, kMinWait, kMaxWait);
}

std::optional<absl::Duration> RateLimitedWait(const v1::ErrorStatus& error) {
  google::rpc::Status status;
  status.ParseFromString(error.SerializeAsString());  // wire-compatible
  return RateLimitedWait(status);
}

// A failed call's google.rpc.Status as an ErrorStatus (its code included).
v1::ErrorStatus ErrorOf(const grpc::Status& status) {
  v1::ErrorStatus error;
  error.ParseFromString(status.error_details());  // a google.rpc.Status
  error.set_code(status.error_code());
  return error;
}

class Audit {
 public:
  Audit(const Invocation& inv, v1::AgLeaderCredentials::Stub& stub, std::ostream& out,
        std::ostream& err, bool terminal, AuditDeps deps)
      : inv_(inv),
        stub_(stub),
        out_(out),
        err_(err),
        format_(inv.options.json ? AuditFormat::kJsonLines
                : inv.audit.csv  ? AuditFormat::kCsv
                                 : AuditFormat::kTable),
        sleep_(deps.sleep ? std::move(deps.sleep) : [](absl::Duration d) { absl::SleepFor(d); }),
        progress_(err, ProgressMode(inv.audit.progress, terminal), absl::Seconds(5),
                  std::move(deps.now)) {}

  int Run() {
    out_ << AuditHeader(format_, inv_.audit.links);
    if (inv_.audit.all_users) {
      ListAll();
    } else {
      progress_.SetTotal(static_cast<int64_t>(inv_.audit.users.size()));
      BatchAll();
    }
    progress_.Finish();
    std::string summary = FormatAuditSummary(counts_);
    if (inv_.audit.links) {
      absl::StrAppend(&summary, "  ", links_created_, " connect links created, ", links_failed_,
                      " could not be created\n");
    }
    if (read_after_waiting_ > 0) {
      absl::StrAppend(&summary, "  ", read_after_waiting_,
                      " users read after waiting for Leaf's budget\n");
    }
    (format_ == AuditFormat::kTable ? out_ : err_) << summary;
    out_.flush();
    if (failed_ || counts_["ERROR"] > 0) return kExitRpcError;
    for (const char* s : {"UNAUTHENTICATED", "MISSING_PERMISSION"}) {
      if (counts_[s] > 0) return kExitNeedsReauthorization;
    }
    return kExitOk;
  }

 private:
  // A user the budget deferred, with what to print if it stays so.
  struct Deferred {
    size_t index;  // into inv_.audit.users
    v1::ErrorStatus error;
  };
  // What one pass over users to ask left to do.
  struct Round {
    std::vector<Deferred> deferred;
    std::vector<grpc::Status> refused_calls;  // whole chunks the budget refused
    absl::Duration wait = absl::ZeroDuration();
    int64_t read = 0;
  };

  static Progress::Mode ProgressMode(AuditOptions::Progress p, bool terminal) {
    switch (p) {
      case AuditOptions::Progress::kBar:
        return Progress::Mode::kBar;
      case AuditOptions::Progress::kPlain:
        return Progress::Mode::kPlain;
      case AuditOptions::Progress::kNone:
        return Progress::Mode::kNone;
      case AuditOptions::Progress::kAuto:
        break;
    }
    return terminal ? Progress::Mode::kBar : Progress::Mode::kPlain;
  }

  void Emit(AuditRow row) {
    ++counts_[row.status];
    if (inv_.audit.links && NeedsReauthorization(row)) AddLink(&row);
    // Hints only reach a row; redaction still guards against a secret of
    // the command line (the API key) turning up in an id or a reason.
    out_ << Redact(FormatAuditRow(row, format_, inv_.audit.links), inv_.secrets);
  }

  // audit --links: one CreateConnectLink for the row's user. A failure
  // (the server has no AgLeader application configured, a refused
  // return_url, ...) is the row's, not the audit's: the other growers
  // still get their links, and the exit code stays that of the audit.
  void AddLink(AuditRow* row) {
    v1::CreateConnectLinkRequest request = inv_.audit.links_request;
    request.set_leaf_user_id(row->leaf_user_id);
    grpc::ClientContext context;
    PrepareContext(inv_.options, &context);
    v1::ConnectLink link;
    grpc::Status status = stub_.CreateConnectLink(&context, request, &link);
    if (!status.ok()) {
      ++links_failed_;
      google::rpc::Status details;
      details.ParseFromString(status.error_details());
      for (const auto& any : details.details()) {
        google::rpc::ErrorInfo info;
        if (any.UnpackTo(&info) && !info.reason().empty()) {
          row->connect_link_error = info.reason();
          return;
        }
      }
      row->connect_link_error = StatusCodeName(status.error_code());
      return;
    }
    ++links_created_;
    row->connect_link = link.url();
    row->connect_link_name = link.name();
  }

  void Fail(const grpc::Status& status) {
    failed_ = true;
    err_ << "\n" << Redact(FormatError(status), inv_.secrets);
  }

  // The budget the server announced with this call (none: unlimited).
  void NoteBudget(const grpc::ClientContext& context, const grpc::Status& status) {
    const auto& metadata = context.GetServerInitialMetadata();
    auto it = metadata.find(kBudgetBulkPerMinuteKey);
    int64_t per_minute = 0;
    if (it != metadata.end() &&
        absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &per_minute)) {
      progress_.SetBudget(per_minute);
    } else if (status.ok()) {
      progress_.SetBudget(std::nullopt);
    }
  }

  // Waits `wait` (shown in the progress) before asking `deferred` users again.
  void WaitForBudget(absl::Duration wait, int64_t deferred) {
    progress_.Waiting(wait, deferred);
    sleep_(wait);
    progress_.EndWaiting();
  }

  void ListAll() {
    v1::ListCredentialsRequest request;
    request.set_page_size(kListPageSize);
    int waits = 0;
    int refusals_in_a_row = 0;
    while (true) {
      grpc::ClientContext context;
      PrepareContext(inv_.options, &context);
      v1::ListCredentialsResponse page;
      grpc::Status status = stub_.ListCredentials(&context, request, &page);
      NoteBudget(context, status);
      if (!status.ok()) {
        // The budget had no token for the page in time: the same page again
        // after the delay, unless the rounds are spent or two re-asks in a
        // row read nothing either.
        std::optional<absl::Duration> wait = RateLimitedWait(ErrorOf(status));
        if (!wait || waits >= inv_.audit.max_rate_limited_waits ||
            refusals_in_a_row >= kMaxRoundsWithoutProgress) {
          return Fail(status);
        }
        ++refusals_in_a_row;
        ++waits;
        WaitForBudget(*wait, 0);
        continue;
      }
      refusals_in_a_row = 0;
      // No total: total_size counts Leaf users, and only those with
      // credentials come back, so it would never be reached. It does tell
      // how many pages of Leaf users the walk reads: the budget's ETA.
      if (page.total_size() > 0 && !walk_estimated_) {
        walk_estimated_ = true;
        progress_.SetBudgetRequestsTotal(std::ceil(page.total_size() / kLeafUsersPerPage));
      }
      for (const v1::Credentials& c : page.credentials()) Emit(RowFromCredentials(c));
      if (waits > 0) read_after_waiting_ += page.credentials_size();
      progress_.Advance(page.credentials_size());
      if (page.next_page_token().empty()) return;
      if (page.next_page_token() == request.page_token()) {
        return Fail(grpc::Status(grpc::StatusCode::INTERNAL,
                                 "the server returned the same page token again; stopping"));
      }
      request.set_page_token(page.next_page_token());
    }
  }

  // Asks for the users at `indices` in chunks; prints every result but the
  // budget's deferrals, which come back in the Round.
  Round AskRound(const std::vector<size_t>& indices, bool after_waiting) {
    const std::vector<std::string>& users = inv_.audit.users;
    const bool may_wait = inv_.audit.max_rate_limited_waits > 0;
    Round round;
    auto defer = [&](size_t index, const v1::ErrorStatus& error, absl::Duration wait) {
      round.deferred.push_back({index, error});
      round.wait = std::max(round.wait, wait);
    };
    for (size_t start = 0; start < indices.size(); start += inv_.audit.chunk_size) {
      const size_t end = std::min(indices.size(), start + inv_.audit.chunk_size);
      v1::BatchGetCredentialsRequest request;
      for (size_t i = start; i < end; ++i) request.add_leaf_user_ids(users[indices[i]]);
      grpc::ClientContext context;
      PrepareContext(inv_.options, &context);
      v1::BatchGetCredentialsResponse response;
      grpc::Status status = stub_.BatchGetCredentials(&context, request, &response);
      NoteBudget(context, status);
      int64_t printed = 0;
      if (!status.ok()) {
        const v1::ErrorStatus error = ErrorOf(status);
        std::optional<absl::Duration> wait = may_wait ? RateLimitedWait(error) : std::nullopt;
        if (wait) {
          round.refused_calls.push_back(status);
          for (size_t i = start; i < end; ++i) defer(indices[i], error, *wait);
        } else {
          // The chunk's users are reported as errors; the next chunks go on.
          Fail(status);
          for (size_t i = start; i < end; ++i) Emit(RowFromError(users[indices[i]], error));
          printed = static_cast<int64_t>(end - start);
        }
      } else {
        // One result per id, in the request's order.
        for (int r = 0; r < response.results_size(); ++r) {
          const v1::BatchGetCredentialsResult& result = response.results(r);
          std::optional<absl::Duration> wait;
          if (may_wait && result.has_error()) wait = RateLimitedWait(result.error());
          if (wait && start + r < end) {
            defer(indices[start + r], result.error(), *wait);
            continue;
          }
          Emit(result.has_credentials() ? RowFromCredentials(result.credentials())
                                        : RowFromError(result.leaf_user_id(), result.error()));
          ++printed;
        }
      }
      round.read += printed;
      if (after_waiting) read_after_waiting_ += printed;
      progress_.Advance(printed);
    }
    return round;
  }

  void BatchAll() {
    std::vector<size_t> ask(inv_.audit.users.size());
    std::iota(ask.begin(), ask.end(), 0);
    int waits = 0;
    int rounds_without_progress = 0;
    while (true) {
      Round round = AskRound(ask, waits > 0);
      if (round.deferred.empty()) return;
      if (waits > 0) rounds_without_progress = round.read == 0 ? rounds_without_progress + 1 : 0;
      if (waits >= inv_.audit.max_rate_limited_waits ||
          rounds_without_progress >= kMaxRoundsWithoutProgress) {
        return GiveUp(round);
      }
      ++waits;
      WaitForBudget(round.wait, static_cast<int64_t>(round.deferred.size()));
      ask.clear();
      for (const Deferred& d : round.deferred) ask.push_back(d.index);
    }
  }

  // Users still deferred are errors (LEAF_RATE_LIMITED), and refused calls
  // failures: the audit is incomplete.
  void GiveUp(const Round& round) {
    for (const grpc::Status& status : round.refused_calls) Fail(status);
    for (const Deferred& d : round.deferred) {
      Emit(RowFromError(inv_.audit.users[d.index], d.error));
    }
    progress_.Advance(static_cast<int64_t>(round.deferred.size()));
  }

  const Invocation& inv_;
  v1::AgLeaderCredentials::Stub& stub_;
  std::ostream& out_;
  std::ostream& err_;
  const AuditFormat format_;
  const std::function<void(absl::Duration)> sleep_;
  Progress progress_;
  std::map<std::string, int> counts_;
  bool failed_ = false;
  bool walk_estimated_ = false;
  int64_t read_after_waiting_ = 0;
  int64_t links_created_ = 0;
  int64_t links_failed_ = 0;
};

}  // namespace

int RunAudit(const Invocation& invocation, v1::AgLeaderCredentials::Stub& stub, std::ostream& out,
             std::ostream& err, bool err_is_terminal, AuditDeps deps) {
  return Audit(invocation, stub, out, err, err_is_terminal, std::move(deps)).Run();
}

}  // namespace leafsvc::client
