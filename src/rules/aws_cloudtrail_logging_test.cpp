#include <gtest/gtest.h>

#include "rules/testing/check_scenarios.h"

namespace hsmproof::rules {
namespace {

using model::Status;
using testing::advanced_selector;
using testing::advanced_selectors;
using testing::basic_selector;
using testing::basic_selectors;
using testing::field_equals;
using testing::field_not_equals;
using testing::region_with_trails;
using testing::run_check;
using testing::trail;
using testing::TrailFacts;

constexpr const char* kCheck = "aws_cloudtrail_logging";

const testing::ScenarioRegistration kScenarios({
    {kCheck, "a logging trail with default selectors", "aws-kms",
     [] { return region_with_trails({trail({})}); }, Status::kPass},
    {kCheck, "the only trail is stopped", "aws-kms",
     [] { return region_with_trails({trail({.logging = false})}); }, Status::kFail},
    {kCheck, "trails cannot be listed", "aws-kms",
     [] {
       auto region = region_with_trails({});
       region.trails = testing::access_denied("cloudtrail:DescribeTrails");
       return region;
     },
     Status::kIncomplete},
    {kCheck, "cloudhsm: a logging trail", "aws-cloudhsm",
     [] { return region_with_trails({trail({})}); }, Status::kPass},
    {kCheck, "cloudhsm: no trail", "aws-cloudhsm", [] { return region_with_trails({}); },
     Status::kFail},
    {kCheck, "cloudhsm: selectors unreadable", "aws-cloudhsm",
     [] {
       auto broken = trail({});
       broken.selectors = testing::access_denied("cloudtrail:GetEventSelectors");
       return region_with_trails({broken});
     },
     Status::kIncomplete},
});

model::AdvancedEventSelector management_selector(std::vector<model::FieldSelector> extra = {}) {
  std::vector<model::FieldSelector> fields = {field_equals("eventCategory", {"Management"})};
  fields.insert(fields.end(), extra.begin(), extra.end());
  return advanced_selector("Management events", fields);
}

model::AdvancedEventSelector kms_excluding_selector() {
  return management_selector({field_not_equals("eventSource", {"kms.amazonaws.com"})});
}

Status status_with(const model::EventSelectors& selectors,
                   std::string_view kind = kAwsKmsLocation) {
  return run_check(kCheck, region_with_trails({trail({.selectors = selectors})}), kind).status;
}

TEST(AwsCloudtrailLogging, RegisteredScenarios) {
  EXPECT_EQ(testing::expect_registered_scenarios(kCheck), 6u);
}

TEST(AwsCloudtrailLogging, StoppedTrailFailsWithStartLogging) {
  const TrailFacts facts{.logging = false};
  const auto finding = run_check(kCheck, region_with_trails({trail(facts)}));
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_NE(finding.message.find("main (trail in eu-west-1: logging is stopped)"),
            std::string::npos)
      << finding.message;
  ASSERT_EQ(finding.resources.size(), 1u);
  EXPECT_EQ(finding.resources[0].id, testing::trail_arn(facts));
  EXPECT_EQ(finding.resources[0].status, Status::kFail);
  EXPECT_EQ(finding.remediation,
            std::vector<std::string>{"aws cloudtrail start-logging --name " +
                                     testing::trail_arn(facts) + " --region eu-west-1"});
}

TEST(AwsCloudtrailLogging, MultiRegionTrailFromAnotherHomeRegionCovers) {
  const TrailFacts facts{.name = "org", .home_region = "us-east-1", .multi_region = true};
  const auto finding = run_check(kCheck, region_with_trails({trail(facts)}));
  EXPECT_EQ(finding.status, Status::kPass) << finding.message;
  ASSERT_EQ(finding.resources.size(), 1u);
  EXPECT_EQ(finding.resources[0].id, testing::trail_arn(facts));
  EXPECT_NE(finding.resources[0].detail.find("multi-region trail (home us-east-1)"),
            std::string::npos);
}

TEST(AwsCloudtrailLogging, SingleRegionTrailElsewhereDoesNotCover) {
  const auto finding =
      run_check(kCheck, region_with_trails({trail({.home_region = "us-east-1"})}));
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_EQ(finding.message, "no trail covers eu-west-1");
  EXPECT_TRUE(finding.resources.empty());
  ASSERT_EQ(finding.remediation.size(), 3u);
  EXPECT_EQ(finding.remediation[1],
            "aws cloudtrail create-trail --name code-signing-audit --s3-bucket-name "
            "YOUR_LOG_BUCKET --is-multi-region-trail --region eu-west-1");
  EXPECT_EQ(finding.remediation[2],
            "aws cloudtrail start-logging --name code-signing-audit --region eu-west-1");
}

TEST(AwsCloudtrailLogging, StoppedMultiRegionTrailIsFixedInItsHomeRegion) {
  const TrailFacts facts{.home_region = "us-east-1", .multi_region = true, .logging = false};
  const auto finding = run_check(kCheck, region_with_trails({trail(facts)}));
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_EQ(finding.remediation.front(), "aws cloudtrail start-logging --name " +
                                             testing::trail_arn(facts) + " --region us-east-1");
}

TEST(AwsCloudtrailLogging, BasicKmsExclusionFailsForKmsOnly) {
  const auto selectors =
      basic_selectors({basic_selector("All", true, {"kms.amazonaws.com"})});
  const TrailFacts facts{.selectors = selectors};
  const auto finding = run_check(kCheck, region_with_trails({trail(facts)}));
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_NE(finding.resources[0].detail.find("ExcludeManagementEventSources contains "
                                             "kms.amazonaws.com"),
            std::string::npos)
      << finding.resources[0].detail;
  EXPECT_EQ(finding.remediation.front(),
            "aws cloudtrail put-event-selectors --trail-name " + testing::trail_arn(facts) +
                " --region eu-west-1 --event-selectors "
                "'[{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":true}]'");
  EXPECT_EQ(status_with(selectors, kAwsCloudHsmLocation), Status::kPass);
}

TEST(AwsCloudtrailLogging, RdsDataExclusionDoesNotMatter) {
  EXPECT_EQ(status_with(basic_selectors({basic_selector("All", true, {"rdsdata.amazonaws.com"})})),
            Status::kPass);
}

TEST(AwsCloudtrailLogging, AdvancedKmsExclusionFailsForKmsOnly) {
  const auto selectors = advanced_selectors({kms_excluding_selector()});
  const TrailFacts facts{.selectors = selectors};
  const auto finding = run_check(kCheck, region_with_trails({trail(facts)}));
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_NE(finding.resources[0].detail.find(
                "excludes kms.amazonaws.com events (eventSource NotEquals [kms.amazonaws.com])"),
            std::string::npos)
      << finding.resources[0].detail;
  EXPECT_NE(finding.remediation.front().find("--advanced-event-selectors"), std::string::npos);
  EXPECT_EQ(status_with(selectors, kAwsCloudHsmLocation), Status::kPass);
}

TEST(AwsCloudtrailLogging, SecondUnrestrictedSelectorRestoresKmsEvents) {
  EXPECT_EQ(status_with(advanced_selectors({kms_excluding_selector(), management_selector()})),
            Status::kPass);
}

TEST(AwsCloudtrailLogging, EventSourceEqualsSelectsOrExcludesKms) {
  EXPECT_EQ(status_with(advanced_selectors(
                {management_selector({field_equals("eventSource", {"kms.amazonaws.com"})})})),
            Status::kPass);
  EXPECT_EQ(status_with(advanced_selectors(
                {management_selector({field_equals("eventSource", {"s3.amazonaws.com"})})})),
            Status::kFail);
  model::FieldSelector prefix_exclusion;
  prefix_exclusion.field = "eventSource";
  prefix_exclusion.not_starts_with = {"kms."};
  EXPECT_EQ(status_with(advanced_selectors({management_selector({prefix_exclusion})})),
            Status::kFail);
}

TEST(AwsCloudtrailLogging, WriteOnlyMissesReadEvents) {
  const auto finding = run_check(
      kCheck, region_with_trails({trail({.selectors = basic_selectors({basic_selector("WriteOnly")})})}));
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_NE(finding.resources[0].detail.find("ReadWriteType WriteOnly"), std::string::npos);
  EXPECT_EQ(status_with(advanced_selectors(
                {management_selector({field_equals("readOnly", {"false"})})})),
            Status::kFail);
}

TEST(AwsCloudtrailLogging, ReadOnlyMissesConfigurationChanges) {
  EXPECT_EQ(status_with(basic_selectors({basic_selector("ReadOnly")})), Status::kFail);
  EXPECT_EQ(status_with(advanced_selectors(
                {management_selector({field_equals("readOnly", {"true"})})})),
            Status::kFail);
}

TEST(AwsCloudtrailLogging, ReadAndWriteSelectorsTogetherCoverAll) {
  EXPECT_EQ(status_with(basic_selectors({basic_selector("ReadOnly"), basic_selector("WriteOnly")})),
            Status::kPass);
  EXPECT_EQ(status_with(advanced_selectors(
                {management_selector({field_equals("readOnly", {"true"})}),
                 management_selector({field_equals("readOnly", {"false"})})})),
            Status::kPass);
  EXPECT_EQ(status_with(advanced_selectors(
                {management_selector({field_equals("readOnly", {"true", "false"})})})),
            Status::kPass);
}

TEST(AwsCloudtrailLogging, ManagementEventsExcludedFail) {
  const auto finding = run_check(
      kCheck,
      region_with_trails({trail({.selectors = basic_selectors({basic_selector("All", false)})})}));
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_NE(finding.resources[0].detail.find("IncludeManagementEvents false"), std::string::npos);
  EXPECT_EQ(status_with(basic_selectors({})), Status::kFail);
}

TEST(AwsCloudtrailLogging, DataEventSelectorsAloneDoNotCount) {
  const auto data_only = advanced_selector(
      "S3 objects", {field_equals("eventCategory", {"Data"}),
                     field_equals("resources.type", {"AWS::S3::Object"})});
  EXPECT_EQ(status_with(advanced_selectors({data_only})), Status::kFail);
  EXPECT_EQ(status_with(advanced_selectors({data_only, management_selector()})), Status::kPass);
}

TEST(AwsCloudtrailLogging, FilteringOnOtherFieldsProvesNothing) {
  const auto finding = run_check(
      kCheck, region_with_trails({trail({.selectors = advanced_selectors({management_selector(
                                             {field_equals("eventName", {"CreateKey"})})})})}));
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_NE(finding.resources[0].detail.find("filters on eventName Equals [CreateKey]"),
            std::string::npos)
      << finding.resources[0].detail;
}

TEST(AwsCloudtrailLogging, UnreadableTrailMakesItIncomplete) {
  auto unknown_status = trail({});
  unknown_status.status = testing::access_denied("cloudtrail:GetTrailStatus");
  const auto finding = run_check(kCheck, region_with_trails({unknown_status}));
  ASSERT_EQ(finding.status, Status::kIncomplete);
  EXPECT_EQ(finding.resources[0].status, Status::kIncomplete);
  EXPECT_NE(finding.resources[0].detail.find("cloudtrail:GetTrailStatus"), std::string::npos);

  // A stopped trail beside it does not decide: the unreadable one may be logging.
  EXPECT_EQ(run_check(kCheck, region_with_trails({unknown_status, trail({.name = "b",
                                                                         .logging = false})}))
                .status,
            Status::kIncomplete);
  // A good trail beside it does.
  EXPECT_EQ(run_check(kCheck, region_with_trails({unknown_status, trail({.name = "b"})})).status,
            Status::kPass);
}

TEST(AwsCloudtrailLogging, KnownDisqualifierWinsOverAnUnreadablePart) {
  auto write_only = trail({.selectors = basic_selectors({basic_selector("WriteOnly")})});
  write_only.status = testing::access_denied("cloudtrail:GetTrailStatus");
  const auto finding = run_check(kCheck, region_with_trails({write_only}));
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_NE(finding.resources[0].detail.find("cannot read trail status"), std::string::npos);
}

TEST(AwsCloudtrailLogging, PassMarksTheOtherTrailsNotApplicable) {
  const auto finding = run_check(
      kCheck, region_with_trails({trail({.name = "stopped", .logging = false}),
                                  trail({.name = "good"})}));
  ASSERT_EQ(finding.status, Status::kPass);
  EXPECT_EQ(finding.message,
            "trail good logs management read and write events including kms.amazonaws.com in "
            "eu-west-1");
  ASSERT_EQ(finding.resources.size(), 2u);
  EXPECT_EQ(finding.resources[0].status, Status::kNotApplicable);
  EXPECT_EQ(finding.resources[1].status, Status::kPass);
  EXPECT_TRUE(finding.remediation.empty());
}

TEST(AwsCloudtrailLogging, OrganizationTrailIsFixedInItsOwnerAccount) {
  const auto finding = run_check(
      kCheck, region_with_trails({trail({.logging = false, .organization = true,
                                         .owner_account = "999988887777"})}));
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_NE(finding.remediation.back().find("account 999988887777"), std::string::npos);
}

TEST(AwsCloudtrailLogging, DeliveryErrorIsAWarning) {
  auto failing_delivery = trail({});
  failing_delivery.status = model::TrailStatus{true, "AccessDenied on bucket"};
  const auto finding = run_check(kCheck, region_with_trails({failing_delivery}));
  EXPECT_EQ(finding.status, Status::kPass);
  ASSERT_EQ(finding.warnings.size(), 1u);
  EXPECT_NE(finding.warnings[0].find("AccessDenied on bucket"), std::string::npos);
}

}  // namespace
}  // namespace hsmproof::rules
