// Leaf's error answers: RFC 7807 problem+json in the JHipster shape, and the
// JSON answer helper every handler uses.
#ifndef EMULATOR_PROBLEM_H_
#define EMULATOR_PROBLEM_H_

#include <httplib.h>

#include <string>
#include <vector>

namespace leafemu {

inline constexpr char kJson[] = "application/json";
inline constexpr char kProblemJson[] = "application/problem+json";

struct FieldError {
  std::string object_name;
  std::string field;
  std::string message;
};

struct Problem {
  int status = 500;
  std::string title;    // default: reason phrase
  std::string detail;   // optional
  std::string message;  // default: error.http.<status>
  std::string error_key;
  std::vector<FieldError> field_errors;
};

// The reason phrase Leaf's gateway uses, e.g. "Not Found".
std::string StatusTitle(int status);
// `path` as Leaf's service sees it: without the gateway prefix.
std::string ProblemPath(const std::string& path);
std::string ProblemJson(const Problem& p, const std::string& request_path);
void SendProblem(const httplib::Request& req, httplib::Response& res, const Problem& p);
void SendJson(httplib::Response& res, int status, std::string body);

// The 404 for a user without the provider's credentials (credential, event
// and control routes all answer it); `provider` is its display name.
Problem CredentialsNotFound(const std::string& leaf_user_id, const std::string& provider);

}  // namespace leafemu

#endif  // EMULATOR_PROBLEM_H_
