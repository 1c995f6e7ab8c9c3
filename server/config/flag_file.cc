#include "server/config/flag_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace leafsvc {

absl::StatusOr<std::string> ReadFlagFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  std::string contents(kMaxFlagFileBytes + 1, '\0');
  in.read(contents.data(), static_cast<std::streamsize>(kMaxFlagFileBytes + 1));
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  }
  if (static_cast<size_t>(in.gcount()) > kMaxFlagFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", path, " is larger than ", kMaxFlagFileBytes, " bytes"));
  }
  contents.resize(static_cast<size_t>(in.gcount()));
  return contents;
}

absl::StatusOr<std::string> ReadSecretFlagFile(absl::string_view flag, const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFlagFile(flag, path);
  if (!contents.ok()) return contents;
  while (!contents->empty() && (contents->back() == '\n' || contents->back() == '\r')) {
    contents->pop_back();
  }
  if (contents->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", path, " is empty"));
  }
  if (contents->find_first_of("\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", path, " must hold a single line"));
  }
  return contents;
}

}  // namespace leafsvc
