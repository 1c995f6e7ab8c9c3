// The Leaf emulator: see leaf_emulator.h and ../shared/leaf-api.md.
//
// One httplib::Server with catch-all handlers; routing, auth, faults and the
// /_emulator/ control API are done by hand so every response (404, 405, ...)
// is problem+json like Leaf's.
#include "emulator/leaf_emulator.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include <httplib.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace leafemu {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr absl::string_view kBasePath = "/services/usermanagement/api";
constexpr absl::string_view kGatewayPrefix = "/services/usermanagement";
constexpr absl::string_view kLoginPath = "/api/authenticate";
constexpr absl::string_view kControlPrefix = "/_emulator/";
constexpr absl::string_view kCredentialsSegment = "ag-leader-credentials";
constexpr absl::string_view kProblemType =
    "https://www.jhipster.tech/problem/problem-with-message";
constexpr char kJson[] = "application/json";
constexpr char kProblemJson[] = "application/problem+json";

// ---------------------------------------------------------------------------
// Small helpers: randomness, encodings, time.

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n)) != 1) {
    // RAND_bytes does not fail on Linux in practice; fall back anyway.
    std::random_device rd;
    for (auto& c : out) c = static_cast<char>(rd());
  }
  return out;
}

std::string HexEncode(absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::string NewUuidV4() {
  std::string b = RandomBytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  std::string h = HexEncode(b);
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4),
                      "-", h.substr(16, 4), "-", h.substr(20, 12));
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

// ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$
bool IsUuidShaped(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!IsHex(s[i])) {
      return false;
    }
  }
  return true;
}

