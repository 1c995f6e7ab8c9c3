#include "client/audit_output.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "client/text_output.h"
#include "gtest/gtest.h"

namespace leafsvc::client {
namespace {

AuditRow RowWithEveryCell(const std::string& value) {
  AuditRow r;
  r.leaf_user_id = value;
  r.status = value;
  r.leaf_status = value;
  r.create_time = value;
  r.refresh_token_hint = value;
  r.private_key_hint = value;
  r.access_token_hint = value;
  r.error_reason = value;
  return r;
}

std::vector<std::string> CsvCells(const std::string& line) {
  EXPECT_TRUE(absl::EndsWith(line, "\n"));
  return absl::StrSplit(line.substr(0, line.size() - 1), ',');
}

// A spreadsheet runs a cell starting with = + - @ (and, in some, tab or CR)
// as a formula: Leaf's raw status comes from outside and could be one.
TEST(AuditCsvTest, FormulaLeadingCellsAreNeutralisedInEveryColumn) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\""},
      {"+1+1", "'+1+1"},
      {"-2+3", "'-2+3"},
      {"@SUM(A1:A9)", "'@SUM(A1:A9)"},
      {"\tcmd", "'\tcmd"},
      {"\rcmd", "'\\x0dcmd"},
  };
  for (const auto& [value, cell] : cases) {
    const std::string line = FormatAuditRow(RowWithEveryCell(value), AuditFormat::kCsv);
    if (absl::StrContains(cell, ",") || absl::StrContains(cell, "\"")) {
      EXPECT_TRUE(absl::StartsWith(line, cell + ",")) << line;
      continue;
    }
    const std::vector<std::string> cells = CsvCells(line);
    ASSERT_EQ(cells.size(), 8u) << line;
    for (const std::string& c : cells) EXPECT_EQ(c, cell) << value;
  }
}

TEST(AuditCsvTest, ControlBytesAreEscapedAsInTheTable) {
  const std::string hostile = "OK\x1b[2J\x07\nUNAUTHENTICATED\r\x7f";
  const std::string line = FormatAuditRow(RowWithEveryCell(hostile), AuditFormat::kCsv);
  // One line, no terminal control byte in it.
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    const unsigned char c = line[i];
    EXPECT_TRUE(c >= 0x20 && c != 0x7f) << "byte " << i << " of " << line;
  }
  const std::vector<std::string> cells = CsvCells(line);
  ASSERT_EQ(cells.size(), 8u);
  EXPECT_EQ(cells[2], Printable(hostile));
  EXPECT_EQ(cells[2], "OK\\x1b[2J\\x07\\x0aUNAUTHENTICATED\\x0d\\x7f");
}

TEST(AuditCsvTest, OrdinaryCellsAreUnchangedAndQuotingStillHolds) {
  AuditRow r;
  r.leaf_user_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
  r.status = "UNAUTHENTICATED";
  r.leaf_status = "UNAUTHENTICATED";
  r.create_time = "2023-04-21T12:16:27Z";
  r.refresh_token_hint = "****0001";
  r.error_reason = "a, \"b\"";
  EXPECT_EQ(FormatAuditRow(r, AuditFormat::kCsv),
            "3fa85f64-5717-4562-b3fc-2c963f66afa6,UNAUTHENTICATED,UNAUTHENTICATED,"
            "2023-04-21T12:16:27Z,****0001,,,\"a, \"\"b\"\"\"\n");
  // Not at the start: left alone.
  r.leaf_status = "A=B-C+D@E";
  EXPECT_TRUE(absl::StrContains(FormatAuditRow(r, AuditFormat::kCsv), ",A=B-C+D@E,"));
}

}  // namespace
}  // namespace leafsvc::client
