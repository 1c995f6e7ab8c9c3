#include "server/secrets/redact.h"

#include <random>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/errors/status_details.h"
#include "server/text/utf8.h"

namespace leafsvc {
namespace {

// A random secret of `n` bytes from a token-like alphabet (deterministic).
std::string RandomSecret(size_t n, unsigned seed) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./+";
  std::mt19937 gen(seed);
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(kAlphabet[gen() % (sizeof kAlphabet - 1)]);
  return s;
}

// The first 8-byte run of `secret` found in `out`, or "" if none.
std::string SurvivingRun(absl::string_view out, absl::string_view secret) {
  for (size_t i = 0; i + kSecretRunBytes <= secret.size(); ++i) {
    absl::string_view run = secret.substr(i, kSecretRunBytes);
    if (out.find(run) != absl::string_view::npos) return std::string(run);
  }
  return "";
}

TEST(RedactTest, WholeAndPartialSecretsOfEveryLength) {
  for (size_t n : {8, 9, 15, 16, 40, 100, 299, 300, 301, 1000, 4096, 8192}) {
    const std::string secret = RandomSecret(n, static_cast<unsigned>(n));
    const Redactor r({secret});
    const std::string whole = r.Redact("before " + secret + " after");
    EXPECT_EQ(whole, "before [redacted] after") << n;
    // Any piece of 8+ bytes (a prefix, a suffix, the middle) is caught too.
    const std::string pieces = secret.substr(0, 8) + " " + secret.substr(n - 8) + " " +
                               secret.substr(n / 3, std::max<size_t>(8, n / 3));
    EXPECT_EQ(SurvivingRun(r.Redact(pieces), secret), "") << n;
  }
}

TEST(RedactTest, NoRunSurvivesAtAnyOffsetAroundTheCut) {
  // Through the exit: redaction of the whole text, then the cut at 300 (metadata)
  // and 1024 (message) bytes. Secrets start at every offset around both cuts.
  for (size_t n : {8, 40, 512, 8192}) {
    const std::string secret = RandomSecret(n, 7 + static_cast<unsigned>(n));
    const Redactor r({secret});
    for (size_t cut : {kMaxExitMetadataBytes, kMaxExitMessageBytes}) {
      const size_t first = cut > n + 16 ? cut - n - 16 : 0;
      for (size_t offset = first; offset <= cut + 16; ++offset) {
        const std::string text = std::string(offset, 'x') + secret + std::string(40, 'y');
        const std::string out = r.RedactAndShorten(text, cut);
        ASSERT_EQ(SurvivingRun(out, secret), "") << "n=" << n << " offset=" << offset;
        ASSERT_LE(out.size(), cut + 3);
        ASSERT_TRUE(IsValidUtf8(out));
      }
    }
  }
}

TEST(RedactTest, ProcessSecretsAreCoveredEverywhere) {
  const std::string secret = RandomSecret(64, 99);
  EXPECT_NE(Redactor().Redact(secret), "[redacted]");
  RegisterProcessSecret(secret);
  EXPECT_EQ(Redactor().Redact("token " + secret.substr(10, 20)), "token [redacted]");
  EXPECT_EQ(Redactor({"other-secret"}).Redact(secret), "[redacted]");
}

TEST(RedactTest, JwtShapedStrings) {
  const Redactor r;
  EXPECT_EQ(r.Redact("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl, then"),
            "Bearer [redacted], then");
  // alg "none": empty signature.
  EXPECT_EQ(r.Redact("t=eyJhbGciOiJub25lIn0.eyJzdWIiOjF9."), "t=[redacted]");
  // Not JWTs: a lone header, two segments.
  EXPECT_EQ(r.Redact("eyJhbGciOiJub25lIn0 and eyJa.b"), "eyJhbGciOiJub25lIn0 and eyJa.b");
}

TEST(RedactTest, ShortSecretsWholeOnlyAndTooShortIgnored) {
  const Redactor r({"abcd1", "xyz"});
  EXPECT_EQ(r.Redact("k=abcd1; abcd; xyz"), "k=[redacted]; abcd; xyz");
}

TEST(RedactTest, MultiByteSecretsKeepOutputValidUtf8) {
  const std::string secret = "p\xE2\x82\xAC\xE2\x82\xAC\xF0\x9F\x98\x80sswordsecret";
  const Redactor r({secret});
  // A run that starts inside the euro sign: the whole character goes.
  const std::string out = r.Redact("x\xE2\x82\xAC" + secret.substr(2) + "!");
  EXPECT_TRUE(IsValidUtf8(out)) << out;
  EXPECT_EQ(SurvivingRun(out, secret), "");
  // Invalid input comes out valid.
  EXPECT_TRUE(IsValidUtf8(r.Redact("bad \xC3 byte")));
}

TEST(RedactTest, SecretContainingTheMarkerTerminates) {
  const std::string secret = "ab[redacted]cdefgh";
  EXPECT_EQ(Redactor({secret}).Redact("x " + secret + " y"), "x [redacted] y");
}

TEST(RedactTest, ShortenKeepsCharactersWhole) {
  EXPECT_EQ(Shorten("abc", 3), "abc");
  EXPECT_EQ(Shorten("ab\xC3\xA9", 3), "ab...");
}

TEST(ExitStatusTest, RedactsEveryTextThenShortens) {
  const std::string secret = RandomSecret(400, 3);
  StatusDetails d;
  d.metadata["leaf_message"] = std::string(290, 'm') + secret;
  d.field_violations.push_back({"f", secret});
  const absl::Status in =
      MakeStatus(absl::StatusCode::kInvalidArgument, std::string(1000, 'a') + secret + " tail", d);
  const absl::Status out = ExitStatus(in, Redactor({secret}));
  EXPECT_EQ(out.message(), std::string(1000, 'a') + "[redacted] tail");
  const StatusDetails od = GetStatusDetails(out);
  EXPECT_EQ(od.metadata.at("leaf_message"), std::string(290, 'm') + "[redacted]");
  EXPECT_EQ(od.field_violations.at(0).description, "[redacted]");
  // A long message is cut after redaction.
  const absl::Status long_out =
      ExitStatus(absl::InternalError(std::string(2000, 'z') + secret), Redactor({secret}));
  EXPECT_EQ(long_out.message(), std::string(kMaxExitMessageBytes, 'z') + "...");
}

// Every login registers its token: the set must not grow for good nor be
// copied whole on each login.
TEST(RedactTest, RotatingSecretsCoverTheLatestOnes) {
  // Random: no 8-byte run shared between two tokens.
  auto token = [](int i) { return RandomSecret(40, 7000 + i); };
  const Redactor before;
  for (int i = 0; i < 20; ++i) RegisterRotatingSecret(token(i));
  const Redactor r;
  for (int i = 0; i < 20; ++i) {
    const bool recent = i >= 20 - static_cast<int>(kRecentSecrets);
    EXPECT_EQ(r.Redact("t=" + token(i)) == "t=[redacted]", recent) << i;
  }
  // A Redactor keeps the set it was made with.
  EXPECT_EQ(before.Redact("t=" + token(19)), "t=" + token(19));
}

TEST(RedactTest, ManyRotatingSecretsCostTheirOwnLengthOnly) {
  // 5,000 logins' worth of 300-byte tokens: copying the whole set on each
  // (the old way) takes minutes; a bounded set takes well under a second.
  const std::string pad(300, 'q');
  const absl::Time start = absl::Now();
  for (int i = 0; i < 5000; ++i) RegisterRotatingSecret(std::to_string(i) + pad);
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  EXPECT_EQ(Redactor().Redact("x " + std::to_string(4999) + pad), "x [redacted]");
}

}  // namespace
}  // namespace leafsvc
