#include "server/reflection/descriptor_set.h"

#include <google/protobuf/descriptor.pb.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace leafsvc::reflection {
namespace {

// //server/reflection:descriptor_set_pb, as bytes.
constexpr unsigned char kEmbeddedSet[] = {
#include "server/reflection/descriptor_set.inc"
};

}  // namespace

absl::StatusOr<std::unique_ptr<DescriptorSet>> DescriptorSet::Parse(absl::string_view serialized) {
  google::protobuf::FileDescriptorSet set;
  if (!set.ParseFromArray(serialized.data(), static_cast<int>(serialized.size()))) {
    return absl::InvalidArgumentError("the descriptor set does not parse");
  }
  std::unique_ptr<DescriptorSet> out(new DescriptorSet());
  for (const google::protobuf::FileDescriptorProto& file : set.file()) {
    const google::protobuf::FileDescriptor* built = out->pool_.BuildFile(file);
    if (built == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("the descriptor set's file ", file.name(), " does not build"));
    }
    for (int i = 0; i < built->service_count(); ++i) {
      out->service_names_.push_back(built->service(i)->full_name());
    }
    out->serialized_files_[file.name()] = file.SerializeAsString();
  }
  std::sort(out->service_names_.begin(), out->service_names_.end());
  return out;
}

absl::StatusOr<const DescriptorSet*> DescriptorSet::Embedded() {
  // Immutable and needed until the process ends (by every reflection call):
  // deliberately never destroyed.
  static const absl::StatusOr<const DescriptorSet*>* const kSet = [] {
    absl::StatusOr<std::unique_ptr<DescriptorSet>> set =
        Parse(absl::string_view(reinterpret_cast<const char*>(kEmbeddedSet), sizeof(kEmbeddedSet)));
    if (!set.ok()) return new absl::StatusOr<const DescriptorSet*>(set.status());
    return new absl::StatusOr<const DescriptorSet*>(set->release());
  }();
  return *kSet;
}

const std::string* DescriptorSet::SerializedFile(absl::string_view file_name) const {
  auto it = serialized_files_.find(file_name);
  return it == serialized_files_.end() ? nullptr : &it->second;
}

}  // namespace leafsvc::reflection
