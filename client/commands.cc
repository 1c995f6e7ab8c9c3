#include "client/commands.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "client/audit.h"
#include "client/channel.h"
#include "client/command_line.h"
#include "client/connect_output.h"
#include "client/error_output.h"
#include "client/json_output.h"
#include "client/qr.h"
#include "client/secrets.h"
#include "client/text_output.h"
#include "client/watch.h"
#include "google/protobuf/empty.pb.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"

namespace leafsvc::client {
namespace {

using ::leaf::agleader::v1::AgLeaderCredentials;
using ::leaf::agleader::v1::Credentials;
using ::leaf::agleader::v1::CredentialsView;
using ::leaf::agleader::v1::ListCredentialEventsResponse;

// Writes command results, scrubbing the secrets of the command line from
// everything except an explicitly requested full view.
class Printer {
 public:
  Printer(const Invocation& invocation, std::ostream& out, std::ostream& err)
      : invocation_(invocation), out_(out), err_(err) {}

  // Success output. `full_view`: the user asked for secret values.
  void Out(const std::string& text, bool full_view = false) {
    out_ << (full_view ? text : Redact(text, invocation_.secrets));
    out_.flush();
  }

  // An error report; returns the exit code.
  int Error(const grpc::Status& status) {
    err_ << Redact(FormatError(status) + FormatHint(status, invocation_.options),
                   invocation_.secrets);
    return kExitRpcError;
  }
  int Error(const absl::Status& status) {
    err_ << Redact(absl::StrCat("error: ", status.message(), "\n"), invocation_.secrets);
    return kExitRpcError;
  }

  // Secondary output (a QR code next to JSON): stderr, so that stdout
  // stays machine-readable.
  void Note(const std::string& text) {
    err_ << Redact(text, invocation_.secrets);
    err_.flush();
  }

  bool json() const { return invocation_.options.json; }

  // The message as JSON or as readable text.
  int Message(const google::protobuf::Message& message, const std::string& readable,
              bool full_view = false) {
    if (!invocation_.options.json) {
      Out(readable, full_view);
      return kExitOk;
    }
    absl::StatusOr<std::string> json = FormatJson(message);
    if (!json.ok()) return Error(json.status());
    Out(*json, full_view);
    return kExitOk;
  }

