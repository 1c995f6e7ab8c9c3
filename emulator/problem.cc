#include "emulator/problem.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "emulator/json.h"
#include "emulator/paths.h"

namespace leafemu {
namespace {
constexpr absl::string_view kProblemType = "https://www.jhipster.tech/problem/problem-with-message";
}  // namespace

std::string StatusTitle(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      if (status >= 200 && status < 300) return "OK";
      return absl::StrCat("HTTP ", status);
  }
}

std::string ProblemPath(const std::string& path) {
  if (absl::StartsWith(path, kGatewayPrefix)) return path.substr(kGatewayPrefix.size());
  // Every service behind the gateway (e.g. /services/alerts) sees its own
  // paths.
  if (absl::StartsWith(path, "/services/")) {
    const size_t service_end = path.find('/', sizeof("/services/") - 1);
    if (service_end != std::string::npos) return path.substr(service_end);
  }
  return path;
}

std::string ProblemJson(const Problem& p, const std::string& request_path) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "type");
  WriteString(w, kProblemType);
  WriteKey(w, "title");
  WriteString(w, p.title.empty() ? StatusTitle(p.status) : p.title);
  WriteKey(w, "status");
  w.Int(p.status);
  if (!p.detail.empty()) {
    WriteKey(w, "detail");
    WriteString(w, p.detail);
  }
  WriteKey(w, "path");
  WriteString(w, ProblemPath(request_path));
  WriteKey(w, "message");
  WriteString(w, p.message.empty() ? absl::StrCat("error.http.", p.status) : p.message);
  if (!p.error_key.empty()) {
    WriteKey(w, "errorKey");
    WriteString(w, p.error_key);
  }
  if (!p.field_errors.empty()) {
    WriteKey(w, "fieldErrors");
    w.StartArray();
    for (const FieldError& f : p.field_errors) {
      w.StartObject();
      WriteKey(w, "objectName");
      WriteString(w, f.object_name);
      WriteKey(w, "field");
      WriteString(w, f.field);
      WriteKey(w, "message");
      WriteString(w, f.message);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return buf.GetString();
}

void SendProblem(const httplib::Request& req, httplib::Response& res, const Problem& p) {
  res.status = p.status;
  res.set_content(ProblemJson(p, req.path), kProblemJson);
}

void SendJson(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), kJson);
}

Problem CredentialsNotFound(const std::string& leaf_user_id, const std::string& provider) {
  Problem p;
  p.status = 404;
  p.title = absl::StrCat(provider, " credentials not found");
  p.detail = absl::StrCat("User ", leaf_user_id, " has no ", provider, " credentials");
  p.error_key = "credentialsnotfound";
  return p;
}

}  // namespace leafemu
