// agleader_client audit against the real stack (emulator seeded with many
// growers, App, gRPC): rows, counts, formats and exit codes.
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/client/test_util.h"
#include "tests/integration/harness.h"

namespace leafsvc::client {
namespace {

using testing::Harness;

class AuditTest : public ClientTest {
 protected:
  void Seed(int users, std::map<std::string, double> mix = {},
            std::function<void(ServerConfig&)> tweak_server = nullptr) {
    h_ = Harness::Start(nullptr, std::move(tweak_server));
    leafemu::SeedSpec spec;
    spec.users = users;
    spec.seed = 42;
    if (!mix.empty()) spec.mix = mix;
    seeded_ = h_->emulator().Seed(spec);
  }
  CliResult Audit(std::vector<std::string> flags, const std::string& in = "") {
    std::vector<std::string> args = {"--server", h_->app().target(), "--timeout", "30s",
                                     "audit",    "--progress",       "none"};
    args.insert(args.end(), flags.begin(), flags.end());
    return RunCli(args, in);
  }
  // Summary line "  STATUS  N" value, or -1.
  static int SummaryCount(const std::string& text, const std::string& status) {
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() == 2 && f[0] == status) return std::stoi(std::string(f[1]));
    }
    return -1;
  }
  std::unique_ptr<Harness> h_;
  leafemu::SeedResult seeded_;
};

TEST_F(AuditTest, TenThousandGrowersByListing) {
  Seed(10000);
  CliResult r = Audit({});
  EXPECT_EQ(r.exit_code, kExitNeedsReauthorization) << r.err;
  for (const char* s : {"OK", "UNAUTHENTICATED", "MISSING_PERMISSION", "TEMPORARILY_UNAVAILABLE"}) {
    EXPECT_EQ(SummaryCount(r.out, s), seeded_.counts[s]) << s;
  }
  EXPECT_EQ(SummaryCount(r.out, "total"), 10000 - seeded_.counts["NONE"]);
  // One row per user with credentials, with the seeded status.
  std::map<std::string, std::string> status_of(seeded_.users.begin(), seeded_.users.end());
  int rows = 0;
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 2 || !status_of.count(std::string(f[0]))) continue;
    ++rows;
    EXPECT_EQ(f[1], status_of[std::string(f[0])]);
  }
  EXPECT_EQ(rows, 10000 - seeded_.counts["NONE"]);
  EXPECT_FALSE(absl::StrContains(r.out, "seeded-refresh-"));
  EXPECT_FALSE(absl::StrContains(r.out, "seeded-private-"));
}

TEST_F(AuditTest, UsersFileInChunksWithMissingUsersAsCsv) {
  Seed(300);
  std::string file = "# growers to check\n\n";
  std::map<std::string, int> expected;
  for (const auto& [id, status] : seeded_.users) {
    absl::StrAppend(&file, "  ", id, "  \n");
    ++expected[status == "NONE" ? "NO_CREDENTIALS" : status];
  }
  CliResult r = Audit({"--users", WriteFile("users.txt", file), "--csv", "--chunk_size", "64"});
  EXPECT_EQ(r.exit_code, kExitNeedsReauthorization) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 301u);
  EXPECT_EQ(lines[0],
            "leaf_user_id,status,leaf_status,create_time,refresh_token_hint,"
            "private_key_hint,access_token_hint,error_reason");
  // Rows in file order.
  for (size_t i = 0; i < seeded_.users.size(); ++i) {
    EXPECT_TRUE(absl::StartsWith(lines[i + 1], seeded_.users[i].first + ",")) << i;
  }
  for (const auto& [status, n] : expected) EXPECT_EQ(SummaryCount(r.err, status), n) << status;
  // 300 ids in chunks of 64: five BatchGetCredentials, one Leaf GET per id.
  EXPECT_EQ(h_->emulator().CountRequests("GET", "ag-leader-credentials"), 300);
}

