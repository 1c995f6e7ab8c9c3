// Compares two ServerConfigs field by field, so a test can show that two
// ways of building one (the struct's defaults, the flag table's, a test
// harness's) agree except where they mean to differ.
#ifndef TESTS_SERVER_CONFIG_FIELDS_H_
#define TESTS_SERVER_CONFIG_FIELDS_H_

#include <string>
#include <vector>

#include "server/config/config.h"

namespace leafsvc::testing {

// The names of the fields (e.g. "max_connection_age",
// "connection_limits.fd_reserve") where `a` and `b` differ. Every field of
// ServerConfig is listed; a new field must be added here too.
std::vector<std::string> DifferingFields(const ServerConfig& a, const ServerConfig& b);

}  // namespace leafsvc::testing

#endif  // TESTS_SERVER_CONFIG_FIELDS_H_
