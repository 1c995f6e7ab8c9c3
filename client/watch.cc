#include "client/watch.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/error_output.h"
#include "client/rewatch.h"
#include "client/secrets.h"
#include "client/text_output.h"
#include "google/protobuf/util/json_util.h"

namespace leafsvc::client {
namespace {

namespace v1 = ::leaf::agleader::v1;

std::string StatusOf(const v1::Credentials& c) {
  return c.leaf_status().empty() ? "-" : Printable(c.leaf_status());
}

absl::string_view KindName(v1::ChangeKind kind) {
  absl::string_view name = v1::ChangeKind_Name(kind);
  absl::ConsumePrefix(&name, "CHANGE_KIND_");
  return name;
}

absl::string_view SourceName(v1::ChangeSource source) {
  switch (source) {
    case v1::CHANGE_SOURCE_INITIAL:
      return "initial";
    case v1::CHANGE_SOURCE_POLL:
      return "poll";
    case v1::CHANGE_SOURCE_LEAF_ALERT:
      return "leaf alert";
    default:
      return "unknown";
  }
}

}  // namespace

std::string FormatChange(const v1::CredentialsChange& change) {
  const absl::Time t = absl::FromUnixSeconds(change.observe_time().seconds()) +
                       absl::Nanoseconds(change.observe_time().nanos());
  std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()), " ",
                   Printable(change.leaf_user_id()), " ", KindName(change.kind()));
  if (change.kind() == v1::CHANGE_KIND_ERROR) {
    absl::StrAppend(&line, " ", Printable(change.error().message()));
  } else if (change.has_previous() && change.has_current()) {
    absl::StrAppend(&line, " ", StatusOf(change.previous()), " -> ", StatusOf(change.current()));
    if (change.previous().id() != change.current().id()) {
      absl::StrAppend(&line, " id ", Printable(change.previous().id()), " -> ",
                      Printable(change.current().id()));
    } else {
      absl::StrAppend(&line, " id=", Printable(change.current().id()));
    }
  } else if (change.has_current()) {
    absl::StrAppend(&line, " ", StatusOf(change.current()),
                    " id=", Printable(change.current().id()));
  } else if (change.has_previous()) {
    absl::StrAppend(&line, " (was ", StatusOf(change.previous()),
                    " id=", Printable(change.previous().id()), ")");
  } else {
    absl::StrAppend(&line, " no credentials");
  }
  absl::StrAppend(&line, " (", SourceName(change.source()), ")\n");
  return line;
}

int RunWatch(const Invocation& inv, v1::AgLeaderCredentials::Stub& stub, std::ostream& out,
             std::ostream& err, WatchDeps deps) {
  if (!deps.sleep) deps.sleep = [](absl::Duration d) { absl::SleepFor(d); };
  if (!deps.now) deps.now = [] { return absl::Now(); };
  if (!deps.random) {
    deps.random = [gen = std::make_shared<absl::BitGen>()] {
      return absl::Uniform(*gen, 0.0, 1.0);
    };
  }
  RewatchOptions options;
  options.max_attempts = inv.max_rewatch_attempts;
  Rewatcher rewatcher(options, deps.random);
  const bool full = inv.watch_request.view() == v1::CREDENTIALS_VIEW_FULL;
  google::protobuf::util::JsonPrintOptions json;
  json.add_whitespace = false;  // one object per line
  // Carries the resume token of the last change into the next stream.
  v1::WatchCredentialsRequest request = inv.watch_request;
  while (true) {
    grpc::ClientContext context;
    PrepareContext(inv.options, &context);
    const absl::Time started = deps.now();
    std::unique_ptr<grpc::ClientReader<v1::CredentialsChange>> reader =
        stub.WatchCredentials(&context, request);
    v1::CredentialsChange change;
    while (reader->Read(&change)) {
      rewatcher.OnChange();
      // A server without resume support sends none: keep the last one.
      if (!change.resume_token().empty()) request.set_resume_token(change.resume_token());
      std::string text;
      if (inv.options.json) {
        if (!google::protobuf::util::MessageToJsonString(change, &text, json).ok()) continue;
        text.push_back('\n');
      } else {
        text = FormatChange(change);
      }
      out << (full ? text : Redact(text, inv.secrets));
      out.flush();
    }
    grpc::Status status = reader->Finish();
    if (status.ok()) return kExitOk;
    std::optional<absl::Duration> delay = rewatcher.OnEnd(status, deps.now() - started);
    if (!delay.has_value()) {
      err << Redact(FormatError(status) + FormatHint(status, inv.options), inv.secrets);
      return kExitRpcError;
    }
    err << Redact(absl::StrCat("watch: the stream ended (", StatusCodeName(status.error_code()),
                               ": ", Printable(status.error_message()), "); watching again in ",
                               absl::FormatDuration(*delay),
                               request.resume_token().empty() ? "" : " from the last change",
                               " (attempt ", rewatcher.attempts(), ")\n"),
                  inv.secrets);
    err.flush();
    deps.sleep(*delay);
  }
}

}  // namespace leafsvc::client
