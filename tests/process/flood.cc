#include "tests/process/flood.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <future>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "leaf/agleader/v1/agleader_credentials.grpc.pb.h"
#include "third_party/grpc_proto/grpc/health/v1/health.grpc.pb.h"

namespace leafsvc::testing {

namespace v1 = ::leaf::agleader::v1;
// Each call reads its own user: identical reads in flight would share one
// request to Leaf (and one descriptor).
std::string User(int i) { return absl::StrFormat("3fa85f64-5717-4562-b3fc-%012d", i); }

int OpenFds(pid_t pid) {
  int n = 0;
  DIR* d = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (d == nullptr) return -1;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

int64_t RssKb(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    int64_t kb = 0;
    if (line.rfind("VmRSS:", 0) == 0 && absl::SimpleAtoi(line.substr(6, line.size() - 9), &kb)) {
      return kb;
    }
  }
  return -1;
}

std::vector<int> Flood(const std::string& target, int n) {
  int port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(target.substr(target.rfind(':') + 1), &port));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd);
      continue;
    }
    fds.push_back(fd);
  }
  return fds;
}

int ClosedByServer(const std::vector<int>& fds, absl::Duration wait) {
  const absl::Time until = absl::Now() + wait;
  std::vector<bool> closed(fds.size(), false);
  int count = 0;
  while (true) {
    for (size_t i = 0; i < fds.size(); ++i) {
      if (closed[i]) continue;
      // The server may have written its HTTP/2 SETTINGS first: drain them.
      char buf[512];
      ssize_t r;
      while ((r = recv(fds[i], buf, sizeof buf, MSG_DONTWAIT)) > 0) {
      }
      if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        closed[i] = true;
        ++count;
      }
    }
    if (count == static_cast<int>(fds.size()) || absl::Now() >= until) return count;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

void CloseAll(const std::vector<int>& fds) {
  for (int fd : fds) close(fd);
}

bool HealthOk(const std::shared_ptr<grpc::Channel>& channel) {
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  return health->Check(&ctx, req, &resp).ok();
}

int CallsThatReachedLeaf(const std::shared_ptr<grpc::Channel>& channel, int n) {
  auto stub = v1::AgLeaderCredentials::NewStub(channel);
  struct Call {
    grpc::ClientContext ctx;
    v1::GetCredentialsRequest req;
    v1::Credentials resp;
    std::promise<grpc::Status> done;
  };
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < n; ++i) {
    auto c = std::make_unique<Call>();
    c->ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(15)));
    c->req.set_leaf_user_id(User(i));
    stub->async()->GetCredentials(&c->ctx, &c->req, &c->resp,
                                  [p = c.get()](grpc::Status s) { p->done.set_value(s); });
    calls.push_back(std::move(c));
  }
  int reached = 0;
  for (auto& c : calls) {
    grpc::Status s = c->done.get_future().get();
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      ++reached;
    } else {
      ADD_FAILURE() << s.error_code() << " " << s.error_message();
    }
  }
  return reached;
}

}  // namespace leafsvc::testing
