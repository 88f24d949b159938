#include <gtest/gtest.h>

#include "rules/testing/check_scenarios.h"

namespace hsmproof::rules {
namespace {

using model::Status;
using testing::kms_key;
using testing::region_with_keys;
using testing::run_check;

constexpr const char* kCheck = "aws_kms_cmk_usage";

const testing::ScenarioRegistration kScenarios({
    {kCheck, "signing and encryption keys", "aws-kms",
     [] {
       return region_with_keys(
           {kms_key({.id = "sign"}), kms_key({.id = "enc", .usage = "ENCRYPT_DECRYPT"})});
     },
     Status::kPass},
    {kCheck, "a MAC key", "aws-kms",
     [] {
       return region_with_keys({kms_key({.id = "sign"}),
                                kms_key({.id = "mac", .spec = "HMAC_256",
                                         .usage = "GENERATE_VERIFY_MAC"})});
     },
     Status::kFail},
    {kCheck, "one key cannot be described", "aws-kms",
     [] { return region_with_keys({kms_key({.id = "sign"}), testing::undescribable_key("x")}); },
     Status::kIncomplete},
});

TEST(AwsKmsCmkUsage, RegisteredScenarios) { EXPECT_EQ(testing::expect_registered_scenarios(kCheck), 3u); }

TEST(AwsKmsCmkUsage, KeyAgreementFails) {
  const auto finding = run_check(
      kCheck, region_with_keys({kms_key({.id = "ka", .spec = "ECC_NIST_P256",
                                         .usage = "KEY_AGREEMENT"})}));
  ASSERT_EQ(finding.status, Status::kFail);
  ASSERT_EQ(finding.resources.size(), 1u);
  EXPECT_EQ(finding.resources[0].detail,
            "KeyUsage KEY_AGREEMENT (needs SIGN_VERIFY or ENCRYPT_DECRYPT)");
}

TEST(AwsKmsCmkUsage, AwsManagedMacKeyIsOutOfScope) {
  const auto finding = run_check(
      kCheck, region_with_keys({kms_key({.id = "sign"}),
                                kms_key({.id = "mac", .usage = "GENERATE_VERIFY_MAC",
                                         .manager = "AWS"})}));
  EXPECT_EQ(finding.status, Status::kPass);
}

TEST(AwsKmsCmkUsage, FailWinsOverIncomplete) {
  const auto finding = run_check(
      kCheck, region_with_keys({testing::undescribable_key("x"),
                                kms_key({.id = "mac", .usage = "GENERATE_VERIFY_MAC"})}));
  EXPECT_EQ(finding.status, Status::kFail);
}

}  // namespace
}  // namespace hsmproof::rules
