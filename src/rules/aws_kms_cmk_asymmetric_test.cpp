#include <gtest/gtest.h>

#include "rules/testing/check_scenarios.h"

namespace hsmproof::rules {
namespace {

using model::Status;
using testing::kms_key;
using testing::region_with_keys;
using testing::run_check;

constexpr const char* kCheck = "aws_kms_cmk_asymmetric";

const testing::ScenarioRegistration kScenarios({
    {kCheck, "RSA and ECC keys", "aws-kms",
     [] {
       return region_with_keys(
           {kms_key({.id = "rsa"}), kms_key({.id = "ecc", .spec = "ECC_NIST_P384"})});
     },
     Status::kPass},
    {kCheck, "a symmetric data key beside the signing key", "aws-kms",
     [] {
       return region_with_keys({kms_key({.id = "rsa"}),
                                kms_key({.id = "s3", .spec = "SYMMETRIC_DEFAULT",
                                         .usage = "ENCRYPT_DECRYPT"})});
     },
     Status::kFail},
    {kCheck, "one key cannot be described", "aws-kms",
     [] { return region_with_keys({kms_key({.id = "rsa"}), testing::undescribable_key("b")}); },
     Status::kIncomplete},
});

TEST(AwsKmsCmkAsymmetric, RegisteredScenarios) {
  EXPECT_EQ(testing::expect_registered_scenarios(kCheck), 3u);
}

TEST(AwsKmsCmkAsymmetric, SymmetricAndHmacKeysFail) {
  const auto finding = run_check(
      kCheck, region_with_keys({
                  kms_key({.id = "sym", .spec = "SYMMETRIC_DEFAULT", .usage = "ENCRYPT_DECRYPT"}),
                  kms_key({.id = "mac", .spec = "HMAC_256", .usage = "GENERATE_VERIFY_MAC"}),
                  kms_key({.id = "rsa"}),
              }));
  ASSERT_EQ(finding.status, Status::kFail);
  ASSERT_EQ(finding.resources.size(), 3u);
  EXPECT_EQ(finding.resources[0].status, Status::kFail);
  EXPECT_NE(finding.resources[0].detail.find("KeySpec SYMMETRIC_DEFAULT is symmetric"),
            std::string::npos);
  EXPECT_EQ(finding.resources[1].status, Status::kFail);
  EXPECT_NE(finding.resources[1].detail.find("HMAC_256"), std::string::npos);
  EXPECT_EQ(finding.resources[2].status, Status::kPass);
  EXPECT_NE(finding.message.find("not SYMMETRIC_DEFAULT or HMAC_*"), std::string::npos)
      << finding.message;
  EXPECT_EQ(finding.remediation.size(), 4u);  // disable or delete, for each of the two
}

TEST(AwsKmsCmkAsymmetric, UnreportedKeySpecIsNotProvenAsymmetric) {
  const auto finding = run_check(kCheck, region_with_keys({kms_key({.id = "x", .spec = ""})}));
  EXPECT_EQ(finding.status, Status::kFail);
}

TEST(AwsKmsCmkAsymmetric, DisabledSymmetricKeyIsOutOfScope) {
  const auto finding = run_check(
      kCheck, region_with_keys({kms_key({.id = "rsa"}),
                                kms_key({.id = "sym", .spec = "SYMMETRIC_DEFAULT",
                                         .state = "Disabled"}),
                                kms_key({.id = "aws", .spec = "SYMMETRIC_DEFAULT",
                                         .manager = "AWS"})}));
  EXPECT_EQ(finding.status, Status::kPass) << finding.message;
}

TEST(AwsKmsCmkAsymmetric, SymmetricSpecsComeFromTheBaseline) {
  Baseline custom = testing::entrust();
  custom.params["aws_kms_symmetric_key_spec_prefixes"] = {};
  const auto region = region_with_keys({kms_key({.id = "mac", .spec = "HMAC_512"})});
  EXPECT_EQ(run_check(kCheck, region, kAwsKmsLocation, custom).status, Status::kPass);
  EXPECT_EQ(run_check(kCheck, region).status, Status::kFail);
}

}  // namespace
}  // namespace hsmproof::rules
