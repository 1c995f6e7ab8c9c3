// agleader_client: a command-line client of leaf.agleader.v1.AgLeaderCredentials.
//
//   agleader_client [global flags] <get|create|delete|events> [command flags]
//
// Output goes to stdout (readable, or JSON with --json); errors go to stderr
// in readable form. Exit status: 0 success, 1 the call failed, 2 usage error.
// See client_lib.h for parsing and formatting, and --help for the flags.
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "client/client_lib.h"
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
  explicit Printer(const Invocation& invocation) : invocation_(invocation) {}

  // Success output on stdout. `full_view`: the user asked for secret values.
  void Out(const std::string& text, bool full_view = false) {
    std::cout << (full_view ? text : Redact(text, invocation_.secrets));
    std::cout.flush();
  }

  // An error report on stderr; returns the exit code.
  int Error(const grpc::Status& status) {
    std::cerr << Redact(FormatError(status), invocation_.secrets);
    return kExitRpcError;
  }
  int Error(const absl::Status& status) {
    std::cerr << Redact(absl::StrCat("error: ", status.message(), "\n"),
                        invocation_.secrets);
    return kExitRpcError;
  }

  // The message as JSON or as readable text.
  int Message(const google::protobuf::Message& message,
              const std::string& readable, bool full_view = false) {
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
};

bool IsFull(CredentialsView view) {
  return view == leaf::agleader::v1::CREDENTIALS_VIEW_FULL;
}

// The outcome of a call that returns Credentials (get and create).
int PrintCredentials(const grpc::Status& status, const Credentials& response,
                     CredentialsView view, Printer& printer) {
  if (!status.ok()) return printer.Error(status);
  return printer.Message(response, FormatCredentials(response, view),
                         IsFull(view));
}

int RunGet(const Invocation& inv, AgLeaderCredentials::Stub& stub,
           Printer& printer) {
  grpc::ClientContext context;
  ApplyTimeout(inv.options, &context);
  Credentials response;
  grpc::Status status =
      stub.GetCredentials(&context, inv.get_request, &response);
  return PrintCredentials(status, response, inv.get_request.view(), printer);
}

int RunCreate(const Invocation& inv, AgLeaderCredentials::Stub& stub,
              Printer& printer) {
  grpc::ClientContext context;
  ApplyTimeout(inv.options, &context);
  Credentials response;
  grpc::Status status =
      stub.CreateCredentials(&context, inv.create_request, &response);
  return PrintCredentials(status, response, inv.create_request.view(),
                          printer);
}

int RunDelete(const Invocation& inv, AgLeaderCredentials::Stub& stub,
              Printer& printer) {
  grpc::ClientContext context;
  ApplyTimeout(inv.options, &context);
  google::protobuf::Empty response;
  grpc::Status status =
      stub.DeleteCredentials(&context, inv.delete_request, &response);
  if (!status.ok()) return printer.Error(status);
  return printer.Message(response,
                         FormatDeleted(inv.delete_request.leaf_user_id()));
}

int RunEvents(const Invocation& inv, AgLeaderCredentials::Stub& stub,
              Printer& printer) {
  leaf::agleader::v1::ListCredentialEventsRequest request = inv.events_request;
  if (!inv.all_pages) {
    grpc::ClientContext context;
    ApplyTimeout(inv.options, &context);
    ListCredentialEventsResponse response;
    grpc::Status status =
        stub.ListCredentialEvents(&context, request, &response);
    if (!status.ok()) return printer.Error(status);
    return printer.Message(response, FormatEvents(response));
  }

  // --all: readable output is printed page by page; JSON is one response
  // holding every event.
  ListCredentialEventsResponse all;
  int printed = 0;
  while (true) {
    grpc::ClientContext context;
    ApplyTimeout(inv.options, &context);
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
      return printer.Error(absl::InternalError(
          "the server returned the same page token again; stopping"));
    }
    request.set_page_token(page.next_page_token());
  }
  if (inv.options.json) return printer.Message(all, "");
  if (printed == 0) printer.Out("no events\n");
  return kExitOk;
}

int Main(int argc, char** argv) {
  ParseResult parsed = ParseCommandLine(argc, argv, std::cin);
  switch (parsed.outcome) {
    case ParseResult::Outcome::kHelp:
      std::cout << parsed.usage;
      return kExitOk;
    case ParseResult::Outcome::kUsageError:
      std::cerr << "error: " << parsed.message << "\n\n" << parsed.usage;
      return kExitUsageError;
    case ParseResult::Outcome::kRun:
      break;
  }
  const Invocation& inv = parsed.invocation;
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      inv.options.server, MakeChannelCredentials(inv.options),
      MakeChannelArguments(inv.options));
  std::unique_ptr<AgLeaderCredentials::Stub> stub =
      AgLeaderCredentials::NewStub(channel);
  Printer printer(inv);
  switch (inv.command) {
    case Command::kGet: return RunGet(inv, *stub, printer);
    case Command::kCreate: return RunCreate(inv, *stub, printer);
    case Command::kDelete: return RunDelete(inv, *stub, printer);
    case Command::kEvents: return RunEvents(inv, *stub, printer);
  }
  return kExitUsageError;
}

}  // namespace
}  // namespace leafsvc::client

int main(int argc, char** argv) {
  return leafsvc::client::Main(argc, argv);
}
