#include "server/observability/async_log_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace leafsvc {
namespace {

class Pipe {
 public:
  Pipe() { EXPECT_EQ(pipe(fds_), 0); }
  ~Pipe() {
    close(fds_[0]);
    close(fds_[1]);
  }
  int read_fd() const { return fds_[0]; }
  int write_fd() const { return fds_[1]; }
  void CloseWriteEnd() {
    close(fds_[1]);
    fds_[1] = -1;
  }
  // Everything readable now (the write end stays open).
  std::string Drain() {
    fcntl(fds_[0], F_SETFL, O_NONBLOCK);
    std::string out;
    char buf[65536];
    for (;;) {
      const ssize_t n = read(fds_[0], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fds_[2];
};

TEST(AsyncLogSinkTest, WritesEveryLineInOrderByFlush) {
  Pipe p;
  AsyncLogSink::Options options;
  options.fd = p.write_fd();
  AsyncLogSink sink(options);
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    const std::string line = absl::StrCat("line ", i, "\n");
    sink.Write(line);
    expected += line;
  }
  ASSERT_TRUE(sink.Flush(absl::Seconds(5)));
  EXPECT_EQ(p.Drain(), expected);
  EXPECT_EQ(sink.dropped(), 0u);
}

TEST(AsyncLogSinkTest, AStalledDescriptorDropsAndCountsInsteadOfBlocking) {
  Pipe p;
  fcntl(p.write_fd(), F_SETPIPE_SZ, 4096);
  AsyncLogSink::Options options;
  options.fd = p.write_fd();
  options.max_buffered_bytes = 16 * 1024;
  options.dropped_notice = [](std::uint64_t n) { return absl::StrCat("dropped ", n, "\n"); };
  AsyncLogSink sink(options);
  const std::string line(100, 'x');
  // Nobody reads the pipe: the writer is stuck after about 4 KB, the
  // buffer fills at 16 KB, and every further line is dropped, at once.
  for (int i = 0; i < 2000; ++i) sink.Write(line + "\n");
  EXPECT_FALSE(sink.Flush(absl::Milliseconds(50)));
  const std::uint64_t dropped = sink.dropped();
  EXPECT_GT(dropped, 1000u);
  EXPECT_LT(dropped, 2000u);

  // Once the reader catches up, what was kept arrives, and every drop is
  // reported: the writer may have taken a batch in the middle of the drops,
  // so the count can come in more than one notice, each after the lines it
  // followed. Together they add up to the count.
  std::string got;
  std::thread reader([&] {
    char buf[4096];
    for (;;) {
      const ssize_t n = read(p.read_fd(), buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  });
  ASSERT_TRUE(sink.Flush(absl::Seconds(10)));
  p.CloseWriteEnd();
  reader.join();
  std::uint64_t reported = 0;
  std::size_t kept = 0;
  for (absl::string_view l : absl::StrSplit(got, '\n', absl::SkipEmpty())) {
    std::uint64_t n = 0;
    if (absl::ConsumePrefix(&l, "dropped ")) {
      ASSERT_TRUE(absl::SimpleAtoi(l, &n)) << l;
      reported += n;
    } else {
      ASSERT_EQ(l, line);
      ++kept;
    }
  }
  EXPECT_EQ(reported, dropped);
  EXPECT_EQ(kept + dropped, 2000u);
  EXPECT_EQ(got.find(line + "\n"), 0u);
}

}  // namespace
}  // namespace leafsvc
