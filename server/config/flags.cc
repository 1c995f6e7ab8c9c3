#include "server/config/flags.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace leafsvc {
namespace {

bool ParseBool(absl::string_view text, bool* out) {
  std::string v = absl::AsciiStrToLower(text);
  if (v == "true" || v == "1" || v == "yes" || v == "on") {
    *out = true;
    return true;
  }
  if (v == "false" || v == "0" || v == "no" || v == "off" || v.empty()) {
    *out = false;
    return true;
  }
  return false;
}

const char* TypeName(FlagSet::Type type) {
  switch (type) {
    case FlagSet::Type::kString:
      return "string";
    case FlagSet::Type::kBool:
      return "bool";
    case FlagSet::Type::kInt:
      return "int";
    case FlagSet::Type::kDuration:
      return "duration";
    case FlagSet::Type::kList:
      return "list";
  }
  return "";
}

}  // namespace

void FlagSet::Add(std::string name, Type type, std::string default_value, std::string help,
                  bool secret) {
  Flag flag{std::move(name), type, default_value, std::move(help), secret, default_value};
  flags_.push_back(std::move(flag));
}

void FlagSet::SetRange(absl::string_view name, int64_t min, int64_t max) {
  Flag* f = Find(name);
  if (f == nullptr || f->type != Type::kInt || min > max) std::abort();  // programming error
  f->int_min = min;
  f->int_max = max;
}

void FlagSet::SetRange(absl::string_view name, absl::Duration min, absl::Duration max) {
  Flag* f = Find(name);
  if (f == nullptr || f->type != Type::kDuration || min > max) std::abort();
  f->duration_min = min;
  f->duration_max = max;
}

std::string FlagSet::RangeOf(const Flag& flag) {
  switch (flag.type) {
    case Type::kInt:
      return absl::StrCat(flag.int_min, " to ", flag.int_max);
    case Type::kDuration:
      return absl::StrCat(absl::FormatDuration(flag.duration_min), " to ",
                          absl::FormatDuration(flag.duration_max));
    default:
      return "";
  }
}

std::string FlagSet::RangeText(absl::string_view name) const { return RangeOf(Get(name)); }

std::string FlagSet::EnvName(absl::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name && !f.env.empty()) return f.env;
  }
  return absl::AsciiStrToUpper(absl::StrCat(env_prefix_, name));
}

void FlagSet::SetEnvName(absl::string_view name, std::string env) {
  if (Flag* f = Find(name)) f->env = std::move(env);
}

std::vector<std::string> FlagSet::Names() const {
  std::vector<std::string> names;
  for (const Flag& f : flags_) names.push_back(f.name);
  return names;
}

const FlagSet::Flag* FlagSet::Find(absl::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

FlagSet::Flag* FlagSet::Find(absl::string_view name) {
  return const_cast<Flag*>(static_cast<const FlagSet*>(this)->Find(name));
}

const FlagSet::Flag& FlagSet::Get(absl::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return f;
  }
  // Asking for an undeclared flag is a programming error.
  std::abort();
}

absl::Status FlagSet::Check(const Flag& flag, absl::string_view value, absl::string_view source) {
  // Secret values are never echoed back, not even when malformed.
  std::string shown = flag.secret ? "[redacted]" : std::string(value);
  switch (flag.type) {
    case Type::kString:
    case Type::kList:
      return absl::OkStatus();
    case Type::kBool: {
      bool b;
      if (ParseBool(value, &b)) return absl::OkStatus();
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: --%s expects true or false, got \"%s\"", source, flag.name, shown));
    }
    case Type::kInt: {
      int64_t i;
      // SimpleAtoi fails on anything an int64 cannot hold.
      const bool parsed = absl::SimpleAtoi(value, &i);
      if (parsed && i >= flag.int_min && i <= flag.int_max) return absl::OkStatus();
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: --%s=%s is %s: expects an integer from %s", source, flag.name, shown,
          parsed ? "out of range" : "not an integer (or too large)", RangeOf(flag)));
    }
    case Type::kDuration: {
      absl::Duration d;
      const bool parsed = absl::ParseDuration(value, &d);
      if (parsed && d >= flag.duration_min && d <= flag.duration_max) return absl::OkStatus();
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: --%s=%s is %s: expects a duration such as 500ms, 10s or 2m, from %s", source,
          flag.name, shown, parsed ? "out of range" : "not a duration", RangeOf(flag)));
    }
  }
  return absl::OkStatus();
}

