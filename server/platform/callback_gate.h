// Admits callbacks into an object while it lives: a callback that may run
// on any thread at any time (a timer task, a read's completion) holds a
// Pass while it runs inside the object; the object's destructor calls
// Close(), after which no Pass is admitted, and which returns once the
// callbacks already inside have left. Held through a shared_ptr by the
// callbacks, so the gate outlives the object it guards.
#ifndef SERVER_PLATFORM_CALLBACK_GATE_H_
#define SERVER_PLATFORM_CALLBACK_GATE_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace leafsvc {

class CallbackGate {
 public:
  // True (as a bool) when the callback may run: the gate was open.
  class Pass {
   public:
    explicit Pass(CallbackGate* gate) : gate_(gate) {
      absl::MutexLock lock(&gate_->mu_);
      entered_ = gate_->open_;
      if (entered_) ++gate_->inside_;
    }
    ~Pass() {
      if (!entered_) return;
      absl::MutexLock lock(&gate_->mu_);
      --gate_->inside_;
    }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    explicit operator bool() const { return entered_; }

   private:
    CallbackGate* const gate_;
    bool entered_ = false;
  };

  // Admits no more, then waits for those inside. Not from inside a Pass.
  void Close() {
    absl::MutexLock lock(&mu_);
    open_ = false;
    mu_.Await(absl::Condition(
        +[](CallbackGate* g) ABSL_NO_THREAD_SAFETY_ANALYSIS { return g->inside_ == 0; }, this));
  }

 private:
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  int inside_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace leafsvc

#endif  // SERVER_PLATFORM_CALLBACK_GATE_H_
