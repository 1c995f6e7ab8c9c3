// A small flag table shared by the binaries: every flag has an environment
// variable twin and a documented default, and --help prints the table.
// Precedence: command line, then environment, then default.
#ifndef SERVER_CONFIG_FLAGS_H_
#define SERVER_CONFIG_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace leafsvc {

class FlagSet {
 public:
  // kList: every --name on the command line adds one value; the environment
  // twin holds comma-separated values. The command line replaces the
  // environment's values.
  enum class Type { kString, kBool, kInt, kDuration, kList };

  // `env_prefix` + the upper-cased flag name is each flag's environment twin.
  explicit FlagSet(std::string env_prefix) : env_prefix_(std::move(env_prefix)) {}

  // Declares a flag. `secret` flags never have their value printed.
  // Numeric flags are range-checked: an int flag is by default limited to
  // what an `int` holds and a duration to 0..100 years; SetRange narrows it.
  void Add(std::string name, Type type, std::string default_value, std::string help,
           bool secret = false);
  // The values an int (or duration) flag accepts, both ends included. A value
  // outside is an error at Parse naming the flag, the value and the range.
  void SetRange(absl::string_view name, int64_t min, int64_t max);
  void SetRange(absl::string_view name, absl::Duration min, absl::Duration max);
  // The accepted range as text ("1 to 10"), empty for non-numeric flags.
  std::string RangeText(absl::string_view name) const;

  // Reads the environment and then `argv` (--name=value, --name value, and
  // --flag / --noflag for booleans). Arguments that are not flags are
  // collected as positional(). "--help" / "-h" sets help_requested().
  absl::Status Parse(int argc, char** argv);

  // Overwrites, in place, the values of secret flags in the process's
  // environment strings and in `argv` (as Parse tokenized them), so that
  // /proc/PID/environ and /proc/PID/cmdline of a long-running process no
  // longer show them. Call after Parse, with the argv main() received (it
  // must be writable); getenv then returns "" for those variables.
  void WipeSecretSources(int argc, char** argv) const;

  std::string GetString(absl::string_view name) const;
  bool GetBool(absl::string_view name) const;
  int64_t GetInt(absl::string_view name) const;
  absl::Duration GetDuration(absl::string_view name) const;
  std::vector<std::string> GetList(absl::string_view name) const;
  // True when the value came from argv or the environment.
  bool IsSet(absl::string_view name) const;

  const std::vector<std::string>& positional() const { return positional_; }
  bool help_requested() const { return help_requested_; }

  // The flag table: name, environment variable, default, description.
  std::string Help(absl::string_view usage) const;
  // The table as Markdown rows (the format of docs/configuration.md).
  std::string MarkdownTable() const;

  std::string EnvName(absl::string_view name) const;
  // Replaces the environment twin's name (e.g. a plural for a list flag).
  void SetEnvName(absl::string_view name, std::string env);
  // Declared flag names, in declaration order.
  std::vector<std::string> Names() const;

 private:
  struct Flag {
    std::string name;
    Type type;
    std::string default_value;
    std::string help;
    bool secret;
    std::string value;
    bool set = false;
    std::string env;                // empty: env_prefix_ + upper-cased name
    std::vector<std::string> list;  // kList values
    bool from_command_line = false;
    int64_t int_min = INT32_MIN;
    int64_t int_max = INT32_MAX;
    absl::Duration duration_min = absl::ZeroDuration();
    absl::Duration duration_max = absl::Hours(24 * 365 * 100);
  };
  static std::string RangeOf(const Flag& flag);
  const Flag* Find(absl::string_view name) const;
  Flag* Find(absl::string_view name);
  const Flag& Get(absl::string_view name) const;
  static absl::Status Check(const Flag& flag, absl::string_view value, absl::string_view source);

  std::string env_prefix_;
  std::vector<Flag> flags_;
  std::vector<std::string> positional_;
  bool help_requested_ = false;
};

}  // namespace leafsvc

#endif  // SERVER_CONFIG_FLAGS_H_
