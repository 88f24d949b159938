#include "rules/evaluate.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "rules/rule.h"
#include "rules/support/kms_keys.h"

namespace hsmproof::rules {

model::Status location_verdict(const std::vector<model::CheckFinding>& checks) {
  const auto any = [&checks](model::Status status) {
    return std::any_of(checks.begin(), checks.end(),
                       [status](const model::CheckFinding& check) { return check.status == status; });
  };
  if (any(model::Status::kFail)) return model::Status::kFail;
  if (any(model::Status::kIncomplete)) return model::Status::kIncomplete;
  return model::Status::kPass;
}

namespace {

// An aws-kms location exists where an enabled customer managed key exists — or might: a key
// list or key description that could not be read is judged (incomplete), never skipped.
bool kms_location_exists(const model::AwsRegionInventory& region) {
  if (!region.kms_keys.ok()) return true;
  return std::any_of(region.kms_keys->begin(), region.kms_keys->end(),
                     [](const model::KmsKey& key) {
                       return !key.metadata.ok() ||
                              support::is_enabled_customer_managed(key.metadata.value());
                     });
}

bool cloudhsm_location_exists(const model::AwsRegionInventory& region) {
  return !region.cloudhsm_clusters.ok() || !region.cloudhsm_clusters->empty();
}

model::CheckFinding unavailable_check(const std::string& id, std::string_view kind) {
  model::CheckFinding finding;
  finding.id = id;
  finding.title = id;
  finding.status = model::Status::kIncomplete;
  finding.message = fmt::format("check {} cannot judge {} locations", id, kind);
  return finding;
}

model::LocationFinding judge_aws_location(const model::AwsRegionInventory& region,
                                          const std::string& account, std::string_view kind,
                                          const std::vector<std::string>& check_ids,
                                          const Baseline& baseline) {
  model::LocationFinding location;
  location.provider = "aws";
  location.kind = std::string(kind);
  location.account = account;
  location.region = region.region;
  const AwsRegionContext context{region, baseline, kind};
  for (const std::string& id : check_ids) {
    const Check* check = find_check(id);
    if (check == nullptr || check->evaluate_aws_region == nullptr ||
        !check->metadata.runs_in(kind)) {
      location.checks.push_back(unavailable_check(id, kind));
      continue;
    }
    location.checks.push_back(check->evaluate_aws_region(context));
  }
  location.verdict = location_verdict(location.checks);
  return location;
}

std::string location_label(const model::LocationFinding& location) {
  std::string label = fmt::format("{} {}/{}", location.kind, location.account, location.region);
  if (!location.name.empty()) label += "/" + location.name;
  return label;
}

std::string checks_with_status(const model::LocationFinding& location, model::Status status) {
  std::vector<std::string> ids;
  for (const auto& check : location.checks) {
    if (check.status == status) ids.push_back(check.id);
  }
  return fmt::format("{}", fmt::join(ids, ", "));
}

std::string location_summary(const model::LocationFinding& location) {
  switch (location.verdict) {
    case model::Status::kFail:
      return fmt::format("{} fails {}", location_label(location),
                         checks_with_status(location, model::Status::kFail));
    case model::Status::kIncomplete:
      return fmt::format("{} could not fully read {}", location_label(location),
                         checks_with_status(location, model::Status::kIncomplete));
    default:
      return fmt::format("{} passes", location_label(location));
  }
}

// A --key value names a key by id, key ARN, alias name or alias ARN.
bool key_matches(const std::string& requested, const model::AwsRegionInventory& region,
                 const std::string& account, const model::KmsKey& key) {
  if (requested == key.key_id || requested == key.arn) return true;
  if (key.metadata.ok() && (requested == key.metadata->key_id || requested == key.metadata->arn)) {
    return true;
  }
  if (requested.starts_with("alias/")) {
    return std::find(key.aliases.begin(), key.aliases.end(), requested) != key.aliases.end();
  }
  // arn:partition:kms:region:account:alias/name
  if (!requested.starts_with("arn:")) return false;
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (fields.size() < 5) {
    const std::size_t colon = requested.find(':', start);
    if (colon == std::string::npos) return false;
    fields.push_back(requested.substr(start, colon - start));
    start = colon + 1;
  }
  const std::string resource = requested.substr(start);
  return fields[2] == "kms" && fields[3] == region.region && fields[4] == account &&
         resource.starts_with("alias/") &&
         std::find(key.aliases.begin(), key.aliases.end(), resource) != key.aliases.end();
}

bool names_alias(const std::string& requested) {
  return requested.starts_with("alias/") || requested.find(":alias/") != std::string::npos;
}

// Could a requested key hide somewhere the scan could not read?
std::optional<std::string> unread_part(const std::string& requested,
                                       const model::AwsInventory& aws) {
  if (!aws.scope_errors.empty()) {
    return "the regions to scan could not be listed: " + aws.scope_errors.front().describe();
  }
  for (const auto& region : aws.regions) {
    if (!region.kms_keys.ok()) return region.kms_keys.error().describe();
    for (const auto& key : region.kms_keys.value()) {
      if (!key.metadata.ok()) return key.metadata.error().describe();
    }
    if (names_alias(requested) && region.aliases_error) return region.aliases_error->describe();
  }
  return std::nullopt;
}

struct RegionAccount {
  const model::AwsRegionInventory* region;
  std::string account;
};

void judge_requested_keys(const model::Inventory& inventory, const EvaluateOptions& options,
                          model::Findings& findings) {
  std::vector<std::string> failures;
  std::vector<std::string> unknowns;
  std::set<std::size_t> holding;  // indexes into findings.locations
  std::vector<std::string> held_keys;

  std::vector<RegionAccount> regions;
  if (inventory.aws) {
    for (const auto& region : inventory.aws->regions) {
      regions.push_back({&region, region.account.empty() ? inventory.aws->account : region.account});
    }
  }

  for (const std::string& requested : options.requested_keys) {
    bool found = false;
    for (const auto& [region, account] : regions) {
      if (!region->kms_keys.ok()) continue;
      for (const model::KmsKey& key : region->kms_keys.value()) {
        if (!key_matches(requested, *region, account, key)) continue;
        found = true;
        if (key.metadata.ok() && !support::is_enabled_customer_managed(key.metadata.value())) {
          failures.push_back(fmt::format(
              "key {} ({}) is not an enabled customer managed key (KeyManager {}, KeyState {})",
              requested, support::key_resource_id(key), key.metadata->key_manager,
              key.metadata->key_state));
          continue;
        }
        const auto location = std::find_if(
            findings.locations.begin(), findings.locations.end(),
            [&](const model::LocationFinding& candidate) {
              return candidate.provider == "aws" && candidate.kind == kAwsKmsLocation &&
                     candidate.account == account && candidate.region == region->region;
            });
        if (location == findings.locations.end()) {
          failures.push_back(fmt::format("key {} is in {}, which the baseline does not judge",
                                         requested, region->region));
          continue;
        }
        location->holds_requested_key = true;
        holding.insert(static_cast<std::size_t>(location - findings.locations.begin()));
        held_keys.push_back(fmt::format("{} in {}", requested, location_label(*location)));
      }
    }
    if (found) continue;
    const auto unread = inventory.aws ? unread_part(requested, *inventory.aws)
                                      : std::optional<std::string>{};
    if (unread) {
      unknowns.push_back(fmt::format("key {} not found, but part of the scan could not be read ({})",
                                     requested, *unread));
    } else {
      failures.push_back(fmt::format("key {} not found in the scanned regions", requested));
    }
  }

  for (const std::size_t index : holding) {
    const model::LocationFinding& location = findings.locations[index];
    if (location.verdict == model::Status::kFail) {
      failures.push_back(location_summary(location));
    } else if (location.verdict == model::Status::kIncomplete) {
      unknowns.push_back(location_summary(location));
    }
  }

  if (!failures.empty()) {
    findings.verdict = model::Status::kFail;
    findings.verdict_reason = fmt::format("{}", fmt::join(failures, "; "));
  } else if (!unknowns.empty()) {
    findings.verdict = model::Status::kIncomplete;
    findings.verdict_reason = fmt::format("{}", fmt::join(unknowns, "; "));
  } else {
    findings.verdict = model::Status::kPass;
    findings.verdict_reason =
        fmt::format("every requested key is held in a passing location: {}",
                    fmt::join(held_keys, ", "));
  }
}

void judge_all_locations(model::Findings& findings) {
  std::vector<std::string> passing;
  std::vector<std::string> failing;
  std::vector<std::string> incomplete;
  for (const auto& location : findings.locations) {
    switch (location.verdict) {
      case model::Status::kPass:
        passing.push_back(location_label(location));
        break;
      case model::Status::kFail:
        failing.push_back(location_summary(location));
        break;
      default:
        incomplete.push_back(location_summary(location));
        break;
    }
  }
  const std::string scope_note =
      findings.scope_errors.empty()
          ? ""
          : "; the regions to scan could not be listed: " + findings.scope_errors.front().describe();

  if (!passing.empty()) {
    findings.verdict = model::Status::kPass;
    findings.verdict_reason = fmt::format("{} of {} location{} pass{}: {}", passing.size(),
                                          findings.locations.size(),
                                          findings.locations.size() == 1 ? "" : "s",
                                          passing.size() == 1 ? "es" : "",
                                          fmt::join(passing, ", "));
    return;
  }
  if (findings.locations.empty()) {
    if (findings.scope_errors.empty()) {
      findings.verdict = model::Status::kFail;
      findings.verdict_reason =
          "no location holds a key: no enabled customer managed KMS key and no CloudHSM cluster "
          "in the scanned regions";
    } else {
      findings.verdict = model::Status::kIncomplete;
      findings.verdict_reason = "no location found" + scope_note;
    }
    return;
  }
  std::vector<std::string> summaries = failing;
  summaries.insert(summaries.end(), incomplete.begin(), incomplete.end());
  // Regions the scan could not list may hold the passing location: no fail is proven then.
  if (incomplete.empty() && findings.scope_errors.empty()) {
    findings.verdict = model::Status::kFail;
    findings.verdict_reason = fmt::format("no location passes: {}", fmt::join(summaries, "; "));
  } else {
    findings.verdict = model::Status::kIncomplete;
    findings.verdict_reason =
        fmt::format("no location passes, and not everything could be read: {}{}",
                    fmt::join(summaries, "; "), scope_note);
  }
}

}  // namespace

model::Findings evaluate(const model::Inventory& inventory, const Baseline& baseline,
                         const EvaluateOptions& options) {
  model::Findings findings;
  findings.baseline = baseline.name;
  findings.requested_keys = options.requested_keys;

  if (inventory.aws) {
    const model::AwsInventory& aws = *inventory.aws;
    findings.scope_errors = aws.scope_errors;
    const auto kms_checks = baseline.checks_by_kind.find(std::string(kAwsKmsLocation));
    const auto cloudhsm_checks = baseline.checks_by_kind.find(std::string(kAwsCloudHsmLocation));
    for (const model::AwsRegionInventory& region : aws.regions) {
      const std::string& account = region.account.empty() ? aws.account : region.account;
      if (kms_checks != baseline.checks_by_kind.end() && kms_location_exists(region)) {
        findings.locations.push_back(
            judge_aws_location(region, account, kAwsKmsLocation, kms_checks->second, baseline));
      }
      if (cloudhsm_checks != baseline.checks_by_kind.end() && cloudhsm_location_exists(region)) {
        findings.locations.push_back(judge_aws_location(region, account, kAwsCloudHsmLocation,
                                                        cloudhsm_checks->second, baseline));
      }
    }
  }

  std::sort(findings.locations.begin(), findings.locations.end(),
            [](const model::LocationFinding& a, const model::LocationFinding& b) {
              return std::tie(a.provider, a.kind, a.account, a.region, a.name) <
                     std::tie(b.provider, b.kind, b.account, b.region, b.name);
            });

  if (options.requested_keys.empty()) {
    judge_all_locations(findings);
  } else {
    judge_requested_keys(inventory, options, findings);
  }
  return findings;
}

}  // namespace hsmproof::rules
