// Keeps the README and docs/ true: every server flag, its environment twin
// and every ErrorInfo reason the code can produce are documented in their
// tables, every relative link leads to a file (and heading) that exists, the
// README maps every page of docs/ and stays short enough to read first.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "server/config/config.h"
#include "server/errors/reasons.h"
#include "tests/docs/markdown_links.h"

namespace leafsvc {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxReadmeLines = 250;

fs::path Runfiles() { return fs::path(std::getenv("TEST_SRCDIR")) / std::getenv("TEST_WORKSPACE"); }

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The pages under test, relative to the workspace: README.md and docs/*.md.
std::vector<std::string> Pages() {
  std::vector<std::string> pages = {"README.md"};
  for (const fs::directory_entry& entry : fs::directory_iterator(Runfiles() / "docs")) {
    if (entry.path().extension() == ".md") {
      pages.push_back("docs/" + entry.path().filename().string());
    }
  }
  return pages;
}

// Links point at source files no target exports (and at folders), so they are
// checked in the source tree, found through the README's runfiles symlink.
// The BUILD file runs this test locally and never caches it, since those files
// are not its inputs.
fs::path SourceRoot() { return fs::canonical(Runfiles() / "README.md").parent_path(); }

TEST(DocsTest, ConfigurationTablesEveryServerFlagWithItsEnvironmentVariable) {
  const std::string page = Read(Runfiles() / "docs" / "configuration.md");
  ASSERT_FALSE(page.empty());
  FlagSet flags = ServerFlags();
  for (const std::string& name : flags.Names()) {
    const std::string row = "| `--" + name + "` | `" + flags.EnvName(name) + "` |";
    EXPECT_NE(page.find(row), std::string::npos) << "docs/configuration.md lacks the row " << row;
  }
}

// Every row of the reason table (server/errors/reasons.h) has a row in
// docs/errors.md with its code, and its second code if it has one.
TEST(DocsTest, ErrorsTablesEveryReasonWithItsCode) {
  const std::string page = Read(Runfiles() / "docs" / "errors.md");
  ASSERT_FALSE(page.empty());
  ASSERT_FALSE(AllReasons().empty());
  for (const Reason* reason : AllReasons()) {
    for (absl::StatusCode code : {reason->code, reason->other_code}) {
      if (code == absl::StatusCode::kOk) continue;
      const std::string row =
          absl::StrCat("| `", absl::StatusCodeToString(code), "` | `", reason->name, "` |");
      EXPECT_NE(page.find(row), std::string::npos)
          << "the error table of docs/errors.md lacks the row " << row;
    }
  }
}

// Every reason the server's code names (a row of the table, or a stray
// `reason = "X"` / `kReason... = "X"` outside it), found in the source tree
// rather than listed here: a second net under the test above.
std::set<std::string> ReasonsInServerCode() {
  static const std::regex kPattern(
      R"re((?:reason\s*=|kReason\w*(?:\[\])?\s*=|Reason\s+k\w+\s*\{)\s*"([A-Z][A-Z0-9_]+)")re");
  std::set<std::string> reasons;
  for (const fs::directory_entry& entry :
       fs::recursive_directory_iterator(SourceRoot() / "server")) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".cc" && ext != ".h") continue;
    const std::string text = Read(entry.path());
    for (std::sregex_iterator it(text.begin(), text.end(), kPattern), end; it != end; ++it) {
      reasons.insert((*it)[1].str());
    }
  }
  return reasons;
}

TEST(DocsTest, ErrorsTablesEveryReasonTheServerSets) {
  const std::string page = Read(Runfiles() / "docs" / "errors.md");
  ASSERT_FALSE(page.empty());
  const std::set<std::string> reasons = ReasonsInServerCode();
  // The scan must see the reasons of every layer, or it is broken.
  for (const char* known : {"CREDENTIALS_NOT_FOUND", "SHUTTING_DOWN", "MALFORMED_REQUEST",
                            "BATCH_CANCELLED", "TOO_MANY_WATCH_STREAMS"}) {
    EXPECT_EQ(reasons.count(known), 1u) << "the source scan missed " << known;
  }
  for (const std::string& reason : reasons) {
    EXPECT_NE(page.find("| `" + reason + "` |"), std::string::npos)
        << "the error table of docs/errors.md lacks " << reason;
  }
}

TEST(DocsTest, EveryRelativeLinkLeadsToAFileAndHeadingThatExist) {
  const fs::path root = SourceRoot();
  ASSERT_TRUE(fs::exists(root / "WORKSPACE")) << root << " is not the source tree";
  for (const std::string& page : Pages()) {
    const std::string text = Read(Runfiles() / page);
    ASSERT_FALSE(text.empty()) << page;
    const std::vector<std::string> broken =
        docs::BrokenLinks((root / page).string(), text, root.string());
    EXPECT_TRUE(broken.empty()) << page << ":\n  " << absl::StrJoin(broken, "\n  ");
  }
}

TEST(DocsTest, ReadmeMapsEveryDocsPage) {
  const std::string readme = Read(Runfiles() / "README.md");
  const std::vector<std::string> pages = Pages();
  ASSERT_GT(pages.size(), 1u) << "no docs/*.md in the runfiles";
  for (const std::string& page : pages) {
    if (page == "README.md") continue;
    EXPECT_NE(readme.find("](" + page + ")"), std::string::npos) << "README does not link " << page;
  }
}

TEST(DocsTest, ReadmeStaysShortAndKeepsTheQuickstart) {
  const std::string readme = Read(Runfiles() / "README.md");
  const std::vector<absl::string_view> lines = absl::StrSplit(readme, '\n');
  EXPECT_LT(static_cast<int>(lines.size()), kMaxReadmeLines)
      << "the README is the first screen or two; move detail to docs/";
  EXPECT_NE(readme.find("bash scripts/run.sh"), std::string::npos);
  EXPECT_NE(readme.find("bash scripts/test.sh"), std::string::npos);
}

}  // namespace
}  // namespace leafsvc
