// The generic layers name no provider: under server/leaf, server/http,
// server/watch and server/json, "AgLeader" (any case, with or without the
// dash of Leaf's path segment) appears only where a public name that must
// not change says it. Everything provider-specific comes from a
// ProviderSpec (server/providers/).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

namespace fs = std::filesystem;

fs::path SourceRoot() {
  const fs::path runfiles =
      fs::path(std::getenv("TEST_SRCDIR")) / std::getenv("TEST_WORKSPACE") / "README.md";
  return fs::canonical(runfiles).parent_path();
}

// What may stay: public names this issue keeps as they are (house rule).
//  - metric names (agleader_watch_streams, agleader_alerts_received_total, ...);
//  - the User-Agent this service sends Leaf: its own name, not a provider's.
const std::regex& Allowed() {
  static const std::regex re(R"(\bagleader_[a-z_]+|"leaf-agleader-credentials/1")");
  return re;
}

const std::regex& Provider() {
  static const std::regex re("ag-?leader", std::regex::icase);
  return re;
}

// "path:line: text" for every line naming the provider outside Allowed().
std::vector<std::string> Offences(const fs::path& root, const fs::path& dir) {
  std::vector<std::string> out;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root / dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string ext = entry.path().extension().string();
    if (ext != ".h" && ext != ".cc" && entry.path().filename() != "BUILD") continue;
    std::ifstream in(entry.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      const std::string rest = std::regex_replace(line, Allowed(), "");
      if (std::regex_search(rest, Provider())) {
        out.push_back(fs::relative(entry.path(), root).string() + ":" + std::to_string(n) + ": " +
                      line);
      }
    }
  }
  return out;
}

TEST(ProviderNeutralTest, GenericLayersNameNoProvider) {
  const fs::path root = SourceRoot();
  for (const char* dir : {"server/leaf", "server/http", "server/watch", "server/json"}) {
    ASSERT_TRUE(fs::is_directory(root / dir)) << dir;
    for (const std::string& offence : Offences(root, dir)) {
      ADD_FAILURE() << offence << "\n  (take it from the ProviderSpec instead)";
    }
  }
}

// The scan would catch what it is meant to catch.
TEST(ProviderNeutralTest, TheScanSeesEverySpelling) {
  for (const char* line : {"// AgLeader credentials", "\"/ag-leader-credentials\"",
                           "auto creds = v.FindMember(\"agLeaderCredentials\");", "AGLEADER",
                           "leafsvc::agleader::Thing"}) {
    EXPECT_TRUE(std::regex_search(std::regex_replace(std::string(line), Allowed(), ""), Provider()))
        << line;
  }
  EXPECT_FALSE(std::regex_search(
      std::regex_replace(std::string("\"agleader_watch_streams\""), Allowed(), ""), Provider()));
}

}  // namespace
}  // namespace leafsvc
