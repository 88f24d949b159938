#pragma once
// A scenario: a readable description of an organisation's AWS and Azure state that the sandbox
// serves through the providers' own wire formats. Parsed from JSON (format in
// src/sandbox/scenarios/README.md); the default one is compiled in.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace hsmproof::sandbox {

// ---- AWS ----

struct KmsKeySpec {
  std::string key_id;  // UUID; generated deterministically when the file omits it
  std::string region;
  std::string key_spec = "RSA_4096";
  std::string key_usage = "SIGN_VERIFY";
  std::string origin = "AWS_KMS";
  std::string key_state = "Enabled";
  std::string key_manager = "CUSTOMER";
  std::string description;
  bool multi_region = false;
  std::vector<std::string> aliases;  // "alias/name"
  std::int64_t creation_date = 1700000000;
};

struct TrailSpec {
  std::string name;
  std::string home_region;
  bool multi_region = false;
  bool organization = false;
  bool logging = true;
  std::string s3_bucket = "cloudtrail-logs";
  // Exactly the wire shapes of GetEventSelectors; absent = AWS's default for a new trail
  // ([{"ReadWriteType":"All","IncludeManagementEvents":true,...}]).
  std::optional<nlohmann::json> event_selectors;
  std::optional<nlohmann::json> advanced_event_selectors;
};

struct CloudHsmSpec {
  std::string hsm_id;
  std::string state = "ACTIVE";
  std::string availability_zone;
};

struct CloudHsmClusterSpec {
  std::string cluster_id;
  std::string region;
  std::string state = "ACTIVE";
  std::string mode = "FIPS";
  std::string hsm_type = "hsm2m.medium";
  std::vector<CloudHsmSpec> hsms;
};

struct AwsAccountSpec {
  std::string account_id;  // 12 digits
  std::string name;
  std::string access_key_id;      // the credentials SigV4 requests must be signed with
  std::string secret_access_key;  // (scenario secrets are test data, never real)
  std::vector<std::string> enabled_regions;  // DescribeRegions (opt-in-not-required/opted-in)
  std::vector<std::string> disabled_regions;  // listed as not-opted-in
  std::vector<KmsKeySpec> keys;
  std::vector<TrailSpec> trails;
  std::vector<CloudHsmClusterSpec> clusters;
};

// ---- Azure ----

struct AzureKeySpec {
  std::string name;
  std::string kty = "RSA-HSM";  // RSA, RSA-HSM, EC, EC-HSM
  int key_size = 3072;          // RSA
  std::string curve;            // EC: P-256, P-384, P-521, P-256K
  bool enabled = true;
  bool exportable = false;
  std::string hsm_platform = "2";  // "0" software, "1" FIPS 140-2 L2, "2" FIPS 140-3 L3
  std::string version;             // 32 hex chars; generated when omitted
};

struct DiagnosticSettingSpec {
  std::string name;
  nlohmann::json properties;  // the wire `properties` object (logs, metrics, destinations)
};

struct VaultSpec {
  std::string name;
  std::string resource_group;
  std::string location = "westeurope";
  std::string sku = "premium";  // standard | premium
  std::vector<AzureKeySpec> keys;
  std::vector<DiagnosticSettingSpec> diagnostic_settings;
};

struct ManagedHsmSpec {
  std::string name;
  std::string resource_group;
  std::string location = "westeurope";
  std::string sku = "Standard_B1";
  std::string provisioning_state = "Succeeded";
  std::string activation_status = "Active";
  std::vector<AzureKeySpec> keys;
  std::vector<DiagnosticSettingSpec> diagnostic_settings;
};

struct PolicySetDefinitionSpec {
  std::string id;  // full resource id
  std::string display_name;
  // policyDefinitionId -> policyDefinitionReferenceId
  std::vector<std::pair<std::string, std::string>> definitions;
};

