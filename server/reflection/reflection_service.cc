#include "server/reflection/reflection_service.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace leafsvc::reflection {
namespace {

namespace v1 = ::grpc::reflection::v1;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;

void SetError(v1::ServerReflectionResponse* response, grpc::StatusCode code, std::string message) {
  response->mutable_error_response()->set_error_code(static_cast<int>(code));
  response->mutable_error_response()->set_error_message(std::move(message));
}

// `file` first, then every transitive dependency this stream has not had yet,
// each as protoc wrote it (comments and json_name included).
void AddFileAndDependencies(const DescriptorSet& set, const FileDescriptor* file,
                            std::set<std::string>* sent, v1::ServerReflectionResponse* response) {
  auto* files = response->mutable_file_descriptor_response();
  std::vector<const FileDescriptor*> pending = {file};
  sent->insert(file->name());
  while (!pending.empty()) {
    const FileDescriptor* next = pending.back();
    pending.pop_back();
    if (const std::string* bytes = set.SerializedFile(next->name()); bytes != nullptr) {
      files->add_file_descriptor_proto(*bytes);
    }
    for (int i = 0; i < next->dependency_count(); ++i) {
      const FileDescriptor* dependency = next->dependency(i);
      if (sent->insert(dependency->name()).second) pending.push_back(dependency);
    }
  }
}

const Descriptor* FindType(const DescriptorSet& set, const std::string& name,
                           v1::ServerReflectionResponse* response) {
  const Descriptor* type = set.pool().FindMessageTypeByName(name);
  if (type == nullptr) {
    SetError(response, grpc::StatusCode::NOT_FOUND, absl::StrCat("Type not found: ", name));
  }
  return type;
}

}  // namespace

void Answer(const DescriptorSet& set, const v1::ServerReflectionRequest& request,
            std::set<std::string>* sent, v1::ServerReflectionResponse* response) {
  response->set_valid_host(request.host());
  *response->mutable_original_request() = request;
  const google::protobuf::DescriptorPool& pool = set.pool();
  switch (request.message_request_case()) {
    case v1::ServerReflectionRequest::kListServices:
      for (const std::string& name : set.service_names()) {
        response->mutable_list_services_response()->add_service()->set_name(name);
      }
      return;
    case v1::ServerReflectionRequest::kFileByFilename: {
      const FileDescriptor* file = pool.FindFileByName(request.file_by_filename());
      if (file == nullptr) {
        SetError(response, grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("File not found: ", request.file_by_filename()));
        return;
      }
      AddFileAndDependencies(set, file, sent, response);
      return;
    }
    case v1::ServerReflectionRequest::kFileContainingSymbol: {
      const FileDescriptor* file = pool.FindFileContainingSymbol(request.file_containing_symbol());
      if (file == nullptr) {
        SetError(response, grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("Symbol not found: ", request.file_containing_symbol()));
        return;
      }
      AddFileAndDependencies(set, file, sent, response);
      return;
    }
    case v1::ServerReflectionRequest::kFileContainingExtension: {
      const v1::ExtensionRequest& wanted = request.file_containing_extension();
      const Descriptor* type = FindType(set, wanted.containing_type(), response);
      if (type == nullptr) return;
      const FieldDescriptor* extension =
          pool.FindExtensionByNumber(type, wanted.extension_number());
      if (extension == nullptr) {
        SetError(response, grpc::StatusCode::NOT_FOUND,
                 absl::StrCat("Extension not found: ", wanted.containing_type(), " field ",
                              wanted.extension_number()));
        return;
      }
      AddFileAndDependencies(set, extension->file(), sent, response);
      return;
    }
    case v1::ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const Descriptor* type = FindType(set, request.all_extension_numbers_of_type(), response);
      if (type == nullptr) return;
      std::vector<const FieldDescriptor*> extensions;
      pool.FindAllExtensions(type, &extensions);
      std::vector<int> numbers;
      for (const FieldDescriptor* extension : extensions) numbers.push_back(extension->number());
      std::sort(numbers.begin(), numbers.end());
      auto* out = response->mutable_all_extension_numbers_response();
      out->set_base_type_name(type->full_name());
      for (int number : numbers) out->add_extension_number(number);
      return;
    }
    case v1::ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
      break;
  }
  SetError(response, grpc::StatusCode::UNIMPLEMENTED,
           "the request sets none of the reflection requests this server knows");
}

absl::StatusOr<std::unique_ptr<ServerReflection>> ServerReflection::FromEmbedded() {
  absl::StatusOr<const DescriptorSet*> set = DescriptorSet::Embedded();
  if (!set.ok()) return set.status();
  return std::make_unique<ServerReflection>(*set);
}

void ServerReflection::RegisterOn(grpc::ServerBuilder* builder) {
  builder->RegisterService(&v1_);
  builder->RegisterService(&v1alpha_);
}

}  // namespace leafsvc::reflection
