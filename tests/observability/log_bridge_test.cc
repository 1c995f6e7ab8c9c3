// The library log bridges (server/observability/log_bridge.h): gRPC, protobuf and
// abseil output becomes one JSON line each, through Log() (so levels and
// redaction apply) or, for abseil's raw log, written to stderr by the hook.
#include "server/observability/log_bridge.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/base/internal/raw_logging.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/observability/log.h"
#include "server/secrets/redact.h"

namespace leafsvc {
namespace {

constexpr absl::string_view kSecret = "bridge-secret-8d2f61a0c4";

class LogBridgeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    InstallLogBridges();  // abseil allows each hook to be registered once
    RegisterProcessSecret(kSecret);
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
  }
  LogBridgeTest() {
    SetLogLevel(LogLevel::kDebug);
    SetLogSink([this](absl::string_view line) { lines_.emplace_back(line); });
  }
  ~LogBridgeTest() override {
    SetLogSink(nullptr);
    SetLogLevel(LogLevel::kInfo);
  }

  // The only line logged, parsed (a failure when there is not exactly one).
  rapidjson::Document OnlyLine() {
    rapidjson::Document doc;
    EXPECT_EQ(lines_.size(), 1u) << absl::StrJoin(lines_, "");
    if (lines_.size() != 1) return doc;
    doc.Parse(lines_[0].data(), lines_[0].size());
    EXPECT_TRUE(!doc.HasParseError() && doc.IsObject()) << lines_[0];
    return doc;
  }

  static std::string Str(const rapidjson::Value& doc, const char* key) {
    if (!doc.IsObject() || !doc.HasMember(key)) return "<absent>";
    if (doc[key].IsInt()) return absl::StrCat(doc[key].GetInt());
    if (!doc[key].IsString()) return "<not a string>";
    return std::string(doc[key].GetString(), doc[key].GetStringLength());
  }

  std::vector<std::string> lines_;
};

TEST_F(LogBridgeTest, GrpcLinesCarryLevelSourceFileAndLine) {
  struct Case {
    gpr_log_severity severity;
    const char* level;
  };
  for (const Case& c : {Case{GPR_LOG_SEVERITY_DEBUG, "debug"}, Case{GPR_LOG_SEVERITY_INFO, "info"},
                        Case{GPR_LOG_SEVERITY_ERROR, "error"}}) {
    lines_.clear();
    gpr_log("src/core/x.cc", 42, c.severity, "grpc says %d", 7);
    rapidjson::Document doc = OnlyLine();
    EXPECT_EQ(Str(doc, "level"), c.level);
    EXPECT_EQ(Str(doc, "msg"), "grpc says 7");
    EXPECT_EQ(Str(doc, "source"), "grpc");
    EXPECT_EQ(Str(doc, "file"), "src/core/x.cc");
    EXPECT_EQ(Str(doc, "line"), "42");
  }
}

TEST_F(LogBridgeTest, GrpcLinesFollowTheServicesLevelAndRedaction) {
  SetLogLevel(LogLevel::kError);
  gpr_log(GPR_INFO, "dropped at the service's level");
  EXPECT_TRUE(lines_.empty());
  gpr_log(GPR_ERROR, "peer sent \"%s\"\n{\"forged\":1}", std::string(kSecret).c_str());
  rapidjson::Document doc = OnlyLine();
  EXPECT_EQ(Str(doc, "msg"), "peer sent \"[redacted]\"\n{\"forged\":1}");
  EXPECT_FALSE(absl::StrContains(lines_[0], kSecret));
}

TEST_F(LogBridgeTest, ProtobufLinesCarryTheirSeverity) {
  GOOGLE_LOG(WARNING) << "String field contains invalid UTF-8 " << std::string(kSecret);
  rapidjson::Document doc = OnlyLine();
  EXPECT_EQ(Str(doc, "level"), "warning");
  EXPECT_EQ(Str(doc, "source"), "protobuf");
  EXPECT_EQ(Str(doc, "msg"), "String field contains invalid UTF-8 [redacted]");
  EXPECT_TRUE(absl::EndsWith(Str(doc, "file"), "log_bridge_test.cc")) << Str(doc, "file");
  lines_.clear();
  GOOGLE_LOG(INFO) << "info";
  EXPECT_EQ(Str(OnlyLine(), "level"), "info");
  lines_.clear();
  GOOGLE_LOG(ERROR) << "error";
  EXPECT_EQ(Str(OnlyLine(), "level"), "error");
}

