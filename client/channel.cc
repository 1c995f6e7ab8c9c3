#include "client/channel.h"

#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/flag_table.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace leafsvc::client {
namespace {

// client/service_config.json, compiled in.
constexpr char kDefaultServiceConfig[] =
#include "client/service_config.inc"
    ;

// Reads a PEM file named by --`flag` that must hold `marker` (e.g.
// "CERTIFICATE-----"): a wrong file fails here, with the flag's name, rather
// than as an obscure handshake error later.
absl::StatusOr<std::string> ReadPem(absl::string_view flag, const std::string& path,
                                    absl::string_view marker, absl::string_view what) {
  absl::StatusOr<std::string> pem = ReadFlagFile(flag, path);
  if (!pem.ok()) return pem.status();
  if (!absl::StrContains(*pem, "-----BEGIN ") || !absl::StrContains(*pem, marker)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": \"", path, "\" holds no PEM ", what));
  }
  return pem;
}

}  // namespace

absl::StatusOr<std::string> LoadServiceConfig(const std::string& path) {
  if (path.empty()) return std::string(kDefaultServiceConfig);
  if (path == "none") return std::string();
  absl::StatusOr<std::string> json = ReadFlagFile("service_config", path);
  if (!json.ok()) return json.status();
  google::protobuf::Struct parsed;
  auto status = google::protobuf::util::JsonStringToMessage(*json, &parsed);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--service_config: \"", path, "\" is not a JSON object: ", status.ToString()));
  }
  return json;
}

absl::Status LoadTlsFiles(TlsOptions* tls) {
  if (!tls->ca_file.empty() || !tls->cert_file.empty() || !tls->key_file.empty() ||
      !tls->server_name.empty()) {
    tls->enabled = true;
  }
  if (tls->cert_file.empty() != tls->key_file.empty()) {
    return absl::InvalidArgumentError("mutual TLS needs both --cert_file and --key_file");
  }
  if (!tls->ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadPem("ca_file", tls->ca_file, "CERTIFICATE-----", "certificate");
    if (!ca.ok()) return ca.status();
    tls->ca_pem = *std::move(ca);
  }
  if (!tls->cert_file.empty()) {
    absl::StatusOr<std::string> cert =
        ReadPem("cert_file", tls->cert_file, "CERTIFICATE-----", "certificate");
    if (!cert.ok()) return cert.status();
    tls->cert_pem = *std::move(cert);
    absl::StatusOr<std::string> key =
        ReadPem("key_file", tls->key_file, "PRIVATE KEY-----", "private key");
    if (!key.ok()) return key.status();
    tls->key_pem = Secret(*std::move(key));
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const ClientOptions& options) {
  if (!options.tls.enabled) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.tls.ca_pem;  // empty: gRPC's default roots
  ssl.pem_cert_chain = options.tls.cert_pem;
  ssl.pem_private_key = options.tls.key_pem.Reveal();
  return grpc::SslCredentials(ssl);
}

grpc::ChannelArguments MakeChannelArguments(const ClientOptions& options) {
  grpc::ChannelArguments args;
  if (!options.service_config_json.empty()) {
    args.SetServiceConfigJSON(options.service_config_json);
    args.SetInt("grpc.enable_retries", 1);
  }
  if (options.tls.enabled && !options.tls.server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls.server_name);
  }
  return args;
}

std::shared_ptr<grpc::Channel> MakeChannel(const ClientOptions& options) {
  return grpc::CreateCustomChannel(options.server, MakeChannelCredentials(options),
                                   MakeChannelArguments(options));
}

void ApplyTimeout(const ClientOptions& options, grpc::ClientContext* context) {
  if (options.timeout <= absl::ZeroDuration() || options.timeout == absl::InfiniteDuration()) {
    return;
  }
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::duration_cast<std::chrono::system_clock::duration>(
                            absl::ToChronoNanoseconds(options.timeout)));
}

void ApplyApiKey(const ClientOptions& options, grpc::ClientContext* context) {
  if (options.api_key.empty()) return;
  context->AddMetadata("authorization", "Bearer " + options.api_key.Reveal());
}

void PrepareContext(const ClientOptions& options, grpc::ClientContext* context) {
  ApplyTimeout(options, context);
  ApplyApiKey(options, context);
}

}  // namespace leafsvc::client
