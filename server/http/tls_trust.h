// Which certificate authorities a CurlHttpClient trusts for https, and how
// that is applied to each easy handle. Peers and host names are always
// verified; only the set of trusted CAs varies.
#ifndef SERVER_HTTP_TLS_TRUST_H_
#define SERVER_HTTP_TLS_TRUST_H_

#include <curl/curl.h>
#include <openssl/x509.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace leafsvc::http {

class TlsTrust {
 public:
  enum class Mode {
    // curl's default CA store only (no ca_file).
    kSystem,
    // The default store plus ca_file's certificates, added to each new
    // connection's store by CURLOPT_SSL_CTX_FUNCTION.
    kSystemPlusCaFile,
    // ca_file as CURLOPT_CAINFO, which replaces the default store: for TLS
    // backends other than OpenSSL, or when the default store is missing.
    kCaFileOnly,
  };

  // Trust for `ca_file` (empty: the system store only). Reads the PEM bundle
  // once; fails with INVALID_ARGUMENT if it is unreadable or holds no
  // certificate. Needs curl_global_init to have run.
  static absl::StatusOr<std::unique_ptr<TlsTrust>> Create(const std::string& ca_file);
  // As above, with the choice between kSystemPlusCaFile and kCaFileOnly made
  // by the caller (tests cover both on any machine this way).
  static absl::StatusOr<std::unique_ptr<TlsTrust>> Create(const std::string& ca_file,
                                                          bool extend_default_store);

  // Whether ca_file can be added on top of curl's default CA store: needs the
  // OpenSSL backend (for CURLOPT_SSL_CTX_FUNCTION) and a default store that
  // exists (else curl fails every handshake before our callback runs).
  static bool CanExtendDefaultStore();

  TlsTrust(const TlsTrust&) = delete;
  TlsTrust& operator=(const TlsTrust&) = delete;
  ~TlsTrust();

  Mode mode() const { return mode_; }
  std::size_t ca_file_certificates() const { return certs_.size(); }

  // Sets the verification and CA options on `easy` (after curl_easy_reset).
  // This object must outlive every transfer on `easy`: curl calls back into
  // it for each new connection.
  CURLcode ApplyTo(CURL* easy) const;

  // CURLOPT_SSL_CTX_FUNCTION, with `self` the TlsTrust. Runs on the transfer's
  // thread for each new TLS connection, after curl loaded the default CA
  // store into `ssl_ctx`. Public for tests.
  static CURLcode AddToContext(CURL* easy, void* ssl_ctx, void* self);

 private:
  TlsTrust() = default;
  absl::Status Load(const std::string& path);

  Mode mode_ = Mode::kSystem;
  std::string ca_file_;
  std::vector<X509*> certs_;  // Owned.
};

}  // namespace leafsvc::http

#endif  // SERVER_HTTP_TLS_TRUST_H_
