// Entrust: "at least one key must have the key usage setting of Sign and Verify" — the region
// must actually hold a signing key. One qualifying key is enough, so keys that could not be
// described only matter while no qualifying key is known.

#include <fmt/format.h>

#include <algorithm>

#include "rules/checks.h"
#include "rules/support/kms_keys.h"
#include "rules/support/requirements.h"

namespace hsmproof::rules::checks {
namespace {

constexpr const char* kSigningKeyUsages = "aws_kms_signing_key_usages";

const CheckMetadata& metadata() {
  static const std::string requirement =
      "Entrust: \"However, at least one key must have the key usage setting of Sign and "
      "Verify.\" " +
      std::string(support::kCsbrKeyInHsm);
  static const CheckMetadata check_metadata{
      .id = "aws_kms_sign_verify_key",
      .title = "At least one enabled customer managed KMS key is a signing key",
      .location_kind = kAwsKmsLocation,
      .requirement = requirement,
      .severity = "high",
      .permissions = {"kms:ListKeys", "kms:DescribeKey", "kms:ListAliases"},
      .parameters = {kSigningKeyUsages},
  };
  return check_metadata;
}

model::CheckFinding evaluate(const AwsRegionContext& context) {
  model::CheckFinding finding = support::start_finding(metadata());
  const model::AwsRegionInventory& region = context.region;
  const std::vector<std::string>& usages = context.baseline.param(kSigningKeyUsages);
  const std::string wanted = support::join_alternatives(usages);
  if (!region.kms_keys.ok()) {
    finding.status = model::Status::kIncomplete;
    finding.message = fmt::format("cannot list the KMS keys of {}: {}", region.region,
                                  region.kms_keys.error().describe());
    return finding;
  }
  if (region.aliases_error) {
    finding.warnings.push_back("alias names unavailable: " + region.aliases_error->describe());
  }

  std::size_t qualifying = 0;
  std::vector<std::size_t> other_key_rows;  // in-scope keys without a signing usage
  const Error* first_unknown = nullptr;
  std::size_t unknown = 0;
  for (const model::KmsKey& key : region.kms_keys.value()) {
    const std::string id = support::key_resource_id(key);
    if (!key.metadata.ok()) {
      ++unknown;
      if (first_unknown == nullptr) first_unknown = &key.metadata.error();
      finding.resources.push_back({id, model::Status::kIncomplete,
                                   support::alias_prefix(key) + "cannot describe the key: " +
                                       key.metadata.error().describe()});
      continue;
    }
    const model::KmsKeyMetadata& key_metadata = key.metadata.value();
    if (!support::is_enabled_customer_managed(key_metadata)) continue;
    const std::string detail = support::alias_prefix(key) + "KeyUsage " +
                               (key_metadata.key_usage.empty() ? std::string("not reported")
                                                               : key_metadata.key_usage);
    if (std::find(usages.begin(), usages.end(), key_metadata.key_usage) != usages.end()) {
      ++qualifying;
      finding.resources.push_back({id, model::Status::kPass, detail});
    } else {
      other_key_rows.push_back(finding.resources.size());
      finding.resources.push_back({id, model::Status::kNotApplicable, detail});
    }
  }

  if (qualifying > 0) {
    finding.status = model::Status::kPass;
    finding.message = fmt::format("{} enabled customer managed key{} in {} ha{} KeyUsage {}",
                                  qualifying, qualifying == 1 ? "" : "s", region.region,
                                  qualifying == 1 ? "s" : "ve", wanted);
  } else if (unknown > 0) {
    finding.status = model::Status::kIncomplete;
    finding.message = fmt::format(
        "no readable enabled customer managed key in {} has KeyUsage {}; {} key{} could not be "
        "described ({})",
        region.region, wanted, unknown, unknown == 1 ? "" : "s", first_unknown->describe());
  } else {
    finding.status = model::Status::kFail;
    finding.message =
        other_key_rows.empty()
            ? fmt::format("no enabled customer managed key in {}, so none has KeyUsage {}",
                          region.region, wanted)
        : other_key_rows.size() == 1
            ? fmt::format("the one enabled customer managed key in {} does not have KeyUsage {}",
                          region.region, wanted)
            : fmt::format("none of the {} enabled customer managed keys in {} has KeyUsage {}",
                          other_key_rows.size(), region.region, wanted);
    for (const std::size_t row : other_key_rows) {
      finding.resources[row].status = model::Status::kFail;
    }
    finding.remediation.push_back(support::create_signing_key_command(context));
  }
  return finding;
}

}  // namespace

Check aws_kms_sign_verify_key() { return {metadata(), &evaluate}; }

}  // namespace hsmproof::rules::checks
