// agleader_client's readable output of responses. Secret values are printed
// only in CREDENTIALS_VIEW_FULL (the user asked for them); the hints always.
// Text that comes from the server goes through Printable().
#ifndef CLIENT_TEXT_OUTPUT_H_
#define CLIENT_TEXT_OUTPUT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "leaf/agleader/v1/agleader_credentials.pb.h"

namespace leafsvc::client {

// Makes text safe to print on a terminal: control characters (other than
// tab) are shown as \xNN.
std::string Printable(absl::string_view text);

std::string FormatCredentials(const leaf::agleader::v1::Credentials& credentials,
                              leaf::agleader::v1::CredentialsView view);
// One event as a block followed by a blank line.
std::string FormatEvent(const leaf::agleader::v1::CredentialEvent& event);
// All events of a page ("no events" when there are none) and then
// "next page token: ..." when there is one.
std::string FormatEvents(const leaf::agleader::v1::ListCredentialEventsResponse& response);
std::string FormatDeleted(absl::string_view leaf_user_id);

}  // namespace leafsvc::client

#endif  // CLIENT_TEXT_OUTPUT_H_
