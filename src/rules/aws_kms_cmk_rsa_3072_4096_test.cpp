#include <gtest/gtest.h>

#include "rules/testing/check_scenarios.h"

namespace hsmproof::rules {
namespace {

using model::Status;
using testing::kms_key;
using testing::region_with_keys;
using testing::run_check;

constexpr const char* kCheck = "aws_kms_cmk_rsa_3072_4096";

const testing::ScenarioRegistration kScenarios({
    {kCheck, "RSA 3072 and 4096", "aws-kms",
     [] {
       return region_with_keys(
           {kms_key({.id = "a", .spec = "RSA_3072"}), kms_key({.id = "b", .spec = "RSA_4096"})});
     },
     Status::kPass},
    {kCheck, "an RSA 2048 key", "aws-kms",
     [] { return region_with_keys({kms_key({.id = "a"}), kms_key({.id = "b", .spec = "RSA_2048"})}); },
     Status::kFail},
    {kCheck, "key list unreadable", "aws-kms",
     [] {
       auto region = region_with_keys({});
       region.kms_keys = testing::access_denied("kms:ListKeys");
       return region;
     },
     Status::kIncomplete},
});

TEST(AwsKmsCmkRsa30724096, RegisteredScenarios) {
  EXPECT_EQ(testing::expect_registered_scenarios(kCheck), 3u);
}

TEST(AwsKmsCmkRsa30724096, EccAndSmallRsaFail) {
  const auto finding = run_check(
      kCheck, region_with_keys({kms_key({.id = "small", .spec = "RSA_2048"}),
                                kms_key({.id = "ecc", .spec = "ECC_NIST_P384"}),
                                kms_key({.id = "good", .spec = "RSA_3072"})}));
  ASSERT_EQ(finding.status, Status::kFail);
  ASSERT_EQ(finding.resources.size(), 3u);
  EXPECT_EQ(finding.resources[0].detail, "KeySpec RSA_2048 (needs RSA_3072 or RSA_4096)");
  EXPECT_EQ(finding.resources[1].detail,
            "KeySpec ECC_NIST_P384 (needs RSA_3072 or RSA_4096)");
  EXPECT_EQ(finding.resources[2].status, Status::kPass);
  EXPECT_EQ(finding.message,
            "KeySpec must be RSA_3072 or RSA_4096: 2 of 3 enabled customer managed keys in "
            "eu-west-1 fail");
}

TEST(AwsKmsCmkRsa30724096, UndescribableKeyMakesAPassIncomplete) {
  const auto finding =
      run_check(kCheck, region_with_keys({kms_key({.id = "good"}), testing::undescribable_key("x")}));
  EXPECT_EQ(finding.status, Status::kIncomplete);
  EXPECT_NE(finding.message.find("1 key could not be described"), std::string::npos)
      << finding.message;
}

TEST(AwsKmsCmkRsa30724096, PendingDeletionKeyIsOutOfScope) {
  const auto finding = run_check(
      kCheck, region_with_keys({kms_key({.id = "good"}),
                                kms_key({.id = "old", .spec = "RSA_2048",
                                         .state = "PendingDeletion"})}));
  EXPECT_EQ(finding.status, Status::kPass);
  EXPECT_EQ(finding.message,
            "KeySpec must be RSA_3072 or RSA_4096: the one enabled customer managed key in "
            "eu-west-1 complies");
}

TEST(AwsKmsCmkRsa30724096, CreateKeyUsesAnAllowedSpec) {
  Baseline custom = testing::entrust();
  custom.params["aws_kms_allowed_key_specs"] = {"RSA_3072"};
  const auto finding = run_check(kCheck, region_with_keys({kms_key({.id = "big"})}),
                                 kAwsKmsLocation, custom);
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_EQ(finding.remediation.front(),
            "aws kms create-key --region eu-west-1 --key-spec RSA_3072 --key-usage SIGN_VERIFY "
            "--description \"code signing\"");
}

}  // namespace
}  // namespace hsmproof::rules
