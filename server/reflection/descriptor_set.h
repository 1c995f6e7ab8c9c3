// The descriptors server reflection serves: a google.protobuf.FileDescriptorSet
// that protoc wrote at build time (--include_source_info --include_imports)
// and that is compiled into the binary. Unlike the generated pool, its files
// keep their comments (source_code_info) and json_name, which is what lets
// grpcurl describe show the proto's documentation and JSON tools print
// camelCase names.
#ifndef SERVER_REFLECTION_DESCRIPTOR_SET_H_
#define SERVER_REFLECTION_DESCRIPTOR_SET_H_

#include <google/protobuf/descriptor.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leafsvc::reflection {

class DescriptorSet {
 public:
  // Parses a serialized FileDescriptorSet whose files come dependencies first
  // (as protoc writes them). INVALID_ARGUMENT when it does not parse or a file
  // does not build (a missing dependency, a duplicate symbol).
  static absl::StatusOr<std::unique_ptr<DescriptorSet>> Parse(absl::string_view serialized);

  // The set compiled into this binary (//server/reflection:descriptor_set_pb),
  // parsed once and kept for the life of the process. An error only for a
  // broken build (the tests parse it).
  static absl::StatusOr<const DescriptorSet*> Embedded();

  // Resolves symbols (services, methods, messages, fields, enums, extensions).
  const google::protobuf::DescriptorPool& pool() const { return pool_; }

  // The FileDescriptorProto of `file_name` exactly as protoc wrote it,
  // serialized; nullptr when the set has no such file.
  const std::string* SerializedFile(absl::string_view file_name) const;

  // Full names of every service the set defines, sorted.
  const std::vector<std::string>& service_names() const { return service_names_; }

 private:
  DescriptorSet() = default;

  google::protobuf::DescriptorPool pool_;
  std::map<std::string, std::string, std::less<>> serialized_files_;
  std::vector<std::string> service_names_;
};

}  // namespace leafsvc::reflection

#endif  // SERVER_REFLECTION_DESCRIPTOR_SET_H_
