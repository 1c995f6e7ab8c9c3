// A self-signed CA certificate for 127.0.0.1 and localhost, with its key,
// written to a PEM file under TEST_TMPDIR for as long as the object lives.
#ifndef TESTS_HTTP_TEST_CERT_H_
#define TESTS_HTTP_TEST_CERT_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

namespace leafsvc::http::testing {

class SelfSignedCert {
 public:
  SelfSignedCert();
  ~SelfSignedCert();
  SelfSignedCert(const SelfSignedCert&) = delete;
  SelfSignedCert& operator=(const SelfSignedCert&) = delete;

  X509* cert() const { return cert_; }
  EVP_PKEY* key() const { return key_; }
  const std::string& path() const { return path_; }

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  std::string path_;
};

}  // namespace leafsvc::http::testing

#endif  // TESTS_HTTP_TEST_CERT_H_
