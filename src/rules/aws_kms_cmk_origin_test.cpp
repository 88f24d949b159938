#include <gtest/gtest.h>

#include "rules/testing/check_scenarios.h"

namespace hsmproof::rules {
namespace {

using model::Status;
using testing::kms_key;
using testing::region_with_keys;
using testing::run_check;

constexpr const char* kCheck = "aws_kms_cmk_origin";

const testing::ScenarioRegistration kScenarios({
    {kCheck, "every key generated in KMS", "aws-kms",
     [] {
       return region_with_keys({kms_key({.id = "a"}), kms_key({.id = "b", .spec = "RSA_3072"})});
     },
     Status::kPass},
    {kCheck, "imported key material", "aws-kms",
     [] { return region_with_keys({kms_key({.id = "a"}), kms_key({.id = "b", .origin = "EXTERNAL"})}); },
     Status::kFail},
    {kCheck, "one key cannot be described", "aws-kms",
     [] { return region_with_keys({kms_key({.id = "a"}), testing::undescribable_key("b")}); },
     Status::kIncomplete},
});

TEST(AwsKmsCmkOrigin, RegisteredScenarios) { EXPECT_EQ(testing::expect_registered_scenarios(kCheck), 3u); }

TEST(AwsKmsCmkOrigin, FailNamesEachOffendingKeyWithItsFix) {
  const auto finding = run_check(kCheck, region_with_keys({
                                             kms_key({.id = "good"}),
                                             kms_key({.id = "imported", .origin = "EXTERNAL",
                                                      .aliases = {"alias/legacy"}}),
                                             kms_key({.id = "store", .origin = "AWS_CLOUDHSM"}),
                                         }));
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_NE(finding.message.find("2 of 3"), std::string::npos) << finding.message;
  ASSERT_EQ(finding.resources.size(), 3u);
  EXPECT_EQ(finding.resources[0].status, Status::kPass);
  EXPECT_EQ(finding.resources[1].id, testing::key_arn("imported"));
  EXPECT_EQ(finding.resources[1].status, Status::kFail);
  EXPECT_EQ(finding.resources[1].detail,
            "alias/legacy: Origin EXTERNAL (needs AWS_KMS)");
  EXPECT_EQ(finding.resources[2].detail, "Origin AWS_CLOUDHSM (needs AWS_KMS)");
  // A compliant key remains, so no new key is needed: only the offending ones go.
  const std::vector<std::string> expected = {
      "aws kms disable-key --region eu-west-1 --key-id " + testing::key_arn("imported"),
      "# or delete it: aws kms schedule-key-deletion --region eu-west-1 --key-id " +
          testing::key_arn("imported") + " --pending-window-in-days 30",
      "aws kms disable-key --region eu-west-1 --key-id " + testing::key_arn("store"),
      "# or delete it: aws kms schedule-key-deletion --region eu-west-1 --key-id " +
          testing::key_arn("store") + " --pending-window-in-days 30",
  };
  EXPECT_EQ(finding.remediation, expected);
}

TEST(AwsKmsCmkOrigin, CreatesAReplacementWhenNoKeyComplies) {
  const auto finding =
      run_check(kCheck, region_with_keys({kms_key({.id = "imported", .origin = "EXTERNAL"})}));
  ASSERT_EQ(finding.status, Status::kFail);
  ASSERT_FALSE(finding.remediation.empty());
  EXPECT_EQ(finding.remediation.front(),
            "aws kms create-key --region eu-west-1 --key-spec RSA_4096 --key-usage SIGN_VERIFY "
            "--description \"code signing\"");
}

TEST(AwsKmsCmkOrigin, KeysOutOfScopeAreIgnored) {
  const auto finding = run_check(
      kCheck, region_with_keys({
                  kms_key({.id = "good"}),
                  kms_key({.id = "disabled", .origin = "EXTERNAL", .state = "Disabled"}),
                  kms_key({.id = "deleting", .origin = "EXTERNAL", .state = "PendingDeletion"}),
                  kms_key({.id = "aws-managed", .origin = "EXTERNAL", .manager = "AWS"}),
              }));
  EXPECT_EQ(finding.status, Status::kPass) << finding.message;
  ASSERT_EQ(finding.resources.size(), 1u);
  EXPECT_EQ(finding.resources[0].id, testing::key_arn("good"));
}

TEST(AwsKmsCmkOrigin, NoKeyInScopeIsNotApplicable) {
  const auto finding =
      run_check(kCheck, region_with_keys({kms_key({.id = "old", .state = "Disabled"})}));
  EXPECT_EQ(finding.status, Status::kNotApplicable);
}

TEST(AwsKmsCmkOrigin, FailWinsOverAnUndescribableKey) {
  const auto finding = run_check(kCheck, region_with_keys({
                                             kms_key({.id = "imported", .origin = "EXTERNAL"}),
                                             testing::undescribable_key("unknown"),
                                         }));
  ASSERT_EQ(finding.status, Status::kFail);
  ASSERT_EQ(finding.resources.size(), 2u);
  EXPECT_EQ(finding.resources[1].status, Status::kIncomplete);
  EXPECT_NE(finding.resources[1].detail.find("AccessDeniedException"), std::string::npos);
  EXPECT_NE(finding.message.find("could not be described"), std::string::npos);
}

TEST(AwsKmsCmkOrigin, UndescribableKeyIsListedWithItsError) {
  const auto finding = run_check(kCheck, region_with_keys({testing::undescribable_key("x")}));
  ASSERT_EQ(finding.status, Status::kIncomplete);
  ASSERT_EQ(finding.resources.size(), 1u);
  EXPECT_EQ(finding.resources[0].status, Status::kIncomplete);
  EXPECT_NE(finding.resources[0].detail.find("kms:DescribeKey"), std::string::npos);
  EXPECT_TRUE(finding.remediation.empty());
}

TEST(AwsKmsCmkOrigin, ListKeysErrorIsIncompleteWithTheError) {
  auto region = region_with_keys({});
  const Error error = testing::access_denied("kms:ListKeys");
  region.kms_keys = error;
  const auto finding = run_check(kCheck, region);
  EXPECT_EQ(finding.status, Status::kIncomplete);
  EXPECT_NE(finding.message.find(error.describe()), std::string::npos) << finding.message;
}

TEST(AwsKmsCmkOrigin, AllowedOriginsComeFromTheBaseline) {
  Baseline lenient = testing::entrust();
  lenient.params["aws_kms_allowed_origins"] = {"AWS_KMS", "EXTERNAL"};
  const auto region = region_with_keys({kms_key({.id = "imported", .origin = "EXTERNAL"})});
  EXPECT_EQ(run_check(kCheck, region, kAwsKmsLocation, lenient).status, Status::kPass);
  EXPECT_EQ(run_check(kCheck, region).status, Status::kFail);
}

TEST(AwsKmsCmkOrigin, AliasListingErrorIsAWarningOnly) {
  auto region = region_with_keys({kms_key({.id = "good"})});
  region.aliases_error = testing::access_denied("kms:ListAliases");
  const auto finding = run_check(kCheck, region);
  EXPECT_EQ(finding.status, Status::kPass);
  ASSERT_EQ(finding.warnings.size(), 1u);
  EXPECT_NE(finding.warnings[0].find("kms:ListAliases"), std::string::npos);
}

}  // namespace
}  // namespace hsmproof::rules
