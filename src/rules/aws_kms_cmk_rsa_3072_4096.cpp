// Entrust: every enabled customer managed key is RSA 3072 or 4096 — stricter than the CSBR,
// which also accepts ECDSA P-256/P-384/P-521. The allowed specs are a baseline parameter.

#include <fmt/format.h>

#include <algorithm>

#include "rules/checks.h"
#include "rules/support/kms_keys.h"
#include "rules/support/requirements.h"

namespace hsmproof::rules::checks {
namespace {

constexpr const char* kAllowedKeySpecs = "aws_kms_allowed_key_specs";

const CheckMetadata& metadata() {
  static const std::string requirement =
      std::string(support::kEntrustAllEnabledKeys) +
      " \"Key Spec: 3072 or 4096 (recommended)\". CSBR 6.1.5.2: \"If the Key is RSA, then the "
      "modulus MUST be at least 3072 bits in length.\"";
  static const CheckMetadata check_metadata{
      .id = "aws_kms_cmk_rsa_3072_4096",
      .title = "Enabled customer managed KMS keys are RSA 3072 or RSA 4096",
      .location_kind = kAwsKmsLocation,
      .requirement = requirement,
      .severity = "high",
      .permissions = {"kms:ListKeys", "kms:DescribeKey", "kms:ListAliases"},
      .parameters = {kAllowedKeySpecs},
  };
  return check_metadata;
}

model::CheckFinding evaluate(const AwsRegionContext& context) {
  const std::vector<std::string>& allowed = context.baseline.param(kAllowedKeySpecs);
  support::EveryKeyRule rule{
      .requirement = "KeySpec must be " + support::join_alternatives(allowed),
      .violation = [&allowed](const model::KmsKeyMetadata& key) -> std::optional<std::string> {
        if (std::find(allowed.begin(), allowed.end(), key.key_spec) != allowed.end()) {
          return std::nullopt;
        }
        return fmt::format("KeySpec {} (needs {})",
                           key.key_spec.empty() ? "not reported" : key.key_spec,
                           support::join_alternatives(allowed));
      },
      .compliant_detail =
          [](const model::KmsKeyMetadata& key) { return "KeySpec " + key.key_spec; },
  };
  return support::evaluate_every_key(context, metadata(), rule);
}

}  // namespace

Check aws_kms_cmk_rsa_3072_4096() { return {metadata(), &evaluate}; }

}  // namespace hsmproof::rules::checks
