#include "server/leaf/leaf_endpoints.h"

#include "gtest/gtest.h"
#include "server/ids/leaf_user_id.h"
#include "server/providers/agleader/agleader_spec.h"

namespace leafsvc::leaf {
namespace {

TEST(LeafUserIdTest, AcceptsAnyHexUuidIncludingVersionZero) {
  EXPECT_TRUE(IsLeafUserId("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
  EXPECT_TRUE(IsLeafUserId("3FA85F64-5717-0562-B3FC-2C963F66AFA6"));
  EXPECT_TRUE(IsLeafUserId("00000000-0000-0000-0000-000000000000"));
}

TEST(LeafUserIdTest, RejectsEverythingElse) {
  for (const char* bad :
       {"", "3fa85f64571745620b3fc2c963f66afa6", "3fa85f64-5717-4562-b3fc-2c963f66afa",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6a", "3fa85f64-5717-4562-b3fc_2c963f66afa6",
        "gfa85f64-5717-4562-b3fc-2c963f66afa6", "../../../admin/x-4562-b3fc-2c963f66afa",
        "3fa85f64-5717-4562-b3fc-2c963f66af%2", "3fa85f64-5717-4562-b3fc-2c963f66af/."}) {
    EXPECT_FALSE(IsLeafUserId(bad)) << bad;
  }
  EXPECT_FALSE(IsLeafUserId(std::string("3fa85f64-5717-4562-b3fc-2c963f66afa\0", 36)));
}

TEST(LeafEndpointsTest, BuildsDocumentedPaths) {
  LeafEndpoints e("https://api.withleaf.io/", providers::AgLeaderSpec());
  EXPECT_EQ(e.api_url(), "https://api.withleaf.io");
  EXPECT_EQ(e.provider(), &providers::AgLeaderSpec());
  EXPECT_EQ(e.Login(), "https://api.withleaf.io/api/authenticate");
  EXPECT_EQ(e.Credentials("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
            "https://api.withleaf.io/services/usermanagement/api/users/"
            "3fa85f64-5717-4562-b3fc-2c963f66afa6/ag-leader-credentials");
  EXPECT_EQ(e.CredentialEvents("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
            "https://api.withleaf.io/services/usermanagement/api/users/"
            "3fa85f64-5717-4562-b3fc-2c963f66afa6/ag-leader-credentials/events");
}

// Leaf serves every provider on the same pattern; the segment is the spec's.
TEST(LeafEndpointsTest, ThePathSegmentIsTheProviders) {
  providers::ProviderSpec spec;
  spec.path_segment = "testland-credentials";
  LeafEndpoints e("http://leaf", spec);
  EXPECT_EQ(e.Credentials("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
            "http://leaf/services/usermanagement/api/users/"
            "3fa85f64-5717-4562-b3fc-2c963f66afa6/testland-credentials");
  EXPECT_EQ(e.CredentialEvents("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
            "http://leaf/services/usermanagement/api/users/"
            "3fa85f64-5717-4562-b3fc-2c963f66afa6/testland-credentials/events");
  // Login and users name no provider.
  EXPECT_EQ(LeafEndpoints("http://leaf").provider(), nullptr);
  EXPECT_EQ(LeafEndpoints("http://leaf").Users(0, 10), e.Users(0, 10));
}

TEST(LeafEndpointsTest, KeepsAPathPrefix) {
  LeafEndpoints e("http://127.0.0.1:8080/prefix//");
  EXPECT_EQ(e.Login(), "http://127.0.0.1:8080/prefix/api/authenticate");
}

TEST(LeafEndpointsTest, EncodingKeepsHostileIdsInsideOneSegment) {
  // Defence in depth: ids are validated first, but nothing can leave the segment.
  EXPECT_EQ(PercentEncodePathSegment("../admin?x=1#f"), "..%2Fadmin%3Fx%3D1%23f");
  EXPECT_EQ(PercentEncodePathSegment(".."), "%2E%2E");
  EXPECT_EQ(PercentEncodePathSegment("."), "%2E");
  EXPECT_EQ(PercentEncodePathSegment(std::string("a\0b", 3)), "a%00b");
  EXPECT_EQ(PercentEncodePathSegment("%2e"), "%252e");
}

}  // namespace
}  // namespace leafsvc::leaf
