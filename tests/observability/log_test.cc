// Structured logging (server/observability/log.h): levels, one JSON object per line
// whatever the strings hold, typed fields in order, redaction of the
// process's secrets and JWTs in every string not marked Redacted, shortening
// after redaction, and the default stderr destination.
#include "server/observability/log.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/secrets/redact.h"

namespace leafsvc {
namespace {

// Registered once for the process (there is no unregistering).
constexpr absl::string_view kProcessSecret = "process-secret-5f3a9c1e7b";
// A JWT-shaped string; none is registered.
constexpr absl::string_view kJwt =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJlLWJ5dGVz";

class LogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { RegisterProcessSecret(kProcessSecret); }
  LogTest() {
    SetLogLevel(LogLevel::kInfo);
    SetLogSink([this](absl::string_view line) { lines_.emplace_back(line); });
  }
  ~LogTest() override {
    SetLogSink(nullptr);
    SetLogLevel(LogLevel::kInfo);
  }

  // The one line logged so far, parsed; fails the test unless it is exactly
  // one JSON object followed by a single newline.
  rapidjson::Document OnlyLine() {
    rapidjson::Document doc;
    EXPECT_EQ(lines_.size(), 1u);
    if (lines_.size() != 1) return doc;
    const std::string& line = lines_[0];
    EXPECT_TRUE(absl::EndsWith(line, "}\n")) << line;
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "a raw line break inside: " << line;
    doc.Parse(line.data(), line.size());
    EXPECT_FALSE(doc.HasParseError()) << "not JSON: " << line;
    EXPECT_TRUE(doc.IsObject()) << line;
    return doc;
  }

  static std::string Str(const rapidjson::Document& doc, const char* key) {
    if (!doc.IsObject() || !doc.HasMember(key) || !doc[key].IsString()) return "<absent>";
    return std::string(doc[key].GetString(), doc[key].GetStringLength());
  }

  std::vector<std::string> lines_;
};

TEST(ParseLogLevelTest, AcceptsTheFourLowerCaseNamesOnly) {
  LogLevel level = LogLevel::kError;
  ASSERT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  ASSERT_TRUE(ParseLogLevel("info", &level));
  EXPECT_EQ(level, LogLevel::kInfo);
  ASSERT_TRUE(ParseLogLevel("warning", &level));
  EXPECT_EQ(level, LogLevel::kWarning);
  ASSERT_TRUE(ParseLogLevel("error", &level));
  EXPECT_EQ(level, LogLevel::kError);
  level = LogLevel::kInfo;
  for (const char* bad :
       {"", "INFO", "Info", "warn", "err", "fatal", " info", "info ", "trace", "debugx"}) {
    EXPECT_FALSE(ParseLogLevel(bad, &level)) << bad;
    EXPECT_EQ(level, LogLevel::kInfo) << "a refused name changed the level: " << bad;
  }
}

TEST_F(LogTest, LinesBelowTheLevelAreDroppedAndAtOrAboveAreKept) {
  SetLogLevel(LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarning));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  Log(LogLevel::kDebug, "d");
  Log(LogLevel::kInfo, "i");
  Log(LogLevel::kWarning, "w");
  Log(LogLevel::kError, "e");
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_TRUE(absl::StrContains(lines_[0], "\"level\":\"warning\",\"msg\":\"w\"")) << lines_[0];
  EXPECT_TRUE(absl::StrContains(lines_[1], "\"level\":\"error\",\"msg\":\"e\"")) << lines_[1];
  SetLogLevel(LogLevel::kDebug);
  Log(LogLevel::kDebug, "d2");
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_TRUE(absl::StrContains(lines_[2], "\"level\":\"debug\"")) << lines_[2];
}

TEST_F(LogTest, TimeLevelAndMessageComeFirstThenFieldsInOrderWithTheirTypes) {
  const absl::Time before = absl::Now();
  Log(LogLevel::kInfo, "rpc",
      {{"method", "GetCredentials"},
       {"attempts", 3},
       {"big", int64_t{-9007199254740993}},
       {"bytes", uint64_t{12345}},
       {"latency_ms", 1.23456},
       {"ok", true},
       {"retried", false}});
  const absl::Time after = absl::Now();
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& line = lines_[0];
  const std::regex shape(
      R"(^\{"time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6})Z","level":"info","msg":"rpc",)"
      R"("method":"GetCredentials","attempts":3,"big":-9007199254740993,"bytes":12345,)"
      R"("latency_ms":1\.235,"ok":true,"retried":false\}\n$)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(line, m, shape)) << line;
  absl::Time t;
  std::string err;
  ASSERT_TRUE(absl::ParseTime("%Y-%m-%dT%H:%M:%E6S", m[1].str(), absl::UTCTimeZone(), &t, &err))
      << err;
  EXPECT_GE(t, absl::FromUnixMicros(absl::ToUnixMicros(before)));
  EXPECT_LE(t, after);
}

