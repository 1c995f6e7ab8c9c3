#include "server/edge/validation.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "server/connect/connect_links.h"
#include "server/connect/return_url_policy.h"
#include "server/edge/resources.h"
#include "server/errors/reasons.h"
#include "server/errors/status_details.h"
#include "server/ids/leaf_user_id.h"
#include "server/leaf/leaf_endpoints.h"
#include "server/text/utf8.h"

namespace leafsvc {
namespace {

namespace v1 = ::leaf::agleader::v1;

class Violations {
 public:
  void Add(absl::string_view field, std::string description) {
    list_.push_back({std::string(field), std::move(description)});
  }

  void CheckLeafUserId(absl::string_view id) {
    if (id.empty()) {
      Add("leaf_user_id",
          "required: the Leaf user's id, e.g. 3fa85f64-5717-4562-b3fc-2c963f66afa6");
    } else if (!IsLeafUserId(id)) {
      // The value is not echoed: it may be anything, including a secret
      // pasted into the wrong field.
      Add("leaf_user_id", absl::StrCat("must be a UUID of 8-4-4-4-12 hexadecimal digits, "
                                       "e.g. 3fa85f64-5717-4562-b3fc-2c963f66afa6 (got ",
                                       id.size(), " characters)"));
    }
  }

  // A required (or, with `required` false, optional) secret-like field.
  void CheckCredentialField(absl::string_view field, absl::string_view value, bool required) {
    if (value.empty()) {
      if (required) Add(field, "required");
      return;
    }
    if (value.size() > kMaxSecretFieldBytes) {
      Add(field, absl::StrCat("must be at most ", kMaxSecretFieldBytes, " bytes (got ",
                              value.size(), ")"));
      return;
    }
    CheckCharacters(field, value);
  }

  // Any string field: no control or invisible format character, which could
  // hide or reorder text in logs and consoles (bidi overrides) or make two
  // equal-looking values differ.
  void CheckCharacters(absl::string_view field, absl::string_view value) {
    const int32_t c = FirstForbiddenChar(value);
    if (c < 0) return;
    Add(field, absl::StrFormat("must not contain control characters (newline, tab, NUL, "
                               "U+0085...) or invisible formatting characters (bidi overrides "
                               "such as U+202E, zero-width spaces...), found U+%04X; check for "
                               "a stray line break when it was copied",
                               c));
  }

  void CheckPageSize(int page_size) {
    if (page_size < 0 || page_size > kMaxPageSize) {
      Add("page_size", absl::StrCat("must be between 0 and ", kMaxPageSize, " (0 means ",
                                    kDefaultPageSize, "), got ", page_size));
    }
  }

  void CheckView(v1::CredentialsView view, const ValidationOptions& options) {
    if (!v1::CredentialsView_IsValid(view)) {
      Add("view", absl::StrCat("unknown view ", static_cast<int>(view)));
    } else if (view == v1::CREDENTIALS_VIEW_FULL && !options.allow_full_view) {
      full_view_denied_ = true;
    }
  }

  absl::Status ToStatus() const {
    if (!list_.empty()) {
      StatusDetails d;
      d.field_violations = list_;
      std::vector<std::string> parts;
      for (const FieldViolation& v : list_) {
        parts.push_back(absl::StrCat(v.field, ": ", v.description));
      }
      return MakeError(reasons::kInvalidRequest,
                       absl::StrCat("invalid request: ", absl::StrJoin(parts, "; ")), d);
    }
    if (full_view_denied_) {
      return MakeError(reasons::kFullViewNotAllowed,
                       "CREDENTIALS_VIEW_FULL is disabled on this server (it was not "
                       "started with --allow_full_view); use CREDENTIALS_VIEW_BASIC");
    }
    return absl::OkStatus();
  }