std::string Base64UrlEncode(absl::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (i + 2 == in.size()) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(absl::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string HmacSha512(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha512(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string FormatTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

std::string NowTimestamp() { return FormatTimestamp(absl::Now()); }

std::string StatusTitle(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default:
      if (status >= 200 && status < 300) return "OK";
      return absl::StrCat("HTTP ", status);
  }
}

void WriteString(JsonWriter& w, absl::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void WriteKey(JsonWriter& w, absl::string_view s) {
  w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string JsonQuote(absl::string_view s) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  WriteString(w, s);
  return buf.GetString();
}

// Parses `body` as a JSON object; nullopt when it is not one.
bool ParseObject(const std::string& body, rapidjson::Document& doc) {
  doc.Parse(body.data(), body.size());
  return !doc.HasParseError() && doc.IsObject();
}

// The string member `name` of `obj`, or nullopt (absent, null, not a string).
std::optional<std::string> StringMember(const rapidjson::Value& obj,
                                        const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<int64_t> IntMember(const rapidjson::Value& obj,
                                 const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return std::nullopt;
  if (it->value.IsInt64()) return it->value.GetInt64();
  if (it->value.IsNumber()) return static_cast<int64_t>(it->value.GetDouble());
  if (it->value.IsString()) {
    int64_t v;
    if (absl::SimpleAtoi(it->value.GetString(), &v)) return v;
  }
  return std::nullopt;
}

std::optional<bool> BoolMember(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return std::nullopt;
  if (it->value.IsBool()) return it->value.GetBool();
  if (it->value.IsString()) {
    std::string s = absl::AsciiStrToLower(it->value.GetString());
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return std::nullopt;
}

std::string CredentialsJson(const StoredCredentials& c) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "id");
  WriteString(w, c.id);
  WriteKey(w, "status");
  WriteString(w, c.status);
  WriteKey(w, "createdTime");
  WriteString(w, c.created_time);
  WriteKey(w, "accessToken");
  if (c.access_token.empty()) {
    w.Null();
  } else {
    WriteString(w, c.access_token);
  }
  WriteKey(w, "refreshToken");
  WriteString(w, c.refresh_token);
  WriteKey(w, "publicKey");
  WriteString(w, c.public_key);
  WriteKey(w, "privateKey");
  WriteString(w, c.private_key);
  w.EndObject();
  return buf.GetString();
}

void WriteEvent(JsonWriter& w, const StoredEvent& e) {
  w.StartObject();
  WriteKey(w, "id");
  WriteString(w, e.id);
  WriteKey(w, "createdDate");
  WriteString(w, e.created_date);
  WriteKey(w, "statusCode");
  w.Int(e.status_code);
  WriteKey(w, "headers");
  WriteString(w, e.headers);
  WriteKey(w, "body");
  WriteString(w, e.body);
  w.EndObject();
}

const char* KindName(Fault::Kind kind) {
  switch (kind) {
    case Fault::Kind::kLatencyOnly: return "latency_only";
    case Fault::Kind::kStatus: return "status";
    case Fault::Kind::kMalformedJson: return "malformed_json";
    case Fault::Kind::kEmptyBody: return "empty_body";
    case Fault::Kind::kHtml: return "html";
    case Fault::Kind::kCloseConnection: return "close_connection";
    case Fault::Kind::kResetMidBody: return "reset_mid_body";
    case Fault::Kind::kHugeBody: return "huge_body";
    case Fault::Kind::kSlowDrip: return "slow_drip";
  }
  return "status";
}

std::optional<Fault::Kind> KindFromName(absl::string_view name) {
  static constexpr Fault::Kind kAll[] = {
      Fault::Kind::kLatencyOnly,     Fault::Kind::kStatus,
      Fault::Kind::kMalformedJson,   Fault::Kind::kEmptyBody,
      Fault::Kind::kHtml,            Fault::Kind::kCloseConnection,
      Fault::Kind::kResetMidBody,    Fault::Kind::kHugeBody,
      Fault::Kind::kSlowDrip};
  for (Fault::Kind k : kAll) {
    if (name == KindName(k)) return k;
  }
  return std::nullopt;
}

std::optional<DuplicateCreateMode> DuplicateModeFromName(absl::string_view s) {
  std::string n = absl::AsciiStrToLower(s);
  if (n == "replace") return DuplicateCreateMode::kReplace;
  if (n == "bad_request" || n == "badrequest" || n == "400") {
    return DuplicateCreateMode::kBadRequest;
  }
  if (n == "conflict" || n == "409") return DuplicateCreateMode::kConflict;
  return std::nullopt;
}

const char* DuplicateModeName(DuplicateCreateMode m) {
  switch (m) {
    case DuplicateCreateMode::kReplace: return "replace";
    case DuplicateCreateMode::kBadRequest: return "bad_request";
    case DuplicateCreateMode::kConflict: return "conflict";
  }
  return "replace";
}

int SocketPort(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  }
  if (a.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  }
  return -1;
}

// Shuts down (both directions) every connected socket of this process whose
// local port is `local_port` and, unless `remote_port` is -1, whose peer port
// is `remote_port`: the server side of the emulator's connections. Returns
// how many. httplib does not hand sockets to handlers, so they are found
// through /proc/self/fd. Each candidate is dup()ed first and checked and
// shut down through the duplicate, so a descriptor that another thread
// closes and reuses meanwhile can never make us touch an unrelated socket.
int ShutdownServerSockets(int local_port, int remote_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  std::vector<int> fds;
  while (dirent* entry = readdir(dir)) {
    int fd;
    if (absl::SimpleAtoi(entry->d_name, &fd) && fd != dirfd(dir)) {
      fds.push_back(fd);
    }
  }
  closedir(dir);
  int count = 0;
  for (int fd : fds) {
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) continue;
    struct stat st;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
    if (fstat(dup_fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
        getsockname(dup_fd, reinterpret_cast<sockaddr*>(&local), &local_len) ==
            0 &&
        getpeername(dup_fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) ==
            0 &&
        SocketPort(local) == local_port &&
        (remote_port < 0 || SocketPort(peer) == remote_port)) {
      shutdown(dup_fd, SHUT_RDWR);
      ++count;
    }
    close(dup_fd);
  }
  return count;
}

std::string ConnectHost(const std::string& host) {
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

std::string UrlHost(const std::string& host) {
  std::string h = ConnectHost(host);
  if (absl::StrContains(h, ':')) return absl::StrCat("[", h, "]");
  return h;
}

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

std::string ProblemPath(const std::string& path) {
  if (absl::StartsWith(path, kGatewayPrefix)) {
    return path.substr(kGatewayPrefix.size());
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
  WriteString(w, p.message.empty() ? absl::StrCat("error.http.", p.status)
                                   : p.message);
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

void SendProblem(const httplib::Request& req, httplib::Response& res,
                 const Problem& p) {
  res.status = p.status;
  res.set_content(ProblemJson(p, req.path), kProblemJson);
}

void SendJson(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), kJson);
}

std::string QueryOf(const httplib::Request& req) {
  size_t q = req.target.find('?');
  return q == std::string::npos ? std::string() : req.target.substr(q + 1);
}

// The body served by kHugeBody: {"data":"xxxx...."} padded to exactly `n`
// bytes (tiny sizes degrade to "{}" plus spaces).
class HugeBody {
 public:
  explicit HugeBody(size_t n) : n_(n) {
    if (n >= kPrefix.size() + kSuffix.size()) {
      prefix_ = kPrefix;
      suffix_ = kSuffix;
    } else if (n >= 2) {
      prefix_ = "{}";
    }
  }
  char At(size_t i) const {
    if (i < prefix_.size()) return prefix_[i];
    if (!suffix_.empty() && i >= n_ - suffix_.size()) {
      return suffix_[i - (n_ - suffix_.size())];
    }
    return suffix_.empty() ? ' ' : 'x';
  }
  // Fills `out` with bytes [offset, offset + len).
  void Fill(size_t offset, size_t len, std::string& out) const {
    out.resize(len);
    size_t plain_begin = prefix_.size();
    size_t plain_end = n_ - suffix_.size();
    char plain = suffix_.empty() ? ' ' : 'x';
    for (size_t i = 0; i < len; ++i) {
      size_t pos = offset + i;
      out[i] = (pos >= plain_begin && pos < plain_end) ? plain : At(pos);
    }
  }

 private:
  static constexpr absl::string_view kPrefix = "{\"data\":\"";
  static constexpr absl::string_view kSuffix = "\"}";
  size_t n_;
  absl::string_view prefix_;
  absl::string_view suffix_;
};

constexpr char kGatewayHtml[] =
    "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
    "<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n";

std::string GatewayHtml(int status) {
  std::string title = StatusTitle(status);
  char buf[512];
  std::snprintf(buf, sizeof(buf), kGatewayHtml, status, title.c_str(), status,
                title.c_str());
  return buf;
}

std::string GuessContentType(const std::string& body) {
  absl::string_view b = absl::StripLeadingAsciiWhitespace(body);
  if (absl::StartsWith(b, "{") || absl::StartsWith(b, "[")) return kJson;
  if (absl::StartsWith(b, "<")) return "text/html";
  return "text/plain";
}

// httplib::Server with access to its listening socket: the library is
// compiled with a listen backlog of 5, too small for tests that open dozens
// of connections at once (dropped SYNs cost a 1 s retransmit).
template <typename Base>
class WithBacklog : public Base {
 public:
  using Base::Base;
  void EnlargeBacklog(int backlog) {
    socket_t sock = this->svr_sock_;
    if (sock != INVALID_SOCKET) ::listen(sock, backlog);
  }
};

struct UserRecord {
  StoredCredentials credentials;
  std::vector<StoredEvent> events;  // oldest first
};

struct ActiveFault {
  Fault fault;
  int remaining;  // -1: forever
};

struct TokenCheck {
  bool ok = false;
  std::string detail;
};

}  // namespace

// ---------------------------------------------------------------------------

class LeafEmulator::Impl {
 public:
  explicit Impl(EmulatorOptions options)
      : options_(std::move(options)),
        duplicate_mode_(options_.duplicate_create_mode),
        jwt_key_(RandomBytes(64)) {
    if (options_.known_users) {
      for (const std::string& id : *options_.known_users) {
        known_users_.push_back(absl::AsciiStrToLower(id));
      }
    }
  }

  ~Impl() { Stop(); }

  absl::Status Start();
  void Stop();
  int port() const { return port_; }
  std::string base_url() const {
    return absl::StrCat(options_.tls_cert_file.empty() ? "http://" : "https://",
                        UrlHost(options_.host), ":", port_);
  }

  // Test controls (public API).
  void SetDuplicateCreateMode(DuplicateCreateMode mode) {
    std::lock_guard<std::mutex> l(mu_);
    duplicate_mode_ = mode;
  }
  bool SetCredentialStatus(const std::string& user, const std::string& status);
  bool AddEvent(const std::string& user, StoredEvent event);
  void PutCredentials(const std::string& user, StoredCredentials c);
  std::optional<StoredCredentials> GetStored(const std::string& user) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = users_.find(Key(user));
    if (it == users_.end()) return std::nullopt;
    return it->second.credentials;
  }
  std::vector<StoredEvent> GetEvents(const std::string& user) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = users_.find(Key(user));
    if (it == users_.end()) return {};
    return NewestFirst(it->second.events);
  }
  void InjectFault(Fault fault) {
    std::lock_guard<std::mutex> l(mu_);
    int times = fault.times;
    faults_.push_back(ActiveFault{std::move(fault), times});
  }
  void ClearFaults() {
    std::lock_guard<std::mutex> l(mu_);
    faults_.clear();
  }
  std::vector<RecordedRequest> Requests() const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<RecordedRequest> out;
    out.reserve(requests_.size());
    for (const auto& r : requests_) out.push_back(*r);
    return out;
  }
  int CountRequests(const std::string& method,
                    const std::string& path_contains) const {
    std::lock_guard<std::mutex> l(mu_);
    int n = 0;
    for (const auto& r : requests_) {
      if (Matches(method, path_contains, r->method, r->path)) ++n;
    }
    return n;
  }
  void ClearRequests() {
    std::lock_guard<std::mutex> l(mu_);
    requests_.clear();
  }
  int LoginCount() const {
    std::lock_guard<std::mutex> l(mu_);
    return login_count_;
  }
  std::string IssueToken(const std::string& username, absl::Duration lifetime);
  void RevokeAllTokens() {
    std::lock_guard<std::mutex> l(mu_);
    jwt_key_ = RandomBytes(64);
  }
  void Reset() {
    std::lock_guard<std::mutex> l(mu_);
    users_.clear();
    faults_.clear();
    requests_.clear();
    login_count_ = 0;
    duplicate_mode_ = options_.duplicate_create_mode;
  }

 private:
  using RecordPtr = std::shared_ptr<RecordedRequest>;

  static std::string Key(const std::string& user) {
    return absl::AsciiStrToLower(user);
  }
  static bool Matches(const std::string& method,
                      const std::string& path_contains,
                      const std::string& req_method,
                      const std::string& req_path) {
    return (method.empty() || absl::EqualsIgnoreCase(method, req_method)) &&
           absl::StrContains(req_path, path_contains);
  }
  static std::vector<StoredEvent> NewestFirst(
      const std::vector<StoredEvent>& events) {
    return std::vector<StoredEvent>(events.rbegin(), events.rend());
  }

  // Sleeps up to `d`; false if the emulator started stopping meanwhile.
  bool SleepUnlessStopping(absl::Duration d) {
    std::unique_lock<std::mutex> l(stop_mu_);
    // Capped so that an "infinite" latency cannot overflow the clock.
    d = std::min(d, absl::Hours(24));
    return !stop_cv_.wait_for(l, absl::ToChronoNanoseconds(d),
                              [this] { return stopping_.load(); });
  }

  void SetRecordedStatus(const RecordPtr& rec, int status) {
    std::lock_guard<std::mutex> l(mu_);
    rec->status = status;
  }

  // Entry point for every request.
  void Handle(const httplib::Request& req, httplib::Response& res);
  void ApplyFault(const Fault& fault, const RecordPtr& rec,
                  const httplib::Request& req, httplib::Response& res);
  void CutConnection(const httplib::Request& req, httplib::Response& res);

  // Leaf's API.
  void HandleApi(const httplib::Request& req, httplib::Response& res);
  void HandleLogin(const httplib::Request& req, httplib::Response& res);
  TokenCheck CheckBearer(const httplib::Request& req) const;
  void HandleGetCredentials(const std::string& user,
                            const httplib::Request& req,
                            httplib::Response& res);
  void HandleCreateCredentials(const std::string& user,
                               const httplib::Request& req,
                               httplib::Response& res);
  void HandleDeleteCredentials(const std::string& user,
                               const httplib::Request& req,
                               httplib::Response& res);
  void HandleGetEvents(const std::string& user, const httplib::Request& req,
                       httplib::Response& res);

  // /_emulator/ control API.
  void HandleControl(const httplib::Request& req, httplib::Response& res);

  EmulatorOptions options_;
  std::vector<std::string> known_users_;  // lower-cased

  // Plain HTTP, or HTTPS when options_.tls_cert_file is set.
  std::unique_ptr<httplib::Server> server_;
  std::function<void(int)> enlarge_backlog_;
  std::thread thread_;
  int port_ = 0;
  bool started_ = false;

  std::atomic<bool> listen_returned_{false};
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::mutex lifecycle_mu_;

  mutable std::mutex mu_;  // guards everything below
  DuplicateCreateMode duplicate_mode_;
  std::string jwt_key_;
  std::map<std::string, UserRecord> users_;  // key: lower-cased user id
  std::vector<ActiveFault> faults_;
  std::mt19937_64 fault_rng_{std::random_device{}()};
  std::deque<RecordPtr> requests_;
  int login_count_ = 0;
};

