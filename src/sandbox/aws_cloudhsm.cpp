// CloudHSM v2 (JSON 1.1, BaldrApiService; signing name "cloudhsm"): DescribeClusters with
// Filters and NextToken/MaxResults paging. Network ids the scenario doesn't name (VPC, subnets,
// ENIs, security group) are derived from the cluster id so answers are stable.

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "sandbox/aws_common.h"

namespace hsmproof::sandbox::aws_impl {

namespace {

using nlohmann::json;

constexpr std::int64_t kMaxResultsLimit = 25;
constexpr std::int64_t kClusterCreated = 1700000000;

AwsError invalid_request(const std::string& message) {
  AwsError error{400, "CloudHsmInvalidRequestException", message};
  error.message_member = "Message";
  return error;
}

std::string vpc_of(const CloudHsmClusterSpec& cluster) {
  return "vpc-" + derived_hex("vpc:" + cluster.cluster_id, 17);
}

std::string zone_of(const CloudHsmClusterSpec& cluster, const CloudHsmSpec& hsm,
                    std::size_t index) {
  if (!hsm.availability_zone.empty()) return hsm.availability_zone;
  return cluster.region + static_cast<char>('a' + static_cast<char>(index % 3));
}

std::string subnet_of(const CloudHsmClusterSpec& cluster, const std::string& zone) {
  return "subnet-" + derived_hex("subnet:" + cluster.cluster_id + ":" + zone, 17);
}

json cluster_json(const CloudHsmClusterSpec& cluster) {
  json hsms = json::array();
  json subnet_mapping = json::object();
  for (std::size_t i = 0; i < cluster.hsms.size(); ++i) {
    const CloudHsmSpec& hsm = cluster.hsms[i];
    const std::string zone = zone_of(cluster, hsm, i);
    const std::string subnet = subnet_of(cluster, zone);
    subnet_mapping[zone] = subnet;
    const std::string eni_hex = derived_hex("eni:" + hsm.hsm_id, 17);
    json entry = {{"AvailabilityZone", zone},
                  {"ClusterId", cluster.cluster_id},
                  {"SubnetId", subnet},
                  {"EniId", "eni-" + eni_hex},
                  {"EniIp", "10.0." + std::to_string(i % 250) + "." +
                                std::to_string(10 + static_cast<int>(eni_hex[0]) % 200)},
                  {"HsmId", hsm.hsm_id},
                  {"HsmType", cluster.hsm_type},
                  {"State", hsm.state},
                  {"StateMessage", hsm.state == "ACTIVE" ? "HSM created." : ""}};
    hsms.push_back(std::move(entry));
  }
  if (subnet_mapping.empty()) {
    const std::string zone = cluster.region + "a";
    subnet_mapping[zone] = subnet_of(cluster, zone);
  }
  return {{"BackupPolicy", "DEFAULT"},
          {"BackupRetentionPolicy", {{"Type", "DAYS"}, {"Value", "90"}}},
          {"ClusterId", cluster.cluster_id},
          {"CreateTimestamp", kClusterCreated},
          {"Hsms", hsms},
          {"HsmType", cluster.hsm_type},
          {"SecurityGroup", "sg-" + derived_hex("sg:" + cluster.cluster_id, 17)},
          {"State", cluster.state},
          {"StateMessage", cluster.state == "ACTIVE" ? "The cluster is active." : ""},
          {"SubnetMapping", subnet_mapping},
          {"VpcId", vpc_of(cluster)},
          {"NetworkType", "IPV4"},
          {"Certificates", json::object()},
          {"TagList", json::array()},
          {"Mode", cluster.mode}};
}

// Filters: map of clusterIds / states / vpcIds to value lists; a cluster must match each.
bool matches_filters(const CloudHsmClusterSpec& cluster, const json& filters) {
  for (const auto& [name, values] : filters.items()) {
    const std::string field = name == "clusterIds" ? cluster.cluster_id
                              : name == "states"   ? cluster.state
                                                   : vpc_of(cluster);
    bool any = false;
    for (const json& value : values) {
      if (value.get<std::string>() == field) any = true;
    }
    if (!any) return false;
  }
  return true;
}

json validated_filters(const json& input) {
  auto found = input.find("Filters");
  if (found == input.end() || found->is_null()) return json::object();
  if (!found->is_object()) throw AwsError{400, "SerializationException", "Filters must be a map"};
  for (const auto& [name, values] : found->items()) {
    if (name != "clusterIds" && name != "states" && name != "vpcIds") {
      throw invalid_request("Invalid filter key " + name +
                            ". Valid filter keys are clusterIds, states, vpcIds.");
    }
    if (!values.is_array()) {
      throw AwsError{400, "SerializationException", "Filter values must be a list of strings"};
    }
    for (const json& value : values) {
      if (!value.is_string()) {
        throw AwsError{400, "SerializationException", "Filter values must be a list of strings"};
      }
    }
  }
  return *found;
}

json describe_clusters(const AwsCall& call) {
  const json filters = validated_filters(call.input);
  const std::optional<std::int64_t> max_results = input_integer(call.input, "MaxResults");
  if (max_results && (*max_results < 1 || *max_results > kMaxResultsLimit)) {
    throw validation_error(
        "1 validation error detected: Value '" + std::to_string(*max_results) +
        "' at 'maxResults' failed to satisfy constraint: Member must have value " +
        (*max_results < 1 ? "greater than or equal to 1" : "less than or equal to 25"));
  }
  std::vector<const CloudHsmClusterSpec*> clusters;
  for (const CloudHsmClusterSpec& cluster : call.caller.account->clusters) {
    if (cluster.region == call.region && matches_filters(cluster, filters)) {
      clusters.push_back(&cluster);
    }
  }
  std::sort(clusters.begin(), clusters.end(),
            [](const auto* a, const auto* b) { return a->cluster_id < b->cluster_id; });
  std::size_t start = 0;
  if (const std::optional<std::string> token = input_string(call.input, "NextToken")) {
    const std::optional<std::string> next_id = read_page_token("cloudhsm-clusters", *token);
    if (!next_id) throw invalid_request("The NextToken value is not valid.");
    while (start < clusters.size() && clusters[start]->cluster_id < *next_id) ++start;
  }
  const std::size_t end =
      max_results ? std::min(clusters.size(), start + static_cast<std::size_t>(*max_results))
                  : clusters.size();
  json list = json::array();
  for (std::size_t i = start; i < end; ++i) list.push_back(cluster_json(*clusters[i]));
  json out = {{"Clusters", list}};
  if (end < clusters.size()) {
    out["NextToken"] = make_page_token("cloudhsm-clusters", clusters[end]->cluster_id);
  }
  return out;
}

}  // namespace

json cloudhsm_operation(AwsCall& call) {
  if (call.operation == "DescribeClusters") return describe_clusters(call);
  throw unknown_operation(call);
}

}  // namespace hsmproof::sandbox::aws_impl