TEST_F(LogBridgeTest, AbseilInternalLogCarriesItsText) {
  ABSL_INTERNAL_LOG(WARNING, "absl internal text");
  rapidjson::Document doc = OnlyLine();
  EXPECT_EQ(Str(doc, "level"), "warning");
  EXPECT_EQ(Str(doc, "msg"), "absl internal text");
  EXPECT_EQ(Str(doc, "source"), "absl");
  EXPECT_TRUE(absl::EndsWith(Str(doc, "file"), "log_bridge_test.cc"));
  lines_.clear();
  ABSL_INTERNAL_LOG(ERROR, "e");
  EXPECT_EQ(Str(OnlyLine(), "level"), "error");
}

TEST_F(LogBridgeTest, AbseilInternalFatalStillAborts) {
  // The macro promises not to return after FATAL; the bridge must abort.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(ABSL_INTERNAL_LOG(FATAL, "fatal"), "");
}

// Abseil's raw log bypasses Log(): the hook writes to fd 2 itself.
class RawLogTest : public LogBridgeTest {
 protected:
  // What `log` wrote to fd 2.
  template <typename F>
  static std::string Stderr(F log) {
    std::fflush(stderr);
    int fds[2];
    if (pipe(fds) != 0) return "<pipe failed>";
    const int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    log();
    dup2(saved, STDERR_FILENO);  // closes the pipe's last write end
    close(saved);
    std::string out;
    char buf[1024];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    return out;
  }
};

TEST_F(RawLogTest, ARawLogIsOneJsonLineWithFileLineAndATimestamp) {
  const absl::Time before = absl::Now() - absl::Seconds(1);
  int line_number = 0;
  const std::string out = Stderr([&] {
    line_number = __LINE__ + 1;
    ABSL_RAW_LOG(WARNING, "raw text %s", "is not available");
  });
  ASSERT_TRUE(absl::EndsWith(out, "}\n")) << out;
  ASSERT_EQ(out.find('\n'), out.size() - 1) << out;
  rapidjson::Document doc;
  doc.Parse(out.data(), out.size());
  ASSERT_TRUE(!doc.HasParseError() && doc.IsObject()) << out;
  EXPECT_EQ(Str(doc, "level"), "warning");
  EXPECT_EQ(Str(doc, "source"), "absl");
  EXPECT_TRUE(absl::StrContains(Str(doc, "msg"), "raw log")) << out;
  EXPECT_TRUE(absl::EndsWith(Str(doc, "file"), "log_bridge_test.cc")) << out;
  EXPECT_EQ(Str(doc, "line"), absl::StrCat(line_number));
  absl::Time t;
  std::string err;
  ASSERT_TRUE(
      absl::ParseTime("%Y-%m-%dT%H:%M:%E6SZ", Str(doc, "time"), absl::UTCTimeZone(), &t, &err))
      << Str(doc, "time") << ": " << err;
  EXPECT_GE(t, before);
  EXPECT_LE(t, absl::Now() + absl::Seconds(1));
  EXPECT_TRUE(lines_.empty()) << "the raw hook must not go through Log()";
}

TEST_F(RawLogTest, HostileFileNamesCannotBreakTheLine) {
  const std::string out = Stderr([] {
    absl::raw_logging_internal::RawLog(
        absl::LogSeverity::kError, "dir/\"x\\\n\x01\xc3\xa9.cc\",\"level\":\"info", -17, "text");
  });
  ASSERT_EQ(out.find('\n'), out.size() - 1) << out;
  rapidjson::Document doc;
  doc.Parse(out.data(), out.size());
  ASSERT_TRUE(!doc.HasParseError() && doc.IsObject()) << out;
  EXPECT_EQ(Str(doc, "level"), "error");
  EXPECT_EQ(Str(doc, "file"), "dir/\"x\\??\?\?.cc\",\"level\":\"info");
  EXPECT_EQ(Str(doc, "line"), "-17");
}

TEST_F(RawLogTest, AVeryLongFileNameIsCutNotOverflowed) {
  const std::string file(4000, 'f');
  const std::string out = Stderr([&] {
    absl::raw_logging_internal::RawLog(absl::LogSeverity::kWarning, file.c_str(), 1, "x");
  });
  ASSERT_EQ(out.find('\n'), out.size() - 1) << out;
  EXPECT_LE(out.size(), 512u);
  // Cut inside the file name, so the line still closes.
  rapidjson::Document doc;
  doc.Parse(out.data(), out.size());
  ASSERT_TRUE(!doc.HasParseError() && doc.IsObject()) << out;
  EXPECT_TRUE(absl::StartsWith(file, Str(doc, "file")));
  EXPECT_GT(Str(doc, "file").size(), 100u);
  EXPECT_EQ(Str(doc, "line"), "1");
}

TEST_F(RawLogTest, BelowTheServicesLevelNothingIsWritten) {
  SetLogLevel(LogLevel::kError);
  const std::string out = Stderr([] { ABSL_RAW_LOG(WARNING, "quiet"); });
  EXPECT_EQ(out, "");
  EXPECT_TRUE(lines_.empty());
}

}  // namespace
}  // namespace leafsvc
