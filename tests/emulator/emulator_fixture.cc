#include "tests/emulator/emulator_fixture.h"

#include <cstdint>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace leafemu {
namespace emutest {

std::string CredsPathFor(const std::string& user) {
  return absl::StrCat("/services/usermanagement/api/users/", user, "/ag-leader-credentials");
}

rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

std::string Base64UrlDecode(const std::string& in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0) return "";
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

void ExpectProblem(const httplib::Result& res, int status, const std::string& error_key) {
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, status);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/problem+json");
  rapidjson::Document d = Parse(res->body);
  ASSERT_TRUE(d.IsObject()) << res->body;
  EXPECT_STREQ(d["type"].GetString(), "https://www.jhipster.tech/problem/problem-with-message");
  EXPECT_EQ(d["status"].GetInt(), status);
  EXPECT_TRUE(d.HasMember("title"));
  EXPECT_TRUE(d.HasMember("message"));
  ASSERT_TRUE(d.HasMember("path"));
  EXPECT_TRUE(absl::StartsWith(d["path"].GetString(), "/"));
  // Leaf's services report the path behind the gateway prefix.
  EXPECT_FALSE(absl::StartsWith(d["path"].GetString(), "/services/"));
  if (!error_key.empty()) {
    ASSERT_TRUE(d.HasMember("errorKey")) << res->body;
    EXPECT_EQ(d["errorKey"].GetString(), error_key);
  }
}

EmulatorOptions EmulatorTest::DefaultOptions() {
  EmulatorOptions o;
  o.accounts[kUser] = kPassword;
  o.static_tokens.push_back(kStaticToken);
  return o;
}

void EmulatorTest::StartWith(EmulatorOptions options) {
  emu_.reset();
  auto started = LeafEmulator::Start(std::move(options));
  ASSERT_TRUE(started.ok()) << started.status();
  emu_ = std::move(*started);
}

std::unique_ptr<httplib::Client> EmulatorTest::NewClient() {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", emu_->port());
  c->set_connection_timeout(2, 0);
  c->set_read_timeout(5, 0);
  return c;
}

httplib::Headers EmulatorTest::Auth(const std::string& token) {
  return {{"Authorization", absl::StrCat("Bearer ", token)}};
}

httplib::Result EmulatorTest::Login(const std::string& body) {
  return NewClient()->Post("/api/authenticate", body, "application/json");
}
httplib::Result EmulatorTest::GetCreds(const std::string& token) {
  return NewClient()->Get(kCredsPath, Auth(token));
}
httplib::Result EmulatorTest::CreateCreds(const std::string& body) {
  return NewClient()->Post(kCredsPath, Auth(), body, "application/json");
}
httplib::Result EmulatorTest::DeleteCreds() { return NewClient()->Delete(kCredsPath, Auth()); }
httplib::Result EmulatorTest::GetEvents() { return NewClient()->Get(kEventsPath, Auth()); }

}  // namespace emutest
}  // namespace leafemu