absl::Status LeafEmulator::Impl::Start() {
  // Writes to a connection the client already closed must not kill the
  // process (httplib sends without MSG_NOSIGNAL).
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 &&
      current.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }

  if (options_.tls_cert_file.empty()) {
    auto plain = std::make_unique<WithBacklog<httplib::Server>>();
    enlarge_backlog_ = [p = plain.get()](int backlog) { p->EnlargeBacklog(backlog); };
    server_ = std::move(plain);
  } else {
    auto tls = std::make_unique<WithBacklog<httplib::SSLServer>>(
        options_.tls_cert_file.c_str(), options_.tls_key_file.c_str());
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load the TLS certificate ", options_.tls_cert_file,
                       " and key ", options_.tls_key_file));
    }
    enlarge_backlog_ = [p = tls.get()](int backlog) { p->EnlargeBacklog(backlog); };
    server_ = std::move(tls);
  }

  size_t threads = static_cast<size_t>(std::max(4, options_.thread_pool_size));
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's default also sets SO_REUSEPORT, which would let a second
  // emulator silently share a port that is already in use.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_max_count(1000);
  server_->set_keep_alive_timeout(std::max<time_t>(
      1, static_cast<time_t>(absl::ToInt64Seconds(options_.keep_alive_timeout))));
  server_->set_read_timeout(10, 0);
  server_->set_write_timeout(10, 0);

  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    Handle(req, res);
  };
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Patch(".*", handler);
  server_->Delete(".*", handler);
  server_->Options(".*", handler);
  server_->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res,
         std::exception_ptr) {
        Problem p;
        p.status = 500;
        p.detail = "Emulator error";
        SendProblem(req, res, p);
      });

  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ <= 0) {
      return absl::UnavailableError(
          absl::StrCat("leaf emulator: cannot bind ", options_.host, ":0"));
    }
  } else {
    if (!server_->bind_to_port(options_.host, options_.port)) {
      return absl::UnavailableError(absl::StrCat(
          "leaf emulator: cannot bind ", options_.host, ":", options_.port));
    }
    port_ = options_.port;
  }
  enlarge_backlog_(1024);
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  started_ = true;

  // Ready once the accept loop runs and a request gets an answer.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!server_->is_running() && !listen_returned_ &&
         absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  httplib::Client probe(absl::StrCat(options_.tls_cert_file.empty() ? "http://" : "https://",
                                     UrlHost(ConnectHost(options_.host)), ":", port_));
  // The probe only checks that this very server answers; its certificate
  // may come from a private CA.
  probe.enable_server_certificate_verification(false);
  probe.set_connection_timeout(0, 200000);
  probe.set_read_timeout(1, 0);
  while (absl::Now() < deadline) {
    auto r = probe.Get("/_emulator/health");
    if (r && r->status == 200) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Stop();
  return absl::DeadlineExceededError("leaf emulator did not become ready");
}

void LeafEmulator::Impl::Stop() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  // httplib's stop() is a no-op until the accept loop runs.
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!server_->is_running() && !listen_returned_ &&
         absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->stop();
  // Idle keep-alive connections would otherwise hold their worker (and so
  // the join below) for up to the keep-alive timeout.
  ShutdownServerSockets(port_, -1);
  if (thread_.joinable()) thread_.join();
}

// ---------------------------------------------------------------------------
// Request entry point, recording and faults.

