#include "server/secrets/secret.h"

#include <openssl/crypto.h>

namespace leafsvc {

void WipeString(std::string& s) {
  // data()[0, capacity()] is the string's own storage (inline or heap), all of
  // it writable; bytes past size() may still hold an older, longer value.
  OPENSSL_cleanse(s.data(), s.capacity());
  s.clear();
}

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) {
    // Wiped first: the assignment may reuse this buffer or free it.
    WipeString(value_);
    value_ = other.value_;
  }
  return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    WipeString(value_);
    // libstdc++ may hand this (wiped) buffer to `other`; whatever `other`
    // holds afterwards is wiped too.
    value_ = std::move(other.value_);
    WipeString(other.value_);
  }
  return *this;
}

}  // namespace leafsvc