absl::Status FlagSet::Parse(int argc, char** argv) {
  for (Flag& f : flags_) {
    const char* env = std::getenv(EnvName(f.name).c_str());
    if (env == nullptr) continue;
    absl::Status st = Check(f, env, EnvName(f.name));
    if (!st.ok()) return st;
    f.value = env;
    f.set = true;
    if (f.type == Type::kList) f.list = absl::StrSplit(env, ',', absl::SkipEmpty());
  }
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--") || arg == "--") {
      positional_.emplace_back(arg);
      continue;
    }
    absl::string_view body = arg.substr(2);
    std::string name(body.substr(0, body.find('=')));
    bool has_value = body.find('=') != absl::string_view::npos;
    std::string value = has_value ? std::string(body.substr(body.find('=') + 1)) : "";
    Flag* flag = Find(name);
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
      Flag* negated = Find(name.substr(2));
      if (negated != nullptr && negated->type == Type::kBool) {
        negated->value = "false";
        negated->set = true;
        continue;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!has_value) {
      if (flag->type == Type::kBool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    absl::Status st = Check(*flag, value, "command line");
    if (!st.ok()) return st;
    flag->value = value;
    flag->set = true;
    if (flag->type == Type::kList) {
      if (!flag->from_command_line) flag->list.clear();
      flag->list.push_back(value);
    }
    flag->from_command_line = true;
  }
  return absl::OkStatus();
}

namespace {

void Overwrite(char* p) {
  volatile char* v = p;
  for (; *v != '\0'; ++v) *v = '\0';
}

}  // namespace

void FlagSet::WipeSecretSources(int argc, char** argv) const {
  for (const Flag& f : flags_) {
    if (!f.secret) continue;
    // getenv points into the environment block itself (the memory that
    // /proc/PID/environ reads for variables the process started with).
    if (char* env = std::getenv(EnvName(f.name).c_str()); env != nullptr) Overwrite(env);
  }
  for (int i = 1; i < argc; ++i) {
    // Tokenized as Parse does ("--" is a positional there too).
    absl::string_view arg = argv[i];
    if (!absl::StartsWith(arg, "--")) continue;
    const std::size_t eq = arg.find('=');
    const Flag* flag = Find(arg.substr(2, eq == absl::string_view::npos ? arg.npos : eq - 2));
    if (flag == nullptr || !flag->secret) continue;
    if (eq != absl::string_view::npos) {
      Overwrite(argv[i] + eq + 1);
    } else if (flag->type != Type::kBool && i + 1 < argc) {
      Overwrite(argv[++i]);
    }
  }
}

std::string FlagSet::GetString(absl::string_view name) const { return Get(name).value; }

bool FlagSet::GetBool(absl::string_view name) const {
  bool b = false;
  ParseBool(Get(name).value, &b);
  return b;
}

int64_t FlagSet::GetInt(absl::string_view name) const {
  int64_t i = 0;
  (void)absl::SimpleAtoi(Get(name).value, &i);
  return i;
}

absl::Duration FlagSet::GetDuration(absl::string_view name) const {
  absl::Duration d = absl::ZeroDuration();
  (void)absl::ParseDuration(Get(name).value, &d);
  return d;
}

std::vector<std::string> FlagSet::GetList(absl::string_view name) const { return Get(name).list; }

bool FlagSet::IsSet(absl::string_view name) const { return Get(name).set; }

std::string FlagSet::Help(absl::string_view usage) const {
  std::string out =
      absl::StrCat(usage, "\n\nFlags (each also read from its environment variable):\n");
  for (const Flag& f : flags_) {
    const std::string range = RangeOf(f);
    absl::StrAppendFormat(&out, "  --%s (%s, env %s, default \"%s\"%s)\n      %s\n", f.name,
                          TypeName(f.type), EnvName(f.name), f.default_value,
                          range.empty() ? "" : absl::StrCat(", ", range), f.help);
  }
  return out;
}

std::string FlagSet::MarkdownTable() const {
  std::string out = "| flag | environment | default | meaning |\n|---|---|---|---|\n";
  for (const Flag& f : flags_) {
    absl::StrAppendFormat(&out, "| `--%s` | `%s` | `%s` | %s |\n", f.name, EnvName(f.name),
                          f.default_value, f.help);
  }
  return out;
}

}  // namespace leafsvc
