#include "client/audit.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/audit_output.h"
#include "client/channel.h"
#include "client/error_output.h"
#include "client/progress.h"
#include "client/secrets.h"

namespace leafsvc::client {
namespace {

namespace v1 = ::leaf::agleader::v1;

constexpr int kListPageSize = 500;

class Audit {
 public:
  Audit(const Invocation& inv, v1::AgLeaderCredentials::Stub& stub, std::ostream& out,
        std::ostream& err, bool terminal)
      : inv_(inv),
        stub_(stub),
        out_(out),
        err_(err),
        format_(inv.options.json ? AuditFormat::kJsonLines
                : inv.audit.csv  ? AuditFormat::kCsv
                                 : AuditFormat::kTable),
        progress_(err, ProgressMode(inv.audit.progress, terminal)) {}

  int Run() {
    out_ << AuditHeader(format_);
    if (inv_.audit.all_users) {
      ListAll();
    } else {
      progress_.SetTotal(static_cast<int64_t>(inv_.audit.users.size()));
      BatchAll();
    }
    progress_.Finish();
    const std::string summary = FormatAuditSummary(counts_);
    (format_ == AuditFormat::kTable ? out_ : err_) << summary;
    out_.flush();
    if (failed_ || counts_["ERROR"] > 0) return kExitRpcError;
    for (const char* s : {"UNAUTHENTICATED", "MISSING_PERMISSION"}) {
      if (counts_[s] > 0) return kExitNeedsReauthorization;
    }
    return kExitOk;
  }

 private:
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

  void Emit(const AuditRow& row) {
    ++counts_[row.status];
    // Hints only reach a row; redaction still guards against a secret of
    // the command line (the API key) turning up in an id or a reason.
    out_ << Redact(FormatAuditRow(row, format_), inv_.secrets);
  }

  void Fail(const grpc::Status& status) {
    failed_ = true;
    err_ << "\n" << Redact(FormatError(status), inv_.secrets);
  }

  void ListAll() {
    v1::ListCredentialsRequest request;
    request.set_page_size(kListPageSize);
    while (true) {
      grpc::ClientContext context;
      PrepareContext(inv_.options, &context);
      v1::ListCredentialsResponse page;
      grpc::Status status = stub_.ListCredentials(&context, request, &page);
      if (!status.ok()) return Fail(status);
      // No total: total_size counts Leaf users, and only those with
      // credentials come back, so it would never be reached.
      for (const v1::Credentials& c : page.credentials()) Emit(RowFromCredentials(c));
      progress_.Advance(page.credentials_size());
      if (page.next_page_token().empty()) return;
      if (page.next_page_token() == request.page_token()) {
        return Fail(grpc::Status(grpc::StatusCode::INTERNAL,
                                 "the server returned the same page token again; stopping"));
      }
      request.set_page_token(page.next_page_token());
    }
  }

  void BatchAll() {
    const std::vector<std::string>& users = inv_.audit.users;
    for (size_t start = 0; start < users.size(); start += inv_.audit.chunk_size) {
      const size_t end = std::min(users.size(), start + inv_.audit.chunk_size);
      v1::BatchGetCredentialsRequest request;
      for (size_t i = start; i < end; ++i) request.add_leaf_user_ids(users[i]);
      grpc::ClientContext context;
      PrepareContext(inv_.options, &context);
      v1::BatchGetCredentialsResponse response;
      grpc::Status status = stub_.BatchGetCredentials(&context, request, &response);
      if (!status.ok()) {
        // The chunk's users are reported as errors; the next chunks go on.
        Fail(status);
        v1::ErrorStatus error;
        error.ParseFromString(status.error_details());  // a google.rpc.Status
        error.set_code(status.error_code());
        for (size_t i = start; i < end; ++i) Emit(RowFromError(users[i], error));
      } else {
        for (const v1::BatchGetCredentialsResult& r : response.results()) {
          Emit(r.has_credentials() ? RowFromCredentials(r.credentials())
                                   : RowFromError(r.leaf_user_id(), r.error()));
        }
      }
      progress_.Advance(static_cast<int64_t>(end - start));
    }
  }

  const Invocation& inv_;
  v1::AgLeaderCredentials::Stub& stub_;
  std::ostream& out_;
  std::ostream& err_;
  const AuditFormat format_;
  Progress progress_;
  std::map<std::string, int> counts_;
  bool failed_ = false;
};

}  // namespace

int RunAudit(const Invocation& invocation, v1::AgLeaderCredentials::Stub& stub, std::ostream& out,
             std::ostream& err, bool err_is_terminal) {
  return Audit(invocation, stub, out, err, err_is_terminal).Run();
}

}  // namespace leafsvc::client
