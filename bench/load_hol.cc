// The head-of-line scenario: large ListCredentialEvents pages being decoded
// while an unrelated GetCredentials waits. Listers use the blocking stub, one
// thread each (they only need to keep the service busy); the Get caller
// measures on a channel of its own, one call at a time.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/load.h"
#include "bench/load_grpc_util.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"

namespace bench {

namespace v1 = ::leaf::agleader::v1;

HeadOfLineResult RunHeadOfLine(const std::string& target, const std::string& leaf_user_id,
                               const HeadOfLineOptions& options) {
  HeadOfLineResult result;
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> pages{0};
  std::atomic<std::int64_t> list_errors{0};
  std::vector<std::string> first_errors(options.listers);
  std::vector<std::thread> listers;
  for (int i = 0; i < options.listers; ++i) {
    listers.emplace_back([&, i] {
      auto stub = v1::AgLeaderCredentials::NewStub(Connect(target, 100 + i));
      std::string token;
      while (!stop.load()) {
        v1::ListCredentialEventsRequest request;
        request.set_leaf_user_id(leaf_user_id);
        request.set_page_size(options.page_size);
        request.set_page_token(token);
        v1::ListCredentialEventsResponse response;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        const grpc::Status status = stub->ListCredentialEvents(&context, request, &response);
        const bool counted = measuring.load();
        if (!status.ok()) {
          if (counted) ++list_errors;
          if (counted && first_errors[i].empty()) {
            first_errors[i] = CodeName(status.error_code()) + ": " + status.error_message();
          }
          token.clear();
          continue;
        }
        if (counted) ++pages;
        token = response.next_page_token();  // empty after the last page: start over
      }
    });
  }

  auto stub = v1::AgLeaderCredentials::NewStub(Connect(target, 99));
  v1::GetCredentialsRequest request;
  request.set_leaf_user_id(leaf_user_id);
  LoadOptions window_options;
  window_options.warmup = options.warmup;
  window_options.duration = options.duration;
  window_options.on_begin = [&] { measuring.store(true); };
  window_options.on_end = [&] { measuring.store(false); };
  MeasureWindow window(window_options, &result.gets);
  while (!window.stopping()) {
    v1::Credentials response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    const Clock::time_point start = Clock::now();
    const grpc::Status status = stub->GetCredentials(&context, request, &response);
    window.Complete(Clock::now(), start, status.ok() && !response.id().empty(),
                    [&] { return CodeName(status.error_code()) + ": " + status.error_message(); });
  }
  stop.store(true);
  for (std::thread& t : listers) t.join();
  result.pages = pages.load();
  result.list_errors = list_errors.load();
  for (const std::string& e : first_errors) {
    if (!e.empty() && result.first_list_error.empty()) result.first_list_error = e;
  }
  return result;
}

}  // namespace bench
