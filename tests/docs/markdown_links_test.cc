#include "tests/docs/markdown_links.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leafsvc {
namespace docs {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

TEST(LinkTargetsTest, IgnoresCodeBlocksAndCodeSpans) {
  EXPECT_THAT(LinkTargets("See [a](a.md) and [`b`](../b.cc#L1).\n"
                          "```sh\n[not](fenced.md)\n```\n"
                          "  ```\n  [not](indented-fence.md)\n  ```\n"
                          "`[not](code-span.md)` then [c](https://example.com)\n"),
              ElementsAre("a.md", "../b.cc#L1", "https://example.com"));
}

TEST(HeadingAnchorsTest, FollowsGitHubsRules) {
  EXPECT_THAT(HeadingAnchors("# Title — with a dash\n"
                             "## The sample C++ client\n"
                             "## Node.js\n"
                             "### `--flag` and Security: callers\n"
                             "## Node.js\n"
                             "#not-a-heading\n"
                             "```\n# a shell comment\n```\n"),
              UnorderedElementsAre("title-—-with-a-dash", "the-sample-c-client", "nodejs",
                                   "--flag-and-security-callers", "nodejs-1"));
}

class BrokenLinksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(std::getenv("TEST_TMPDIR")) / "site";
    fs::create_directories(root_ / "docs");
    fs::create_directories(root_ / "src");
    Write(root_ / "src" / "code.cc", "int x;\n");
    Write(root_ / "docs" / "other.md", "# Other\n## Known part\n");
  }

  static void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

  fs::path root_;
};

TEST_F(BrokenLinksTest, AcceptsLinksThatLeadSomewhere) {
  const std::string page =
      "# Page\n## Here\n"
      "[file](../src/code.cc) [folder](../src/) [page](other.md) [part](other.md#known-part) "
      "[same page](#here) [web](https://withleaf.io)\n";
  EXPECT_THAT(BrokenLinks((root_ / "docs" / "page.md").string(), page), IsEmpty());
}

// A link out of the repository works on the machine that has the file and
// nowhere else (a clone, CI): broken.
TEST_F(BrokenLinksTest, ALinkOutsideTheRepositoryIsBrokenEvenWhenTheFileExists) {
  Write(root_.parent_path() / "outside.md", "# Outside\n");
  const std::string page = "# Page\n[out](../../outside.md) [in](other.md)\n";
  EXPECT_THAT(BrokenLinks((root_ / "docs" / "page.md").string(), page, root_.string()),
              ElementsAre(HasSubstr("../../outside.md: leads outside the repository")));
  EXPECT_THAT(BrokenLinks((root_ / "docs" / "page.md").string(), page), IsEmpty());
}

TEST_F(BrokenLinksTest, ReportsEachLinkThatLeadsNowhere) {
  const std::string page =
      "# Page\n"
      "[gone](../src/gone.cc) [wrong folder](src/code.cc) [no part](other.md#unknown) "
      "[no heading](#nowhere) [fragment on code](../src/code.cc#L1)\n";
  EXPECT_THAT(BrokenLinks((root_ / "docs" / "page.md").string(), page),
              ElementsAre(HasSubstr("../src/gone.cc: no file"), HasSubstr("src/code.cc: no file"),
                          HasSubstr("other.md#unknown: no heading #unknown"),
                          HasSubstr("#nowhere: no heading #nowhere"),
                          HasSubstr("../src/code.cc#L1: a #fragment on a page that is not")));
}

}  // namespace
}  // namespace docs
}  // namespace leafsvc
