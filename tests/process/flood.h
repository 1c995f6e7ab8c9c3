// Tools of the flood tests: idle connections by the hundred, what the
// server process holds (descriptors, memory), and whether callers still get
// through.
#ifndef TESTS_PROCESS_FLOOD_H_
#define TESTS_PROCESS_FLOOD_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace leafsvc::testing {

// Descriptors open in process `pid` (-1 when unreadable).
int OpenFds(pid_t pid);
// Its resident memory in KiB (-1 when unreadable).
int64_t RssKb(pid_t pid);
// `n` connections to `target` (host:port on 127.0.0.1) that send nothing.
std::vector<int> Flood(const std::string& target, int n);
// How many of `fds` the server has closed (EOF or reset) within `wait`.
int ClosedByServer(const std::vector<int>& fds, absl::Duration wait);
void CloseAll(const std::vector<int>& fds);
// A health Check on `channel` succeeds within 5 s.
bool HealthOk(const std::shared_ptr<grpc::Channel>& channel);
// `n` concurrent GetCredentials calls of a user with no credentials; each
// answered by Leaf (NOT_FOUND) counts as reached.
int CallsThatReachedLeaf(const std::shared_ptr<grpc::Channel>& channel, int n);

}  // namespace leafsvc::testing

#endif  // TESTS_PROCESS_FLOOD_H_
