// LeafClient::ListUsers: GET /users?page=&size=, decoded by DecodeUsers.
#include <utility>

#include "server/leaf/leaf_client.h"
#include "server/leaf/leaf_users_json.h"

namespace leafsvc::leaf {

std::shared_ptr<Cancellable> LeafClient::ListUsers(int page, int size, const CallOptions& options,
                                                   Callback<LeafUsersPage> done) {
  http::HttpRequest request;
  request.method = "GET";
  request.url = endpoints_.Users(page, size);
  request.headers = {{"Accept", "application/json"}};
  return Start(
      LeafOperation::kListUsers, std::move(request), options, {},
      [&provider = provider_, done = std::move(done)](absl::StatusOr<http::HttpResponse> r) {
        if (!r.ok()) return done(r.status());
        absl::StatusOr<std::vector<LeafUser>> users = DecodeUsers(r->body, provider);
        if (!users.ok()) {
          return done(StatusFromBadBody(LeafOperation::kListUsers, r->status_code, users.status(),
                                        provider.display_name));
        }
        LeafUsersPage result;
        result.users = *std::move(users);
        result.total_count = ParseTotalCount(r->Header("x-total-count"));
        done(std::move(result));
      });
}

}  // namespace leafsvc::leaf
