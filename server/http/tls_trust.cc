#include "server/http/tls_trust.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace leafsvc::http {

absl::StatusOr<std::unique_ptr<TlsTrust>> TlsTrust::Create(const std::string& ca_file) {
  // Asked only when there is a ca_file, as the choice is moot otherwise.
  return Create(ca_file, !ca_file.empty() && CanExtendDefaultStore());
}

absl::StatusOr<std::unique_ptr<TlsTrust>> TlsTrust::Create(const std::string& ca_file,
                                                           bool extend_default_store) {
  std::unique_ptr<TlsTrust> trust(new TlsTrust());
  if (ca_file.empty()) return trust;
  if (absl::Status s = trust->Load(ca_file); !s.ok()) return s;
  trust->ca_file_ = ca_file;
  trust->mode_ = extend_default_store ? Mode::kSystemPlusCaFile : Mode::kCaFileOnly;
  return trust;
}

bool TlsTrust::CanExtendDefaultStore() {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if (info == nullptr || info->ssl_version == nullptr ||
      !absl::StartsWith(info->ssl_version, "OpenSSL")) {
    return false;
  }
  auto readable = [](const char* path) { return path != nullptr && access(path, R_OK) == 0; };
  return readable(info->cainfo) || readable(info->capath);
}

TlsTrust::~TlsTrust() {
  for (X509* cert : certs_) X509_free(cert);
}

absl::Status TlsTrust::Load(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("cannot read CA file ", path));
  }
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    certs_.push_back(cert);
  }
  ERR_clear_error();  // The loop ends on a "no start line" error.
  BIO_free(bio);
  if (certs_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("CA file ", path, " holds no PEM certificate"));
  }
  return absl::OkStatus();
}

CURLcode TlsTrust::ApplyTo(CURL* easy) const {
  CURLcode rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (rc != CURLE_OK) return rc;
  switch (mode_) {
    case Mode::kSystem:
      return CURLE_OK;
    case Mode::kSystemPlusCaFile:
      rc = curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, &TlsTrust::AddToContext);
      if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA,
                              static_cast<void*>(const_cast<TlsTrust*>(this)));
      }
      return rc;
    case Mode::kCaFileOnly:
      return curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file_.c_str());
  }
  return CURLE_OK;
}

CURLcode TlsTrust::AddToContext(CURL* /*easy*/, void* ssl_ctx, void* self) {
  X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
  if (store == nullptr) return CURLE_SSL_CERTPROBLEM;
  for (X509* cert : static_cast<const TlsTrust*>(self)->certs_) {
    // Fails harmlessly if the certificate is already there (curl may share
    // one cached store between connections).
    X509_STORE_add_cert(store, cert);
  }
  ERR_clear_error();
  return CURLE_OK;
}

}  // namespace leafsvc::http