void LeafEmulator::Impl::Handle(const httplib::Request& req,
                                httplib::Response& res) {
  if (absl::StartsWith(req.path, kControlPrefix)) {
    HandleControl(req, res);
    return;
  }

  auto rec = std::make_shared<RecordedRequest>();
  rec->method = req.method;
  rec->path = req.path;
  rec->query = QueryOf(req);
  for (const auto& [name, value] : req.headers) {
    std::string key = absl::AsciiStrToLower(name);
    auto it = rec->headers.find(key);
    if (it == rec->headers.end()) {
      rec->headers.emplace(std::move(key), value);
    } else {
      absl::StrAppend(&it->second, ", ", value);
    }
  }
  rec->body = req.body;

  std::optional<Fault> fault;
  {
    std::lock_guard<std::mutex> l(mu_);
    requests_.push_back(rec);
    while (requests_.size() >
           static_cast<size_t>(std::max(1, options_.max_recorded_requests))) {
      requests_.pop_front();
    }
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (it->remaining == 0) continue;
      if (!Matches(it->fault.method, it->fault.path_contains, req.method,
                   req.path)) {
        continue;
      }
      if (it->fault.probability < 1.0 &&
          std::uniform_real_distribution<double>(0.0, 1.0)(fault_rng_) >=
              it->fault.probability) {
        continue;
      }
      fault = it->fault;
      if (it->remaining > 0 && --it->remaining == 0) faults_.erase(it);
      break;
    }
  }

  if (fault) {
    ApplyFault(*fault, rec, req, res);
  } else {
    HandleApi(req, res);
    SetRecordedStatus(rec, res.status);
  }
  if (options_.log_requests) {
    std::lock_guard<std::mutex> l(mu_);
    std::cerr << "leaf_emulator: " << req.method << " " << req.path << " -> "
              << rec->status << (fault ? absl::StrCat(" (fault ",
                                                      KindName(fault->kind),
                                                      ")")
                                       : std::string())
              << std::endl;
  }
}

void LeafEmulator::Impl::CutConnection(const httplib::Request& req,
                                       httplib::Response& res) {
  // No response at all: the client sees the connection end. httplib's own
  // write then fails and it closes the socket.
  ShutdownServerSockets(req.local_port > 0 ? req.local_port : port_,
                        req.remote_port);
  // Fallback (socket not found) and belt and braces: a body provider that
  // fails before writing anything makes httplib close the connection.
  res.status = 200;
  res.set_content_provider(
      1, kJson,
      [](size_t, size_t, httplib::DataSink&) { return false; });
}

void LeafEmulator::Impl::ApplyFault(const Fault& fault, const RecordPtr& rec,
                                    const httplib::Request& req,
                                    httplib::Response& res) {
  if (fault.latency > absl::ZeroDuration() &&
      !SleepUnlessStopping(fault.latency)) {
    SetRecordedStatus(rec, 0);
    CutConnection(req, res);
    return;
  }
  auto add_headers = [&fault, &res] {
    for (const auto& [name, value] : fault.headers) res.set_header(name, value);
  };

  switch (fault.kind) {
    case Fault::Kind::kLatencyOnly:
      HandleApi(req, res);
      SetRecordedStatus(rec, res.status);
      add_headers();
      return;

    case Fault::Kind::kStatus: {
      int status = fault.status > 0 ? fault.status : 500;
      res.status = status;
      auto ct = fault.headers.find("Content-Type");
      if (!fault.body.empty()) {
        res.set_content(fault.body, ct != fault.headers.end()
                                        ? ct->second
                                        : GuessContentType(fault.body));
      } else if (status >= 400) {
        Problem p;
        p.status = status;
        p.detail = "Injected fault";
        SendProblem(req, res, p);
      }
      add_headers();
      SetRecordedStatus(rec, status);
      return;
    }

    case Fault::Kind::kMalformedJson: {
      int status = fault.status > 0 ? fault.status : 200;
      std::string body = fault.body.empty()
                             ? absl::StrCat("{\"id\":\"", NewUuidV4(),
                                            "\",\"status\":\"OK\",\"createdTi")
                             : fault.body;
      res.status = status;
      res.set_content(body, kJson);
      add_headers();
      SetRecordedStatus(rec, status);
      return;
    }

    case Fault::Kind::kEmptyBody: {
      int status = fault.status > 0 ? fault.status : 200;
      res.status = status;
      res.set_header("Content-Type", kJson);
      add_headers();
      SetRecordedStatus(rec, status);
      return;
    }

    case Fault::Kind::kHtml: {
      int status = fault.status > 0 ? fault.status : 502;
      res.status = status;
      res.set_content(fault.body.empty() ? GatewayHtml(status) : fault.body,
                      "text/html");
      add_headers();
      SetRecordedStatus(rec, status);
      return;
    }

    case Fault::Kind::kCloseConnection:
      SetRecordedStatus(rec, 0);
      CutConnection(req, res);
      return;

    case Fault::Kind::kResetMidBody:
    case Fault::Kind::kSlowDrip: {
      // The body that gets cut or dripped: the fault's, else the normal
      // answer's, else a plausible credential.
      std::string body, content_type;
      int status;
      if (!fault.body.empty()) {
        body = fault.body;
        status = fault.status > 0 ? fault.status : 200;
        content_type = GuessContentType(body);
      } else {
        httplib::Response normal;
        HandleApi(req, normal);
        body = normal.body;
        status = fault.status > 0 ? fault.status : normal.status;
        content_type = normal.get_header_value("Content-Type");
        for (const auto& [name, value] : normal.headers) {
          if (!absl::EqualsIgnoreCase(name, "Content-Type") &&
              !absl::EqualsIgnoreCase(name, "Content-Length")) {
            res.set_header(name, value);
          }
        }
      }
      if (body.empty()) {
        StoredCredentials c{NewUuidV4(), "OK", NowTimestamp(), "",
                            "dripped-refresh-token", "public", "private"};
        body = CredentialsJson(c);
        status = fault.status > 0 ? fault.status : 200;
        content_type = kJson;
      }
      if (content_type.empty()) content_type = kJson;
      res.status = status;
      add_headers();
      auto shared_body = std::make_shared<const std::string>(std::move(body));
      if (fault.kind == Fault::Kind::kResetMidBody) {
        SetRecordedStatus(rec, 0);
        res.set_content_provider(
            shared_body->size(), content_type,
            [shared_body](size_t offset, size_t, httplib::DataSink& sink) {
              size_t half = std::max<size_t>(1, shared_body->size() / 2);
              if (offset < half) {
                sink.write(shared_body->data() + offset, half - offset);
              }
              return false;  // httplib closes the connection
            });
      } else {
        SetRecordedStatus(rec, status);
        absl::Duration interval = fault.drip_interval;
        res.set_content_provider(
            shared_body->size(), content_type,
            [this, shared_body, interval, rec](size_t offset, size_t,
                                               httplib::DataSink& sink) {
              if (!SleepUnlessStopping(interval) || !sink.is_writable() ||
                  !sink.write(shared_body->data() + offset, 1)) {
                SetRecordedStatus(rec, 0);
                return false;
              }
              return true;
            });
      }
      return;
    }

    case Fault::Kind::kHugeBody: {
      int status = fault.status > 0 ? fault.status : 200;
      size_t size = static_cast<size_t>(std::max<int64_t>(1, fault.huge_bytes));
      auto body = std::make_shared<HugeBody>(size);
      res.status = status;
      add_headers();
      SetRecordedStatus(rec, status);
      res.set_content_provider(
          size, kJson,
          [this, body, rec](size_t offset, size_t length,
                            httplib::DataSink& sink) {
            if (stopping_) {
              SetRecordedStatus(rec, 0);
              return false;
            }
            std::string chunk;
            body->Fill(offset, std::min<size_t>(length, 64 << 10), chunk);
            if (!sink.write(chunk.data(), chunk.size())) {
              SetRecordedStatus(rec, 0);
              return false;
            }
            return true;
          });
      return;
    }
  }
}

