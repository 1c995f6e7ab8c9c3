#include "server/edge/client_metadata.h"

#include <grpc/slice.h>

namespace leafsvc {
namespace {

absl::string_view View(const grpc_slice& slice) {
  return absl::string_view(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)),
                           GRPC_SLICE_LENGTH(slice));
}

}  // namespace

std::optional<absl::string_view> ClientMetadata::First(absl::string_view key) const {
  std::optional<absl::string_view> first;
  ForEach(key, [&first](absl::string_view value) {
    if (!first) first = value;
  });
  return first;
}

void CallbackClientMetadata::ForEach(absl::string_view key,
                                     absl::FunctionRef<void(absl::string_view)> f) const {
  const auto& metadata = context_.client_metadata();
  for (auto [it, end] = metadata.equal_range(grpc::string_ref(key.data(), key.size())); it != end;
       ++it) {
    f(absl::string_view(it->second.data(), it->second.size()));
  }
}

void CoreClientMetadata::ForEach(absl::string_view key,
                                 absl::FunctionRef<void(absl::string_view)> f) const {
  for (size_t i = 0; i < array_.count; ++i) {
    if (View(array_.metadata[i].key) == key) f(View(array_.metadata[i].value));
  }
}

}  // namespace leafsvc
