#pragma once
// What the KMS checks share: which keys are in scope, how a key is named in a finding, the
// "every enabled customer managed key must ..." evaluation, and the AWS CLI fixes.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/findings.h"
#include "model/inventory.h"
#include "rules/rule.h"

namespace hsmproof::rules::support {

// Entrust's "enabled keys under Customer managed keys": KeyManager CUSTOMER, KeyState Enabled.
bool is_enabled_customer_managed(const model::KmsKeyMetadata& metadata);

// The key's ARN, or its id when the listing gave no ARN.
std::string key_resource_id(const model::KmsKey& key);

// "alias/a, alias/b: " or "" — so a reader recognises the key by the name they gave it.
std::string alias_prefix(const model::KmsKey& key);

// "A", "A or B", "A, B or C".
std::string join_alternatives(const std::vector<std::string>& values);

model::CheckFinding start_finding(const CheckMetadata& metadata);

struct EveryKeyRule {
  std::string requirement;  // "Origin must be AWS_KMS"
  // Why the key breaks the rule ("Origin EXTERNAL (needs AWS_KMS)"), or nullopt when it complies.
  std::function<std::optional<std::string>(const model::KmsKeyMetadata&)> violation;
  // What a compliant key shows ("Origin AWS_KMS").
  std::function<std::string(const model::KmsKeyMetadata&)> compliant_detail;
};

// fail if any readable in-scope key breaks the rule; else incomplete if the key list or any
// key's metadata could not be read; else pass (not_applicable when there is no key in scope).
model::CheckFinding evaluate_every_key(const AwsRegionContext& context,
                                       const CheckMetadata& metadata, const EveryKeyRule& rule);

// aws kms create-key for a key every KMS check of the baseline accepts.
std::string create_signing_key_command(const AwsRegionContext& context);

// Takes a key out of scope: disable it (reversible), or schedule its deletion.
std::vector<std::string> retire_key_commands(const std::string& region, const std::string& key_arn);

}  // namespace hsmproof::rules::support
