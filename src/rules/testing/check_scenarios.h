#pragma once
// Each check's test registers its pass, fail and incomplete scenarios here; the check's own test
// runs them, and catalog_test proves every catalog check has all three and that each still gives
// the status it claims.

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "model/findings.h"
#include "model/inventory.h"
#include "rules/testing/aws_fixtures.h"

namespace hsmproof::rules::testing {

struct CheckScenario {
  std::string check_id;
  std::string name;
  std::string location_kind;
  std::function<model::AwsRegionInventory()> inventory;
  model::Status expected;
};

inline std::vector<CheckScenario>& registered_scenarios() {
  static std::vector<CheckScenario> scenarios;
  return scenarios;
}

struct ScenarioRegistration {
  explicit ScenarioRegistration(std::vector<CheckScenario> scenarios) {
    for (auto& scenario : scenarios) registered_scenarios().push_back(std::move(scenario));
  }
};

inline model::CheckFinding run_scenario(const CheckScenario& scenario) {
  return run_check(scenario.check_id, scenario.inventory(), scenario.location_kind);
}

// Runs every registered scenario of one check; returns how many ran.
inline std::size_t expect_registered_scenarios(const std::string& check_id) {
  std::size_t ran = 0;
  for (const CheckScenario& scenario : registered_scenarios()) {
    if (scenario.check_id != check_id) continue;
    ++ran;
    const model::CheckFinding finding = run_scenario(scenario);
    EXPECT_EQ(finding.id, check_id);
    EXPECT_EQ(model::to_string(finding.status), std::string(model::to_string(scenario.expected)))
        << scenario.name << ": " << finding.message;
    EXPECT_FALSE(finding.message.empty()) << scenario.name;
    if (finding.status == model::Status::kFail) {
      EXPECT_FALSE(finding.remediation.empty()) << scenario.name << ": a failure needs its fix";
    }
  }
  return ran;
}

}  // namespace hsmproof::rules::testing
