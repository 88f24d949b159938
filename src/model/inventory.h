#pragma once
// Provider-neutral inventory. Every field a rule reads is a Result: the value, or the error that
// prevented reading it. Collectors fill it; rules read it; neither sees the other's concerns.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace hsmproof::model {

// ---- AWS ----

struct KmsKeyMetadata {
  std::string key_id;
  std::string arn;
  std::string key_manager;  // AWS | CUSTOMER
  std::string key_state;    // Enabled | Disabled | PendingDeletion | ...
  bool enabled = false;
  std::string origin;     // AWS_KMS | EXTERNAL | AWS_CLOUDHSM | EXTERNAL_KEY_STORE
  std::string key_spec;   // RSA_4096, SYMMETRIC_DEFAULT, ... (unknown strings kept as is)
  std::string key_usage;  // SIGN_VERIFY | ENCRYPT_DECRYPT | GENERATE_VERIFY_MAC | KEY_AGREEMENT
  bool multi_region = false;
  std::string description;
};

struct KmsKey {
  std::string key_id;
  std::string arn;
  std::vector<std::string> aliases;  // "alias/name"
  Result<KmsKeyMetadata> metadata = Error{ErrorKind::kInternal, "not collected"};
};

// A basic or advanced event selector, reduced to what the logging rule needs, with the raw
// fields kept so the report can show them.
struct FieldSelector {
  std::string field;
  std::vector<std::string> equals, starts_with, ends_with, not_equals, not_starts_with,
      not_ends_with;
};
struct AdvancedEventSelector {
  std::string name;
  std::vector<FieldSelector> field_selectors;
};
struct BasicEventSelector {
  std::string read_write_type = "All";  // ReadOnly | WriteOnly | All
  bool include_management_events = true;
  std::vector<std::string> exclude_management_event_sources;
};
struct EventSelectors {
  std::vector<BasicEventSelector> basic;
  std::vector<AdvancedEventSelector> advanced;  // never both non-empty
};

struct TrailStatus {
  bool is_logging = false;
  std::string latest_delivery_error;
};

struct Trail {
  std::string name;
  std::string arn;
  std::string home_region;
  bool is_multi_region = false;
  bool is_organization = false;
  Result<TrailStatus> status = Error{ErrorKind::kInternal, "not collected"};
  Result<EventSelectors> selectors = Error{ErrorKind::kInternal, "not collected"};
};

struct CloudHsm {
  std::string hsm_id;
  std::string state;  // CREATE_IN_PROGRESS | ACTIVE | DEGRADED | ...
  std::string availability_zone;
};

struct CloudHsmCluster {
  std::string cluster_id;
  std::string state;  // ACTIVE, UNINITIALIZED, ...
  std::string mode;   // FIPS | NON_FIPS | "" (older clusters omit it: FIPS)
  std::string hsm_type;
  std::vector<CloudHsm> hsms;
};

// One account-region: all it takes to judge its aws-kms and aws-cloudhsm locations.
struct AwsRegionInventory {
  std::string account;
  std::string region;
  // ListKeys (all pages); each key carries its own DescribeKey result.
  Result<std::vector<KmsKey>> kms_keys = Error{ErrorKind::kInternal, "not collected"};
  // ListAliases failures only lose alias names; they never decide a check.
  std::optional<Error> aliases_error;
  // DescribeTrails with shadow trails: every trail that applies to this region.
  Result<std::vector<Trail>> trails = Error{ErrorKind::kInternal, "not collected"};
  Result<std::vector<CloudHsmCluster>> cloudhsm_clusters =
      Error{ErrorKind::kInternal, "not collected"};
};

struct AwsInventory {
  std::string account;       // from STS GetCallerIdentity
  std::string caller_arn;    // who scanned
  std::vector<AwsRegionInventory> regions;  // sorted by region name
  // Errors that prevented the scan from knowing its scope (e.g. DescribeRegions denied).
  std::vector<Error> scope_errors;
};

struct Inventory {
  std::optional<AwsInventory> aws;
};

}  // namespace hsmproof::model
