// Makes ThreadSanitizer see the synchronization of the system abseil.
//
// Debian's libabsl_synchronization is not built with -fsanitize=thread, so
// its Mutex, CondVar and Notification synchronize threads in code TSan never
// sees: every access guarded by an absl::Mutex would be reported as a race.
// Built with abseil itself under TSan, mutex.cc would carry these very
// annotations (ABSL_TSAN_MUTEX_PRE_LOCK and friends); here they are added from
// the outside instead. Each public entry point below is defined again in the
// test executable, which dynamic symbol lookup searches before any shared
// library, so calls from project code, from gRPC and from abseil itself all
// land here. The wrapper tells TSan what the call does and forwards to the
// real function, found with dlsym(RTLD_NEXT). See docs/tsan.md.
//
// Between __tsan_mutex_pre_* and __tsan_mutex_post_* TSan ignores memory
// accesses and synchronization, so the work abseil does inside (including
// Condition functions it evaluates for waiters) is not reported.

#include <dlfcn.h>
#include <link.h>
#include <sanitizer/tsan_interface.h>

extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/synchronization/barrier.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

#if !defined(__SANITIZE_THREAD__) && defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define __SANITIZE_THREAD__ 1
#endif
#endif
#ifndef __SANITIZE_THREAD__
#error "absl_mutex_shim is only for builds with -fsanitize=thread (--config=tsan)"
#endif