 private:
  std::vector<FieldViolation> list_;
  bool full_view_denied_ = false;
};

}  // namespace

absl::Status Validate(const v1::GetCredentialsRequest& request, const ValidationOptions& options) {
  Violations v;
  v.CheckLeafUserId(request.leaf_user_id());
  v.CheckView(request.view(), options);
  return v.ToStatus();
}

absl::Status Validate(const v1::CreateCredentialsRequest& request,
                      const ValidationOptions& options) {
  Violations v;
  v.CheckLeafUserId(request.leaf_user_id());
  v.CheckCredentialField("refresh_token", request.refresh_token(), true);
  v.CheckCredentialField("public_key", request.public_key(), true);
  v.CheckCredentialField("private_key", request.private_key(), true);
  v.CheckCredentialField("access_token", request.access_token(), false);
  v.CheckView(request.view(), options);
  return v.ToStatus();
}

absl::Status Validate(const v1::DeleteCredentialsRequest& request) {
  Violations v;
  v.CheckLeafUserId(request.leaf_user_id());
  return v.ToStatus();
}

absl::Status Validate(const v1::ListCredentialEventsRequest& request,
                      const ValidationOptions& options) {
  Violations v;
  v.CheckLeafUserId(request.leaf_user_id());
  v.CheckView(request.view(), options);
  v.CheckPageSize(request.page_size());
  v.CheckCharacters("page_token", request.page_token());
  return v.ToStatus();
}

absl::Status Validate(const v1::BatchGetCredentialsRequest& request,
                      const ValidationOptions& options) {
  Violations v;
  const int n = request.leaf_user_ids_size();
  if (n == 0 || n > kMaxBatchSize) {
    v.Add("leaf_user_ids",
          absl::StrCat("must hold 1 to ", kMaxBatchSize, " Leaf user ids, got ", n));
  }
  // Stops at a handful: a batch of 500 bad ids needs no 500 violations.
  int bad = 0;
  for (int i = 0; i < n && i < kMaxBatchSize && bad < 10; ++i) {
    const std::string& id = request.leaf_user_ids(i);
    if (IsLeafUserId(id)) continue;
    ++bad;
    v.Add(absl::StrCat("leaf_user_ids[", i, "]"),
          absl::StrCat("must be a UUID of 8-4-4-4-12 hexadecimal digits (got ", id.size(),
                       " characters)"));
  }
  v.CheckView(request.view(), options);
  return v.ToStatus();
}

absl::Status Validate(const v1::ListCredentialsRequest& request, const ValidationOptions& options) {
  Violations v;
  v.CheckPageSize(request.page_size());
  for (int i = 0; i < request.statuses_size(); ++i) {
    if (!v1::CredentialStatus_IsValid(request.statuses(i))) {
      v.Add(absl::StrCat("statuses[", i, "]"),
            absl::StrCat("unknown status ", request.statuses(i)));
    }
  }
  v.CheckView(request.view(), options);
  v.CheckCharacters("page_token", request.page_token());
  return v.ToStatus();
}

// The rules of GetCredentials for each id (so the messages match), plus the
// list's own: 1 to kMaxWatchedPerStream distinct ids.
absl::Status Validate(const v1::WatchCredentialsRequest& request,
                      const ValidationOptions& options) {
  StatusDetails d;
  std::vector<std::string> parts;
  auto add = [&](std::string field, std::string description) {
    parts.push_back(absl::StrCat(field, ": ", description));
    d.field_violations.push_back({std::move(field), std::move(description)});
  };
  const int n = request.leaf_user_ids_size();
  if (n == 0) add("leaf_user_ids", "required: at least one Leaf user id");
  if (n > kMaxWatchedPerStream) {
    add("leaf_user_ids", absl::StrCat("at most ", kMaxWatchedPerStream, " per stream (got ", n,
                                      "); open more streams"));
  }
  std::set<std::string> seen;
  absl::Status view_status;
  for (int i = 0; i < n && i < kMaxWatchedPerStream; ++i) {
    v1::GetCredentialsRequest one;
    one.set_leaf_user_id(request.leaf_user_ids(i));
    one.set_view(request.view());
    absl::Status st = Validate(one, options);
    StatusDetails got = GetStatusDetails(st);
    for (const FieldViolation& v : got.field_violations) {
      add(v.field == "leaf_user_id" ? absl::StrCat("leaf_user_ids[", i, "]") : v.field,
          v.description);
    }
    if (!st.ok() && got.field_violations.empty()) view_status = st;  // e.g. full view refused
    if (!seen.insert(CanonicalLeafUserId(request.leaf_user_ids(i))).second) {
      add(absl::StrCat("leaf_user_ids[", i, "]"), "duplicate of an earlier id");
    }
  }
  // Only the first violation per view field (every id repeats it).
  std::vector<FieldViolation> unique;
  std::vector<std::string> unique_parts;
  for (size_t i = 0; i < d.field_violations.size(); ++i) {
    if (d.field_violations[i].field == "view" && !unique.empty() && unique.back().field == "view") {
      continue;
    }
    unique.push_back(d.field_violations[i]);
    unique_parts.push_back(parts[i]);
  }
  if (!unique.empty()) {
    d.field_violations = unique;
    return MakeError(reasons::kInvalidRequest,
                     absl::StrCat("invalid request: ", absl::StrJoin(unique_parts, "; ")), d);
  }
  return view_status;
}

namespace {

constexpr absl::string_view kConnectLinkPrefix = "connectLinks/";

bool IsConnectLinkId(absl::string_view id) {
  if (id.size() < 16 || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

absl::Status Validate(const v1::CreateConnectLinkRequest& request) {
  Violations v;
  v.CheckLeafUserId(request.leaf_user_id());
  if (request.return_url().size() > connect::kMaxReturnUrlBytes) {
    v.Add("return_url", absl::StrCat("must be at most ", connect::kMaxReturnUrlBytes,
                                     " bytes (got ", request.return_url().size(), ")"));
  } else {
    v.CheckCharacters("return_url", request.return_url());
  }
  if (request.has_ttl()) {
    const google::protobuf::Duration& ttl = request.ttl();
    const bool well_formed = ttl.nanos() >= 0 && ttl.nanos() < 1000000000 && ttl.seconds() >= 0;
    const absl::Duration d = absl::Seconds(ttl.seconds()) + absl::Nanoseconds(ttl.nanos());
    if (!well_formed || d < connect::kMinLinkTtl || d > connect::kMaxLinkTtl) {
      v.Add("ttl",
            "must be between 1 minute and 30 days (720h); leave it unset for the "
            "server's --connect_link_ttl");
    }
  }
  return v.ToStatus();
}

absl::Status Validate(const v1::GetConnectLinkRequest& request) {
  Violations v;
  const absl::string_view name = request.name();
  if (name.empty()) {
    v.Add("name",
          "required: the link's name as CreateConnectLink returned it, "
          "connectLinks/{id}");
  } else if (!absl::StartsWith(name, kConnectLinkPrefix) ||
             !IsConnectLinkId(name.substr(kConnectLinkPrefix.size()))) {
    // Not echoed: whatever was pasted there.
    v.Add("name", absl::StrCat("must be connectLinks/{id} as CreateConnectLink returned it (got ",
                               name.size(), " characters)"));
  }
  return v.ToStatus();
}

std::string ConnectLinkIdOf(absl::string_view name) {
  return std::string(absl::StripPrefix(name, kConnectLinkPrefix));
}

}  // namespace leafsvc
