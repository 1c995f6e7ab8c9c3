// CoreClientMetadata over a core grpc_metadata_array: every value of a key
// in order, the first one, nothing for keys absent; keys compare exactly.
// (CallbackClientMetadata is exercised through real calls by
// rpc_record_test and the integration suites.)
#include "server/edge/client_metadata.h"

#include <grpc/slice.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace leafsvc {
namespace {

class Array {
 public:
  Array(std::initializer_list<std::pair<const char*, std::string>> entries) {
    for (const auto& [k, v] : entries) {
      grpc_metadata m{};
      m.key = grpc_slice_from_copied_string(k);
      m.value = grpc_slice_from_copied_buffer(v.data(), v.size());
      md_.push_back(m);
    }
    array_.count = md_.size();
    array_.capacity = md_.size();
    array_.metadata = md_.data();
  }
  ~Array() {
    for (grpc_metadata& m : md_) {
      grpc_slice_unref(m.key);
      grpc_slice_unref(m.value);
    }
  }
  const grpc_metadata_array& get() const { return array_; }

 private:
  std::vector<grpc_metadata> md_;
  grpc_metadata_array array_{};
};

TEST(ClientMetadataTest, CoreMetadataGivesEveryValueOfAKeyInOrder) {
  Array array({{"authorization", "Bearer one"},
               {"x-request-id", "req-1"},
               {"authorization", std::string("two\0bytes", 9)},
               {"x-request-idx", "not-this"}});
  CoreClientMetadata metadata(array.get());
  std::vector<std::string> values;
  metadata.ForEach("authorization", [&](absl::string_view v) { values.emplace_back(v); });
  EXPECT_EQ(values, (std::vector<std::string>{"Bearer one", std::string("two\0bytes", 9)}));
  EXPECT_EQ(metadata.First("x-request-id"), "req-1");
  EXPECT_FALSE(metadata.First("x-leaf-token").has_value());
  EXPECT_FALSE(metadata.First("x-request").has_value());
}

TEST(ClientMetadataTest, AnEmptyArrayHasNothing) {
  grpc_metadata_array empty;
  grpc_metadata_array_init(&empty);
  CoreClientMetadata metadata(empty);
  int calls = 0;
  metadata.ForEach("x-request-id", [&](absl::string_view) { ++calls; });
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(metadata.First("x-request-id").has_value());
  grpc_metadata_array_destroy(&empty);
}

}  // namespace
}  // namespace leafsvc
