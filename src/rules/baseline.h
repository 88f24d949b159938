#pragma once
// Baselines are data: which checks each location kind runs, and their parameters. The built-in
// ones (entrust, csbr) are JSON files compiled into the binary.

#include <map>
#include <string>
#include <vector>

#include "core/result.h"

namespace hsmproof::rules {

struct Baseline {
  std::string name;
  std::string title;
  std::string description;
  // location kind -> check ids, in report order
  std::map<std::string, std::vector<std::string>> checks_by_kind;
  // parameter name -> allowed values (e.g. "aws_kms_allowed_key_specs": ["RSA_3072", "RSA_4096"])
  std::map<std::string, std::vector<std::string>> params;

  [[nodiscard]] const std::vector<std::string>& param(const std::string& name) const;
  [[nodiscard]] bool param_contains(const std::string& name, const std::string& value) const;
};

Result<Baseline> parse_baseline(const std::string& json_text, const std::string& source_name);
Result<Baseline> builtin_baseline(const std::string& name);
std::vector<std::string> builtin_baseline_names();

}  // namespace hsmproof::rules
