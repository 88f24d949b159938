// Entrust: every enabled customer managed key is asymmetric. A symmetric key (SYMMETRIC_DEFAULT,
// HMAC_*) cannot hold a code signing key pair, and its presence means the account's keys are not
// all dedicated to the purpose the CA verifies.

#include <fmt/format.h>

#include <algorithm>

#include "rules/checks.h"
#include "rules/support/kms_keys.h"
#include "rules/support/requirements.h"

namespace hsmproof::rules::checks {
namespace {

constexpr const char* kSymmetricSpecs = "aws_kms_symmetric_key_specs";
constexpr const char* kSymmetricSpecPrefixes = "aws_kms_symmetric_key_spec_prefixes";

const CheckMetadata& metadata() {
  static const std::string requirement =
      std::string(support::kEntrustAllEnabledKeys) + " \"Key Type: Asymmetric\". " +
      std::string(support::kCsbrKeyInHsm);
  static const CheckMetadata check_metadata{
      .id = "aws_kms_cmk_asymmetric",
      .title = "Enabled customer managed KMS keys are asymmetric",
      .location_kind = kAwsKmsLocation,
      .requirement = requirement,
      .severity = "high",
      .permissions = {"kms:ListKeys", "kms:DescribeKey", "kms:ListAliases"},
      .parameters = {kSymmetricSpecs, kSymmetricSpecPrefixes},
  };
  return check_metadata;
}

model::CheckFinding evaluate(const AwsRegionContext& context) {
  const std::vector<std::string>& specs = context.baseline.param(kSymmetricSpecs);
  const std::vector<std::string>& prefixes = context.baseline.param(kSymmetricSpecPrefixes);
  std::vector<std::string> symmetric_names = specs;
  for (const std::string& prefix : prefixes) symmetric_names.push_back(prefix + "*");

  support::EveryKeyRule rule{
      .requirement = "KeySpec must be asymmetric (not " +
                     support::join_alternatives(symmetric_names) + ")",
      .violation = [&](const model::KmsKeyMetadata& key) -> std::optional<std::string> {
        // A key whose spec was not reported cannot be shown to be asymmetric.
        if (key.key_spec.empty()) return std::string("KeySpec not reported (needs an asymmetric spec)");
        const bool listed = std::find(specs.begin(), specs.end(), key.key_spec) != specs.end();
        const bool prefixed =
            std::any_of(prefixes.begin(), prefixes.end(), [&key](const std::string& prefix) {
              return !prefix.empty() && key.key_spec.rfind(prefix, 0) == 0;
            });
        if (listed || prefixed) {
          return "KeySpec " + key.key_spec + " is symmetric (needs an asymmetric spec)";
        }
        return std::nullopt;
      },
      .compliant_detail =
          [](const model::KmsKeyMetadata& key) { return "KeySpec " + key.key_spec + " (asymmetric)"; },
  };
  return support::evaluate_every_key(context, metadata(), rule);
}

}  // namespace

Check aws_kms_cmk_asymmetric() { return {metadata(), &evaluate}; }

}  // namespace hsmproof::rules::checks