TEST_F(AuditTest, ExitCodes) {
  Seed(20, {{"OK", 1}});
  std::string ids;
  for (const auto& [id, status] : seeded_.users) absl::StrAppend(&ids, id, "\n");
  CliResult ok = Audit({"--users", "-", "--json"}, ids);
  EXPECT_EQ(ok.exit_code, kExitOk) << ok.err;
  std::vector<std::string> lines = absl::StrSplit(ok.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 20u);
  EXPECT_TRUE(absl::StartsWith(lines[0], "{\"leafUserId\":\"" + seeded_.users[0].first + "\""));
  EXPECT_TRUE(absl::StrContains(lines[0], "\"status\":\"OK\""));
  EXPECT_TRUE(absl::StrContains(lines[0], "\"refreshTokenHint\":\"****"));

  // A user whose lookup fails at Leaf: an ERROR row and exit 1.
  leafemu::Fault fault;
  fault.kind = leafemu::Fault::Kind::kStatus;
  fault.status = 403;
  fault.path_contains = seeded_.users[3].first;
  fault.times = -1;
  h_->emulator().InjectFault(fault);
  CliResult failed = Audit({"--users", "-"}, ids);
  EXPECT_EQ(failed.exit_code, kExitRpcError);
  EXPECT_TRUE(absl::StrContains(failed.out, "LEAF_PERMISSION_DENIED"));
  EXPECT_EQ(SummaryCount(failed.out, "ERROR"), 1);

  // A bad line is a usage error naming the line.
  CliResult bad = Audit({"--users", "-"}, "# x\nnot-an-id\n");
  EXPECT_EQ(bad.exit_code, kExitUsageError);
  EXPECT_TRUE(absl::StrContains(bad.err, "line 2")) << bad.err;

  // The server unreachable: exit 1 with the error on stderr.
  CliResult down =
      RunCli({"--server", "127.0.0.1:1", "--timeout", "2s", "audit", "--progress", "none"});
  EXPECT_EQ(down.exit_code, kExitRpcError);
  EXPECT_TRUE(absl::StrContains(down.err, "UNAVAILABLE")) << down.err;
}

// Options are read before any call: the wrong --users file fails at once,
// naming the file and line, after reading 4 KiB of it (not GBs).
TEST_F(AuditTest, UsersFromDevZeroFailsFast) {
  CliResult r = RunCli({"--server", "127.0.0.1:1", "--timeout", "2s", "audit", "--users",
                        "/dev/zero", "--progress", "none"});
  EXPECT_EQ(r.exit_code, kExitUsageError);
  EXPECT_TRUE(absl::StrContains(r.err, "--users \"/dev/zero\" line 1: longer than 4096 bytes"))
      << r.err;
}

TEST_F(AuditTest, CsvCellsFromLeafCannotBeFormulas) {
  Seed(3, {{"OK", 1}});
  h_->emulator().SetCredentialStatus(seeded_.users[0].first, "=cmd|' /C calc'!A0\x1b[2J");
  CliResult r = Audit({"--users", "-", "--csv"}, seeded_.users[0].first + "\n");
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_TRUE(absl::StrContains(lines[1], ",'=cmd|' /C calc'!A0\\x1b[2J,")) << lines[1];
}

TEST_F(AuditTest, PlainProgressOnStderr) {
  Seed(30, {{"OK", 1}});
  std::string ids;
  for (const auto& [id, status] : seeded_.users) absl::StrAppend(&ids, id, "\n");
  std::vector<std::string> args = {"--server", h_->app().target(), "audit", "--users",
                                   "-",        "--progress",       "plain", "--chunk_size",
                                   "10"};
  CliResult r = RunCli(args, ids);
  EXPECT_EQ(r.exit_code, kExitOk);
  EXPECT_TRUE(absl::StrContains(r.err, "audit: 30/30 users (100%)")) << r.err;
}

// Leaf's request budget at 2 a second (burst 5) and calls of 2 s: one call
// cannot read 40 users, the server defers the rest (LEAF_RATE_LIMITED with
// RetryInfo), and the audit asks again for them after each delay until all
// 40 are rows; Leaf sees one GET per user, none for a deferral. Takes about
// 20 s (35 users at 2 a second).
TEST_F(AuditTest, DeferredUsersAreReadAfterWaitingForTheBudget) {
  Seed(40, {{"OK", 1}}, [](ServerConfig& c) {
    c.leaf_budget.requests_per_minute = 120;
    c.leaf_budget.burst = 5;
  });
  std::string ids;
  for (const auto& [id, status] : seeded_.users) absl::StrAppend(&ids, id, "\n");
  const absl::Time started = absl::Now();
  CliResult r = RunCli({"--server", h_->app().target(), "--timeout", "2s", "audit", "--users", "-",
                        "--progress", "plain", "--max_rate_limited_waits", "100"},
                       ids);
  std::printf("audit of 40 users at 120/min took %s; progress:\n%s",
              absl::FormatDuration(absl::Now() - started).c_str(), r.err.c_str());
  EXPECT_EQ(r.exit_code, kExitOk) << r.out << r.err;
  EXPECT_EQ(SummaryCount(r.out, "OK"), 40) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "LEAF_RATE_LIMITED")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, " users read after waiting for Leaf's budget")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.err, "for Leaf's request budget;")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "requests/min for bulk work)")) << r.err;
  EXPECT_EQ(h_->emulator().CountRequests("GET", "ag-leader-credentials"), 40);
}

}  // namespace
}  // namespace leafsvc::client
