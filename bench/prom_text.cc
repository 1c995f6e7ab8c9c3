#include "bench/prom_text.h"

#include <cstdlib>
#include <string>

namespace bench {
namespace {

struct Sample {
  std::string_view name, labels;  // labels: the text between the braces
  double value = 0;
};

// One "name{labels} value [timestamp]" line; false for comments, blank or
// malformed lines.
bool ParseLine(std::string_view line, Sample* s) {
  if (line.empty() || line[0] == '#') return false;
  const std::size_t name_end = line.find_first_of("{ ");
  if (name_end == std::string_view::npos || name_end == 0) return false;
  s->name = line.substr(0, name_end);
  std::size_t rest = name_end;
  s->labels = {};
  if (line[name_end] == '{') {
    // Label values are quoted and may hold '}' or escaped quotes.
    bool quoted = false;
    std::size_t i = name_end + 1;
    for (; i < line.size(); ++i) {
      if (quoted && line[i] == '\\') {
        ++i;
      } else if (line[i] == '"') {
        quoted = !quoted;
      } else if (!quoted && line[i] == '}') {
        break;
      }
    }
    if (i >= line.size()) return false;
    s->labels = line.substr(name_end + 1, i - name_end - 1);
    rest = i + 1;
  }
  const std::string value(line.substr(rest));
  const char* begin = value.c_str();
  while (*begin == ' ') ++begin;
  char* end = nullptr;
  s->value = std::strtod(begin, &end);
  return end != begin;
}

// Whether `labels` (k="v",k2="v2") holds key="value" exactly.
bool HasLabel(std::string_view labels, std::string_view key, std::string_view value) {
  const std::string wanted = std::string(key) + "=\"" + std::string(value) + "\"";
  for (std::size_t at = labels.find(wanted); at != std::string_view::npos;
       at = labels.find(wanted, at + 1)) {
    // The key must start the list or follow a comma (not end another key).
    if (at == 0 || labels[at - 1] == ',') return true;
  }
  return false;
}

template <typename Visit>
void ForEachSample(std::string_view text, Visit visit) {
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Sample s;
    if (ParseLine(line, &s)) visit(s);
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
}

}  // namespace

double SumSamples(std::string_view text, std::string_view name, std::string_view label_key,
                  std::string_view label_value) {
  double sum = 0;
  ForEachSample(text, [&](const Sample& s) {
    if (s.name != name) return;
    if (!label_key.empty() && !HasLabel(s.labels, label_key, label_value)) return;
    sum += s.value;
  });
  return sum;
}

bool HasMetric(std::string_view text, std::string_view name) {
  bool found = false;
  ForEachSample(text, [&](const Sample& s) { found = found || s.name == name; });
  return found;
}

}  // namespace bench
