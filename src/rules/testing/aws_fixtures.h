#pragma once
// Small AWS inventories built in code for the rule tests: one account-region with keys, trails
// and clusters, each field a value or an error exactly as a collector would store it.

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "model/inventory.h"
#include "rules/baseline.h"
#include "rules/rule.h"

namespace hsmproof::rules::testing {

inline const std::string kAccount = "111122223333";
inline const std::string kRegion = "eu-west-1";

inline Error access_denied(const std::string& operation, const std::string& resource = "") {
  Error error;
  error.kind = ErrorKind::kHttp;
  error.message = "User is not authorized to perform " + operation;
  error.operation = operation;
  error.region = kRegion;
  error.resource = resource;
  error.http_status = 400;
  error.provider_code = "AccessDeniedException";
  error.request_id = "req-" + operation;
  return error;
}

inline std::string key_arn(const std::string& key_id, const std::string& region = kRegion) {
  return "arn:aws:kms:" + region + ":" + kAccount + ":key/" + key_id;
}

struct KeyFacts {
  std::string id;
  std::string spec = "RSA_4096";
  std::string usage = "SIGN_VERIFY";
  std::string origin = "AWS_KMS";
  std::string state = "Enabled";
  std::string manager = "CUSTOMER";
  std::vector<std::string> aliases;
  std::string region = kRegion;
};

inline model::KmsKey kms_key(const KeyFacts& facts) {
  model::KmsKey key;
  key.key_id = facts.id;
  key.arn = key_arn(facts.id, facts.region);
  key.aliases = facts.aliases;
  model::KmsKeyMetadata metadata;
  metadata.key_id = facts.id;
  metadata.arn = key.arn;
  metadata.key_manager = facts.manager;
  metadata.key_state = facts.state;
  metadata.enabled = facts.state == "Enabled";
  metadata.origin = facts.origin;
  metadata.key_spec = facts.spec;
  metadata.key_usage = facts.usage;
  key.metadata = metadata;
  return key;
}

// A key ListKeys returned but DescribeKey could not describe.
inline model::KmsKey undescribable_key(const std::string& id,
                                       std::vector<std::string> aliases = {}) {
  model::KmsKey key;
  key.key_id = id;
  key.arn = key_arn(id);
  key.aliases = std::move(aliases);
  key.metadata = access_denied("kms:DescribeKey", key.arn);
  return key;
}

inline model::BasicEventSelector basic_selector(std::string read_write_type = "All",
                                                bool include_management_events = true,
                                                std::vector<std::string> excluded_sources = {}) {
  model::BasicEventSelector selector;
  selector.read_write_type = std::move(read_write_type);
  selector.include_management_events = include_management_events;
  selector.exclude_management_event_sources = std::move(excluded_sources);
  return selector;
}

inline model::FieldSelector field_equals(std::string field, std::vector<std::string> values) {
  model::FieldSelector selector;
  selector.field = std::move(field);
  selector.equals = std::move(values);
  return selector;
}

inline model::FieldSelector field_not_equals(std::string field, std::vector<std::string> values) {
  model::FieldSelector selector;
  selector.field = std::move(field);
  selector.not_equals = std::move(values);
  return selector;
}

inline model::AdvancedEventSelector advanced_selector(std::string name,
                                                      std::vector<model::FieldSelector> fields) {
  return model::AdvancedEventSelector{std::move(name), std::move(fields)};
}

inline model::EventSelectors basic_selectors(std::vector<model::BasicEventSelector> selectors) {
  model::EventSelectors out;
  out.basic = std::move(selectors);
  return out;
}

inline model::EventSelectors advanced_selectors(
    std::vector<model::AdvancedEventSelector> selectors) {
  model::EventSelectors out;
  out.advanced = std::move(selectors);
  return out;
}

struct TrailFacts {
  std::string name = "main";
  std::string home_region = kRegion;
  bool multi_region = false;
  bool logging = true;
  model::EventSelectors selectors = basic_selectors({basic_selector()});
  bool organization = false;
  std::string owner_account = kAccount;
};

inline std::string trail_arn(const TrailFacts& facts) {
  return "arn:aws:cloudtrail:" + facts.home_region + ":" + facts.owner_account + ":trail/" +
         facts.name;
}

inline model::Trail trail(const TrailFacts& facts) {
  model::Trail out;
  out.name = facts.name;
  out.arn = trail_arn(facts);
  out.home_region = facts.home_region;
  out.is_multi_region = facts.multi_region;
  out.is_organization = facts.organization;
  out.status = model::TrailStatus{facts.logging, ""};
  out.selectors = facts.selectors;
  return out;
}

inline model::CloudHsm hsm(std::string id, std::string state = "ACTIVE",
                           std::string availability_zone = "eu-west-1a") {
  return model::CloudHsm{std::move(id), std::move(state), std::move(availability_zone)};
}

inline model::CloudHsmCluster cluster(std::string id, std::string state,
                                      std::vector<model::CloudHsm> hsms,
                                      std::string mode = "FIPS") {
  model::CloudHsmCluster out;
  out.cluster_id = std::move(id);
  out.state = std::move(state);
  out.mode = std::move(mode);
  out.hsm_type = "hsm2m.medium";
  out.hsms = std::move(hsms);
  return out;
}

// One account-region with the given keys, one good trail and no CloudHSM cluster.
inline model::AwsRegionInventory region_with_keys(std::vector<model::KmsKey> keys) {
  model::AwsRegionInventory region;
  region.account = kAccount;
  region.region = kRegion;
  region.kms_keys = std::move(keys);
  region.trails = std::vector<model::Trail>{trail({})};
  region.cloudhsm_clusters = std::vector<model::CloudHsmCluster>{};
  return region;
}

inline model::AwsRegionInventory region_with_trails(std::vector<model::Trail> trails) {
  model::AwsRegionInventory region = region_with_keys({kms_key({.id = "signing"})});
  region.trails = std::move(trails);
  return region;
}

inline model::AwsRegionInventory region_with_clusters(
    std::vector<model::CloudHsmCluster> clusters) {
  model::AwsRegionInventory region = region_with_keys({});
  region.cloudhsm_clusters = std::move(clusters);
  return region;
}

inline const Baseline& entrust() {
  static const Baseline baseline = [] {
    auto parsed = builtin_baseline("entrust");
    if (!parsed.ok()) throw std::runtime_error(parsed.error().describe());
    return std::move(parsed).value();
  }();
  return baseline;
}

inline model::CheckFinding run_check(std::string_view id, const model::AwsRegionInventory& region,
                                     std::string_view location_kind = kAwsKmsLocation,
                                     const Baseline& baseline = entrust()) {
  const Check* check = find_check(id);
  if (check == nullptr) throw std::runtime_error("no check " + std::string(id));
  return check->evaluate_aws_region(AwsRegionContext{region, baseline, location_kind});
}

}  // namespace hsmproof::rules::testing