// ---------------------------------------------------------------------------
// Leaf's API.

std::string LeafEmulator::Impl::IssueToken(const std::string& username,
                                           absl::Duration lifetime) {
  absl::Time exp_time = absl::Now() + lifetime;
  int64_t exp = absl::ToUnixSeconds(exp_time);  // floors
  // A positive lifetime is honoured in full (exp rounds up); a zero or
  // negative one yields a token that is already expired.
  if (lifetime > absl::ZeroDuration() && absl::FromUnixSeconds(exp) < exp_time) {
    ++exp;
  }
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  WriteKey(w, "sub");
  WriteString(w, username);
  WriteKey(w, "auth");
  WriteString(w, "ROLE_USER");
  WriteKey(w, "exp");
  w.Int64(exp);
  w.EndObject();
  std::string signing_input =
      absl::StrCat(Base64UrlEncode(R"({"alg":"HS512","typ":"JWT"})"), ".",
                   Base64UrlEncode(buf.GetString()));
  std::string key;
  {
    std::lock_guard<std::mutex> l(mu_);
    key = jwt_key_;
  }
  return absl::StrCat(signing_input, ".",
                      Base64UrlEncode(HmacSha512(key, signing_input)));
}

TokenCheck LeafEmulator::Impl::CheckBearer(const httplib::Request& req) const {
  if (!req.has_header("Authorization")) {
    return {false, "Full authentication is required: missing bearer token"};
  }
  std::string header = req.get_header_value("Authorization");
  absl::string_view value = absl::StripAsciiWhitespace(header);
  if (value.size() < 7 || !absl::EqualsIgnoreCase(value.substr(0, 7), "Bearer ")) {
    return {false,
            "Malformed Authorization header: expected 'Bearer <token>'"};
  }
  std::string token(absl::StripAsciiWhitespace(value.substr(7)));
  if (token.empty()) {
    return {false, "Full authentication is required: missing bearer token"};
  }
  for (const std::string& t : options_.static_tokens) {
    if (t == token) return {true, ""};
  }
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
      parts[2].empty()) {
    return {false, "Malformed bearer token: not a JWT"};
  }
  auto header_json = Base64UrlDecode(parts[0]);
  auto payload_json = Base64UrlDecode(parts[1]);
  auto signature = Base64UrlDecode(parts[2]);
  if (!header_json || !payload_json || !signature) {
    return {false, "Malformed bearer token: bad base64url"};
  }
  rapidjson::Document hdr, payload;
  if (!ParseObject(*header_json, hdr) || !ParseObject(*payload_json, payload)) {
    return {false, "Malformed bearer token: bad JSON"};
  }
  if (StringMember(hdr, "alg").value_or("") != "HS512") {
    return {false, "Malformed bearer token: unsupported algorithm"};
  }
  std::string key;
  {
    std::lock_guard<std::mutex> l(mu_);
    key = jwt_key_;
  }
  std::string expected = HmacSha512(
      key, token.substr(0, parts[0].size() + 1 + parts[1].size()));
  if (expected.size() != signature->size() ||
      CRYPTO_memcmp(expected.data(), signature->data(), expected.size()) != 0) {
    return {false, "Invalid bearer token: bad signature (revoked or not issued "
                   "by this server)"};
  }
  auto exp = IntMember(payload, "exp");
  if (!exp) return {false, "Malformed bearer token: no exp claim"};
  if (absl::Now() >= absl::FromUnixSeconds(*exp)) {
    return {false, "Expired bearer token: the JWT has expired"};
  }
  return {true, ""};
}

void LeafEmulator::Impl::HandleLogin(const httplib::Request& req,
                                     httplib::Response& res) {
  Problem bad;
  bad.status = 401;
  bad.detail = "Bad credentials";
  rapidjson::Document doc;
  if (!ParseObject(req.body, doc)) {
    SendProblem(req, res, bad);
    return;
  }
  auto username = StringMember(doc, "username");
  auto password = StringMember(doc, "password");
  bool remember_me = BoolMember(doc, "rememberMe").value_or(false);
  if (!username || !password) {
    SendProblem(req, res, bad);
    return;
  }
  auto it = options_.accounts.find(*username);
  if (it == options_.accounts.end() || it->second != *password) {
    SendProblem(req, res, bad);
    return;
  }
  std::string token = IssueToken(*username, remember_me
                                                ? options_.remember_me_token_lifetime
                                                : options_.token_lifetime);
  {
    std::lock_guard<std::mutex> l(mu_);
    ++login_count_;
  }
  res.set_header("Authorization", absl::StrCat("Bearer ", token));
  SendJson(res, 200, absl::StrCat("{\"id_token\":", JsonQuote(token), "}"));
}

void LeafEmulator::Impl::HandleApi(const httplib::Request& req,
                                   httplib::Response& res) {
  const std::string& path = req.path;
  auto method_not_allowed = [&](const char* allow) {
    Problem p;
    p.status = 405;
    p.detail = absl::StrCat("Request method '", req.method,
                            "' is not supported");
    SendProblem(req, res, p);
    res.set_header("Allow", allow);
  };
  auto not_found = [&] {
    Problem p;
    p.status = 404;
    p.detail = absl::StrCat("No endpoint ", req.method, " ", ProblemPath(path));
    SendProblem(req, res, p);
  };

  if (path == kLoginPath) {
    if (req.method != "POST") {
      method_not_allowed("POST");
      return;
    }
    HandleLogin(req, res);
    return;
  }
  if (!(path == kBasePath ||
        absl::StartsWith(path, absl::StrCat(kBasePath, "/")))) {
    not_found();
    return;
  }

  TokenCheck auth = CheckBearer(req);
  if (!auth.ok) {
    Problem p;
    p.status = 401;
    p.title = "Unauthorized";
    p.detail = auth.detail;
    SendProblem(req, res, p);
    return;
  }

  // /users/{id}/ag-leader-credentials[/events]
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(path).substr(kBasePath.size()), '/');
  bool creds = parts.size() == 4 && parts[0].empty() && parts[1] == "users" &&
               parts[3] == kCredentialsSegment;
  bool events = parts.size() == 5 && parts[0].empty() && parts[1] == "users" &&
                parts[3] == kCredentialsSegment && parts[4] == "events";
  if (!creds && !events) {
    not_found();
    return;
  }
  if (creds && req.method != "GET" && req.method != "POST" &&
      req.method != "DELETE") {
    method_not_allowed("GET, POST, DELETE");
    return;
  }
  if (events && req.method != "GET") {
    method_not_allowed("GET");
    return;
  }
  std::string user(parts[2]);
  if (!IsUuidShaped(user)) {
    Problem p;
    p.status = 400;
    p.detail = "leafUserId must be a UUID (8-4-4-4-12 hex digits)";
    p.error_key = "idinvalid";
    SendProblem(req, res, p);
    return;
  }
  if (options_.known_users &&
      std::find(known_users_.begin(), known_users_.end(), Key(user)) ==
          known_users_.end()) {
    Problem p;
    p.status = 404;
    p.title = "User not found";
    p.detail = absl::StrCat("No Leaf user with id ", user);
    p.message = "User not found";
    p.error_key = "usernotfound";
    SendProblem(req, res, p);
    return;
  }
  if (events) {
    HandleGetEvents(user, req, res);
  } else if (req.method == "GET") {
    HandleGetCredentials(user, req, res);
  } else if (req.method == "POST") {
    HandleCreateCredentials(user, req, res);
  } else {
    HandleDeleteCredentials(user, req, res);
  }
}

