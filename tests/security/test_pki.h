// Throwaway certificates for tests, made in-process with OpenSSL: a CA, a
// server certificate for 127.0.0.1 / localhost and client certificates, all
// EC P-256, valid from an hour ago for a day. Nothing is committed to the
// repository; tests write the PEMs under TEST_TMPDIR.
#ifndef TESTS_SECURITY_TEST_PKI_H_
#define TESTS_SECURITY_TEST_PKI_H_

#include <memory>
#include <string>

namespace leafsvc::testing {

struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;
};

class TestCa {
 public:
  // A self-signed CA named `common_name`.
  explicit TestCa(const std::string& common_name);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& cert_pem() const { return ca_.cert_pem; }
  // A server certificate with subjectAltName IP:127.0.0.1, DNS:localhost.
  CertAndKey IssueServer(const std::string& common_name) const;
  // A client certificate (extendedKeyUsage clientAuth).
  CertAndKey IssueClient(const std::string& common_name) const;

 private:
  struct Impl;
  CertAndKey Issue(const std::string& common_name, bool server) const;
  std::unique_ptr<Impl> impl_;
  CertAndKey ca_;
};

// Writes `contents` to TEST_TMPDIR/`name` and returns the path.
std::string WriteTempFile(const std::string& name, const std::string& contents);

}  // namespace leafsvc::testing

#endif  // TESTS_SECURITY_TEST_PKI_H_
