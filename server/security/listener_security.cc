#include "server/security/listener_security.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/config/flag_file.h"
#include "server/observability/log.h"
#include "server/secrets/redact.h"
#include "server/security/api_keys.h"
#include "server/security/caller_auth.h"

namespace leafsvc {

namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

BioPtr MemoryBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// The PEM certificates in `pem`, in order (empty when there are none).
std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio = MemoryBio(pem);
  while (bio != nullptr) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) break;
    certs.push_back(std::move(cert));
  }
  ERR_clear_error();  // the read that ended the loop left an error behind
  return certs;
}

// Refuses to ask for a passphrase (OpenSSL would prompt on the terminal).
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

absl::StatusOr<TlsMaterial> LoadTls(const ListenerSecurityOptions& o) {
  TlsMaterial tls;
  absl::StatusOr<std::string> cert = ReadFlagFile("tls_cert_file", o.tls_cert_file);
  if (!cert.ok()) return cert.status();
  std::vector<X509Ptr> chain = ReadCertificates(*cert);
  if (chain.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert_file: ", o.tls_cert_file, " holds no PEM certificate"));
  }
  tls.cert_chain = *std::move(cert);

  absl::StatusOr<std::string> key_pem = ReadFlagFile("tls_key_file", o.tls_key_file);
  if (!key_pem.ok()) return key_pem.status();
  Secret key_text(*std::move(key_pem));
  BioPtr bio = MemoryBio(key_text.Reveal());
  KeyPtr key(bio == nullptr ? nullptr
                            : PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key_file: ", o.tls_key_file,
                     " holds no PEM private key (or an encrypted one, which is not supported)"));
  }
  const bool matches = X509_check_private_key(chain.front().get(), key.get()) == 1;
  ERR_clear_error();
  if (!matches) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_key_file: ", o.tls_key_file,
        " is not the private key of the certificate in --tls_cert_file ", o.tls_cert_file));
  }
  tls.private_key = std::move(key_text);

  if (!o.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFlagFile("client_ca_file", o.client_ca_file);
    if (!ca.ok()) return ca.status();
    if (ReadCertificates(*ca).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--client_ca_file: ", o.client_ca_file, " holds no PEM certificate"));
    }
    tls.client_ca = *std::move(ca);
  }
  return tls;
}

absl::StatusOr<ApiKeySet> LoadApiKeys(const ListenerSecurityOptions& o) {
  std::vector<Secret> keys;
  if (!o.api_keys_file.empty()) {
    absl::StatusOr<std::string> text = ReadFlagFile("api_keys_file", o.api_keys_file);
    if (!text.ok()) return text.status();
    absl::StatusOr<std::vector<Secret>> from_file =
        ParseApiKeysFile(*text, absl::StrCat("--api_keys_file ", o.api_keys_file));
    if (!from_file.ok()) return from_file.status();
    keys = *std::move(from_file);
  }
  if (!o.api_keys.empty()) {
    absl::StatusOr<std::vector<Secret>> from_list =
        ParseApiKeyList(o.api_keys.Reveal(), "--api_keys");
    if (!from_list.ok()) return from_list.status();
    keys.insert(keys.end(), from_list->begin(), from_list->end());
  }
  for (const Secret& key : keys) RegisterProcessSecret(key.Reveal());  // redacted everywhere
  return ApiKeySet(keys);
}

struct Loaded {
  std::optional<TlsMaterial> tls;
  ApiKeySet keys;
};

absl::StatusOr<Loaded> Load(const ListenerSecurityOptions& o) {
  const bool has_cert = !o.tls_cert_file.empty();
  const bool has_key = !o.tls_key_file.empty();
  if (has_cert != has_key) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert_file and --tls_key_file must be set together (TLS needs both); ",
                     has_cert ? "--tls_key_file" : "--tls_cert_file", " is missing"));
  }
  if (!o.client_ca_file.empty() && !has_cert) {
    return absl::InvalidArgumentError(
        "--client_ca_file (mutual TLS) needs TLS: set --tls_cert_file and --tls_key_file too");
  }
  Loaded loaded;
  if (has_cert) {
    absl::StatusOr<TlsMaterial> tls = LoadTls(o);
    if (!tls.ok()) return tls.status();
    loaded.tls = *std::move(tls);
  }
  absl::StatusOr<ApiKeySet> keys = LoadApiKeys(o);
  if (!keys.ok()) return keys.status();
  loaded.keys = *std::move(keys);
  return loaded;
}

}  // namespace

void AddListenerSecurityFlags(FlagSet& f) {
  using T = FlagSet::Type;
  f.Add("tls_cert_file", T::kString, "",
        "PEM certificate chain of the gRPC listener; with --tls_key_file, callers must use TLS");
  f.Add("tls_key_file", T::kString, "",
        "PEM private key (unencrypted) of --tls_cert_file; keep it readable by the server only");
  f.Add("client_ca_file", T::kString, "",
        "PEM CA bundle: callers must present a client certificate it signed (mutual TLS; needs "
        "--tls_cert_file)");
  f.Add("api_keys_file", T::kString, "",
        "file of caller API keys, one per line (blank lines and # comments skipped); callers send "
        "metadata authorization: Bearer <key>");
  f.Add("api_keys", T::kString, "",
        "comma-separated caller API keys, added to --api_keys_file's (prefer the file or the "
        "environment variable)",
        /*secret=*/true);
  f.Add("protect_health_and_reflection", T::kBool, "false",
        "require an API key for grpc.health.v1.Health and server reflection too; off: they stay "
        "open for load balancers and grpcurl list");
}

absl::StatusOr<ListenerSecurityOptions> ReadListenerSecurityFlags(const FlagSet& f) {
  ListenerSecurityOptions o;
  o.tls_cert_file = f.GetString("tls_cert_file");
  o.tls_key_file = f.GetString("tls_key_file");
  o.client_ca_file = f.GetString("client_ca_file");
  o.api_keys_file = f.GetString("api_keys_file");
  o.api_keys = Secret(f.GetString("api_keys"));
  o.protect_health_and_reflection = f.GetBool("protect_health_and_reflection");
  absl::StatusOr<Loaded> loaded = Load(o);
  if (!loaded.ok()) return loaded.status();
  return o;
}

bool CallersUnauthenticated(const ListenerSecurityOptions& options) {
  return options.client_ca_file.empty() && options.api_keys_file.empty() &&
         options.api_keys.empty();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BuildServerCredentials(
    const ListenerSecurityOptions& options) {
  absl::StatusOr<Loaded> loaded = Load(options);
  if (!loaded.ok()) return loaded.status();
  const bool tls = loaded->tls.has_value();
  const bool mutual_tls = tls && !loaded->tls->client_ca.empty();
  const int key_count = static_cast<int>(loaded->keys.size());
  std::shared_ptr<const CallerAuthPolicy> policy;
  if (!loaded->keys.empty()) {
    policy = std::make_shared<CallerAuthPolicy>(std::move(loaded->keys),
                                                options.protect_health_and_reflection);
  }
  Log(LogLevel::kInfo, "listener security",
      {{"tls", tls},
       {"mutual_tls", mutual_tls},
       {"api_keys", key_count},
       {"health_and_reflection_need_key",
        policy != nullptr && options.protect_health_and_reflection}});
  return MakeListenerCredentials(loaded->tls, std::move(policy));
}

}  // namespace leafsvc
