// The rows of CreateConnectLink and GetConnectLink (method_table.h): the
// edge's side of connect links. The flow itself is server/connect/; a row
// only validates, asks connect::ConnectLinks and maps the link.
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "google/protobuf/util/time_util.h"
#include "google/rpc/status.pb.h"
#include "server/edge/grpc_status.h"
#include "server/edge/method_table.h"
#include "server/errors/reasons.h"
#include "server/ids/leaf_user_id.h"

namespace leafsvc::methods {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  *out = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros);
}

void ToProto(const connect::ConnectLink& link, const connect::ConnectLinks& links, absl::Time now,
             v1::ConnectLink* out) {
  out->set_name("connectLinks/" + link.id);
  out->set_leaf_user_id(link.leaf_user_id);
  out->set_url(links.UrlOf(link));
  const connect::LinkState state = link.StateAt(now);
  out->set_state(static_cast<v1::ConnectLink::State>(static_cast<int>(state)));
  SetTime(link.create_time, out->mutable_create_time());
  SetTime(link.expire_time, out->mutable_expire_time());
  SetTime(link.update_time, out->mutable_update_time());
  out->set_return_url(link.return_url);
  if ((state == connect::LinkState::kDenied || state == connect::LinkState::kFailed) &&
      !link.error_reason.empty()) {
    const Reason* reason = FindReason(link.error_reason);
    if (reason == nullptr) reason = &reasons::kAgfinitiUnavailable;
    StatusDetails details;
    details.metadata["connect_link"] = link.id;
    const absl::Status status = MakeError(*reason, link.error_message, details);
    out->mutable_error()->ParseFromString(ToGrpcStatus(status).error_details());
  }
  if (state == connect::LinkState::kConnected) out->set_credentials_id(link.credentials_id);
}

absl::Status NotConfigured() { return MakeError(reasons::kConnectNotConfigured); }

std::string LinkUser(const v1::CreateConnectLinkRequest& request) {
  return CanonicalLeafUserId(request.leaf_user_id());
}

UnaryMethod<v1::CreateConnectLinkRequest, v1::ConnectLink, connect::ConnectLink>
MakeCreateConnectLink() {
  UnaryMethod<v1::CreateConnectLinkRequest, v1::ConnectLink, connect::ConnectLink> m;
  m.name = "CreateConnectLink";
  m.leaf_user = &LinkUser;
  m.validate = [](const v1::CreateConnectLinkRequest& request, const MethodEnv&) {
    return Validate(request);
  };
  m.start = [](const MethodEnv& env, const v1::CreateConnectLinkRequest& request, const CallScope&,
               auto done) -> std::shared_ptr<leaf::Cancellable> {
    if (env.connect == nullptr) {
      done(NotConfigured());
      return nullptr;
    }
    std::optional<absl::Duration> ttl;
    if (request.has_ttl()) {
      ttl = absl::Seconds(request.ttl().seconds()) + absl::Nanoseconds(request.ttl().nanos());
    }
    env.connect->CreateLink(LinkUser(request), request.return_url(), ttl, std::move(done));
    return nullptr;
  };
  m.respond = [](const MethodEnv& env, const v1::CreateConnectLinkRequest&,
                 connect::ConnectLink link, v1::ConnectLink* response) {
    ToProto(link, *env.connect, absl::Now(), response);
    return absl::OkStatus();
  };
  return m;
}

UnaryMethod<v1::GetConnectLinkRequest, v1::ConnectLink, connect::ConnectLink> MakeGetConnectLink() {
  UnaryMethod<v1::GetConnectLinkRequest, v1::ConnectLink, connect::ConnectLink> m;
  m.name = "GetConnectLink";
  m.validate = [](const v1::GetConnectLinkRequest& request, const MethodEnv&) {
    return Validate(request);
  };
  m.start = [](const MethodEnv& env, const v1::GetConnectLinkRequest& request, const CallScope&,
               auto done) -> std::shared_ptr<leaf::Cancellable> {
    if (env.connect == nullptr) {
      done(NotConfigured());
      return nullptr;
    }
    env.connect->GetLink(ConnectLinkIdOf(request.name()), std::move(done));
    return nullptr;
  };
  m.respond = [](const MethodEnv& env, const v1::GetConnectLinkRequest&, connect::ConnectLink link,
                 v1::ConnectLink* response) {
    ToProto(link, *env.connect, absl::Now(), response);
    return absl::OkStatus();
  };
  return m;
}

}  // namespace

const UnaryMethod<v1::CreateConnectLinkRequest, v1::ConnectLink, connect::ConnectLink>&
CreateConnectLink() {
  static const auto* const row = new auto(MakeCreateConnectLink());
  return *row;
}

const UnaryMethod<v1::GetConnectLinkRequest, v1::ConnectLink, connect::ConnectLink>&
GetConnectLink() {
  static const auto* const row = new auto(MakeGetConnectLink());
  return *row;
}

}  // namespace leafsvc::methods
