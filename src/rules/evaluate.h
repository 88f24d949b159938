#pragma once
// Turns an inventory into findings: finds the locations (DESIGN.md "A location exists where there
// is something to judge"), runs the baseline's checks on each, and applies the verdict rules.

#include <string>
#include <vector>

#include "model/findings.h"
#include "model/inventory.h"
#include "rules/baseline.h"

namespace hsmproof::rules {

struct EvaluateOptions {
  // --key values: KMS key id, key ARN, alias name ("alias/x") or alias ARN. Non-empty narrows the
  // overall verdict to the locations holding these keys.
  std::vector<std::string> requested_keys;
};

model::Findings evaluate(const model::Inventory& inventory, const Baseline& baseline,
                         const EvaluateOptions& options);

// Location verdict: fail if any check fails, else incomplete if any is incomplete, else pass.
model::Status location_verdict(const std::vector<model::CheckFinding>& checks);

}  // namespace hsmproof::rules