TEST_F(LogTest, HostileStringsStayInsideTheirJsonString) {
  // A message and a field that try to close the string, add a field, start
  // a new line, or smuggle control bytes and a NUL.
  const std::string hostile = std::string("x\",\"level\":\"error\"}\n{\"msg\":\"forged\\\r\t") +
                              std::string("\0\x01\x1f\x7f", 4) + "\xc3\xa9";
  Log(LogLevel::kInfo, hostile, {{"user", hostile}, {hostile, "key-too"}});
  rapidjson::Document doc = OnlyLine();
  EXPECT_EQ(Str(doc, "level"), "info");
  EXPECT_EQ(Str(doc, "msg"), hostile);
  EXPECT_EQ(Str(doc, "user"), hostile);
  // The key went through the same escaping: exactly 5 members, the last
  // named by the whole hostile string.
  ASSERT_EQ(doc.MemberCount(), 5u);
  const rapidjson::Value& last_key = (doc.MemberEnd() - 1)->name;
  EXPECT_EQ(std::string(last_key.GetString(), last_key.GetStringLength()), hostile);
  EXPECT_TRUE(absl::StrContains(lines_[0], "\\u0000\\u0001\\u001f")) << lines_[0];
  EXPECT_TRUE(absl::StrContains(lines_[0], "\\r\\t")) << lines_[0];
}

