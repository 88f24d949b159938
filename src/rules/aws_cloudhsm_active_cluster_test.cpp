#include <gtest/gtest.h>

#include "rules/testing/check_scenarios.h"

namespace hsmproof::rules {
namespace {

using model::Status;
using testing::cluster;
using testing::hsm;
using testing::region_with_clusters;
using testing::run_check;

constexpr const char* kCheck = "aws_cloudhsm_active_cluster";

model::CheckFinding judge(std::vector<model::CloudHsmCluster> clusters) {
  return run_check(kCheck, region_with_clusters(std::move(clusters)), kAwsCloudHsmLocation);
}

const testing::ScenarioRegistration kScenarios({
    {kCheck, "an active cluster with an active HSM", "aws-cloudhsm",
     [] { return region_with_clusters({cluster("cluster-a", "ACTIVE", {hsm("hsm-1")})}); },
     Status::kPass},
    {kCheck, "an uninitialized cluster", "aws-cloudhsm",
     [] { return region_with_clusters({cluster("cluster-a", "UNINITIALIZED", {hsm("hsm-1")})}); },
     Status::kFail},
    {kCheck, "clusters cannot be listed", "aws-cloudhsm",
     [] {
       auto region = region_with_clusters({});
       region.cloudhsm_clusters = testing::access_denied("cloudhsm:DescribeClusters");
       return region;
     },
     Status::kIncomplete},
});

TEST(AwsCloudhsmActiveCluster, RegisteredScenarios) {
  EXPECT_EQ(testing::expect_registered_scenarios(kCheck), 3u);
}

TEST(AwsCloudhsmActiveCluster, ActiveClusterWithoutHsmsFails) {
  const auto finding = judge({cluster("cluster-a", "ACTIVE", {})});
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_EQ(finding.message,
            "no CloudHSM cluster in eu-west-1 is ACTIVE with an ACTIVE HSM: cluster-a (state "
            "ACTIVE, 0 HSMs (0 ACTIVE), mode FIPS, hsm2m.medium)");
  ASSERT_EQ(finding.resources.size(), 1u);
  EXPECT_EQ(finding.resources[0].id, "cluster-a");
  EXPECT_EQ(finding.resources[0].status, Status::kFail);
  ASSERT_EQ(finding.remediation.size(), 2u);
  EXPECT_EQ(finding.remediation[1],
            "aws cloudhsmv2 create-hsm --cluster-id cluster-a --availability-zone "
            "AVAILABILITY_ZONE --region eu-west-1");
}

TEST(AwsCloudhsmActiveCluster, HsmNotYetActiveFailsAndReusesItsZone) {
  const auto finding =
      judge({cluster("cluster-a", "ACTIVE", {hsm("hsm-1", "CREATE_IN_PROGRESS", "eu-west-1b")})});
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_EQ(finding.remediation,
            std::vector<std::string>{"aws cloudhsmv2 create-hsm --cluster-id cluster-a "
                                     "--availability-zone eu-west-1b --region eu-west-1"});
}

TEST(AwsCloudhsmActiveCluster, NonFipsModeIsAWarning) {
  const auto finding = judge({cluster("cluster-a", "ACTIVE", {hsm("hsm-1")}, "NON_FIPS")});
  EXPECT_EQ(finding.status, Status::kPass);
  ASSERT_EQ(finding.warnings.size(), 1u);
  EXPECT_NE(finding.warnings[0].find("cluster-a runs in NON_FIPS mode"), std::string::npos);
  EXPECT_TRUE(judge({cluster("cluster-a", "ACTIVE", {hsm("hsm-1")})}).warnings.empty());
}

TEST(AwsCloudhsmActiveCluster, OneUsableClusterSuffices) {
  const auto finding = judge({cluster("cluster-old", "DEGRADED", {hsm("hsm-0", "DEGRADED")}),
                              cluster("cluster-new", "ACTIVE", {hsm("hsm-1"), hsm("hsm-2")})});
  ASSERT_EQ(finding.status, Status::kPass);
  EXPECT_EQ(finding.message, "cluster cluster-new in eu-west-1 is ACTIVE with at least one ACTIVE HSM");
  ASSERT_EQ(finding.resources.size(), 2u);
  EXPECT_EQ(finding.resources[0].status, Status::kNotApplicable);
  EXPECT_EQ(finding.resources[1].status, Status::kPass);
  EXPECT_EQ(finding.resources[1].detail,
            "state ACTIVE, 2 HSMs (2 ACTIVE), mode FIPS, hsm2m.medium");
}

TEST(AwsCloudhsmActiveCluster, UninitializedClusterGetsInitializeCommand) {
  const auto finding = judge({cluster("cluster-a", "UNINITIALIZED", {hsm("hsm-1")})});
  ASSERT_EQ(finding.status, Status::kFail);
  ASSERT_EQ(finding.remediation.size(), 1u);
  EXPECT_NE(finding.remediation[0].find("aws cloudhsmv2 initialize-cluster --cluster-id cluster-a"),
            std::string::npos);
}

TEST(AwsCloudhsmActiveCluster, NoClusterFails) {
  const auto finding = judge({});
  ASSERT_EQ(finding.status, Status::kFail);
  EXPECT_EQ(finding.message, "no CloudHSM cluster in eu-west-1");
  ASSERT_EQ(finding.remediation.size(), 1u);
  EXPECT_NE(finding.remediation[0].find("aws cloudhsmv2 create-cluster"), std::string::npos);
}

TEST(AwsCloudhsmActiveCluster, DescribeClustersErrorIsIncompleteWithTheError) {
  auto region = region_with_clusters({});
  const Error error = testing::access_denied("cloudhsm:DescribeClusters");
  region.cloudhsm_clusters = error;
  const auto finding = run_check(kCheck, region, kAwsCloudHsmLocation);
  EXPECT_EQ(finding.status, Status::kIncomplete);
  EXPECT_NE(finding.message.find(error.describe()), std::string::npos);
}

}  // namespace
}  // namespace hsmproof::rules
