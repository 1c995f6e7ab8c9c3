// Token sources and fixtures shared by the Leaf client's tests.
#ifndef TESTS_LEAF_TEST_TOKEN_SOURCES_H_
#define TESTS_LEAF_TEST_TOKEN_SOURCES_H_

#include <string>
#include <utility>
#include <vector>

#include "server/leaf/token_source.h"

namespace leafsvc::testing {

inline constexpr char kTestUser[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
// Other users, for tests that need concurrent reads not to be shared (the
// client shares identical reads in flight).
inline constexpr char kTestUser2[] = "3fa85f64-5717-4562-b3fc-2c963f66afa7";
inline constexpr char kTestUser3[] = "3fa85f64-5717-4562-b3fc-2c963f66afa8";
inline constexpr char kTestCredentialsJson[] =
    R"({"id":"c1","status":"OK","createdTime":"2023-04-21T12:16:27.997586Z",)"
    R"("refreshToken":"rt","publicKey":"pk","privateKey":"sk"})";

// Answers at once with "token-<generation>"; Invalidate moves to the next
// generation and is counted.
class CountingTokenSource final : public leaf::TokenSource {
 public:
  void GetToken(Callback done) override { done(Secret("token-" + std::to_string(gen_))); }
  bool Invalidate(const Secret&) override {
    ++invalidations_;
    ++gen_;
    return true;
  }
  int invalidations_ = 0;
  int gen_ = 1;
};

// Never answers by itself: the test runs the waiting callbacks when it likes.
class PendingTokenSource final : public leaf::TokenSource {
 public:
  void GetToken(Callback done) override { waiting_.push_back(std::move(done)); }
  bool Invalidate(const Secret&) override { return true; }
  std::vector<Callback> waiting_;
};

}  // namespace leafsvc::testing

#endif  // TESTS_LEAF_TEST_TOKEN_SOURCES_H_