TEST_F(LogTest, EveryStringThatIsNotMarkedRedactedLosesTheProcessSecretsAndJwts) {
  const std::string in_text = absl::StrCat("token=", kProcessSecret, " jwt=", kJwt);
  const std::string s = in_text;
  Log(LogLevel::kInfo, in_text,
      {{"view", absl::string_view(in_text)},
       {"str", s},
       {"cstr", s.c_str()},
       {"part", kProcessSecret.substr(2, 12)}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_FALSE(absl::StrContains(lines_[0], kProcessSecret.substr(2, 12))) << lines_[0];
  EXPECT_FALSE(absl::StrContains(lines_[0], "eyJhbGciOiJIUzI1NiJ9")) << lines_[0];
  rapidjson::Document doc = OnlyLine();
  const std::string expected = "token=[redacted] jwt=[redacted]";
  EXPECT_EQ(Str(doc, "msg"), expected);
  EXPECT_EQ(Str(doc, "view"), expected);
  EXPECT_EQ(Str(doc, "str"), expected);
  EXPECT_EQ(Str(doc, "cstr"), expected);
  EXPECT_EQ(Str(doc, "part"), "[redacted]");
}

TEST_F(LogTest, ARedactedValueIsNotRedactedAgainOnlyShortened) {
  // The caller vouches for it (it has passed a Redactor); Log must not pay
  // for redaction twice, so even a registered secret is written as given.
  const std::string vouched = absl::StrCat("already-clean ", kProcessSecret);
  const std::string long_vouched = std::string(kMaxLogFieldBytes + 100, 'v');
  Log(LogLevel::kInfo, "m",
      {{"v", LogValue::Redacted(vouched)}, {"long", LogValue::Redacted(long_vouched)}});
  rapidjson::Document doc = OnlyLine();
  EXPECT_EQ(Str(doc, "v"), vouched);
  EXPECT_EQ(Str(doc, "long"), Shorten(long_vouched, kMaxLogFieldBytes));
  EXPECT_LT(Str(doc, "long").size(), long_vouched.size());
  EXPECT_TRUE(absl::EndsWith(Str(doc, "long"), "...")) << "a cut is marked";
}

TEST_F(LogTest, LongStringsAreShortenedAfterRedactionSoACutCannotLeakAPartOfASecret) {
  // The secret straddles the byte limit: shortening first would leave its
  // first half in the line, unrecognised.
  const std::string pad(kMaxLogFieldBytes - 10, 'p');
  const std::string msg = absl::StrCat(pad, kProcessSecret, std::string(500, 'q'));
  Log(LogLevel::kInfo, msg, {{"field", msg}});
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& line = lines_[0];
  EXPECT_FALSE(absl::StrContains(line, kProcessSecret.substr(0, 8))) << "secret's head leaked";
  rapidjson::Document doc = OnlyLine();
  for (const char* key : {"msg", "field"}) {
    const std::string v = Str(doc, key);
    EXPECT_LE(v.size(), kMaxLogFieldBytes + 3) << key;
    EXPECT_TRUE(absl::StartsWith(v, pad)) << key;
    EXPECT_TRUE(absl::StrContains(v, "[redacted]")) << key;
  }
  // Short strings are left whole.
  lines_.clear();
  const std::string exact(kMaxLogFieldBytes, 'e');
  Log(LogLevel::kInfo, exact);
  EXPECT_EQ(Str(OnlyLine(), "msg"), exact);
}

TEST_F(LogTest, ShorteningNeverSplitsAUtf8Character) {
  std::string msg(kMaxLogFieldBytes - 1, 'a');
  for (int i = 0; i < 10; ++i) msg += "\xe2\x82\xac";  // the euro sign, 3 bytes
  Log(LogLevel::kInfo, msg);
  const std::string v = Str(OnlyLine(), "msg");
  ASSERT_TRUE(absl::EndsWith(v, "...")) << v.substr(v.size() - 10);
  const std::string kept = v.substr(0, v.size() - 3);
  EXPECT_TRUE(absl::EndsWith(kept, "a") || absl::EndsWith(kept, "\xe2\x82\xac"));
}

TEST_F(LogTest, NonFiniteNumbersStillMakeAJsonLine) {
  // JSON has no NaN or infinity; "%.3f" would write "nan" and "inf".
  Log(LogLevel::kInfo, "m",
      {{"nan", std::nan("")},
       {"inf", std::numeric_limits<double>::infinity()},
       {"ninf", -std::numeric_limits<double>::infinity()},
       {"max", std::numeric_limits<double>::max()}});
  rapidjson::Document doc = OnlyLine();
  ASSERT_TRUE(doc.IsObject());
  EXPECT_TRUE(doc["nan"].IsNull()) << lines_[0];
  EXPECT_TRUE(doc["inf"].IsNull()) << lines_[0];
  EXPECT_TRUE(doc["ninf"].IsNull()) << lines_[0];
  EXPECT_TRUE(doc["max"].IsNumber()) << lines_[0];
}

TEST_F(LogTest, ASinkCanBeReplacedAndIsCalledOncePerLine) {
  std::vector<std::string> other;
  SetLogSink([&other](absl::string_view line) { other.emplace_back(line); });
  Log(LogLevel::kInfo, "one");
  Log(LogLevel::kError, "two");
  EXPECT_TRUE(lines_.empty());
  ASSERT_EQ(other.size(), 2u);
  SetLogSink([this](absl::string_view line) { lines_.emplace_back(line); });
}

// Runs `body` in a child whose stderr is a pipe; returns what it wrote.
std::string StderrOfChild(void (*body)(), int* exit_code) {
  int fds[2];
  if (pipe(fds) != 0) return "<pipe failed>";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    body();
    std::exit(0);  // runs the atexit flush
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST(LogStderrTest, WithoutASinkLinesReachStderrAndAreFlushedAtExit) {
  // In a child: the stderr sink's writer thread starts with its first line,
  // and this process must stay single-threaded for the forks.
  int code = -1;
  const std::string err = StderrOfChild(
      [] {
        SetLogSink(nullptr);
        Log(LogLevel::kWarning, "first", {{"n", 1}});
        if (!FlushLog(absl::Seconds(30))) std::_Exit(3);
        Log(LogLevel::kError, "second at exit", {{"secret", kProcessSecret}});
        RegisterProcessSecret(kProcessSecret);
        Log(LogLevel::kError, "third", {{"secret", kProcessSecret}});
        if (LogLinesDropped() != 0) std::_Exit(4);
      },
      &code);
  EXPECT_EQ(code, 0);
  const std::vector<std::string> lines = absl::StrSplit(err, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << err;
  EXPECT_TRUE(absl::StrContains(lines[0], "\"msg\":\"first\",\"n\":1}")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[1], "\"msg\":\"second at exit\"")) << lines[1];
  EXPECT_TRUE(absl::StrContains(lines[2], "\"secret\":\"[redacted]\"")) << lines[2];
}

}  // namespace
}  // namespace leafsvc
