#include "rules/evaluate.h"

#include <gtest/gtest.h>

#include "rules/testing/aws_fixtures.h"

namespace hsmproof::rules {
namespace {

using model::Status;
using testing::cluster;
using testing::hsm;
using testing::kms_key;
using testing::region_with_keys;

model::Inventory inventory_of(std::vector<model::AwsRegionInventory> regions) {
  model::AwsInventory aws;
  aws.account = testing::kAccount;
  aws.regions = std::move(regions);
  model::Inventory inventory;
  inventory.aws = std::move(aws);
  return inventory;
}

// Moves a fixture region, with its good single-region trail, to another region.
model::AwsRegionInventory in_region(model::AwsRegionInventory region, const std::string& name) {
  region.region = name;
  region.trails = std::vector<model::Trail>{testing::trail({.home_region = name})};
  return region;
}

model::AwsRegionInventory good_kms_region(const std::string& name = "eu-west-1") {
  return in_region(region_with_keys({kms_key({.id = "sign-" + name, .aliases = {"alias/codesign"},
                                              .region = name})}),
                   name);
}

model::AwsRegionInventory bad_kms_region(const std::string& name) {
  return in_region(
      region_with_keys({kms_key({.id = "small-" + name, .spec = "RSA_2048", .region = name})}),
      name);
}

model::Findings run(const model::Inventory& inventory, std::vector<std::string> keys = {}) {
  return evaluate(inventory, testing::entrust(), EvaluateOptions{std::move(keys)});
}

TEST(StatusNames, AreTheReportContract) {
  EXPECT_STREQ(model::to_string(Status::kPass), "pass");
  EXPECT_STREQ(model::to_string(Status::kFail), "fail");
  EXPECT_STREQ(model::to_string(Status::kIncomplete), "incomplete");
  EXPECT_STREQ(model::to_string(Status::kNotApplicable), "not_applicable");
}

TEST(LocationVerdict, FailThenIncompleteThenPass) {
  const auto check = [](Status status) {
    model::CheckFinding finding;
    finding.status = status;
    return finding;
  };
  EXPECT_EQ(location_verdict({check(Status::kPass), check(Status::kIncomplete),
                              check(Status::kFail)}),
            Status::kFail);
  EXPECT_EQ(location_verdict({check(Status::kPass), check(Status::kIncomplete)}),
            Status::kIncomplete);
  EXPECT_EQ(location_verdict({check(Status::kPass), check(Status::kNotApplicable)}),
            Status::kPass);
}

TEST(Evaluate, KmsLocationNeedsAnEnabledCustomerManagedKey) {
  auto region = region_with_keys({kms_key({.id = "off", .state = "Disabled"}),
                                  kms_key({.id = "aws", .manager = "AWS"}),
                                  kms_key({.id = "gone", .state = "PendingDeletion"})});
  const auto findings = run(inventory_of({region}));
  EXPECT_TRUE(findings.locations.empty());
  EXPECT_EQ(findings.verdict, Status::kFail);
  EXPECT_EQ(findings.verdict_reason,
            "no location holds a key: no enabled customer managed KMS key and no CloudHSM "
            "cluster in the scanned regions");
}

TEST(Evaluate, UnreadableKeysStillMakeALocation) {
  auto unlisted = region_with_keys({});
  unlisted.kms_keys = testing::access_denied("kms:ListKeys");
  const auto from_list = run(inventory_of({unlisted}));
  ASSERT_EQ(from_list.locations.size(), 1u);
  EXPECT_EQ(from_list.locations[0].kind, "aws-kms");
  EXPECT_EQ(from_list.locations[0].verdict, Status::kIncomplete);
  EXPECT_EQ(from_list.verdict, Status::kIncomplete);

  const auto from_describe =
      run(inventory_of({region_with_keys({testing::undescribable_key("x")})}));
  ASSERT_EQ(from_describe.locations.size(), 1u);
  EXPECT_EQ(from_describe.locations[0].verdict, Status::kIncomplete);
  EXPECT_EQ(from_describe.verdict, Status::kIncomplete);
}

TEST(Evaluate, CloudHsmLocationNeedsAClusterOrAnError) {
  auto region = region_with_keys({});
  EXPECT_TRUE(run(inventory_of({region})).locations.empty());

  region.cloudhsm_clusters =
      std::vector<model::CloudHsmCluster>{cluster("cluster-a", "ACTIVE", {hsm("hsm-1")})};
  const auto findings = run(inventory_of({region}));
  ASSERT_EQ(findings.locations.size(), 1u);
  const auto& location = findings.locations[0];
  EXPECT_EQ(location.provider, "aws");
  EXPECT_EQ(location.kind, "aws-cloudhsm");
  EXPECT_EQ(location.account, testing::kAccount);
  EXPECT_EQ(location.region, "eu-west-1");
  EXPECT_EQ(location.name, "");
  ASSERT_EQ(location.checks.size(), 2u);
  EXPECT_EQ(location.checks[0].id, "aws_cloudhsm_active_cluster");
  EXPECT_EQ(location.checks[1].id, "aws_cloudtrail_logging");
  EXPECT_EQ(location.verdict, Status::kPass);
  EXPECT_EQ(findings.verdict, Status::kPass);

  region.cloudhsm_clusters = testing::access_denied("cloudhsm:DescribeClusters");
  const auto unreadable = run(inventory_of({region}));
  ASSERT_EQ(unreadable.locations.size(), 1u);
  EXPECT_EQ(unreadable.locations[0].verdict, Status::kIncomplete);
}

TEST(Evaluate, KmsLocationRunsTheBaselineChecksInOrder) {
  const auto findings = run(inventory_of({good_kms_region()}));
  ASSERT_EQ(findings.locations.size(), 1u);
  const auto& location = findings.locations[0];
  std::vector<std::string> ids;
  for (const auto& check : location.checks) ids.push_back(check.id);
  EXPECT_EQ(ids, testing::entrust().checks_by_kind.at("aws-kms"));
  EXPECT_EQ(location.verdict, Status::kPass);
  EXPECT_EQ(findings.baseline, "entrust");
  EXPECT_EQ(findings.verdict, Status::kPass);
  EXPECT_EQ(findings.verdict_reason, "1 of 1 location passes: aws-kms 111122223333/eu-west-1");
}

TEST(Evaluate, CloudTrailJudgesKmsExclusionPerLocationKind) {
  auto region = good_kms_region();
  region.trails = std::vector<model::Trail>{testing::trail(
      {.selectors = testing::basic_selectors(
           {testing::basic_selector("All", true, {"kms.amazonaws.com"})})})};
  region.cloudhsm_clusters =
      std::vector<model::CloudHsmCluster>{cluster("cluster-a", "ACTIVE", {hsm("hsm-1")})};
  const auto findings = run(inventory_of({region}));
  ASSERT_EQ(findings.locations.size(), 2u);
  EXPECT_EQ(findings.locations[0].kind, "aws-cloudhsm");
  EXPECT_EQ(findings.locations[0].verdict, Status::kPass);
  EXPECT_EQ(findings.locations[1].kind, "aws-kms");
  EXPECT_EQ(findings.locations[1].verdict, Status::kFail);
  EXPECT_EQ(findings.verdict, Status::kPass);  // one passing location suffices
}

TEST(Evaluate, LocationsAreSorted) {
  auto hsm_region = in_region(region_with_keys({}), "ap-south-1");
  hsm_region.cloudhsm_clusters =
      std::vector<model::CloudHsmCluster>{cluster("cluster-a", "ACTIVE", {hsm("hsm-1")})};
  const auto findings =
      run(inventory_of({good_kms_region("us-east-1"), hsm_region, good_kms_region("eu-west-1")}));
  ASSERT_EQ(findings.locations.size(), 3u);
  EXPECT_EQ(findings.locations[0].kind, "aws-cloudhsm");
  EXPECT_EQ(findings.locations[1].region, "eu-west-1");
  EXPECT_EQ(findings.locations[2].region, "us-east-1");
}

TEST(Evaluate, NoPassingLocationFails) {
  const auto findings = run(inventory_of({bad_kms_region("eu-west-1")}));
  EXPECT_EQ(findings.verdict, Status::kFail);
  EXPECT_EQ(findings.verdict_reason,
            "no location passes: aws-kms 111122223333/eu-west-1 fails aws_kms_cmk_rsa_3072_4096");
}

TEST(Evaluate, IncompleteBeatsFailWithoutAPass) {
  auto unreadable = in_region(region_with_keys({}), "us-east-1");
  unreadable.kms_keys = testing::access_denied("kms:ListKeys");
  const auto findings = run(inventory_of({bad_kms_region("eu-west-1"), unreadable}));
  EXPECT_EQ(findings.verdict, Status::kIncomplete);
  EXPECT_NE(findings.verdict_reason.find("aws-kms 111122223333/us-east-1 could not fully read"),
            std::string::npos)
      << findings.verdict_reason;
}

TEST(Evaluate, ScopeErrorsMakeNoLocationIncomplete) {
  auto inventory = inventory_of({});
  inventory.aws->scope_errors.push_back(testing::access_denied("ec2:DescribeRegions"));
  const auto findings = run(inventory);
  EXPECT_EQ(findings.verdict, Status::kIncomplete);
  EXPECT_NE(findings.verdict_reason.find("ec2:DescribeRegions"), std::string::npos);
  ASSERT_EQ(findings.scope_errors.size(), 1u);

  // Nor is a failing location a proven fail while unscanned regions may hold a passing one.
  auto partial = inventory_of({bad_kms_region("eu-west-1")});
  partial.aws->scope_errors.push_back(testing::access_denied("ec2:DescribeRegions"));
  EXPECT_EQ(run(partial).verdict, Status::kIncomplete);
}

TEST(Evaluate, NoInventoryFails) {
  const auto findings = evaluate(model::Inventory{}, testing::entrust(), {});
  EXPECT_TRUE(findings.locations.empty());
  EXPECT_EQ(findings.verdict, Status::kFail);
}

TEST(Evaluate, RequestedKeyMatchesByIdArnAliasAndAliasArn) {
  const auto inventory = inventory_of({bad_kms_region("us-east-1"), good_kms_region("eu-west-1")});
  for (const std::string& key :
       {std::string("sign-eu-west-1"), testing::key_arn("sign-eu-west-1", "eu-west-1"),
        std::string("arn:aws:kms:eu-west-1:111122223333:alias/codesign")}) {
    const auto findings = run(inventory, {key});
    EXPECT_EQ(findings.verdict, Status::kPass) << key << ": " << findings.verdict_reason;
    ASSERT_EQ(findings.locations.size(), 2u);
    EXPECT_TRUE(findings.locations[0].holds_requested_key) << key;   // eu-west-1
    EXPECT_FALSE(findings.locations[1].holds_requested_key) << key;  // us-east-1
    EXPECT_EQ(findings.requested_keys, std::vector<std::string>{key});
  }
  // The failing region is not held, but the other key is, and it fails.
  const auto failing = run(inventory, {"small-us-east-1"});
  EXPECT_EQ(failing.verdict, Status::kFail);
  EXPECT_TRUE(failing.locations[1].holds_requested_key);
  EXPECT_NE(failing.verdict_reason.find("aws-kms 111122223333/us-east-1 fails"), std::string::npos);
}

TEST(Evaluate, AliasArnMustNameTheRightRegionAndAccount) {
  const auto inventory = inventory_of({good_kms_region("eu-west-1")});
  EXPECT_EQ(run(inventory, {"arn:aws:kms:us-east-1:111122223333:alias/codesign"}).verdict,
            Status::kFail);
  EXPECT_EQ(run(inventory, {"arn:aws:kms:eu-west-1:999999999999:alias/codesign"}).verdict,
            Status::kFail);
}

TEST(Evaluate, AliasNameMatchesInEveryRegionHoldingIt) {
  auto bad = bad_kms_region("us-east-1");
  bad.kms_keys.value()[0].aliases = {"alias/codesign"};
  const auto findings = run(inventory_of({good_kms_region("eu-west-1"), bad}), {"alias/codesign"});
  EXPECT_TRUE(findings.locations[0].holds_requested_key);
  EXPECT_TRUE(findings.locations[1].holds_requested_key);
  EXPECT_EQ(findings.verdict, Status::kFail);
}

TEST(Evaluate, RequestedKeyVerdictIgnoresOtherLocations) {
  // The held location passes; an unrelated failing one does not matter.
  auto findings = run(inventory_of({good_kms_region("eu-west-1"), bad_kms_region("us-east-1")}),
                      {"alias/codesign"});
  EXPECT_EQ(findings.verdict, Status::kPass) << findings.verdict_reason;

  // An incomplete held location makes the verdict incomplete.
  auto region = good_kms_region("eu-west-1");
  region.trails = testing::access_denied("cloudtrail:DescribeTrails");
  findings = run(inventory_of({region}), {"alias/codesign"});
  EXPECT_EQ(findings.verdict, Status::kIncomplete);
  EXPECT_NE(findings.verdict_reason.find("aws_cloudtrail_logging"), std::string::npos);
}

TEST(Evaluate, RequestedKeyNotFound) {
  const auto findings = run(inventory_of({good_kms_region()}), {"alias/missing"});
  EXPECT_EQ(findings.verdict, Status::kFail);
  EXPECT_EQ(findings.verdict_reason, "key alias/missing not found in the scanned regions");
  EXPECT_FALSE(findings.locations[0].holds_requested_key);
}

TEST(Evaluate, RequestedKeyNotFoundWhereSomethingWasUnreadableIsIncomplete) {
  auto unlisted = in_region(region_with_keys({}), "us-east-1");
  unlisted.kms_keys = testing::access_denied("kms:ListKeys");
  EXPECT_EQ(run(inventory_of({good_kms_region(), unlisted}), {"missing"}).verdict,
            Status::kIncomplete);

  auto undescribed = good_kms_region();
  undescribed.kms_keys.value().push_back(testing::undescribable_key("other"));
  EXPECT_EQ(run(inventory_of({undescribed}), {"missing"}).verdict, Status::kIncomplete);

  // Lost alias names hide alias matches only.
  auto no_aliases = good_kms_region();
  no_aliases.aliases_error = testing::access_denied("kms:ListAliases");
  EXPECT_EQ(run(inventory_of({no_aliases}), {"alias/missing"}).verdict, Status::kIncomplete);
  EXPECT_EQ(run(inventory_of({no_aliases}), {"missing"}).verdict, Status::kFail);

  auto unscoped = inventory_of({good_kms_region()});
  unscoped.aws->scope_errors.push_back(testing::access_denied("ec2:DescribeRegions"));
  EXPECT_EQ(run(unscoped, {"missing"}).verdict, Status::kIncomplete);
}

TEST(Evaluate, RequestedKeyThatIsDisabledFails) {
  auto region = good_kms_region();
  region.kms_keys.value().push_back(kms_key({.id = "old", .state = "Disabled"}));
  const auto findings = run(inventory_of({region}), {"old"});
  EXPECT_EQ(findings.verdict, Status::kFail);
  EXPECT_NE(findings.verdict_reason.find("not an enabled customer managed key"),
            std::string::npos);
  EXPECT_NE(findings.verdict_reason.find("KeyState Disabled"), std::string::npos);
}

TEST(Evaluate, RequestedKeyThatCannotBeDescribedIsIncomplete) {
  auto region = good_kms_region();
  region.kms_keys.value().push_back(testing::undescribable_key("mystery", {"alias/mystery"}));
  const auto findings = run(inventory_of({region}), {"alias/mystery"});
  EXPECT_EQ(findings.verdict, Status::kIncomplete) << findings.verdict_reason;
  EXPECT_TRUE(findings.locations[0].holds_requested_key);
}

}  // namespace
}  // namespace hsmproof::rules
