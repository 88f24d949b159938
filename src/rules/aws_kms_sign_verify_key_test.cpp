#include <gtest/gtest.h>

#include "rules/testing/check_scenarios.h"

namespace hsmproof::rules {
namespace {

using model::Status;
using testing::kms_key;
using testing::region_with_keys;
using testing::run_check;

constexpr const char* kCheck = "aws_kms_sign_verify_key";

const testing::ScenarioRegistration kScenarios({
    {kCheck, "a signing key", "aws-kms",
     [] {
       return region_with_keys(
           {kms_key({.id = "sign"}), kms_key({.id = "enc", .usage = "ENCRYPT_DECRYPT"})});
     },
     Status::kPass},
    {kCheck, "only encryption keys", "aws-kms",
     [] { return region_with_keys({kms_key({.id = "enc", .usage = "ENCRYPT_DECRYPT"})}); },
     Status::kFail},
    {kCheck, "no known signing key, one key unknown", "aws-kms",
     [] {
       return region_with_keys({kms_key({.id = "enc", .usage = "ENCRYPT_DECRYPT"}),
                                testing::undescribable_key("x")});
     },
     Status::kIncomplete},
});

TEST(AwsKmsSignVerifyKey, RegisteredScenarios) {
  EXPECT_EQ(testing::expect_registered_scenarios(kCheck), 3u);
}

TEST(AwsKmsSignVerifyKey, APassIsAPassEvenWithUnknownKeys) {
  const auto finding = run_check(
      kCheck, region_with_keys({kms_key({.id = "sign"}), testing::undescribable_key("x")}));
  EXPECT_EQ(finding.status, Status::kPass);
  ASSERT_EQ(finding.resources.size(), 2u);
  EXPECT_EQ(finding.resources[0].status, Status::kPass);
  EXPECT_EQ(finding.resources[1].status, Status::kIncomplete);
}

TEST(AwsKmsSignVerifyKey, FailListsEveryKeyAndCreatesASigningKey) {
  const auto finding = run_check(
      kCheck, region_with_keys({kms_key({.id = "enc", .usage = "ENCRYPT_DECRYPT",
                                         .aliases = {"alias/data"}}),
                                kms_key({.id = "mac", .usage = "GENERATE_VERIFY_MAC"})}));
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_EQ(finding.message,
            "none of the 2 enabled customer managed keys in eu-west-1 has KeyUsage SIGN_VERIFY");
  ASSERT_EQ(finding.resources.size(), 2u);
  EXPECT_EQ(finding.resources[0].status, Status::kFail);
  EXPECT_EQ(finding.resources[0].detail, "alias/data: KeyUsage ENCRYPT_DECRYPT");
  EXPECT_EQ(finding.remediation,
            std::vector<std::string>{"aws kms create-key --region eu-west-1 --key-spec RSA_4096 "
                                     "--key-usage SIGN_VERIFY --description \"code signing\""});
}

TEST(AwsKmsSignVerifyKey, DisabledSigningKeyDoesNotCount) {
  const auto finding = run_check(
      kCheck, region_with_keys({kms_key({.id = "sign", .state = "Disabled"}),
                                kms_key({.id = "enc", .usage = "ENCRYPT_DECRYPT"})}));
  EXPECT_EQ(finding.status, Status::kFail);
}

TEST(AwsKmsSignVerifyKey, AwsManagedSigningKeyDoesNotCount) {
  const auto finding = run_check(
      kCheck, region_with_keys({kms_key({.id = "sign", .manager = "AWS"})}));
  EXPECT_EQ(finding.status, Status::kFail);
  EXPECT_EQ(finding.message,
            "no enabled customer managed key in eu-west-1, so none has KeyUsage SIGN_VERIFY");
}

TEST(AwsKmsSignVerifyKey, ListKeysErrorIsIncomplete) {
  auto region = region_with_keys({});
  region.kms_keys = testing::access_denied("kms:ListKeys");
  const auto finding = run_check(kCheck, region);
  EXPECT_EQ(finding.status, Status::kIncomplete);
  EXPECT_NE(finding.message.find("AccessDeniedException"), std::string::npos);
}

}  // namespace
}  // namespace hsmproof::rules