struct PolicyAssignmentSpec {
  std::string name;
  std::string scope;                 // /providers/Microsoft.Management/managementGroups/x,
                                     // /subscriptions/s, .../resourceGroups/rg
  std::string policy_definition_id;  // a definition or a policy set definition
  std::vector<std::string> not_scopes;
  std::string enforcement_mode = "Default";
  std::string display_name;
};

struct PolicyStateSpec {
  std::string resource_id;
  std::string policy_assignment_name;  // refers to PolicyAssignmentSpec::name
  std::string policy_definition_id;
  std::string compliance_state;  // Compliant, NonCompliant, Unknown, Exempt, ...
  std::string timestamp;         // ISO 8601
};

struct PolicyExemptionSpec {
  std::string name;
  std::string scope;
  std::string policy_assignment_name;
  std::string category = "Waiver";
  std::vector<std::string> policy_definition_reference_ids;
  std::string expires_on;  // empty = never
};

struct SubscriptionSpec {
  std::string subscription_id;  // GUID
  std::string display_name;
  std::vector<std::string> management_groups;  // ancestor chain, nearest first
  std::vector<VaultSpec> vaults;
  std::vector<ManagedHsmSpec> managed_hsms;
  std::vector<PolicyAssignmentSpec> policy_assignments;
  std::vector<PolicyStateSpec> policy_states;
  std::vector<PolicyExemptionSpec> policy_exemptions;
};

struct AzureTenantSpec {
  std::string tenant_id;
  std::string client_id;
  std::string client_secret;
  std::string managed_identity_client_id;
  std::vector<PolicySetDefinitionSpec> policy_set_definitions;
  std::vector<SubscriptionSpec> subscriptions;
};

// ---- Faults ----

// A fault applies to requests matching all of its non-empty filters.
struct FaultSpec {
  std::string kind;  // throttle | server_error | latency | truncate | reset | deny
  std::string provider;   // aws | azure | "" (any)
  std::string service;    // kms, cloudtrail, cloudhsm, sts, ec2, organizations, arm, keyvault,
                          // entra, policy, monitor | ""
  std::string operation;  // "ListKeys", or an ARM path fragment | ""
  std::string region;     // AWS region | ""
  int status = 0;         // server_error: 500 by default
  int latency_ms = 0;     // latency
  int count = -1;         // how many matching requests it hits; -1 = all
  double probability = 1.0;
  int retry_after_seconds = 1;  // throttle: Azure's Retry-After (AWS sends none)
};

// Requests per second per API, as token buckets (rate, burst), keyed "aws:kms:ListKeys",
// "azure:arm:read", ...; empty = no quotas.
struct QuotaSpec {
  std::string key;
  double rate_per_second = 0;
  double burst = 0;
};

struct Scenario {
  std::string name;
  std::string description;
  std::vector<AwsAccountSpec> aws_accounts;  // the first is the one the credentials reach
  std::optional<AzureTenantSpec> azure;
  std::vector<FaultSpec> faults;
  std::vector<QuotaSpec> quotas;
  std::uint64_t seed = 1;  // for everything generated (ids, key material choices)
};

// Parses and validates; errors name the source, the JSON path and what to change.
Result<Scenario> parse_scenario(const std::string& json_text, const std::string& source_name);
// The built-in default: a small organisation where every check fails somewhere and every location
// kind passes somewhere.
const std::string& default_scenario_text();
// A scenario file, or a built-in scenario by name ("default"); "" = the default.
Result<Scenario> load_scenario(const std::string& file_or_builtin_name);
// `--generate accounts=N,regions=R,keys=K,subscriptions=S,vaults=V`.
Result<Scenario> generate_scenario(const std::string& spec);
nlohmann::json scenario_to_json(const Scenario& scenario);
// `hsmproof sandbox --fault KIND[:service[:operation[:region]]]` ("*" or empty = any), validated
// as a scenario's faults are.
Result<FaultSpec> parse_fault_flag(const std::string& text);

}  // namespace hsmproof::sandbox
