#include "tests/docs/markdown_links.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace leafsvc {
namespace docs {
namespace {

namespace fs = std::filesystem;

// The page's lines outside fenced code blocks (``` or ~~~, possibly
// indented, as inside a list item).
std::vector<std::string> ProseLines(absl::string_view markdown) {
  std::vector<std::string> lines;
  bool in_fence = false;
  for (absl::string_view line : absl::StrSplit(markdown, '\n')) {
    absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(line);
    if (absl::StartsWith(trimmed, "```") || absl::StartsWith(trimmed, "~~~")) {
      in_fence = !in_fence;
      continue;
    }
    if (!in_fence) lines.emplace_back(line);
  }
  return lines;
}

// `line` with every inline code span removed; the text of a link may be code
// ([`buf.yaml`](../buf.yaml)), its target never is.
std::string WithoutCodeSpans(const std::string& line) {
  std::string out;
  bool in_code = false;
  for (char c : line) {
    if (c == '`') {
      in_code = !in_code;
    } else if (!in_code) {
      out.push_back(c);
    }
  }
  return out;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::vector<std::string> LinkTargets(absl::string_view markdown) {
  std::vector<std::string> targets;
  for (const std::string& raw : ProseLines(markdown)) {
    const std::string line = WithoutCodeSpans(raw);
    for (size_t at = line.find("]("); at != std::string::npos; at = line.find("](", at + 2)) {
      const size_t end = line.find(')', at + 2);
      if (end == std::string::npos) break;
      targets.push_back(line.substr(at + 2, end - at - 2));
    }
  }
  return targets;
}

std::set<std::string> HeadingAnchors(absl::string_view markdown) {
  std::set<std::string> anchors;
  std::map<std::string, int> seen;
  for (const std::string& line : ProseLines(markdown)) {
    // An ATX heading: 1-6 '#' then a space.
    const size_t level = line.find_first_not_of('#');
    if (level == 0 || level > 6 || level == std::string::npos || line[level] != ' ') continue;
    const absl::string_view title =
        absl::StripAsciiWhitespace(absl::string_view(line).substr(level));
    std::string anchor;
    for (unsigned char c : title) {
      if (std::isalnum(c) || c == '-' || c == '_') {
        anchor.push_back(static_cast<char>(std::tolower(c)));
      } else if (c == ' ') {
        anchor.push_back('-');
      } else if (c >= 0x80) {
        anchor.push_back(static_cast<char>(c));  // GitHub keeps non-ASCII letters
      }
    }
    const int n = seen[anchor]++;
    anchors.insert(n == 0 ? anchor : absl::StrCat(anchor, "-", n));
  }
  return anchors;
}

std::vector<std::string> BrokenLinks(const std::string& page_path, absl::string_view markdown,
                                     const std::string& root) {
  std::vector<std::string> broken;
  const fs::path dir = fs::path(page_path).parent_path();
  for (const std::string& target : LinkTargets(markdown)) {
    if (absl::StrContains(target, ":")) continue;  // https:, mailto:, ...
    std::pair<std::string, std::string> parts = absl::StrSplit(target, absl::MaxSplits('#', 1));
    const std::string& file = parts.first;
    const std::string& fragment = parts.second;
    const fs::path resolved = file.empty() ? fs::path(page_path) : dir / file;
    if (!root.empty()) {
      // Compared as paths, so that /repo-other is not inside /repo.
      const fs::path relative = resolved.lexically_normal().lexically_relative(
          fs::path(root).lexically_normal());
      if (relative.empty() || *relative.begin() == "..") {
        broken.push_back(absl::StrCat(target, ": leads outside the repository"));
        continue;
      }
    }
    std::error_code error;
    if (!file.empty() && !fs::exists(resolved, error)) {
      broken.push_back(absl::StrCat(target, ": no file ", resolved.string()));
      continue;
    }
    if (fragment.empty()) continue;
    if (!file.empty() && resolved.extension() != ".md") {
      broken.push_back(absl::StrCat(target, ": a #fragment on a page that is not Markdown"));
      continue;
    }
    const std::string text = file.empty() ? std::string(markdown) : ReadFile(resolved);
    if (HeadingAnchors(text).count(fragment) == 0) {
      broken.push_back(absl::StrCat(target, ": no heading #", fragment, " in ", resolved.string()));
    }
  }
  return broken;
}

}  // namespace docs
}  // namespace leafsvc
