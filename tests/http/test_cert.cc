#include "tests/http/test_cert.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace leafsvc::http::testing {

SelfSignedCert::SelfSignedCert() {
  key_ = EVP_EC_gen("P-256");
  cert_ = X509_new();
  X509_set_version(cert_, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert_), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert_), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert_), 24 * 3600);
  X509_set_pubkey(cert_, key_);
  X509_NAME* name = X509_get_subject_name(cert_);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("leafsvc test"), -1, -1, 0);
  X509_set_issuer_name(cert_, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert_, cert_, nullptr, nullptr, 0);
  for (auto [nid, value] : std::vector<std::pair<int, const char*>>{
           {NID_basic_constraints, "critical,CA:TRUE"},
           {NID_subject_key_identifier, "hash"},
           {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert_, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert_, key_, EVP_sha256());

  const char* dir = std::getenv("TEST_TMPDIR");
  // Unique per object too: a test may hold several at once.
  static std::atomic<int> counter{0};
  path_ = absl::StrCat(dir != nullptr ? dir : "/tmp", "/leafsvc_ca_", getpid(), "_",
                       counter.fetch_add(1), ".pem");
  BIO* bio = BIO_new_file(path_.c_str(), "w");
  PEM_write_bio_X509(bio, cert_);
  BIO_free(bio);
}

SelfSignedCert::~SelfSignedCert() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
  unlink(path_.c_str());
}

}  // namespace leafsvc::http::testing