namespace {
Problem CredentialsNotFound(const std::string& user) {
  Problem p;
  p.status = 404;
  p.title = "AgLeader credentials not found";
  p.detail = absl::StrCat("User ", user, " has no AgLeader credentials");
  p.error_key = "credentialsnotfound";
  return p;
}

StoredEvent MakeEvent(int status_code, std::string headers, std::string body) {
  StoredEvent e;
  e.id = NewUuidV4();
  e.created_date = NowTimestamp();
  e.status_code = status_code;
  e.headers = std::move(headers);
  e.body = std::move(body);
  return e;
}

// An event for a successful exchange with AgLeader. The token in it is a
// fresh random one, never a secret the client sent.
StoredEvent OkEvent() {
  return MakeEvent(
      200, "Content-Type: application/json",
      absl::StrCat("{\"access_token\":\"", HexEncode(RandomBytes(16)),
                   "\",\"token_type\":\"bearer\",\"expires_in\":3600}"));
}

StoredEvent UnauthenticatedEvent() {
  return MakeEvent(401, "Content-Type: application/json",
                   "{\"error\":\"invalid_grant\",\"error_description\":"
                   "\"The refresh token is invalid or has been revoked\"}");
}

StoredEvent StatusChangeEvent(const std::string& status) {
  if (status == "OK") return OkEvent();
  if (status == "UNAUTHENTICATED") return UnauthenticatedEvent();
  int code = status == "MISSING_PERMISSION"        ? 403
             : status == "TEMPORARILY_UNAVAILABLE" ? 503
                                                   : 400;
  return MakeEvent(code, "Content-Type: application/json",
                   absl::StrCat("{\"error\":", JsonQuote(status), "}"));
}
}  // namespace

void LeafEmulator::Impl::HandleGetCredentials(const std::string& user,
                                              const httplib::Request& req,
                                              httplib::Response& res) {
  std::optional<StoredCredentials> c = GetStored(user);
  if (!c) {
    SendProblem(req, res, CredentialsNotFound(user));
    return;
  }
  SendJson(res, 200, CredentialsJson(*c));
}

void LeafEmulator::Impl::HandleCreateCredentials(const std::string& user,
                                                 const httplib::Request& req,
                                                 httplib::Response& res) {
  static constexpr const char* kRequired[] = {"refreshToken", "publicKey",
                                              "privateKey"};
  Problem invalid;
  invalid.status = 400;
  rapidjson::Document doc;
  if (!ParseObject(req.body, doc)) {
    invalid.detail = "Malformed JSON request body";
    for (const char* f : kRequired) {
      invalid.field_errors.push_back({"agLeaderCredentials", f, "NotNull"});
    }
    SendProblem(req, res, invalid);
    return;
  }
  StoredCredentials c;
  std::string* targets[] = {&c.refresh_token, &c.public_key, &c.private_key};
  for (size_t i = 0; i < 3; ++i) {
    auto v = StringMember(doc, kRequired[i]);
    if (!v) {
      invalid.field_errors.push_back(
          {"agLeaderCredentials", kRequired[i], "NotNull"});
    } else if (v->empty()) {
      invalid.field_errors.push_back(
          {"agLeaderCredentials", kRequired[i], "NotBlank"});
    } else {
      *targets[i] = *v;
    }
  }
  auto access = doc.FindMember("accessToken");
  if (access != doc.MemberEnd() && !access->value.IsNull()) {
    if (access->value.IsString()) {
      c.access_token = access->value.GetString();
    } else {
      invalid.field_errors.push_back(
          {"agLeaderCredentials", "accessToken", "TypeMismatch"});
    }
  }
  if (!invalid.field_errors.empty()) {
    invalid.title = "Method argument not valid";
    invalid.message = "error.validation";
    SendProblem(req, res, invalid);
    return;
  }

  bool bad_refresh_token = absl::StartsWith(c.refresh_token, "invalid");
  if (bad_refresh_token && options_.reject_invalid_refresh_token) {
    Problem p;
    p.status = 400;
    p.title = "Invalid AgLeader credentials";
    p.detail = "AgLeader refused the refresh token (invalid_grant)";
    p.message = "error.invalidrefreshtoken";
    p.error_key = "invalidrefreshtoken";
    SendProblem(req, res, p);
    return;
  }

  c.id = NewUuidV4();
  c.created_time = NowTimestamp();
  c.status = bad_refresh_token ? "UNAUTHENTICATED" : "OK";
  StoredEvent event = bad_refresh_token ? UnauthenticatedEvent() : OkEvent();
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = users_.find(Key(user));
    if (it != users_.end()) {
      if (duplicate_mode_ == DuplicateCreateMode::kBadRequest) {
        Problem p;
        p.status = 400;
        p.title = "AgLeader credentials already exist for this user";
        p.detail = absl::StrCat("User ", user,
                                " already has AgLeader credentials");
        p.message = "error.credentialsalreadyexist";
        p.error_key = "credentialsalreadyexist";
        SendProblem(req, res, p);
        return;
      }
      if (duplicate_mode_ == DuplicateCreateMode::kConflict) {
        Problem p;
        p.status = 409;
        p.detail = absl::StrCat("User ", user,
                                " already has AgLeader credentials");
        p.error_key = "credentialsalreadyexist";
        SendProblem(req, res, p);
        return;
      }
    }
    UserRecord& record = users_[Key(user)];
    record.credentials = c;
    record.events.clear();  // a new credential starts a new history
    record.events.push_back(std::move(event));
  }
  SendJson(res, 201, CredentialsJson(c));
}

void LeafEmulator::Impl::HandleDeleteCredentials(const std::string& user,
                                                 const httplib::Request& req,
                                                 httplib::Response& res) {
  bool erased;
  {
    std::lock_guard<std::mutex> l(mu_);
    erased = users_.erase(Key(user)) > 0;
  }
  if (!erased) {
    SendProblem(req, res, CredentialsNotFound(user));
    return;
  }
  res.status = 204;
}

void LeafEmulator::Impl::HandleGetEvents(const std::string& user,
                                         const httplib::Request& req,
                                         httplib::Response& res) {
  std::vector<StoredEvent> events;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = users_.find(Key(user));
    if (it == users_.end()) {
      SendProblem(req, res, CredentialsNotFound(user));
      return;
    }
    events = NewestFirst(it->second.events);
  }
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  for (const StoredEvent& e : events) WriteEvent(w, e);
  w.EndArray();
  res.set_header("X-Total-Count", std::to_string(events.size()));
  SendJson(res, 200, buf.GetString());
}

