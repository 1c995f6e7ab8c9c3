#include "server/security/caller_auth.h"

#include "gtest/gtest.h"

namespace leafsvc {
namespace {

constexpr char kKey[] = "caller-key-0123456789abcdef";
constexpr char kMethod[] = "/leaf.agleader.v1.AgLeaderCredentials/GetCredentials";
constexpr char kHealth[] = "/grpc.health.v1.Health/Check";
constexpr char kReflection[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

CallerAuthPolicy Policy(bool protect = false) {
  return CallerAuthPolicy(ApiKeySet({Secret(kKey)}), protect);
}

TEST(CallerAuthPolicyTest, RightKeyIsAccepted) {
  EXPECT_TRUE(Policy().Check(kMethod, {"Bearer caller-key-0123456789abcdef"}).ok());
}

TEST(CallerAuthPolicyTest, MissingKeyIsUnauthenticatedAndSaysWhatToSend) {
  grpc::Status st = Policy().Check(kMethod, {});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(st.error_message().find("authorization: Bearer <your API key>"), std::string::npos)
      << st.error_message();
}

TEST(CallerAuthPolicyTest, WrongKeyIsUnauthenticatedWithoutEchoingIt) {
  grpc::Status st = Policy().Check(kMethod, {"Bearer guessed-key-000000000000"});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(st.error_message().find("not accepted"), std::string::npos) << st.error_message();
  EXPECT_EQ(st.error_message().find("guessed-key"), std::string::npos) << st.error_message();
  EXPECT_EQ(st.error_message().find(kKey), std::string::npos) << st.error_message();
}

TEST(CallerAuthPolicyTest, KeyWithoutBearerSchemeIsUnauthenticated) {
  grpc::Status st = Policy().Check(kMethod, {kKey});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(st.error_message().find("Bearer"), std::string::npos) << st.error_message();
  EXPECT_EQ(st.error_message().find(kKey), std::string::npos) << st.error_message();
}

TEST(CallerAuthPolicyTest, OneValidEntryAmongSeveralIsAccepted) {
  EXPECT_TRUE(
      Policy()
          .Check(kMethod, {"Bearer wrong-key-aaaaaaaaaaaaa", "Bearer caller-key-0123456789abcdef"})
          .ok());
}

TEST(CallerAuthPolicyTest, EmptyPathNeedsAKey) {
  EXPECT_EQ(Policy().Check("", {}).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST(CallerAuthPolicyTest, HealthAndReflectionAreOpenByDefault) {
  EXPECT_TRUE(Policy().Check(kHealth, {}).ok());
  EXPECT_TRUE(Policy().Check("/grpc.health.v1.Health/Watch", {}).ok());
  EXPECT_TRUE(Policy().Check(kReflection, {}).ok());
  EXPECT_TRUE(Policy().Check("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", {}).ok());
}

TEST(CallerAuthPolicyTest, LookalikeServicesAreNotExempt) {
  EXPECT_FALSE(Policy().Check("/grpc.health.v1.HealthX/Check", {}).ok());
  EXPECT_FALSE(Policy().Check("/grpc.healthz/Check", {}).ok());
  EXPECT_FALSE(Policy().Check("/x/grpc.reflection.v1alpha.ServerReflection", {}).ok());
}

TEST(CallerAuthPolicyTest, ProtectedHealthAndReflectionNeedAKey) {
  EXPECT_EQ(Policy(true).Check(kHealth, {}).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Policy(true).Check(kReflection, {}).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Policy(true).Check(kHealth, {"Bearer caller-key-0123456789abcdef"}).ok());
}

}  // namespace
}  // namespace leafsvc
