#include <algorithm>
#include <set>

#include "rules/checks.h"
#include "rules/rule.h"

namespace hsmproof::rules {

bool CheckMetadata::runs_in(std::string_view kind) const {
  return kind == location_kind ||
         std::find(additional_location_kinds.begin(), additional_location_kinds.end(), kind) !=
             additional_location_kinds.end();
}

const std::vector<Check>& catalog() {
  static const std::vector<Check> checks = {
      checks::aws_kms_cmk_origin(),      checks::aws_kms_cmk_asymmetric(),
      checks::aws_kms_cmk_rsa_3072_4096(), checks::aws_kms_cmk_usage(),
      checks::aws_kms_sign_verify_key(), checks::aws_cloudtrail_logging(),
      checks::aws_cloudhsm_active_cluster(),
  };
  return checks;
}

const Check* find_check(std::string_view id) {
  const auto& checks = catalog();
  const auto found = std::find_if(checks.begin(), checks.end(),
                                  [id](const Check& check) { return check.metadata.id == id; });
  return found == checks.end() ? nullptr : &*found;
}

const std::vector<std::string_view>& aws_scan_permissions() {
  // GetCallerIdentity needs no grant, but listing it documents the call the scan makes.
  static const std::vector<std::string_view> permissions = {"sts:GetCallerIdentity",
                                                            "ec2:DescribeRegions"};
  return permissions;
}

std::vector<std::string_view> aws_required_permissions(const Baseline& baseline) {
  std::set<std::string_view> permissions(aws_scan_permissions().begin(),
                                         aws_scan_permissions().end());
  for (const auto& [kind, ids] : baseline.checks_by_kind) {
    if (!kind.starts_with("aws-")) continue;
    for (const std::string& id : ids) {
      if (const Check* check = find_check(id)) {
        permissions.insert(check->metadata.permissions.begin(), check->metadata.permissions.end());
      }
    }
  }
  return {permissions.begin(), permissions.end()};
}

}  // namespace hsmproof::rules
