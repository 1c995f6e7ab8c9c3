// Readable output of credentials, events and deletions.
#include "client/text_output.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/client/test_util.h"

namespace leafsvc::client {
namespace {

using ::leaf::agleader::v1::CredentialEvent;
using ::leaf::agleader::v1::Credentials;
using ::leaf::agleader::v1::CREDENTIALS_VIEW_BASIC;
using ::leaf::agleader::v1::CREDENTIALS_VIEW_FULL;
using ::leaf::agleader::v1::ListCredentialEventsResponse;
using ::testing::HasSubstr;
using ::testing::Not;

class TextOutputTest : public ClientTest {};

TEST_F(TextOutputTest, FormatCredentialsBasic) {
  std::string out = FormatCredentials(SampleCredentials(false), CREDENTIALS_VIEW_BASIC);
  EXPECT_EQ(out,
            "name:          users/3fa85f64-5717-4562-b3fc-2c963f66afa6/"
            "agLeaderCredentials\n"
            "id:            0b8f2c5e-1111-2222-3333-444455556666\n"
            "leaf user id:  3fa85f64-5717-4562-b3fc-2c963f66afa6\n"
            "status:        OK (CREDENTIAL_STATUS_OK)\n"
            "created:       2023-04-21T12:16:27.997586Z\n"
            "public key:    public-key-value\n"
            "refresh token: ****cdef\n"
            "private key:   ****AEFAA\n"
            "access token:  (none)\n");
}

TEST_F(TextOutputTest, FormatCredentialsBasicNeverShowsSecretValues) {
  // Even if a server put them in a basic-view response.
  std::string out = FormatCredentials(SampleCredentials(true), CREDENTIALS_VIEW_BASIC);
  EXPECT_THAT(out, HasSubstr("refresh token: ****cdef"));
  EXPECT_THAT(out, Not(HasSubstr("SECRET")));
  out =
      FormatCredentials(SampleCredentials(true), leaf::agleader::v1::CREDENTIALS_VIEW_UNSPECIFIED);
  EXPECT_THAT(out, Not(HasSubstr("SECRET")));
}

TEST_F(TextOutputTest, FormatCredentialsFullShowsSecretValues) {
  std::string out = FormatCredentials(SampleCredentials(true), CREDENTIALS_VIEW_FULL);
  EXPECT_THAT(out, HasSubstr("refresh token: ****cdef\n"));
  EXPECT_THAT(out, HasSubstr(kRefreshToken));
  EXPECT_THAT(out, HasSubstr(kPrivateKey));
  EXPECT_THAT(out, HasSubstr(kAccessToken));
}

TEST_F(TextOutputTest, FormatCredentialsUnknownStatus) {
  Credentials c;
  c.set_leaf_status("SOMETHING_NEW");
  std::string out = FormatCredentials(c, CREDENTIALS_VIEW_BASIC);
  EXPECT_THAT(out, HasSubstr("status:        SOMETHING_NEW "
                             "(CREDENTIAL_STATUS_UNSPECIFIED)\n"));
  EXPECT_THAT(out, HasSubstr("created:       (unknown)\n"));
}

TEST_F(TextOutputTest, FormatEvents) {
  ListCredentialEventsResponse response;
  CredentialEvent* e = response.add_events();
  e->set_id("ev1");
  e->set_status_code(401);
  google::protobuf::util::TimeUtil::FromString("2023-04-21T12:16:27Z", e->mutable_create_time());
  e->set_headers("Content-Type: application/json\r\nX-A: b");
  e->set_body("{\"error\":\"invalid_grant\"}\x1b[31m");
  CredentialEvent* e2 = response.add_events();
  e2->set_id("ev2");
  e2->set_status_code(200);
  response.set_next_page_token("tok123");
  EXPECT_EQ(FormatEvents(response),
            "time:        2023-04-21T12:16:27Z\n"
            "status code: 401\n"
            "id:          ev1\n"
            "headers:\n"
            "    Content-Type: application/json\n"
            "    X-A: b\n"
            "body:\n"
            "    {\"error\":\"invalid_grant\"}\\x1b[31m\n"
            "\n"
            "time:        (unknown)\n"
            "status code: 200\n"
            "id:          ev2\n"
            "headers:     (none)\n"
            "body:        (none)\n"
            "\n"
            "next page token: tok123\n");

  EXPECT_EQ(FormatEvents(ListCredentialEventsResponse()), "no events\n");
}

TEST_F(TextOutputTest, FormatDeleted) {
  EXPECT_EQ(FormatDeleted(kUser),
            "deleted AgLeader credentials of user "
            "3fa85f64-5717-4562-b3fc-2c963f66afa6\n");
}

TEST_F(TextOutputTest, PrintableEscapesControlCharactersButTab) {
  EXPECT_EQ(Printable("a\tb\x1b[0m\x7f\n"), "a\tb\\x1b[0m\\x7f\\x0a");
}

}  // namespace
}  // namespace leafsvc::client
