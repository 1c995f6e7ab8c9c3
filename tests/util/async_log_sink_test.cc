#include "server/util/async_log_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
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

  // Once the reader catches up, what was kept arrives, then the notice.
  std::string got;
  std::thread reader([&] {
    char buf[4096];
    for (;;) {
      const ssize_t n = read(p.read_fd(), buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
      if (got.find("dropped ") != std::string::npos && got.back() == '\n') break;
    }
  });
  reader.join();
  EXPECT_NE(got.find(absl::StrCat("dropped ", dropped, "\n")), std::string::npos);
  EXPECT_EQ(got.find(line + "\n"), 0u);
}

}  // namespace
}  // namespace leafsvc
