#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "rules/baseline.h"
#include "rules/rule.h"
#include "rules/testing/check_scenarios.h"

namespace hsmproof::rules {

// Defined in the generated builtin_baselines.cpp.
const std::map<std::string, std::string>& builtin_baseline_sources();

namespace {

namespace fs = std::filesystem;

const fs::path kRulesDir = fs::path(HSMPROOF_SOURCE_DIR) / "src" / "rules";

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Catalog, EveryCheckHasPassFailAndIncompleteScenarios) {
  std::map<std::string, std::set<model::Status>> covered;
  for (const auto& scenario : testing::registered_scenarios()) {
    ASSERT_NE(find_check(scenario.check_id), nullptr) << scenario.check_id;
    // The scenario must still produce what it claims, or it proves nothing.
    const auto finding = testing::run_scenario(scenario);
    EXPECT_EQ(finding.status, scenario.expected)
        << scenario.check_id << " / " << scenario.name << ": " << finding.message;
    if (finding.status == scenario.expected) covered[scenario.check_id].insert(scenario.expected);
  }
  for (const Check& check : catalog()) {
    const auto& statuses = covered[std::string(check.metadata.id)];
    for (const auto status :
         {model::Status::kPass, model::Status::kFail, model::Status::kIncomplete}) {
      EXPECT_EQ(statuses.count(status), 1u)
          << check.metadata.id << " has no " << model::to_string(status) << " scenario";
    }
  }
}

TEST(Catalog, ChecksShareDeclaredKindsWithTheirScenarios) {
  for (const auto& scenario : testing::registered_scenarios()) {
    const Check* check = find_check(scenario.check_id);
    ASSERT_NE(check, nullptr);
    EXPECT_TRUE(check->metadata.runs_in(scenario.location_kind))
        << scenario.check_id << " does not run in " << scenario.location_kind;
  }
}

TEST(Catalog, MetadataIsComplete) {
  std::set<std::string_view> ids;
  for (const Check& check : catalog()) {
    const CheckMetadata& meta = check.metadata;
    EXPECT_TRUE(ids.insert(meta.id).second) << "duplicate id " << meta.id;
    EXPECT_FALSE(meta.title.empty()) << meta.id;
    EXPECT_TRUE(meta.location_kind == kAwsKmsLocation || meta.location_kind == kAwsCloudHsmLocation)
        << meta.id;
    EXPECT_TRUE(meta.severity == "high" || meta.severity == "medium") << meta.id;
    EXPECT_FALSE(meta.permissions.empty()) << meta.id;
    EXPECT_TRUE(meta.requirement.find("CSBR") != std::string_view::npos ||
                meta.requirement.find("Entrust") != std::string_view::npos)
        << meta.id << " must quote its source";
    EXPECT_NE(check.evaluate_aws_region, nullptr) << meta.id;
    EXPECT_EQ(find_check(meta.id), &check);
  }
  EXPECT_EQ(find_check("no_such_check"), nullptr);
}

TEST(Catalog, CheckIdsEqualTheirFileNames) {
  for (const Check& check : catalog()) {
    const std::string id(check.metadata.id);
    const fs::path source = kRulesDir / (id + ".cpp");
    ASSERT_TRUE(fs::exists(source)) << source;
    EXPECT_TRUE(fs::exists(kRulesDir / (id + "_test.cpp"))) << id;
    EXPECT_NE(read_text(source).find(".id = \"" + id + "\""), std::string::npos)
        << source << " does not define " << id;
  }
  // And every source file beside them is a check, or one of the engine's own files.
  const std::set<std::string> engine_files = {"baseline", "catalog", "evaluate"};
  for (const auto& entry : fs::directory_iterator(kRulesDir)) {
    const std::string stem = entry.path().stem().string();
    if (entry.path().extension() != ".cpp" || stem.ends_with("_test")) continue;
    if (engine_files.count(stem) != 0) continue;
    EXPECT_NE(find_check(stem), nullptr) << entry.path() << " is named like no check";
  }
}

TEST(Catalog, EveryBuiltinBaselineNamesOnlyExistingChecks) {
  ASSERT_FALSE(builtin_baseline_sources().empty());
  for (const auto& [name, text] : builtin_baseline_sources()) {
    // Read the raw file too, so a parser that skipped ids could not hide one.
    const auto raw = nlohmann::json::parse(text);
    for (const auto& [kind, ids] : raw.at("checks").items()) {
      for (const auto& id : ids) {
        const Check* check = find_check(id.get<std::string>());
        ASSERT_NE(check, nullptr) << name << " names unknown check " << id;
        EXPECT_TRUE(check->metadata.runs_in(kind)) << name << ": " << id << " in " << kind;
      }
    }
    const auto baseline = builtin_baseline(name);
    EXPECT_TRUE(baseline.ok()) << (baseline.ok() ? "" : baseline.error().describe());
  }
}

TEST(Catalog, PermissionsIncludeTheScanAndEveryCheck) {
  const auto permissions = aws_required_permissions(testing::entrust());
  const std::vector<std::string_view> expected = {
      "cloudhsm:DescribeClusters",   "cloudtrail:DescribeTrails", "cloudtrail:GetEventSelectors",
      "cloudtrail:GetTrailStatus",   "ec2:DescribeRegions",       "kms:DescribeKey",
      "kms:ListAliases",             "kms:ListKeys",              "sts:GetCallerIdentity"};
  EXPECT_EQ(permissions, expected);
}

}  // namespace
}  // namespace hsmproof::rules
