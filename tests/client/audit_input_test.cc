#include "client/audit_input.h"

#include <fstream>
#include <sstream>
#include <streambuf>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

constexpr char kId[] = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

// `size` bytes of `fill` and no newline, counting what is read of them.
class EndlessLine : public std::streambuf {
 public:
  EndlessLine(size_t size, char fill) : left_(size), chunk_(4096, fill) {}
  size_t handed_out() const { return handed_out_; }

 protected:
  int_type underflow() override {
    if (left_ == 0) return traits_type::eof();
    const size_t n = std::min(left_, chunk_.size());
    left_ -= n;
    handed_out_ += n;
    setg(chunk_.data(), chunk_.data(), chunk_.data() + n);
    return traits_type::to_int_type(chunk_[0]);
  }

 private:
  size_t left_;
  size_t handed_out_ = 0;
  std::string chunk_;
};

TEST(ParseUserListTest, ALineOverFourKiBIsRefusedWithoutReadingTheRest) {
  EndlessLine source(64 << 20, 'a');
  std::istream in(&source);
  auto users = ParseUserList(in, "--users \"ids.txt\"");
  ASSERT_FALSE(users.ok());
  EXPECT_EQ(users.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(users.status().message(),
            "--users \"ids.txt\" line 1: longer than 4096 bytes; expected one Leaf user id per "
            "line");
  // The old reader took the whole 64 MiB line into memory first.
  EXPECT_LE(source.handed_out(), 2 * 4096u);
}

TEST(ParseUserListTest, TheLimitIsExactAndNamesTheLine) {
  const std::string at_limit = "#" + std::string(kMaxUserLineBytes - 1, 'x');
  std::istringstream ok(absl::StrCat(kId, "\n", at_limit, "\n", kId));  // no final newline
  auto users = ParseUserList(ok, "--users stdin");
  ASSERT_TRUE(users.ok()) << users.status();
  EXPECT_EQ(users->size(), 2u);

  std::istringstream over(absl::StrCat(kId, "\n\n", at_limit, "y\n", kId, "\n"));
  auto refused = ParseUserList(over, "--users stdin");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::StartsWith(refused.status().message(), "--users stdin line 3: longer than"))
      << refused.status();
  // The line itself is never shown.
  EXPECT_FALSE(absl::StrContains(refused.status().message(), "xxxx"));
}

TEST(ParseUserListTest, DevZeroFailsFast) {
  std::ifstream zeros("/dev/zero");
  ASSERT_TRUE(zeros.good());
  auto users = ParseUserList(zeros, "--users \"/dev/zero\"");
  ASSERT_FALSE(users.ok());
  EXPECT_TRUE(absl::StrContains(users.status().message(),
                                "--users \"/dev/zero\" line 1: longer than 4096 bytes"));
}

TEST(ParseUserListTest, IdsCommentsBlankLinesAndCrLf) {
  std::istringstream in(absl::StrCat("# growers\r\n\r\n  ", kId, "  \r\n", kId));
  auto users = ParseUserList(in, "--users stdin");
  ASSERT_TRUE(users.ok()) << users.status();
  EXPECT_EQ(users->size(), 2u);
  std::istringstream bad(absl::StrCat(kId, "\nnot-an-id\n"));
  EXPECT_TRUE(absl::StrContains(ParseUserList(bad, "--users stdin").status().message(), "line 2"));
  std::istringstream empty("# nothing\n");
  EXPECT_EQ(ParseUserList(empty, "--users stdin").status().message(),
            "--users stdin lists no user");
}

TEST(AuditOptionsTest, MaxRateLimitedWaits) {
  ParseResult def = Parse({"audit"});
  ASSERT_EQ(def.outcome, ParseResult::Outcome::kRun) << def.message;
  EXPECT_EQ(def.invocation.audit.max_rate_limited_waits, 30);
  ParseResult five = Parse({"audit", "--max_rate_limited_waits", "5"});
  ASSERT_EQ(five.outcome, ParseResult::Outcome::kRun) << five.message;
  EXPECT_EQ(five.invocation.audit.max_rate_limited_waits, 5);
  EXPECT_EQ(
      Parse({"audit", "--max_rate_limited_waits", "0"}).invocation.audit.max_rate_limited_waits, 0);
  for (const char* bad : {"-1", "1001"}) {
    ParseResult r = Parse({"audit", "--max_rate_limited_waits", bad});
    EXPECT_EQ(r.outcome, ParseResult::Outcome::kUsageError) << bad;
    EXPECT_TRUE(absl::StrContains(r.message, "--max_rate_limited_waits must be between 0 and 1000"))
        << r.message;
  }
  // An audit flag only.
  EXPECT_EQ(Parse({"get", "--leaf_user_id", kId, "--max_rate_limited_waits", "5"}).outcome,
            ParseResult::Outcome::kUsageError);
}

}  // namespace
}  // namespace leafsvc::client
