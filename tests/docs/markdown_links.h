// Finds the relative links of a Markdown page that lead nowhere: a file or
// folder that does not exist, or a #fragment that names no heading of the
// page it points to. Keeps the README and docs/ navigable as pages move.
#ifndef TESTS_DOCS_MARKDOWN_LINKS_H_
#define TESTS_DOCS_MARKDOWN_LINKS_H_

#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace leafsvc {
namespace docs {

// The link targets of `markdown`, in order, outside fenced code blocks and
// inline code spans (so that example commands are not taken for links).
std::vector<std::string> LinkTargets(absl::string_view markdown);

// GitHub's anchors for the page's headings: lower case, punctuation dropped,
// spaces turned into '-', and "-1", "-2", ... for repeated headings.
std::set<std::string> HeadingAnchors(absl::string_view markdown);

// The links of the page at `page_path` (a file whose text is `markdown`)
// that are relative and lead nowhere, each as "target: why". Links with a
// scheme (https:, mailto:) are not checked: tests stay offline. With a
// `root`, a link leading outside it is broken too, even when the file
// exists on this machine (a clone of the repository would not have it).
std::vector<std::string> BrokenLinks(const std::string& page_path, absl::string_view markdown,
                                     const std::string& root = "");

}  // namespace docs
}  // namespace leafsvc

#endif  // TESTS_DOCS_MARKDOWN_LINKS_H_
