// Entrust: "at least one Cluster is in active status with at least one HSM assigned to it". An
// ACTIVE cluster without an ACTIVE HSM holds no usable key; a NON_FIPS cluster's HSMs run outside
// their FIPS validated mode, which the CSBR's FIPS 140-2 Level 2 floor presumes — reported as a
// warning, as Entrust states no rule about it.

#include <fmt/format.h>

#include <algorithm>

#include "rules/checks.h"
#include "rules/support/kms_keys.h"
#include "rules/support/requirements.h"

namespace hsmproof::rules::checks {
namespace {

const CheckMetadata& metadata() {
  static const std::string requirement =
      "Entrust: \"Provide a screenshot showing that at least one Cluster is in active status with "
      "at least one HSM assigned to it.\" " +
      std::string(support::kCsbrKeyInHsm);
  static const CheckMetadata check_metadata{
      .id = "aws_cloudhsm_active_cluster",
      .title = "A CloudHSM cluster is ACTIVE with at least one ACTIVE HSM",
      .location_kind = kAwsCloudHsmLocation,
      .requirement = requirement,
      .severity = "high",
      .permissions = {"cloudhsm:DescribeClusters"},
  };
  return check_metadata;
}

std::size_t active_hsm_count(const model::CloudHsmCluster& cluster) {
  return static_cast<std::size_t>(
      std::count_if(cluster.hsms.begin(), cluster.hsms.end(),
                    [](const model::CloudHsm& hsm) { return hsm.state == "ACTIVE"; }));
}

std::string describe_cluster(const model::CloudHsmCluster& cluster, std::size_t active_hsms) {
  std::string detail = fmt::format("state {}, {} HSM{} ({} ACTIVE)",
                                   cluster.state.empty() ? "not reported" : cluster.state,
                                   cluster.hsms.size(), cluster.hsms.size() == 1 ? "" : "s",
                                   active_hsms);
  detail += ", mode " + (cluster.mode.empty() ? std::string("FIPS (default)") : cluster.mode);
  if (!cluster.hsm_type.empty()) detail += ", " + cluster.hsm_type;
  return detail;
}

void add_fixes(const model::CloudHsmCluster& cluster, const std::string& region,
               std::vector<std::string>& fixes) {
  const std::string& id = cluster.cluster_id;
  if (cluster.state == "ACTIVE" || cluster.state == "DEGRADED") {
    // An HSM has to sit in one of the cluster's subnets; an existing HSM's zone is one of them.
    if (!cluster.hsms.empty() && !cluster.hsms.front().availability_zone.empty()) {
      fixes.push_back(
          fmt::format("aws cloudhsmv2 create-hsm --cluster-id {} --availability-zone {} --region {}",
                      id, cluster.hsms.front().availability_zone, region));
    } else {
      fixes.push_back(fmt::format(
          "# AVAILABILITY_ZONE: a zone of the cluster's subnets: aws cloudhsmv2 "
          "describe-clusters --filters clusterIds={} --region {} --query "
          "'Clusters[0].SubnetMapping'",
          id, region));
      fixes.push_back(fmt::format(
          "aws cloudhsmv2 create-hsm --cluster-id {} --availability-zone AVAILABILITY_ZONE "
          "--region {}",
          id, region));
    }
  } else if (cluster.state == "UNINITIALIZED") {
    fixes.push_back(fmt::format(
        "aws cloudhsmv2 initialize-cluster --cluster-id {} --signed-cert "
        "file://CustomerHsmCertificate.crt --trust-anchor file://customerCA.crt --region {}",
        id, region));
  } else if (cluster.state == "INITIALIZED") {
    fixes.push_back(fmt::format(
        "# cluster {} is INITIALIZED: activate it with the CloudHSM CLI (cloudhsm-cli cluster "
        "activate)",
        id));
  }
}

model::CheckFinding evaluate(const AwsRegionContext& context) {
  model::CheckFinding finding = support::start_finding(metadata());
  const model::AwsRegionInventory& region = context.region;
  if (!region.cloudhsm_clusters.ok()) {
    finding.status = model::Status::kIncomplete;
    finding.message = fmt::format("cannot list the CloudHSM clusters of {}: {}", region.region,
                                  region.cloudhsm_clusters.error().describe());
    return finding;
  }

  std::vector<std::string> qualifying;
  std::vector<std::string> summaries;
  std::vector<std::string> fixes;
  for (const model::CloudHsmCluster& cluster : region.cloudhsm_clusters.value()) {
    const std::size_t active_hsms = active_hsm_count(cluster);
    const bool usable = cluster.state == "ACTIVE" && active_hsms > 0;
    const std::string detail = describe_cluster(cluster, active_hsms);
    finding.resources.push_back(
        {cluster.cluster_id, usable ? model::Status::kPass : model::Status::kFail, detail});
    summaries.push_back(fmt::format("{} ({})", cluster.cluster_id, detail));
    if (usable) {
      qualifying.push_back(cluster.cluster_id);
      if (cluster.mode == "NON_FIPS") {
        finding.warnings.push_back(fmt::format(
            "cluster {} runs in NON_FIPS mode: its HSMs are not in their FIPS validated mode",
            cluster.cluster_id));
      }
    } else {
      add_fixes(cluster, region.region, fixes);
    }
  }

  if (!qualifying.empty()) {
    finding.status = model::Status::kPass;
    finding.message = fmt::format("cluster {} in {} is ACTIVE with at least one ACTIVE HSM",
                                  fmt::join(qualifying, ", "), region.region);
    for (auto& resource : finding.resources) {
      if (resource.status == model::Status::kFail) resource.status = model::Status::kNotApplicable;
    }
    return finding;
  }
  finding.status = model::Status::kFail;
  if (summaries.empty()) {
    finding.message = fmt::format("no CloudHSM cluster in {}", region.region);
    finding.remediation.push_back(fmt::format(
        "aws cloudhsmv2 create-cluster --hsm-type hsm2m.medium --mode FIPS --subnet-ids "
        "SUBNET_ID --region {}",
        region.region));
    return finding;
  }
  finding.message = fmt::format("no CloudHSM cluster in {} is ACTIVE with an ACTIVE HSM: {}",
                                region.region, fmt::join(summaries, "; "));
  finding.remediation = std::move(fixes);
  return finding;
}

}  // namespace

Check aws_cloudhsm_active_cluster() { return {metadata(), &evaluate}; }

}  // namespace hsmproof::rules::checks
