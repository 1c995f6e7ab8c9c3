// What the gRPC load generators (load_grpc.cc, load_hol.cc) share.
#ifndef BENCH_LOAD_GRPC_UTIL_H_
#define BENCH_LOAD_GRPC_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace bench {

// A channel of its own (never sharing a connection with another index),
// connected (or given up on after 5 s).
std::shared_ptr<grpc::Channel> Connect(const std::string& target, int index);

// "OK", "UNAVAILABLE", ...
std::string CodeName(grpc::StatusCode code);

}  // namespace bench

#endif  // BENCH_LOAD_GRPC_UTIL_H_