namespace {

// The suppressions and defaults compiled into every TSan test binary, so a
// binary run outside Bazel behaves as under `bazel test` (see tsan.supp).
constexpr char kSuppressions[] =
#include "bazel/tsan/tsan_supp.inc"
    ;

// Turns "_ZN4absl@5Mutex4LockEv" into the mangled name in the abseil this
// was compiled against: '@' stands for its inline namespace (e.g. debian3).
std::string Mangled(const char* pattern) {
  std::string ns;
#if ABSL_OPTION_USE_INLINE_NAMESPACE
#define TSAN_SHIM_STR2(x) #x
#define TSAN_SHIM_STR(x) TSAN_SHIM_STR2(x)
  const char* name = TSAN_SHIM_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  ns = std::to_string(std::strlen(name)) + name;
#endif
  std::string out;
  for (const char* p = pattern; *p != '\0'; ++p) {
    if (*p == '@') {
      out += ns;
    } else {
      out += *p;
    }
  }
  return out;
}

// The real abseil function behind one of the definitions below. A missing
// symbol means an abseil this shim does not know: stop rather than run
// without the annotations and report thousands of false races.
template <typename Fn>
Fn Real(const char* pattern) {
  const std::string name = Mangled(pattern);
  void* sym = dlsym(RTLD_NEXT, name.c_str());
  if (sym == nullptr) {
    std::fprintf(stderr, "absl_mutex_shim: %s not found after the shim: %s\n", name.c_str(),
                 dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(sym);
}

// Abseil's entry points call each other (CondVar::WaitWithTimeout calls
// WaitWithDeadline, Notification::Notify locks a Mutex, ...), and those calls
// land in this shim too. Only the outermost call on a thread is annotated: it
// describes the whole operation, and a nested annotation would unlock twice.
thread_local int shim_depth = 0;
// Whether the outermost call on this thread came from a system library.
thread_local bool shim_from_system = false;

// The code of the system's shared libraries (/usr/..., /lib...): gRPC,
// abseil, libstdc++; none of them is instrumented here. Collected once, at
// the first call (every library the tests use is loaded by then).
struct CodeRange {
  uintptr_t begin;
  uintptr_t end;
};
constexpr int kMaxRanges = 512;
struct SystemCode {
  CodeRange ranges[kMaxRanges];
  int count = 0;
};

int AddSystemCode(dl_phdr_info* info, size_t, void* data) {
  auto* code = static_cast<SystemCode*>(data);
  const char* name = info->dlpi_name;
  if (name == nullptr ||
      (std::strncmp(name, "/usr/", 5) != 0 && std::strncmp(name, "/lib", 4) != 0)) {
    return 0;
  }
  for (int i = 0; i < info->dlpi_phnum && code->count < kMaxRanges; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_X) == 0) continue;
    const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    code->ranges[code->count++] = {begin, begin + ph.p_memsz};
  }
  return 0;
}

bool InSystemLibrary(const void* pc) {
  static const SystemCode* const code = [] {
    auto* c = new SystemCode;
    dl_iterate_phdr(AddSystemCode, c);
    return c;
  }();
  const auto addr = reinterpret_cast<uintptr_t>(pc);
  for (int i = 0; i < code->count; ++i) {
    if (addr >= code->ranges[i].begin && addr < code->ranges[i].end) return true;
  }
  return false;
}

class ShimCall {
 public:
  explicit ShimCall(const void* caller) {
    if (++shim_depth == 1) shim_from_system = InSystemLibrary(caller);
  }
  ~ShimCall() { --shim_depth; }
  ShimCall(const ShimCall&) = delete;
  ShimCall& operator=(const ShimCall&) = delete;
};

// Starts a wrapper: declares `real`, the abseil function of the given type
// and mangled name (resolved once), and counts the call for `shim_depth`.
#define SHIM_ENTRY(type, pattern)               \
  static const auto real = Real<type>(pattern); \
  const ShimCall shim_call(__builtin_return_address(0))

// ABSL_MUTEX_SHIM_OFF=1 forwards every call unannotated: what TSan reports
// then is what the shim hides (tests/tsan uses it to show that it matters).
bool Annotating() {
  static const bool on = std::getenv("ABSL_MUTEX_SHIM_OFF") == nullptr;
  return on && shim_depth == 1;
}

// The annotations, unless switched off. A call from project code gets TSan's
// mutex annotations: ordering, plus ownership checks, lock-order (deadlock)
// detection and "mutexes held" in reports. TSan's mutex annotations also
// count as an atomic read of the mutex's memory; for gRPC's own mutexes,
// allocated and handed between threads by code TSan cannot see, that read is
// reported as a race with the allocation. A call from a system library
// therefore gets the ordering alone (__tsan_acquire / __tsan_release on the
// mutex's address, which touch no memory), with accesses ignored while
// abseil runs (as between __tsan_mutex_pre_* and __tsan_mutex_post_*).
void PreLock(void* mu, unsigned flags) {
  if (!Annotating()) return;
  if (shim_from_system) {
    __tsan_ignore_thread_begin();
  } else {
    __tsan_mutex_pre_lock(mu, flags);
  }
}
void PostLock(void* mu, unsigned flags, int recursion) {
  if (!Annotating()) return;
  if (shim_from_system) {
    __tsan_ignore_thread_end();
    if ((flags & __tsan_mutex_try_lock_failed) == 0) __tsan_acquire(mu);
  } else {
    __tsan_mutex_post_lock(mu, flags, recursion);
  }
}
void PreUnlock(void* mu, unsigned flags) {
  if (!Annotating()) return;
  if (shim_from_system) {
    __tsan_release(mu);
    __tsan_ignore_thread_begin();
  } else {
    __tsan_mutex_pre_unlock(mu, flags);
  }
}
void PostUnlock(void* mu, unsigned flags) {
  if (!Annotating()) return;
  if (shim_from_system) {
    __tsan_ignore_thread_end();
  } else {
    __tsan_mutex_post_unlock(mu, flags);
  }
}
void HappensBefore(const void* addr) {
  if (Annotating()) __tsan_release(const_cast<void*>(addr));
}
void HappensAfter(const void* addr) {
  if (Annotating()) __tsan_acquire(const_cast<void*>(addr));
}

// From mutex.cc: the bit of Mutex::mu_ that says the holder is a writer.
constexpr intptr_t kMuWriter = 0x0008;

}  // namespace

extern "C" const char* __tsan_default_suppressions() { return kSuppressions; }

// Any report fails the test (exit code 66, also TSan's default); all reports
// of a run are printed (halt_on_error=0) so that one run shows every race.
// TSAN_OPTIONS (e.g. from --test_env) is parsed after these and overrides them.
extern "C" const char* __tsan_default_options() {
  return "exitcode=66:halt_on_error=0:second_deadlock_stack=1:history_size=4";
}

