#pragma once
// A check: metadata (data beside the code) and one evaluation function. One check = one .cpp
// named by its id, with its _test.cpp beside it. Rules never see JSON or HTTP.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "model/findings.h"
#include "model/inventory.h"
#include "rules/baseline.h"

namespace hsmproof::rules {

inline constexpr std::string_view kAwsKmsLocation = "aws-kms";
inline constexpr std::string_view kAwsCloudHsmLocation = "aws-cloudhsm";

struct CheckMetadata {
  std::string_view id;
  std::string_view title;
  std::string_view location_kind;  // "aws-kms", "aws-cloudhsm", ...
  std::string_view requirement;    // the requirement text it implements, with its source
  std::string_view severity;       // "high" | "medium"
  std::vector<std::string_view> permissions;  // IAM actions / Azure permissions it needs
  // Baseline parameters it reads; a baseline that runs the check must define each of them.
  std::vector<std::string_view> parameters;
  // Further kinds it runs in (aws_cloudtrail_logging judges aws-kms and aws-cloudhsm alike).
  std::vector<std::string_view> additional_location_kinds;

  [[nodiscard]] bool runs_in(std::string_view kind) const;
};

// What a rule sees: one location's facts and the baseline's parameters.
struct AwsRegionContext {
  const model::AwsRegionInventory& region;
  const Baseline& baseline;
  // The location being judged ("aws-kms" or "aws-cloudhsm"): a check shared by both kinds may
  // judge them differently (KMS event exclusion matters only for aws-kms).
  std::string_view location_kind;
};

using AwsRegionCheck = model::CheckFinding (*)(const AwsRegionContext&);

struct Check {
  CheckMetadata metadata;
  AwsRegionCheck evaluate_aws_region = nullptr;  // for aws-kms and aws-cloudhsm
};

// Every check, in a stable order.
const std::vector<Check>& catalog();
const Check* find_check(std::string_view id);

// What the scan itself needs before any check runs: the account and the enabled regions.
const std::vector<std::string_view>& aws_scan_permissions();
// The scan's permissions plus those of every AWS check the baseline runs, sorted and unique.
std::vector<std::string_view> aws_required_permissions(const Baseline& baseline);

}  // namespace hsmproof::rules
