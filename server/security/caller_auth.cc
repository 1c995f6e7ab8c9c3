#include "server/security/caller_auth.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "server/observability/log.h"

namespace leafsvc {

namespace {

constexpr char kWhatToSend[] = "send the metadata \"authorization: Bearer <your API key>\"";

absl::string_view View(const grpc_slice& slice) {
  return absl::string_view(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)),
                           GRPC_SLICE_LENGTH(slice));
}

// Names `key`'s connection by the key (kApiKeyIdProperty), once. The context
// is the connection's and its calls run on any thread: adding a property is
// not safe alongside another add, hence the lock, and once one is there
// nothing changes it (so handlers read it without one).
void RecordApiKey(grpc_auth_context* context, absl::string_view key) {
  if (context == nullptr) return;
  static absl::Mutex mu(absl::kConstInit);
  absl::MutexLock lock(&mu);
  grpc_auth_property_iterator it =
      grpc_auth_context_find_properties_by_name(context, kApiKeyIdProperty);
  if (grpc_auth_property_iterator_next(&it) != nullptr) return;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  const std::string id =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 8));
  grpc_auth_context_add_cstring_property(context, kApiKeyIdProperty, id.c_str());
}

// grpc_auth_metadata_processor::process. Runs on a gRPC transport thread for
// every call on the port; the policy is immutable, so no locking.
void ProcessAuthMetadata(void* state, grpc_auth_context* context, const grpc_metadata* md,
                         size_t num_md, grpc_process_auth_metadata_done_cb done, void* user_data) {
  const CallerAuthPolicy& policy = **static_cast<std::shared_ptr<const CallerAuthPolicy>*>(state);
  absl::string_view path;
  std::vector<absl::string_view> authorization;
  std::vector<grpc_metadata> consumed;
  for (size_t i = 0; i < num_md; ++i) {
    const absl::string_view key = View(md[i].key);
    if (key == ":path") {
      path = View(md[i].value);
    } else if (key == "authorization") {
      authorization.push_back(View(md[i].value));
      consumed.push_back(md[i]);
    }
  }
  absl::string_view accepted;
  const grpc::Status status = policy.Check(path, authorization, &accepted);
  if (status.ok()) {
    if (!accepted.empty()) RecordApiKey(context, accepted);
    // Consumed entries are removed from the call: handlers never see the key.
    done(user_data, consumed.data(), consumed.size(), nullptr, 0, GRPC_STATUS_OK, nullptr);
    return;
  }
  Log(LogLevel::kDebug, "call refused: caller not authenticated",
      {{"path", path}, {"reason", status.error_message()}});
  done(user_data, nullptr, 0, nullptr, 0, static_cast<grpc_status_code>(status.error_code()),
       status.error_message().c_str());
}

void DestroyAuthState(void* state) {
  delete static_cast<std::shared_ptr<const CallerAuthPolicy>*>(state);
}

class ListenerCredentials final : public grpc::ServerCredentials {
 public:
  ListenerCredentials(const std::optional<TlsMaterial>& tls,
                      std::shared_ptr<const CallerAuthPolicy> policy) {
    // The base class has initialised gRPC by now, as the core calls need.
    if (tls.has_value()) {
      grpc_ssl_pem_key_cert_pair pair{tls->private_key.Reveal().c_str(), tls->cert_chain.c_str()};
      const bool mutual = !tls->client_ca.empty();
      // The core copies the PEM strings.
      creds_ = grpc_ssl_server_credentials_create_ex(
          mutual ? tls->client_ca.c_str() : nullptr, &pair, 1,
          mutual ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                 : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
          nullptr);
    } else {
      creds_ = grpc_insecure_server_credentials_create();
    }
    if (policy != nullptr) {
      grpc_server_credentials_set_auth_metadata_processor(
          creds_, grpc_auth_metadata_processor{
                      &ProcessAuthMetadata, &DestroyAuthState,
                      new std::shared_ptr<const CallerAuthPolicy>(std::move(policy))});
    }
  }
  ~ListenerCredentials() override { grpc_server_credentials_release(creds_); }

  // Replacing the processor would silently drop the API key check.
  void SetAuthMetadataProcessor(
      const std::shared_ptr<grpc::AuthMetadataProcessor>& /*processor*/) override {
    Log(LogLevel::kError,
        "SetAuthMetadataProcessor on listener credentials: the API key check is installed "
        "when they are made and cannot be replaced");
    std::abort();
  }

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), creds_);
  }

  grpc_server_credentials* creds_ = nullptr;
};

}  // namespace

bool CallerAuthPolicy::IsExempt(absl::string_view path) const {
  if (protect_health_and_reflection_) return false;
  return absl::StartsWith(path, "/grpc.health.v1.Health/") ||
         absl::StartsWith(path, "/grpc.reflection.");
}

grpc::Status CallerAuthPolicy::Check(absl::string_view path,
                                     const std::vector<absl::string_view>& authorization,
                                     absl::string_view* accepted_key) const {
  if (IsExempt(path)) return grpc::Status::OK;
  if (authorization.empty()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        std::string("this server needs an API key: ") + kWhatToSend);
  }
  bool bearer = false;
  bool accepted = false;
  for (absl::string_view value : authorization) {
    const std::optional<absl::string_view> key = BearerKey(value);
    if (!key.has_value()) continue;
    bearer = true;
    // Every entry is checked (no early exit), each in constant time.
    if (keys_.Contains(*key) && !accepted) {
      accepted = true;
      if (accepted_key != nullptr) *accepted_key = *key;
    }
  }
  if (accepted) return grpc::Status::OK;
  if (!bearer) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        std::string("the authorization metadata is not of the form \"Bearer "
                                    "<key>\": ") +
                            kWhatToSend);
  }
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      std::string("API key not accepted: ") + kWhatToSend);
}

std::shared_ptr<grpc::ServerCredentials> MakeListenerCredentials(
    const std::optional<TlsMaterial>& tls, std::shared_ptr<const CallerAuthPolicy> policy) {
  return std::make_shared<ListenerCredentials>(tls, std::move(policy));
}

}  // namespace leafsvc
