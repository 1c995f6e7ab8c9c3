// A Redis reply as a plain value: copied out of hiredis's redisReply before
// any callback sees it, so it outlives hiredis's buffers and can be moved
// between threads.
#ifndef SERVER_FLEET_REDIS_REPLY_H_
#define SERVER_FLEET_REDIS_REPLY_H_

#include <cstdint>
#include <string>
#include <vector>

struct redisReply;  // <hiredis/hiredis.h>; only redis_reply.cc needs it.

namespace leafsvc::fleet {

struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };

  Type type = Type::kNil;
  std::int64_t integer = 0;          // kInteger
  std::string str;                   // kString, kStatus, kError
  std::vector<RedisReply> elements;  // kArray

  static RedisReply Nil() { return RedisReply{}; }
  static RedisReply Integer(std::int64_t v);
  static RedisReply String(std::string s);
  static RedisReply Status(std::string s);
  static RedisReply Error(std::string s);
  static RedisReply Array(std::vector<RedisReply> elements);

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }

  // For test failures and debugging, e.g. [1, "a", nil, (error) ERR x].
  std::string DebugString() const;

  friend bool operator==(const RedisReply& a, const RedisReply& b);
  friend bool operator!=(const RedisReply& a, const RedisReply& b) { return !(a == b); }
};

// A deep copy of hiredis's reply (which must not be null).
RedisReply CopyHiredisReply(const redisReply& reply);

}  // namespace leafsvc::fleet

#endif  // SERVER_FLEET_REDIS_REPLY_H_
