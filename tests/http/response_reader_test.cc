#include "server/http/response_reader.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_client.h"

namespace leafsvc::http {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

std::size_t Header(ResponseReader& reader, std::string line) {
  return ResponseReader::OnHeader(line.data(), 1, line.size(), &reader);
}

std::size_t Body(ResponseReader& reader, std::string chunk) {
  return ResponseReader::OnBody(chunk.data(), 1, chunk.size(), &reader);
}

TEST(ResponseReaderTest, CollectsLowerCasedHeadersAndBody) {
  ResponseReader reader;
  reader.Reset(100, false);
  EXPECT_EQ(Header(reader, "HTTP/1.1 200 OK\r\n"), 17u);
  EXPECT_EQ(Header(reader, "Content-Type:  text/plain \r\n"), 28u);
  EXPECT_EQ(Header(reader, "X-Test: a\r\n"), 11u);
  EXPECT_EQ(Header(reader, "x-test: b\r\n"), 11u);
  EXPECT_EQ(Header(reader, "\r\n"), 2u);
  EXPECT_EQ(Body(reader, "hel"), 3u);
  EXPECT_EQ(Body(reader, "lo"), 2u);
  HttpResponse response = reader.Take(200);
  EXPECT_EQ(response.status_code, 200);
  EXPECT_EQ(response.body, "hello");
  EXPECT_THAT(response.headers, ElementsAre(Pair("content-type", "text/plain"), Pair("x-test", "a"),
                                            Pair("x-test", "b")));
  EXPECT_FALSE(reader.too_large());
}

TEST(ResponseReaderTest, KeepsOnlyTheFinalResponsesHeaders) {
  ResponseReader reader;
  reader.Reset(100, false);
  Header(reader, "HTTP/1.1 100 Continue\r\n");
  Header(reader, "X-Interim: 1\r\n");
  Header(reader, "\r\n");
  Header(reader, "HTTP/1.1 201 Created\r\n");
  Header(reader, "Location: /x\r\n");
  EXPECT_THAT(reader.Take(201).headers, ElementsAre(Pair("location", "/x")));
}

TEST(ResponseReaderTest, ContentLengthOverTheLimitAbortsBeforeTheBody) {
  ResponseReader reader;
  reader.Reset(100, false);
  EXPECT_EQ(Header(reader, "Content-Length: 100\r\n"), 21u);
  EXPECT_FALSE(reader.too_large());
  reader.Reset(100, false);
  EXPECT_EQ(Header(reader, "Content-Length: 101\r\n"), 0u);
  EXPECT_TRUE(reader.too_large());
  EXPECT_EQ(reader.max_bytes(), 100u);
}

TEST(ResponseReaderTest, HeadResponseContentLengthIsNotABody) {
  ResponseReader reader;
  reader.Reset(10, true);
  EXPECT_EQ(Header(reader, "Content-Length: 5000\r\n"), 22u);
  EXPECT_FALSE(reader.too_large());
  EXPECT_EQ(reader.Take(200).Header("content-length"), "5000");
}

TEST(ResponseReaderTest, StreamedBodyStopsAtTheLimit) {
  ResponseReader reader;
  reader.Reset(10, false);
  EXPECT_EQ(Body(reader, "12345"), 5u);
  EXPECT_EQ(Body(reader, "67890"), 5u);  // Exactly at the limit.
  EXPECT_FALSE(reader.too_large());
  EXPECT_EQ(Body(reader, "x"), 0u);
  EXPECT_TRUE(reader.too_large());
  EXPECT_EQ(reader.Take(200).body, "1234567890");  // Nothing past the limit.
}

TEST(ResponseReaderTest, ResetForgetsThePreviousResponse) {
  ResponseReader reader;
  reader.Reset(3, false);
  Header(reader, "A: 1\r\n");
  Body(reader, "abcd");
  ASSERT_TRUE(reader.too_large());
  reader.Reset(100, false);
  EXPECT_FALSE(reader.too_large());
  HttpResponse response = reader.Take(204);
  EXPECT_TRUE(response.headers.empty());
  EXPECT_TRUE(response.body.empty());
  EXPECT_EQ(response.status_code, 204);
}

// A pooled handle keeps its reader: after a failed transfer the partial body
// (which can quote a secret) must not stay in it until the next request.
TEST(ResponseReaderTest, ReleaseLeavesNoBodyNorHeadersBehind) {
  ResponseReader reader;
  reader.Reset(16, false);
  Header(reader, "X-Echo: refresh-token-0001\r\n");
  Body(reader, "{\"privateKey\":\"");
  Body(reader, "private-key-0002-and-more-than-the-limit");
  ASSERT_TRUE(reader.too_large());  // the transfer failed; Take is never called
  ASSERT_GT(reader.held_bytes(), 0u);
  reader.Release();
  EXPECT_EQ(reader.held_bytes(), 0u);
  EXPECT_FALSE(reader.too_large());
  EXPECT_FALSE(reader.answered());
  HttpResponse left = reader.Take(0);
  EXPECT_TRUE(left.body.empty());
  EXPECT_TRUE(left.headers.empty());
}

}  // namespace
}  // namespace leafsvc::http
