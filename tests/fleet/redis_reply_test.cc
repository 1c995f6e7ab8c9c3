#include "server/fleet/redis_reply.h"

#include <hiredis/hiredis.h>

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace leafsvc::fleet {
namespace {

// Builds replies with hiredis's own parser, as the client receives them.
RedisReply Parse(const std::string& wire) {
  redisReader* reader = redisReaderCreate();
  EXPECT_EQ(redisReaderFeed(reader, wire.data(), wire.size()), REDIS_OK);
  void* reply = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &reply), REDIS_OK);
  EXPECT_NE(reply, nullptr);
  RedisReply out = CopyHiredisReply(*static_cast<redisReply*>(reply));
  freeReplyObject(reply);
  redisReaderFree(reader);
  return out;
}

TEST(RedisReplyTest, CopiesEveryType) {
  EXPECT_EQ(Parse("$-1\r\n"), RedisReply::Nil());
  EXPECT_EQ(Parse(":-42\r\n"), RedisReply::Integer(-42));
  EXPECT_EQ(Parse("+OK\r\n"), RedisReply::Status("OK"));
  EXPECT_EQ(Parse("-ERR nope\r\n"), RedisReply::Error("ERR nope"));
  EXPECT_EQ(Parse(std::string("$3\r\na\0b\r\n", 10)), RedisReply::String(std::string("a\0b", 3)));
  EXPECT_EQ(Parse("*3\r\n:1\r\n$-1\r\n*1\r\n+x\r\n"),
            RedisReply::Array({RedisReply::Integer(1), RedisReply::Nil(),
                               RedisReply::Array({RedisReply::Status("x")})}));
  EXPECT_EQ(Parse("*0\r\n"), RedisReply::Array({}));
}

TEST(RedisReplyTest, TypesAreDistinct) {
  EXPECT_NE(RedisReply::Status("OK"), RedisReply::String("OK"));
  EXPECT_NE(RedisReply::Error("OK"), RedisReply::Status("OK"));
  EXPECT_NE(RedisReply::Nil(), RedisReply::Array({}));
  EXPECT_TRUE(RedisReply::Error("x").is_error());
  EXPECT_TRUE(RedisReply::Nil().is_nil());
}

TEST(RedisReplyTest, DebugString) {
  EXPECT_EQ(RedisReply::Array({RedisReply::Integer(1), RedisReply::String("a"), RedisReply::Nil(),
                               RedisReply::Error("ERR x")})
                .DebugString(),
            "[1, \"a\", nil, (error) ERR x]");
}

}  // namespace
}  // namespace leafsvc::fleet
