// How the poller reads watched users: GetCredentials through the Leaf
// client (its limits and the request budget apply to every read) with the
// upstream timeout, the outcome as an Observation (no credentials is
// kAbsent, not an error); and how a sweep reads a page of Leaf's user
// listing. Each read carries its class in the budget: alert-prompted reads
// `prompted`, initial and scheduled reads and sweep pages `poll`.
#ifndef SERVER_WATCH_LEAF_CREDENTIAL_READER_H_
#define SERVER_WATCH_LEAF_CREDENTIAL_READER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/leaf/leaf_client.h"
#include "server/watch/change.h"
#include "server/watch/poller.h"
#include "server/watch/sweeper.h"

namespace leafsvc::watch {

class LeafCredentialReader {
 public:
  // `leaf` must outlive the reader.
  LeafCredentialReader(leaf::LeafClient* leaf, absl::Duration timeout)
      : leaf_(leaf), timeout_(timeout) {}

  // Starts reading `user` for `source`; `done` runs once, on the thread
  // that finished the read (maybe inline).
  std::shared_ptr<leaf::Cancellable> Read(const std::string& user, Source source,
                                          std::function<void(Observation)> done) const;
  // Starts reading one page of GET /users (poll class).
  std::shared_ptr<leaf::Cancellable> ReadPage(int page, int size, absl::Time deadline,
                                              Sweeper::PageDone done) const;
  // Read, as the poller's Fetch; the reader must outlive the poller.
  Poller::Fetch AsFetch() const;
  // ReadPage, as the sweeper's SweepFetch; the reader must outlive it.
  Sweeper::SweepFetch AsSweepFetch() const;

  // The budget priority of a read for `source`.
  static int PriorityOf(Source source);

 private:
  leaf::LeafClient* const leaf_;
  const absl::Duration timeout_;
};

}  // namespace leafsvc::watch

#endif  // SERVER_WATCH_LEAF_CREDENTIAL_READER_H_
