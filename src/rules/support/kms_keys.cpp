#include "rules/support/kms_keys.h"

#include <fmt/format.h>

#include <algorithm>

namespace hsmproof::rules::support {

bool is_enabled_customer_managed(const model::KmsKeyMetadata& metadata) {
  return metadata.key_manager == "CUSTOMER" && metadata.key_state == "Enabled";
}

std::string key_resource_id(const model::KmsKey& key) {
  if (!key.arn.empty()) return key.arn;
  if (key.metadata.ok() && !key.metadata->arn.empty()) return key.metadata->arn;
  return key.key_id;
}

std::string alias_prefix(const model::KmsKey& key) {
  if (key.aliases.empty()) return "";
  return fmt::format("{}: ", fmt::join(key.aliases, ", "));
}

std::string join_alternatives(const std::vector<std::string>& values) {
  if (values.empty()) return "(none)";
  std::string out = values.front();
  for (std::size_t i = 1; i < values.size(); ++i) {
    out += (i + 1 == values.size() ? " or " : ", ") + values[i];
  }
  return out;
}

model::CheckFinding start_finding(const CheckMetadata& metadata) {
  model::CheckFinding finding;
  finding.id = std::string(metadata.id);
  finding.title = std::string(metadata.title);
  return finding;
}

namespace {

std::string keys_phrase(std::size_t count) {
  return fmt::format("{} enabled customer managed key{}", count, count == 1 ? "" : "s");
}

}  // namespace

model::CheckFinding evaluate_every_key(const AwsRegionContext& context,
                                       const CheckMetadata& metadata, const EveryKeyRule& rule) {
  model::CheckFinding finding = start_finding(metadata);
  const model::AwsRegionInventory& region = context.region;
  if (!region.kms_keys.ok()) {
    finding.status = model::Status::kIncomplete;
    finding.message = fmt::format("{}: cannot list the KMS keys of {}: {}", rule.requirement,
                                  region.region, region.kms_keys.error().describe());
    return finding;
  }
  if (region.aliases_error) {
    finding.warnings.push_back("alias names unavailable: " + region.aliases_error->describe());
  }

  std::size_t in_scope = 0;
  std::vector<const model::KmsKey*> failing;
  std::vector<const model::KmsKey*> unknown;
  for (const model::KmsKey& key : region.kms_keys.value()) {
    const std::string id = key_resource_id(key);
    if (!key.metadata.ok()) {
      unknown.push_back(&key);
      finding.resources.push_back({id, model::Status::kIncomplete,
                                   alias_prefix(key) + "cannot describe the key: " +
                                       key.metadata.error().describe()});
      continue;
    }
    const model::KmsKeyMetadata& key_metadata = key.metadata.value();
    if (!is_enabled_customer_managed(key_metadata)) continue;
    ++in_scope;
    if (const auto violation = rule.violation(key_metadata)) {
      failing.push_back(&key);
      finding.resources.push_back({id, model::Status::kFail, alias_prefix(key) + *violation});
    } else {
      finding.resources.push_back(
          {id, model::Status::kPass, alias_prefix(key) + rule.compliant_detail(key_metadata)});
    }
  }

  const std::string unknown_note =
      unknown.empty() ? ""
                      : fmt::format("; {} key{} could not be described ({})", unknown.size(),
                                    unknown.size() == 1 ? "" : "s",
                                    unknown.front()->metadata.error().describe());
  if (!failing.empty()) {
    finding.status = model::Status::kFail;
    finding.message = fmt::format("{}: {} of {} in {} fail{}", rule.requirement, failing.size(),
                                  keys_phrase(in_scope), region.region, unknown_note);
    // Disabling the offending keys leaves nothing to sign with when none complies.
    if (failing.size() == in_scope) {
      finding.remediation.push_back(create_signing_key_command(context));
    }
    for (const model::KmsKey* key : failing) {
      for (auto& command : retire_key_commands(region.region, key_resource_id(*key))) {
        finding.remediation.push_back(std::move(command));
      }
    }
  } else if (!unknown.empty()) {
    finding.status = model::Status::kIncomplete;
    const std::string readable =
        in_scope == 0 ? "no readable key is an enabled customer managed key"
        : in_scope == 1
            ? "the one readable enabled customer managed key complies"
            : fmt::format("all {} readable enabled customer managed keys comply", in_scope);
    finding.message = fmt::format("{}: {} in {}{}", rule.requirement, readable, region.region,
                                  unknown_note);
  } else if (in_scope == 0) {
    finding.status = model::Status::kNotApplicable;
    finding.message =
        fmt::format("{}: no enabled customer managed KMS key in {}", rule.requirement,
                    region.region);
  } else {
    finding.status = model::Status::kPass;
    finding.message =
        in_scope == 1
            ? fmt::format("{}: the one enabled customer managed key in {} complies",
                          rule.requirement, region.region)
            : fmt::format("{}: all {} enabled customer managed keys in {} comply",
                          rule.requirement, in_scope, region.region);
  }
  return finding;
}

std::string create_signing_key_command(const AwsRegionContext& context) {
  const auto& specs = context.baseline.param("aws_kms_allowed_key_specs");
  std::string spec = "RSA_4096";
  if (!specs.empty() && std::find(specs.begin(), specs.end(), spec) == specs.end()) {
    spec = specs.front();
  }
  const auto& usages = context.baseline.param("aws_kms_signing_key_usages");
  const std::string usage = usages.empty() ? "SIGN_VERIFY" : usages.front();
  return fmt::format(
      "aws kms create-key --region {} --key-spec {} --key-usage {} --description \"code signing\"",
      context.region.region, spec, usage);
}

std::vector<std::string> retire_key_commands(const std::string& region,
                                             const std::string& key_arn) {
  return {
      fmt::format("aws kms disable-key --region {} --key-id {}", region, key_arn),
      fmt::format("# or delete it: aws kms schedule-key-deletion --region {} --key-id {} "
                  "--pending-window-in-days 30",
                  region, key_arn),
  };
}

}  // namespace hsmproof::rules::support
