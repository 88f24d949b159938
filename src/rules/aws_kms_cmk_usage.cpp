// Entrust: every enabled customer managed key is for signing or encryption ("Sign and Verify or
// Encrypt and Decrypt"); MAC and key agreement keys are out of policy.

#include <fmt/format.h>

#include <algorithm>

#include "rules/checks.h"
#include "rules/support/kms_keys.h"
#include "rules/support/requirements.h"

namespace hsmproof::rules::checks {
namespace {

constexpr const char* kAllowedKeyUsages = "aws_kms_allowed_key_usages";

const CheckMetadata& metadata() {
  static const std::string requirement =
      std::string(support::kEntrustAllEnabledKeys) +
      " \"Key Usage: Signed and Verify\"; \"All the above must be true if you have created "
      "multiple keys except Key Usage. It can be set to Sign and Verify or Encrypt and Decrypt.\"";
  static const CheckMetadata check_metadata{
      .id = "aws_kms_cmk_usage",
      .title = "Enabled customer managed KMS keys are for signing or encryption",
      .location_kind = kAwsKmsLocation,
      .requirement = requirement,
      .severity = "medium",
      .permissions = {"kms:ListKeys", "kms:DescribeKey", "kms:ListAliases"},
      .parameters = {kAllowedKeyUsages},
  };
  return check_metadata;
}

model::CheckFinding evaluate(const AwsRegionContext& context) {
  const std::vector<std::string>& allowed = context.baseline.param(kAllowedKeyUsages);
  support::EveryKeyRule rule{
      .requirement = "KeyUsage must be " + support::join_alternatives(allowed),
      .violation = [&allowed](const model::KmsKeyMetadata& key) -> std::optional<std::string> {
        if (std::find(allowed.begin(), allowed.end(), key.key_usage) != allowed.end()) {
          return std::nullopt;
        }
        return fmt::format("KeyUsage {} (needs {})",
                           key.key_usage.empty() ? "not reported" : key.key_usage,
                           support::join_alternatives(allowed));
      },
      .compliant_detail =
          [](const model::KmsKeyMetadata& key) { return "KeyUsage " + key.key_usage; },
  };
  return support::evaluate_every_key(context, metadata(), rule);
}

}  // namespace

Check aws_kms_cmk_usage() { return {metadata(), &evaluate}; }

}  // namespace hsmproof::rules::checks
