#include "tests/security/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"

namespace leafsvc::testing {

namespace {

// Test setup failing is a broken test, not a finding: stop loudly.
void Require(bool ok, const char* what) {
  if (!ok) {
    ADD_FAILURE() << "test PKI: " << what << " failed";
    std::abort();
  }
}

EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  Require(key != nullptr, "EC key generation");
  return key;
}

std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  Require(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "writing a key");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  Require(PEM_write_bio_X509(bio, cert) == 1, "writing a certificate");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Require(ext != nullptr, value);
  Require(X509_add_ext(cert, ext, -1) == 1, "adding an extension");
  X509_EXTENSION_free(ext);
}

// An unsigned certificate for `key` named `common_name`, issued by `issuer`
// (null: self-issued).
X509* NewCert(EVP_PKEY* key, const std::string& common_name, X509* issuer) {
  static std::atomic<long> serial{1};
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("agleader test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  return cert;
}

}  // namespace

struct TestCa::Impl {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~Impl() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

TestCa::TestCa(const std::string& common_name) : impl_(std::make_unique<Impl>()) {
  impl_->key = NewKey();
  impl_->cert = NewCert(impl_->key, common_name, nullptr);
  X509* self = impl_->cert;
  AddExtension(self, self, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(self, self, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(self, self, NID_subject_key_identifier, "hash");
  Require(X509_sign(self, impl_->key, EVP_sha256()) > 0, "signing the CA");
  ca_.cert_pem = CertPem(self);
  ca_.key_pem = KeyPem(impl_->key);
}

TestCa::~TestCa() = default;

CertAndKey TestCa::Issue(const std::string& common_name, bool server) const {
  EVP_PKEY* key = NewKey();
  X509* cert = NewCert(key, common_name, impl_->cert);
  AddExtension(cert, impl_->cert, NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(cert, impl_->cert, NID_key_usage, "critical,digitalSignature,keyAgreement");
  AddExtension(cert, impl_->cert, NID_ext_key_usage, server ? "serverAuth" : "clientAuth");
  AddExtension(cert, impl_->cert, NID_subject_key_identifier, "hash");
  AddExtension(cert, impl_->cert, NID_authority_key_identifier, "keyid:always");
  if (server) AddExtension(cert, impl_->cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  Require(X509_sign(cert, impl_->key, EVP_sha256()) > 0, "signing a certificate");
  CertAndKey out{CertPem(cert), KeyPem(key)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

CertAndKey TestCa::IssueServer(const std::string& common_name) const {
  return Issue(common_name, /*server=*/true);
}

CertAndKey TestCa::IssueClient(const std::string& common_name) const {
  return Issue(common_name, /*server=*/false);
}

std::string WriteTempFile(const std::string& name, const std::string& contents) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  Require(static_cast<bool>(out), "writing a temporary file");
  return path;
}

}  // namespace leafsvc::testing
