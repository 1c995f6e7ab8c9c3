// How the poller reads one watched user: GetCredentials through the Leaf
// client (its limits apply to every read) with the upstream timeout, the
// outcome as an Observation (no credentials is kAbsent, not an error).
#ifndef SERVER_WATCH_LEAF_CREDENTIAL_READER_H_
#define SERVER_WATCH_LEAF_CREDENTIAL_READER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/leaf/leaf_client.h"
#include "server/watch/change.h"
#include "server/watch/poller.h"

namespace leafsvc::watch {

class LeafCredentialReader {
 public:
  // `leaf` must outlive the reader.
  LeafCredentialReader(leaf::LeafClient* leaf, absl::Duration timeout)
      : leaf_(leaf), timeout_(timeout) {}

  // Starts reading `user`; `done` runs once, on the thread that finished
  // the read (maybe inline).
  std::shared_ptr<leaf::Cancellable> Read(const std::string& user,
                                          std::function<void(Observation)> done) const;
  // Read, as the poller's Fetch; the reader must outlive the poller.
  Poller::Fetch AsFetch() const;

 private:
  leaf::LeafClient* const leaf_;
  const absl::Duration timeout_;
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_LEAF_CREDENTIAL_READER_H_
