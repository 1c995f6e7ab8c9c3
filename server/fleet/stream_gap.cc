#include "server/fleet/stream_gap.h"

#include <algorithm>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"

namespace leafsvc::fleet {
namespace {

using watch::ChangePosition;

ChangePosition Next(ChangePosition p) { return {p.ms, p.seq + 1}; }

std::optional<ChangePosition> IdOf(const RedisReply& r) {
  if (r.type != RedisReply::Type::kString) return std::nullopt;
  return ChangePosition::Parse(r.str);
}

}  // namespace

absl::StatusOr<StreamInfo> ParseStreamInfo(const RedisReply& reply) {
  StreamInfo info;
  if (reply.is_error()) {
    if (absl::StrContains(reply.str, "no such key")) return info;
    return absl::InternalError("Redis refused XINFO STREAM");
  }
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() % 2 != 0) {
    return absl::InternalError("XINFO STREAM's reply is not a list of fields");
  }
  info.exists = true;
  bool has_last = false;
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    const std::string& name = reply.elements[i].str;
    const RedisReply& value = reply.elements[i + 1];
    if (name == "length") {
      info.length = value.integer;
    } else if (name == "last-generated-id") {
      std::optional<ChangePosition> p = IdOf(value);
      if (!p.has_value()) return absl::InternalError("XINFO STREAM: bad last-generated-id");
      info.last_generated = *p;
      has_last = true;
    } else if (name == "max-deleted-entry-id") {
      info.max_deleted = IdOf(value);
    } else if (name == "entries-added" && value.type == RedisReply::Type::kInteger) {
      info.entries_added = value.integer;
    } else if (name == "first-entry" && !value.is_nil()) {
      // [id, [field, value, ...]]
      if (value.type != RedisReply::Type::kArray || value.elements.empty()) {
        return absl::InternalError("XINFO STREAM: bad first-entry");
      }
      info.first_entry = IdOf(value.elements[0]);
      if (!info.first_entry.has_value())
        return absl::InternalError("XINFO STREAM: bad first-entry");
    }
  }
  if (!has_last) return absl::InternalError("XINFO STREAM: no last-generated-id");
  return info;
}

std::optional<ChangePosition> GapFloor(const StreamInfo& info, ChangePosition last,
                                       std::optional<std::int64_t> added_through_last) {
  const ChangePosition zero;
  if (!info.exists) {
    // Gone (a Redis that lost its data, or a DEL): whatever it held after
    // `last` is lost. With nothing ever seen there is no position to name;
    // watchers' known_since tells a new record from an old one.
    if (last == zero) return std::nullopt;
    return Next(last);
  }
  if (info.last_generated < last) {
    // Ids went back: a new stream (Redis lost its data, its clock is
    // behind ours). Ids before `last` will never be delivered.
    return std::max(Next(last), info.first_entry.value_or(zero));
  }
  if (last != zero && info.first_entry.has_value() && *info.first_entry <= last) {
    // Our last entry is still there, so trimming (oldest first) took
    // nothing after it; only XDEL can have.
    if (info.max_deleted.has_value() && *info.max_deleted > last) return Next(*info.max_deleted);
    return std::nullopt;
  }
  // Our last entry is gone (or there was none): every entry the stream
  // holds is newer than `last`. Nothing after it was lost only if exactly
  // the entries up to it were removed: fewer means another stream (Redis
  // lost its data), more means some after it. Unknown counts: the worst.
  if (added_through_last.has_value() && info.entries_added.has_value() &&
      *info.entries_added - info.length == *added_through_last) {
    return std::nullopt;
  }
  return std::max(Next(last), info.first_entry.value_or(Next(info.last_generated)));
}

}  // namespace leafsvc::fleet
