#include "core/result.h"

#include <gtest/gtest.h>

namespace hsmproof {
namespace {

TEST(Error, DescribeNamesOperationRegionCodeStatusAndRequestId) {
  Error error{ErrorKind::kHttp, "User is not authorized", "kms:ListKeys", "eu-west-1", "", 400,
              "AccessDeniedException", "req-1"};
  EXPECT_EQ(error.describe(),
            "kms:ListKeys in eu-west-1: AccessDeniedException (HTTP 400, request id req-1): User "
            "is not authorized");
}

TEST(Result, HoldsValueOrError) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.value(), 7);
  Result<int> bad = Error{ErrorKind::kTransport, "reset"};
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "reset");
}

}  // namespace
}  // namespace hsmproof
