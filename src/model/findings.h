#pragma once
// What the rule engine concludes: locations, their checks and verdicts. Reports render these;
// they are provider-neutral and carry no JSON or HTTP.

#include <string>
#include <vector>

#include "core/result.h"

namespace hsmproof::model {

enum class Status { kPass, kFail, kIncomplete, kNotApplicable };
const char* to_string(Status status);  // "pass", "fail", "incomplete", "not_applicable"

struct ResourceFinding {
  std::string id;  // key ARN, trail ARN, cluster id, ...
  Status status = Status::kIncomplete;
  std::string detail;  // "KeySpec RSA_2048 (needs RSA_3072 or RSA_4096)"
};

struct CheckFinding {
  std::string id;  // stable check id, e.g. "aws_kms_cmk_origin"
  std::string title;
  Status status = Status::kIncomplete;
  std::string message;  // one line: why this status
  std::vector<ResourceFinding> resources;
  std::vector<std::string> warnings;
  std::vector<std::string> remediation;  // exact commands that fix a failure
};

struct LocationFinding {
  std::string provider;  // "aws" | "azure"
  std::string kind;      // "aws-kms" | "aws-cloudhsm" | "azure-keyvault" | "azure-managedhsm"
  std::string account;   // AWS account id or Azure subscription id
  std::string region;
  std::string name;  // vault/HSM name; empty for AWS kinds
  Status verdict = Status::kIncomplete;
  std::vector<CheckFinding> checks;
  // True when this location holds a key named by --key.
  bool holds_requested_key = false;
};

struct Findings {
  std::string baseline;
  Status verdict = Status::kIncomplete;
  std::string verdict_reason;  // one line explaining the overall verdict
  std::vector<LocationFinding> locations;  // sorted: provider, kind, account, region, name
  std::vector<std::string> requested_keys;  // --key values, as given
  std::vector<Error> scope_errors;         // could not determine what to scan
};

}  // namespace hsmproof::model
