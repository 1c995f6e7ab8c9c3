// Tells ThreadSanitizer about an ordering that a library guarantees but
// that TSan cannot see, because the library (the system's gRPC) is not built
// with TSan: e.g. gRPC runs a reactor's OnDone only after its Finish, but
// the hand-off happens inside libgrpc. Without these, TSan reports the
// reactor's destruction in OnDone as racing with what Finish's caller wrote
// before Finish. In every other build they compile to nothing.
#ifndef SERVER_PLATFORM_HAPPENS_BEFORE_H_
#define SERVER_PLATFORM_HAPPENS_BEFORE_H_

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LEAFSVC_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define LEAFSVC_TSAN 1
#endif

#ifdef LEAFSVC_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace leafsvc {

// Everything this thread did before HappensBefore(key) happens before what
// a thread does after a later HappensAfter(key).
inline void HappensBefore(const void* key) {
#ifdef LEAFSVC_TSAN
  __tsan_release(const_cast<void*>(key));
#else
  (void)key;
#endif
}

inline void HappensAfter(const void* key) {
#ifdef LEAFSVC_TSAN
  __tsan_acquire(const_cast<void*>(key));
#else
  (void)key;
#endif
}

}  // namespace leafsvc

#endif  // SERVER_PLATFORM_HAPPENS_BEFORE_H_
