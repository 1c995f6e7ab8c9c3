// One WatchCredentials stream, served on gRPC's core API (server/edge/
// core_streaming_method.h: a third of the memory of an idle stream is the
// C++ callback API's own), a Watcher of the watch hub. The hub queues
// changes into it under the hub's lock (Enqueue: a StreamQueue, no gRPC)
// and has it send them after the lock is released (Deliver:
// CredentialsChange messages written one at a time). The queue holds later
// changes back until every requested user has had its first message, so a
// stream always starts with the state of each user; a caller that reads
// too slowly (1,024 changes waiting) loses the stream with
// RESOURCE_EXHAUSTED rather than growing the server's memory. Every change
// carries the hub's resume token; a stream that resumes (its request's
// resume_token) holds nothing back: the caller already has a state of each
// user, and each user's changes still come in order.
//
// Its batches complete on gRPC's callback threads: the caller's end of the call
// (RECV_CLOSE_ON_SERVER, started by Open, so a cancel is seen while idle),
// a change written (SEND_MESSAGE, one at a time) and the status
// (SEND_STATUS_FROM_SERVER, once, never while a write is in flight, with
// the record's trailers and the error's details). The first batch to go out
// also carries the initial metadata. The stream deletes itself once all
// have completed, after leaving the hub.
#ifndef SERVER_EDGE_WATCH_STREAM_H_
#define SERVER_EDGE_WATCH_STREAM_H_

#include <grpc/grpc.h>

#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"
#include "server/edge/rpc_record.h"
#include "server/observability/metrics.h"
#include "server/watch/watch_hub.h"

namespace leafsvc {

// Streams not yet done (each has completed all its gRPC batches when it
// leaves): shutdown waits for 0 before the server's callback threads go.
class OpenStreams {
 public:
  void Add(int delta);
  // Until the count is 0 (a warning every 5 s meanwhile).
  void WaitForNone();

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

class WatchStream : public watch::Watcher {
 public:
  // A stream for `call` (taking its reference), counted in `open` until it
  // is done. OpenWatch calls Open, then Refuse or Begin (its last use of the
  // stream: until they return, the stream cannot end).
  static WatchStream* New(grpc_call* call, watch::WatchHub* hub, Metrics* metrics,
                          OpenStreams* open);

  // Where the record's trailers go (kept for the status).
  virtual RpcRecord::AddTrailer TrailerSink() = 0;
  // Takes the call's record and starts watching for the caller's end.
  virtual void Open(RpcRecord record, ::leaf::agleader::v1::CredentialsView view) = 0;
  // Ends a stream refused at admission (counted as a rejected call).
  virtual void Refuse(const absl::Status& status) = 0;
  // Subscribes to `ids` (resuming after `resume_token` if not empty); ends
  // the stream at once if the hub refuses.
  virtual void Begin(const google::protobuf::RepeatedPtrField<std::string>& ids,
                     const std::string& caller, const std::string& resume_token) = 0;
};

}  // namespace leafsvc

#endif  // SERVER_EDGE_WATCH_STREAM_H_
