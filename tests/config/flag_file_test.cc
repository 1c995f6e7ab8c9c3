// ReadFlagFile / ReadSecretFlagFile (server/config/flag_file.h): contents
// byte for byte, a size cap, and errors that name the flag and the path but
// never the contents.
#include "server/config/flag_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace leafsvc {
namespace {

std::string TempDir() {
  const char* d = std::getenv("TEST_TMPDIR");
  return d != nullptr ? d : "/tmp";
}

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  return path;
}

TEST(ReadFlagFileTest, ReturnsTheBytesUnchangedBinaryIncluded) {
  const std::string contents("line 1\r\nline 2\n\0binary\xff\n", 25);
  auto r = ReadFlagFile("tls_cert_file", WriteFile("binary", contents));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, contents);
}

TEST(ReadFlagFileTest, EmptyFileIsEmptyNotAnError) {
  auto r = ReadFlagFile("api_keys_file", WriteFile("empty", ""));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "");
}

TEST(ReadFlagFileTest, ExactlyTheCapIsReadOneByteMoreIsRefused) {
  const std::string at_cap(kMaxFlagFileBytes, 'a');
  auto r = ReadFlagFile("big", WriteFile("at_cap", at_cap));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), kMaxFlagFileBytes);

  const std::string path = WriteFile("over_cap", at_cap + "SECRET-TAIL");
  r = ReadFlagFile("big", path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "--big")) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), path)) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "larger than")) << r.status();
  EXPECT_FALSE(absl::StrContains(r.status().message(), "SECRET-TAIL"));
  EXPECT_FALSE(absl::StrContains(r.status().message(), "aaaa"));
}

TEST(ReadFlagFileTest, MissingFileNamesFlagPathAndReason) {
  const std::string path = TempDir() + "/does/not/exist";
  auto r = ReadFlagFile("client_ca_file", path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "--client_ca_file: cannot read " + path))
      << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "No such file")) << r.status();
}

TEST(ReadFlagFileTest, UnreadableFileIsAnError) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  const std::string path = WriteFile("no_read", "secret-contents");
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  auto r = ReadFlagFile("tls_key_file", path);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "--tls_key_file")) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "Permission denied")) << r.status();
  EXPECT_FALSE(absl::StrContains(r.status().message(), "secret-contents"));
}

TEST(ReadFlagFileTest, AReadErrorAfterOpeningIsAnErrorNotEmptyContents) {
  // /proc/self/mem opens, but reading at offset 0 fails (EIO), even as root.
  auto r = ReadFlagFile("api_keys_file", "/proc/self/mem");
  ASSERT_FALSE(r.ok()) << "read as " << r->size() << " bytes";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StrContains(r.status().message(), "--api_keys_file: cannot read /proc/self/mem"))
      << r.status();
}

TEST(ReadFlagFileTest, DirectoryIsAnErrorNotEmptyContents) {
  auto r = ReadFlagFile("tls_cert_file", TempDir());
  ASSERT_FALSE(r.ok()) << "a directory read as " << r->size() << " bytes";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "--tls_cert_file")) << r.status();
}

TEST(ReadSecretFlagFileTest, TrailingLineBreaksOfAnyKindAreRemoved) {
  for (const char* tail : {"", "\n", "\r\n", "\n\n\r\n", "\r"}) {
    auto r = ReadSecretFlagFile("leaf_password", WriteFile("secret", std::string("s3cr3t") + tail));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, "s3cr3t");
  }
}

TEST(ReadSecretFlagFileTest, InnerSpacesAndLeadingWhitespaceAreKept) {
  auto r = ReadSecretFlagFile("leaf_password", WriteFile("secret", " a b\t\n"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, " a b\t");
}

TEST(ReadSecretFlagFileTest, EmptyOrOnlyLineBreaksIsAnError) {
  for (const char* contents : {"", "\n", "\r\n\r\n"}) {
    const std::string path = WriteFile("empty_secret", contents);
    auto r = ReadSecretFlagFile("alerts_secret", path);
    ASSERT_FALSE(r.ok()) << "contents: " << absl::CEscape(contents);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "--alerts_secret: " + path + " is empty");
  }
}

TEST(ReadSecretFlagFileTest, TwoLinesIsAnErrorThatQuotesNeither) {
  for (const char* contents : {"first-line\nsecond-line", "first-line\rsecond-line\n"}) {
    const std::string path = WriteFile("two_lines", contents);
    auto r = ReadSecretFlagFile("leaf_password", path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "--leaf_password: " + path + " must hold a single line");
    EXPECT_FALSE(absl::StrContains(r.status().message(), "first-line"));
    EXPECT_FALSE(absl::StrContains(r.status().message(), "second-line"));
  }
}

TEST(ReadSecretFlagFileTest, ReadErrorsPassThrough) {
  auto r = ReadSecretFlagFile("leaf_password", TempDir() + "/missing-secret");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "--leaf_password: cannot read"));
  r = ReadSecretFlagFile("leaf_password",
                         WriteFile("big_secret", std::string(kMaxFlagFileBytes + 1, 's')));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "larger than"));
}

}  // namespace
}  // namespace leafsvc