// ---------------------------------------------------------------------------
// Test controls.

bool LeafEmulator::Impl::SetCredentialStatus(const std::string& user,
                                             const std::string& status) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = users_.find(Key(user));
  if (it == users_.end()) return false;
  it->second.credentials.status = status;
  it->second.events.push_back(StatusChangeEvent(status));
  return true;
}

bool LeafEmulator::Impl::AddEvent(const std::string& user, StoredEvent event) {
  if (event.id.empty()) event.id = NewUuidV4();
  if (event.created_date.empty()) event.created_date = NowTimestamp();
  std::lock_guard<std::mutex> l(mu_);
  auto it = users_.find(Key(user));
  if (it == users_.end()) return false;
  it->second.events.push_back(std::move(event));
  return true;
}

void LeafEmulator::Impl::PutCredentials(const std::string& user,
                                        StoredCredentials c) {
  if (c.id.empty()) c.id = NewUuidV4();
  if (c.status.empty()) c.status = "OK";
  if (c.created_time.empty()) c.created_time = NowTimestamp();
  std::lock_guard<std::mutex> l(mu_);
  users_[Key(user)].credentials = std::move(c);
}

namespace {

std::string RecordedRequestsJson(const std::vector<RecordedRequest>& reqs) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  for (const RecordedRequest& r : reqs) {
    w.StartObject();
    WriteKey(w, "method");
    WriteString(w, r.method);
    WriteKey(w, "path");
    WriteString(w, r.path);
    WriteKey(w, "query");
    WriteString(w, r.query);
    WriteKey(w, "headers");
    w.StartObject();
    for (const auto& [k, v] : r.headers) {
      WriteKey(w, k);
      WriteString(w, v);
    }
    w.EndObject();
    WriteKey(w, "body");
    WriteString(w, r.body);
    WriteKey(w, "status");
    w.Int(r.status);
    w.EndObject();
  }
  w.EndArray();
  return buf.GetString();
}

// Parses a Fault from the control API's JSON; error text on failure.
std::optional<Fault> FaultFromJson(const std::string& body,
                                   std::string& error) {
  rapidjson::Document doc;
  if (!ParseObject(body, doc)) {
    error = "body must be a JSON object";
    return std::nullopt;
  }
  Fault f;
  if (auto kind = StringMember(doc, "kind")) {
    auto k = KindFromName(*kind);
    if (!k) {
      error = absl::StrCat("unknown fault kind '", *kind, "'");
      return std::nullopt;
    }
    f.kind = *k;
  }
  f.method = StringMember(doc, "method").value_or("");
  f.path_contains = StringMember(doc, "path_contains").value_or("");
  if (auto v = IntMember(doc, "times")) f.times = static_cast<int>(*v);
  auto probability = doc.FindMember("probability");
  if (probability != doc.MemberEnd()) {
    if (!probability->value.IsNumber() || probability->value.GetDouble() < 0 ||
        probability->value.GetDouble() > 1) {
      error = "probability must be a number between 0 and 1";
      return std::nullopt;
    }
    f.probability = probability->value.GetDouble();
  }
  if (auto v = IntMember(doc, "latency_ms")) f.latency = absl::Milliseconds(*v);
  if (auto v = IntMember(doc, "status")) f.status = static_cast<int>(*v);
  f.body = StringMember(doc, "body").value_or("");
  auto headers = doc.FindMember("headers");
  if (headers != doc.MemberEnd()) {
    if (!headers->value.IsObject()) {
      error = "headers must be an object of strings";
      return std::nullopt;
    }
    for (auto& m : headers->value.GetObject()) {
      std::string value;
      if (m.value.IsString()) {
        value = m.value.GetString();
      } else if (m.value.IsNumber()) {
        value = m.value.IsInt64() ? std::to_string(m.value.GetInt64())
                                  : std::to_string(m.value.GetDouble());
      } else {
        error = "headers must be an object of strings";
        return std::nullopt;
      }
      f.headers[m.name.GetString()] = value;
    }
  }
  if (auto v = IntMember(doc, "huge_bytes")) f.huge_bytes = *v;
  if (auto v = IntMember(doc, "drip_interval_ms")) {
    f.drip_interval = absl::Milliseconds(*v);
  }
  return f;
}

}  // namespace