namespace absl {
ABSL_NAMESPACE_BEGIN

namespace {

// How `mu` is held by the calling thread (abseil records it in the lock word;
// CondVar::WaitCommon reads it the same way for its own TSan annotations).
unsigned HeldFlags(const std::atomic<intptr_t>& word) {
  return (word.load(std::memory_order_relaxed) & kMuWriter) != 0 ? 0 : __tsan_mutex_read_lock;
}

// For calls that release a held mutex, wait, and take it again before
// returning (CondVar::Wait*, Mutex::Await*): TSan sees an unlock and a lock.
template <typename Call>
auto ReleaseAndReacquire(void* mu, unsigned flags, Call call) {
  PreUnlock(mu, flags);
  auto result = call();
  PostUnlock(mu, flags);
  PreLock(mu, flags);
  PostLock(mu, flags, 0);
  return result;
}

// For calls that take the mutex (blocking, possibly waiting for a Condition).
template <typename Call>
auto Acquire(void* mu, unsigned flags, Call call) {
  PreLock(mu, flags);
  auto result = call();
  PostLock(mu, flags, 0);
  return result;
}

template <typename Call>
void Release(void* mu, unsigned flags, Call call) {
  PreUnlock(mu, flags);
  call();
  PostUnlock(mu, flags);
}

constexpr unsigned kRead = __tsan_mutex_read_lock;

}  // namespace

// Mutex destruction is deliberately not annotated (__tsan_mutex_destroy):
// TSan would count it as a write to the mutex, and gRPC frees objects holding
// a Mutex behind reference counts in its uninstrumented code, which TSan
// would then report as a race between the destroy and the last unlock. A
// freed heap mutex loses its TSan state anyway; a mutex reusing the stack
// slot of an old one could at worst inherit its ordering (hiding, never
// inventing, a report).

void Mutex::Lock() {
  SHIM_ENTRY(void (*)(Mutex*), "_ZN4absl@5Mutex4LockEv");
  Acquire(this, 0, [&] { return (real(this), 0); });
}

void Mutex::ReaderLock() {
  SHIM_ENTRY(void (*)(Mutex*), "_ZN4absl@5Mutex10ReaderLockEv");
  Acquire(this, kRead, [&] { return (real(this), 0); });
}

void Mutex::Unlock() {
  SHIM_ENTRY(void (*)(Mutex*), "_ZN4absl@5Mutex6UnlockEv");
  Release(this, 0, [&] { real(this); });
}

void Mutex::ReaderUnlock() {
  SHIM_ENTRY(void (*)(Mutex*), "_ZN4absl@5Mutex12ReaderUnlockEv");
  Release(this, kRead, [&] { real(this); });
}

bool Mutex::TryLock() {
  SHIM_ENTRY(bool (*)(Mutex*), "_ZN4absl@5Mutex7TryLockEv");
  PreLock(this, __tsan_mutex_try_lock);
  const bool locked = real(this);
  PostLock(this, __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  return locked;
}

bool Mutex::ReaderTryLock() {
  SHIM_ENTRY(bool (*)(Mutex*), "_ZN4absl@5Mutex13ReaderTryLockEv");
  const unsigned flags = kRead | __tsan_mutex_try_lock;
  PreLock(this, flags);
  const bool locked = real(this);
  PostLock(this, flags | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  return locked;
}

void Mutex::LockWhen(const Condition& cond) {
  SHIM_ENTRY(void (*)(Mutex*, const Condition&), "_ZN4absl@5Mutex8LockWhenERKNS0_9ConditionE");
  Acquire(this, 0, [&] { return (real(this, cond), 0); });
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  SHIM_ENTRY(bool (*)(Mutex*, const Condition&, Duration),
             "_ZN4absl@5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Acquire(this, 0, [&] { return real(this, cond, timeout); });
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  SHIM_ENTRY(bool (*)(Mutex*, const Condition&, Time),
             "_ZN4absl@5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Acquire(this, 0, [&] { return real(this, cond, deadline); });
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  SHIM_ENTRY(void (*)(Mutex*, const Condition&),
             "_ZN4absl@5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  Acquire(this, kRead, [&] { return (real(this, cond), 0); });
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  SHIM_ENTRY(bool (*)(Mutex*, const Condition&, Duration),
             "_ZN4absl@5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_"
             "8DurationE");
  return Acquire(this, kRead, [&] { return real(this, cond, timeout); });
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  SHIM_ENTRY(bool (*)(Mutex*, const Condition&, Time),
             "_ZN4absl@5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_"
             "4TimeE");
  return Acquire(this, kRead, [&] { return real(this, cond, deadline); });
}

void Mutex::Await(const Condition& cond) {
  SHIM_ENTRY(void (*)(Mutex*, const Condition&), "_ZN4absl@5Mutex5AwaitERKNS0_9ConditionE");
  ReleaseAndReacquire(this, HeldFlags(mu_), [&] { return (real(this, cond), 0); });
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  SHIM_ENTRY(bool (*)(Mutex*, const Condition&, Duration),
             "_ZN4absl@5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return ReleaseAndReacquire(this, HeldFlags(mu_), [&] { return real(this, cond, timeout); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  SHIM_ENTRY(bool (*)(Mutex*, const Condition&, Time),
             "_ZN4absl@5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return ReleaseAndReacquire(this, HeldFlags(mu_), [&] { return real(this, cond, deadline); });
}

// CondVar waits release `mu` and hold it again when they return; the wake-up
// itself needs no annotation (what matters is ordered by `mu`).
void CondVar::Wait(Mutex* mu) {
  SHIM_ENTRY(void (*)(CondVar*, Mutex*), "_ZN4absl@7CondVar4WaitEPNS0_5MutexE");
  ReleaseAndReacquire(mu, HeldFlags(mu->mu_), [&] { return (real(this, mu), 0); });
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  SHIM_ENTRY(bool (*)(CondVar*, Mutex*, Duration),
             "_ZN4absl@7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  return ReleaseAndReacquire(mu, HeldFlags(mu->mu_), [&] { return real(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  SHIM_ENTRY(bool (*)(CondVar*, Mutex*, Time),
             "_ZN4absl@7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return ReleaseAndReacquire(mu, HeldFlags(mu->mu_), [&] { return real(this, mu, deadline); });
}

// Notification::HasBeenNotified() is inline (an atomic load the shim cannot
// see), but the waits are not: Notify releases the Notification and a wait
// that saw it notified acquires it, so what happened before Notify() is
// ordered before what follows the wait even when the wait took the fast path.
void Notification::Notify() {
  SHIM_ENTRY(void (*)(Notification*), "_ZN4absl@12Notification6NotifyEv");
  HappensBefore(this);
  real(this);
}

void Notification::WaitForNotification() const {
  SHIM_ENTRY(void (*)(const Notification*), "_ZNK4absl@12Notification19WaitForNotificationEv");
  real(this);
  HappensAfter(this);
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  SHIM_ENTRY(bool (*)(const Notification*, Duration),
             "_ZNK4absl@12Notification30WaitForNotificationWithTimeoutENS0_"
             "8DurationE");
  const bool notified = real(this, timeout);
  if (notified) HappensAfter(this);
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  SHIM_ENTRY(bool (*)(const Notification*, Time),
             "_ZNK4absl@12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const bool notified = real(this, deadline);
  if (notified) HappensAfter(this);
  return notified;
}

// BlockingCounter and Barrier: each participant's work before it arrives is
// ordered before what the waiters do after they are released.
bool BlockingCounter::DecrementCount() {
  SHIM_ENTRY(bool (*)(BlockingCounter*), "_ZN4absl@15BlockingCounter14DecrementCountEv");
  HappensBefore(this);
  const bool reached_zero = real(this);
  if (reached_zero) HappensAfter(this);
  return reached_zero;
}

void BlockingCounter::Wait() {
  SHIM_ENTRY(void (*)(BlockingCounter*), "_ZN4absl@15BlockingCounter4WaitEv");
  real(this);
  HappensAfter(this);
}

bool Barrier::Block() {
  SHIM_ENTRY(bool (*)(Barrier*), "_ZN4absl@7Barrier5BlockEv");
  HappensBefore(this);
  const bool last = real(this);
  HappensAfter(this);
  return last;
}

ABSL_NAMESPACE_END
}  // namespace absl
