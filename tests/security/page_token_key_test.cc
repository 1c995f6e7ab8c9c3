// PageTokenKeyOrRandom (server/security/page_token_key.h): a configured key
// is used as is; without one each call draws a fresh random key and warns
// once per draw; a failing random generator is INTERNAL, never a weak key.
#define OPENSSL_SUPPRESS_DEPRECATED  // RAND_set_rand_method: the one way to make RAND_bytes fail
#include "server/security/page_token_key.h"

#include <openssl/rand.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/observability/log.h"

namespace leafsvc {
namespace {

class PageTokenKeyTest : public ::testing::Test {
 protected:
  PageTokenKeyTest() {
    SetLogSink([this](absl::string_view line) { lines_.emplace_back(line); });
  }
  ~PageTokenKeyTest() override { SetLogSink(nullptr); }
  std::vector<std::string> lines_;
};

TEST_F(PageTokenKeyTest, ConfiguredKeyIsReturnedUnchangedAndNothingIsLogged) {
  const std::string configured("configured-key\0with-nul-and-\xff", 29);
  auto key = PageTokenKeyOrRandom(configured);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, configured);
  EXPECT_TRUE(lines_.empty()) << lines_[0];
}

TEST_F(PageTokenKeyTest, WithoutAKeyEachCallDrawsAFreshFullLengthKey) {
  auto a = PageTokenKeyOrRandom("");
  auto b = PageTokenKeyOrRandom("");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->size(), static_cast<size_t>(kRandomPageTokenKeyBytes));
  EXPECT_EQ(b->size(), static_cast<size_t>(kRandomPageTokenKeyBytes));
  EXPECT_NE(*a, *b);
  // Not the zero-filled buffer it was drawn into (2^-256 chance of a false alarm).
  EXPECT_NE(*a, std::string(kRandomPageTokenKeyBytes, '\0'));
}

TEST_F(PageTokenKeyTest, ARandomKeyWarnsThatReplicasMustShareOne) {
  auto key = PageTokenKeyOrRandom("");
  ASSERT_TRUE(key.ok());
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& line = lines_[0];
  EXPECT_TRUE(absl::StrContains(line, "\"level\":\"warning\"")) << line;
  EXPECT_TRUE(absl::StrContains(line, "--page_token_key")) << line;
  EXPECT_TRUE(absl::StrContains(line, "AGLEADER_PAGE_TOKEN_KEY")) << line;
  EXPECT_TRUE(absl::StrContains(line, "replicas")) << line;
  EXPECT_FALSE(absl::StrContains(line, *key)) << "the drawn key reached the log";
}

int FailingBytes(unsigned char*, int) { return 0; }
int FailingStatus() { return 0; }

TEST_F(PageTokenKeyTest, AFailingRandomGeneratorIsInternalAndNamesTheFlag) {
  RAND_METHOD failing{};
  failing.bytes = FailingBytes;
  failing.status = FailingStatus;
  ASSERT_EQ(RAND_set_rand_method(&failing), 1);
  auto key = PageTokenKeyOrRandom("");
  RAND_set_rand_method(RAND_OpenSSL());
  ASSERT_FALSE(key.ok()) << "returned a key of " << key->size() << " bytes";
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(key.status().message(), "--page_token_key")) << key.status();
  EXPECT_TRUE(lines_.empty());
  // The configured key still wins without touching the generator.
  ASSERT_EQ(RAND_set_rand_method(&failing), 1);
  auto configured = PageTokenKeyOrRandom("k");
  RAND_set_rand_method(RAND_OpenSSL());
  ASSERT_TRUE(configured.ok());
  EXPECT_EQ(*configured, "k");
  // And the generator works again afterwards.
  EXPECT_TRUE(PageTokenKeyOrRandom("").ok());
}

}  // namespace
}  // namespace leafsvc