void LeafEmulator::Impl::HandleControl(const httplib::Request& req,
                                       httplib::Response& res) {
  const std::string& m = req.method;
  std::vector<std::string> parts = absl::StrSplit(
      absl::string_view(req.path).substr(kControlPrefix.size()), '/');
  auto ok = [&res] { SendJson(res, 200, "{\"ok\":true}"); };
  auto bad_request = [&](const std::string& detail) {
    Problem p;
    p.status = 400;
    p.detail = detail;
    SendProblem(req, res, p);
  };
  auto no_credentials = [&](const std::string& user) {
    SendProblem(req, res, CredentialsNotFound(user));
  };
  auto path_is = [&](std::initializer_list<const char*> want) {
    if (parts.size() != want.size()) return false;
    size_t i = 0;
    for (const char* w : want) {
      if (*w != '*' && parts[i] != w) return false;
      ++i;
    }
    return true;
  };

  if (path_is({"health"}) && m == "GET") {
    SendJson(res, 200, "{\"status\":\"ok\"}");
  } else if (path_is({"reset"}) && m == "POST") {
    Reset();
    ok();
  } else if (path_is({"duplicate-mode"}) && m == "POST") {
    rapidjson::Document doc;
    std::optional<DuplicateCreateMode> mode;
    if (ParseObject(req.body, doc)) {
      mode = DuplicateModeFromName(StringMember(doc, "mode").value_or(""));
    }
    if (!mode) {
      bad_request("expected {\"mode\":\"replace|bad_request|conflict\"}");
      return;
    }
    SetDuplicateCreateMode(*mode);
    SendJson(res, 200,
             absl::StrCat("{\"mode\":\"", DuplicateModeName(*mode), "\"}"));
  } else if (path_is({"duplicate-mode"}) && m == "GET") {
    DuplicateCreateMode mode;
    {
      std::lock_guard<std::mutex> l(mu_);
      mode = duplicate_mode_;
    }
    SendJson(res, 200,
             absl::StrCat("{\"mode\":\"", DuplicateModeName(mode), "\"}"));
  } else if (path_is({"faults"}) && m == "POST") {
    std::string error;
    auto fault = FaultFromJson(req.body, error);
    if (!fault) {
      bad_request(error);
      return;
    }
    InjectFault(*fault);
    ok();
  } else if (path_is({"faults"}) && m == "DELETE") {
    ClearFaults();
    ok();
  } else if (path_is({"requests"}) && m == "GET") {
    std::vector<RecordedRequest> all = Requests();
    std::string method = req.get_param_value("method");
    std::string contains = req.get_param_value("path_contains");
    std::vector<RecordedRequest> selected;
    for (auto& r : all) {
      if (Matches(method, contains, r.method, r.path)) {
        selected.push_back(std::move(r));
      }
    }
    SendJson(res, 200, RecordedRequestsJson(selected));
  } else if (path_is({"requests", "count"}) && m == "GET") {
    SendJson(res, 200,
             absl::StrCat("{\"count\":",
                          CountRequests(req.get_param_value("method"),
                                        req.get_param_value("path_contains")),
                          "}"));
  } else if (path_is({"requests"}) && m == "DELETE") {
    ClearRequests();
    ok();
  } else if (path_is({"stats"}) && m == "GET") {
    size_t requests;
    {
      std::lock_guard<std::mutex> l(mu_);
      requests = requests_.size();
    }
    SendJson(res, 200,
             absl::StrCat("{\"login_count\":", LoginCount(),
                          ",\"request_count\":", requests, "}"));
  } else if (path_is({"revoke-tokens"}) && m == "POST") {
    RevokeAllTokens();
    ok();
  } else if (path_is({"tokens"}) && m == "POST") {
    rapidjson::Document doc;
    if (!ParseObject(req.body, doc) || !StringMember(doc, "username")) {
      bad_request("expected {\"username\":\"...\",\"lifetime_seconds\":N}");
      return;
    }
    absl::Duration lifetime = options_.token_lifetime;
    if (auto s = IntMember(doc, "lifetime_seconds")) {
      lifetime = absl::Seconds(*s);
    }
    SendJson(res, 200,
             absl::StrCat("{\"id_token\":",
                          JsonQuote(IssueToken(*StringMember(doc, "username"),
                                               lifetime)),
                          "}"));
  } else if (path_is({"users", "*", "status"}) && m == "POST") {
    rapidjson::Document doc;
    std::optional<std::string> status;
    if (ParseObject(req.body, doc)) status = StringMember(doc, "status");
    if (!status) {
      bad_request("expected {\"status\":\"...\"}");
      return;
    }
    std::optional<StoredCredentials> c;
    if (SetCredentialStatus(parts[1], *status)) c = GetStored(parts[1]);
    if (!c) {
      no_credentials(parts[1]);
      return;
    }
    SendJson(res, 200, CredentialsJson(*c));
  } else if (path_is({"users", "*", "credentials"}) && m == "GET") {
    auto c = GetStored(parts[1]);
    if (!c) {
      no_credentials(parts[1]);
      return;
    }
    SendJson(res, 200, CredentialsJson(*c));
  } else if (path_is({"users", "*", "credentials"}) &&
             (m == "PUT" || m == "POST")) {
    rapidjson::Document doc;
    if (!ParseObject(req.body, doc)) {
      bad_request("body must be a credential JSON object");
      return;
    }
    StoredCredentials c;
    c.id = StringMember(doc, "id").value_or("");
    c.status = StringMember(doc, "status").value_or("");
    c.created_time = StringMember(doc, "createdTime").value_or("");
    c.access_token = StringMember(doc, "accessToken").value_or("");
    c.refresh_token = StringMember(doc, "refreshToken").value_or("");
    c.public_key = StringMember(doc, "publicKey").value_or("");
    c.private_key = StringMember(doc, "privateKey").value_or("");
    PutCredentials(parts[1], c);
    SendJson(res, 200, CredentialsJson(GetStored(parts[1]).value_or(c)));
  } else if (path_is({"users", "*", "events"}) && m == "POST") {
    rapidjson::Document doc;
    if (!ParseObject(req.body, doc)) {
      bad_request("body must be an event JSON object");
      return;
    }
    StoredEvent e;
    e.id = StringMember(doc, "id").value_or("");
    e.created_date = StringMember(doc, "createdDate").value_or("");
    auto code = IntMember(doc, "statusCode");
    if (!code) code = IntMember(doc, "status_code");
    e.status_code = static_cast<int>(code.value_or(200));
    e.headers = StringMember(doc, "headers").value_or("");
    e.body = StringMember(doc, "body").value_or("");
    if (!AddEvent(parts[1], std::move(e))) {
      no_credentials(parts[1]);
      return;
    }
    ok();
  } else if (path_is({"users", "*", "events"}) && m == "GET") {
    if (!GetStored(parts[1])) {
      no_credentials(parts[1]);
      return;
    }
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    for (const StoredEvent& e : GetEvents(parts[1])) WriteEvent(w, e);
    w.EndArray();
    SendJson(res, 200, buf.GetString());
  } else {
    Problem p;
    p.status = 404;
    p.detail = absl::StrCat("No control endpoint ", m, " ", req.path);
    SendProblem(req, res, p);
  }
}

// ---------------------------------------------------------------------------
// Public wrapper.

absl::StatusOr<std::unique_ptr<LeafEmulator>> LeafEmulator::Start(
    EmulatorOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  absl::Status s = impl->Start();
  if (!s.ok()) return s;
  return std::unique_ptr<LeafEmulator>(new LeafEmulator(std::move(impl)));
}

LeafEmulator::LeafEmulator(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
LeafEmulator::~LeafEmulator() { Stop(); }

int LeafEmulator::port() const { return impl_->port(); }
std::string LeafEmulator::base_url() const { return impl_->base_url(); }
void LeafEmulator::Stop() { impl_->Stop(); }
void LeafEmulator::SetDuplicateCreateMode(DuplicateCreateMode mode) {
  impl_->SetDuplicateCreateMode(mode);
}
bool LeafEmulator::SetCredentialStatus(const std::string& leaf_user_id,
                                       const std::string& status) {
  return impl_->SetCredentialStatus(leaf_user_id, status);
}
bool LeafEmulator::AddEvent(const std::string& leaf_user_id, StoredEvent event) {
  return impl_->AddEvent(leaf_user_id, std::move(event));
}
void LeafEmulator::PutCredentials(const std::string& leaf_user_id,
                                  StoredCredentials c) {
  impl_->PutCredentials(leaf_user_id, std::move(c));
}
std::optional<StoredCredentials> LeafEmulator::GetStored(
    const std::string& leaf_user_id) const {
  return impl_->GetStored(leaf_user_id);
}
std::vector<StoredEvent> LeafEmulator::GetEvents(
    const std::string& leaf_user_id) const {
  return impl_->GetEvents(leaf_user_id);
}
void LeafEmulator::InjectFault(Fault fault) {
  impl_->InjectFault(std::move(fault));
}
void LeafEmulator::ClearFaults() { impl_->ClearFaults(); }
std::vector<RecordedRequest> LeafEmulator::Requests() const {
  return impl_->Requests();
}
int LeafEmulator::CountRequests(const std::string& method,
                                const std::string& path_contains) const {
  return impl_->CountRequests(method, path_contains);
}
void LeafEmulator::ClearRequests() { impl_->ClearRequests(); }
int LeafEmulator::LoginCount() const { return impl_->LoginCount(); }
std::string LeafEmulator::IssueToken(const std::string& username,
                                     absl::Duration lifetime) {
  return impl_->IssueToken(username, lifetime);
}
void LeafEmulator::RevokeAllTokens() { impl_->RevokeAllTokens(); }
void LeafEmulator::Reset() { impl_->Reset(); }

}  // namespace leafemu