 private:
  const Invocation& invocation_;
  std::ostream& out_;
  std::ostream& err_;
};

bool IsFull(CredentialsView view) { return view == leaf::agleader::v1::CREDENTIALS_VIEW_FULL; }

// The outcome of a call that returns Credentials (get and create).
int PrintCredentials(const grpc::Status& status, const Credentials& response, CredentialsView view,
                     Printer& printer) {
  if (!status.ok()) return printer.Error(status);
  return printer.Message(response, FormatCredentials(response, view), IsFull(view));
}

int RunGet(const Invocation& inv, AgLeaderCredentials::Stub& stub, Printer& printer) {
  grpc::ClientContext context;
  PrepareContext(inv.options, &context);
  Credentials response;
  grpc::Status status = stub.GetCredentials(&context, inv.get_request, &response);
  return PrintCredentials(status, response, inv.get_request.view(), printer);
}

int RunCreate(const Invocation& inv, AgLeaderCredentials::Stub& stub, Printer& printer) {
  grpc::ClientContext context;
  PrepareContext(inv.options, &context);
  Credentials response;
  grpc::Status status = stub.CreateCredentials(&context, inv.create_request, &response);
  return PrintCredentials(status, response, inv.create_request.view(), printer);
}

int RunDelete(const Invocation& inv, AgLeaderCredentials::Stub& stub, Printer& printer) {
  grpc::ClientContext context;
  PrepareContext(inv.options, &context);
  google::protobuf::Empty response;
  grpc::Status status = stub.DeleteCredentials(&context, inv.delete_request, &response);
  if (!status.ok()) return printer.Error(status);
  return printer.Message(response, FormatDeleted(inv.delete_request.leaf_user_id()));
}

int RunEvents(const Invocation& inv, AgLeaderCredentials::Stub& stub, Printer& printer) {
  leaf::agleader::v1::ListCredentialEventsRequest request = inv.events_request;
  if (!inv.all_pages) {
    grpc::ClientContext context;
    PrepareContext(inv.options, &context);
    ListCredentialEventsResponse response;
    grpc::Status status = stub.ListCredentialEvents(&context, request, &response);
    if (!status.ok()) return printer.Error(status);
    return printer.Message(response, FormatEvents(response));
  }

  // --all: readable output is printed page by page; JSON is one response
  // holding every event.
  ListCredentialEventsResponse all;
  int printed = 0;
  while (true) {
    grpc::ClientContext context;
    PrepareContext(inv.options, &context);
    ListCredentialEventsResponse page;
    grpc::Status status = stub.ListCredentialEvents(&context, request, &page);
    if (!status.ok()) return printer.Error(status);
    if (inv.options.json) {
      for (auto& event : *page.mutable_events()) {
        *all.add_events() = std::move(event);
      }
    } else {
      std::string text;
      for (const auto& event : page.events()) text += FormatEvent(event);
      printed += page.events_size();
      printer.Out(text);
    }
    if (page.next_page_token().empty()) break;
    if (page.next_page_token() == request.page_token()) {
      return printer.Error(
          absl::InternalError("the server returned the same page token again; stopping"));
    }
    request.set_page_token(page.next_page_token());
  }
  if (inv.options.json) return printer.Message(all, "");
  if (printed == 0) printer.Out("no events\n");
  return kExitOk;
}

// The outcome of a call that returns a ConnectLink (connect and get-link),
// with the QR code of its URL after it when asked. A QR code that cannot be
// drawn is a warning: the link itself was made and printed.
int PrintConnectLink(const grpc::Status& status, const leaf::agleader::v1::ConnectLink& link,
                     bool qr, Printer& printer) {
  if (!status.ok()) return printer.Error(status);
  const int code = printer.Message(link, FormatConnectLink(link));
  if (code != kExitOk || !qr) return code;
  absl::StatusOr<std::string> drawn = RenderQr(link.url());
  if (!drawn.ok()) {
    printer.Note(absl::StrCat("warning: no QR code: ", drawn.status().message(), "\n"));
    return code;
  }
  const std::string text = absl::StrCat("\n", *drawn, "scan to open ", Printable(link.url()), "\n");
  if (printer.json()) {
    printer.Note(text);
  } else {
    printer.Out(text);
  }
  return code;
}

int RunConnect(const Invocation& inv, AgLeaderCredentials::Stub& stub, Printer& printer) {
  grpc::ClientContext context;
  PrepareContext(inv.options, &context);
  leaf::agleader::v1::ConnectLink link;
  grpc::Status status = stub.CreateConnectLink(&context, inv.connect_request, &link);
  return PrintConnectLink(status, link, inv.qr, printer);
}

int RunGetLink(const Invocation& inv, AgLeaderCredentials::Stub& stub, Printer& printer) {
  grpc::ClientContext context;
  PrepareContext(inv.options, &context);
  leaf::agleader::v1::ConnectLink link;
  grpc::Status status = stub.GetConnectLink(&context, inv.get_link_request, &link);
  return PrintConnectLink(status, link, inv.qr, printer);
}

}  // namespace

int Run(const Invocation& inv, std::ostream& out, std::ostream& err) {
  std::unique_ptr<AgLeaderCredentials::Stub> stub =
      AgLeaderCredentials::NewStub(MakeChannel(inv.options));
  Printer printer(inv, out, err);
  switch (inv.command) {
    case Command::kGet:
      return RunGet(inv, *stub, printer);
    case Command::kCreate:
      return RunCreate(inv, *stub, printer);
    case Command::kDelete:
      return RunDelete(inv, *stub, printer);
    case Command::kEvents:
      return RunEvents(inv, *stub, printer);
    case Command::kAudit:
      return RunAudit(inv, *stub, out, err, &err == &std::cerr && isatty(STDERR_FILENO) == 1);
    case Command::kWatch:
      return RunWatch(inv, *stub, out, err);
    case Command::kConnect:
      return RunConnect(inv, *stub, printer);
    case Command::kGetLink:
      return RunGetLink(inv, *stub, printer);
  }
  return kExitUsageError;
}

int RunCommandLine(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err) {
  ParseResult parsed = ParseCommandLine(argc, argv, in);
  switch (parsed.outcome) {
    case ParseResult::Outcome::kHelp:
      out << parsed.usage;
      return kExitOk;
    case ParseResult::Outcome::kUsageError:
      err << "error: " << parsed.message << "\n\n" << parsed.usage;
      return kExitUsageError;
    case ParseResult::Outcome::kRun:
      break;
  }
  return Run(parsed.invocation, out, err);
}

}  // namespace leafsvc::client
