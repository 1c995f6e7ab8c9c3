// The reason table (server/errors/reasons.h): names unique and UPPER_SNAKE,
// every row listed by AllReasons(), MakeError giving each row its own code,
// and no site in server/ naming a reason outside the table.
#include "server/errors/reasons.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

namespace fs = std::filesystem;

fs::path SourceRoot() {
  const fs::path runfiles =
      fs::path(std::getenv("TEST_SRCDIR")) / std::getenv("TEST_WORKSPACE") / "README.md";
  return fs::canonical(runfiles).parent_path();
}

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ReasonsTest, NamesAreUniqueUpperSnakeWithCodeMessageAndMeaning) {
  static const std::regex kUpperSnake("[A-Z][A-Z0-9]*(_[A-Z0-9]+)*");
  std::set<std::string> names;
  ASSERT_GE(AllReasons().size(), 30u);
  for (const Reason* r : AllReasons()) {
    const std::string name(r->name);
    EXPECT_TRUE(std::regex_match(name, kUpperSnake)) << name;
    EXPECT_TRUE(names.insert(name).second) << name << " is in the table twice";
    EXPECT_NE(r->code, absl::StatusCode::kOk) << name;
    EXPECT_NE(r->other_code, r->code) << name << ": other_code repeats code";
    EXPECT_FALSE(r->message.empty()) << name;
    EXPECT_FALSE(r->meaning.empty()) << name;
    EXPECT_EQ(FindReason(name), r) << name;
  }
  EXPECT_EQ(FindReason("NO_SUCH_REASON"), nullptr);
}

TEST(ReasonsTest, MakeErrorUsesTheRowsCodeAndKeepsASpecificMessageAndDetails) {
  StatusDetails d;
  d.metadata["k"] = "v";
  d.reason = "SOMETHING_ELSE";  // the row wins
  d.retry_delay = absl::Seconds(3);
  const absl::Status st = MakeError(reasons::kLeafRateLimited, "Leaf said slow down", d);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(), "Leaf said slow down");
  const StatusDetails got = GetStatusDetails(st);
  EXPECT_EQ(got.reason, "LEAF_RATE_LIMITED");
  EXPECT_EQ(got.metadata.at("k"), "v");
  EXPECT_EQ(got.retry_delay, absl::Seconds(3));
}

TEST(ReasonsTest, MakeErrorWithoutAMessageUsesTheRowsDefault) {
  for (const Reason* r : AllReasons()) {
    const absl::Status st = MakeError(*r);
    EXPECT_EQ(st.code(), r->code) << r->name;
    EXPECT_EQ(st.message(), r->message) << r->name;
    EXPECT_EQ(GetStatusDetails(st).reason, r->name);
  }
}

TEST(ReasonsTest, OtherCodeOnlyWhereTheRowHasOne) {
  EXPECT_EQ(MakeErrorWithOtherCode(reasons::kLeafRejectedRequest, "x", {}).code(),
            absl::StatusCode::kFailedPrecondition);
  // A row without a second code must not go out as OK (a status without an error).
  EXPECT_EQ(MakeErrorWithOtherCode(reasons::kShuttingDown, "x", {}).code(),
            absl::StatusCode::kUnavailable);
}

TEST(ReasonsTest, EveryRowOfTheHeaderIsInAllReasons) {
  // A row declared but left out of AllReasons() would escape the docs check.
  const std::string header = Read(SourceRoot() / "server" / "errors" / "reasons.h");
  ASSERT_FALSE(header.empty());
  static const std::regex kRow(R"re(Reason\s+k\w+\s*\{\s*"([A-Z][A-Z0-9_]+)")re");
  int rows = 0;
  for (std::sregex_iterator it(header.begin(), header.end(), kRow), end; it != end; ++it) {
    ++rows;
    EXPECT_NE(FindReason((*it)[1].str()), nullptr) << (*it)[1] << " is not in AllReasons()";
  }
  EXPECT_EQ(rows, static_cast<int>(AllReasons().size()));
}

TEST(ReasonsTest, NoSiteInServerSetsAReasonOutsideTheTable) {
  // Sites take a row (MakeError); a literal reason, or one copied in from a
  // string, could go out with another code than the table's.
  static const std::regex kStray(
      R"re((?:\breason\s*=|kReason\w*(?:\[\])?\s*=)\s*(?:std::string\()?\s*"[A-Z][A-Z0-9_]+")re");
  static const std::regex kAssigned(R"re(\.reason\s*=[^=])re");
  int files = 0;
  for (const fs::directory_entry& entry :
       fs::recursive_directory_iterator(SourceRoot() / "server")) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".cc" && ext != ".h") continue;
    if (entry.path().parent_path().filename() == "errors") continue;  // the table itself
    ++files;
    const std::string text = Read(entry.path());
    std::smatch m;
    EXPECT_FALSE(std::regex_search(text, m, kStray)) << entry.path() << ": " << m.str();
    // status_details.cc reads the reason back; everything else goes through MakeError.
    if (entry.path().filename() != "status_details.cc") {
      EXPECT_FALSE(std::regex_search(text, m, kAssigned)) << entry.path() << ": " << m.str();
    }
  }
  EXPECT_GT(files, 50);
}

}  // namespace
}  // namespace leafsvc
