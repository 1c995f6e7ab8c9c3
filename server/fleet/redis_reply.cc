#include "server/fleet/redis_reply.h"

#include <hiredis/hiredis.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace leafsvc::fleet {

RedisReply RedisReply::Integer(std::int64_t v) {
  RedisReply r;
  r.type = Type::kInteger;
  r.integer = v;
  return r;
}

RedisReply RedisReply::String(std::string s) {
  RedisReply r;
  r.type = Type::kString;
  r.str = std::move(s);
  return r;
}

RedisReply RedisReply::Status(std::string s) {
  RedisReply r = String(std::move(s));
  r.type = Type::kStatus;
  return r;
}

RedisReply RedisReply::Error(std::string s) {
  RedisReply r = String(std::move(s));
  r.type = Type::kError;
  return r;
}

RedisReply RedisReply::Array(std::vector<RedisReply> elements) {
  RedisReply r;
  r.type = Type::kArray;
  r.elements = std::move(elements);
  return r;
}

std::string RedisReply::DebugString() const {
  switch (type) {
    case Type::kNil:
      return "nil";
    case Type::kInteger:
      return absl::StrCat(integer);
    case Type::kString:
      return absl::StrCat("\"", str, "\"");
    case Type::kStatus:
      return str;
    case Type::kError:
      return absl::StrCat("(error) ", str);
    case Type::kArray:
      return absl::StrCat("[",
                          absl::StrJoin(elements, ", ",
                                        [](std::string* out, const RedisReply& e) {
                                          out->append(e.DebugString());
                                        }),
                          "]");
  }
  return "?";
}

bool operator==(const RedisReply& a, const RedisReply& b) {
  return a.type == b.type && a.integer == b.integer && a.str == b.str && a.elements == b.elements;
}

RedisReply CopyHiredisReply(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_INTEGER:
      return RedisReply::Integer(reply.integer);
    case REDIS_REPLY_STRING:
      return RedisReply::String(std::string(reply.str, reply.len));
    case REDIS_REPLY_STATUS:
      return RedisReply::Status(std::string(reply.str, reply.len));
    case REDIS_REPLY_ERROR:
      return RedisReply::Error(std::string(reply.str, reply.len));
    case REDIS_REPLY_ARRAY: {
      std::vector<RedisReply> elements;
      elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) {
        elements.push_back(reply.element[i] != nullptr ? CopyHiredisReply(*reply.element[i])
                                                       : RedisReply::Nil());
      }
      return RedisReply::Array(std::move(elements));
    }
    case REDIS_REPLY_NIL:
    default:
      return RedisReply::Nil();
  }
}

}  // namespace leafsvc::fleet
