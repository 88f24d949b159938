// Golden files pin the exact bytes of both reports. To accept an intended change, rerun with
// HSMPROOF_UPDATE_GOLDEN=1 and review the diff of src/report/testdata.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "report/report.h"
#include "report/testdata/sample_findings.h"

namespace hsmproof::report {
namespace {

std::string golden_path(const std::string& name) {
  return std::string(HSMPROOF_SOURCE_DIR) + "/src/report/testdata/" + name;
}

bool updating_golden() {
  const char* flag = std::getenv("HSMPROOF_UPDATE_GOLDEN");
  return flag != nullptr && std::string(flag) == "1";
}

void expect_matches_golden(const std::string& actual, const std::string& name) {
  const std::string path = golden_path(name);
  if (updating_golden()) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(out) << "cannot write " << path;
    out << actual;
    ASSERT_TRUE(out.good()) << "cannot write " << path;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path
                  << " (run with HSMPROOF_UPDATE_GOLDEN=1 to create it)";
  std::ostringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "differs from " << path;
}

TEST(GoldenTest, TextReport) {
  expect_matches_golden(render_text(fixtures::sample_findings(), fixtures::sample_context()),
                        "sample.txt");
}

TEST(GoldenTest, TextReportInColour) {
  expect_matches_golden(render_text(fixtures::sample_findings(), fixtures::sample_context(true)),
                        "sample_color.txt");
}

TEST(GoldenTest, JsonReport) {
  expect_matches_golden(render_json(fixtures::sample_findings(), fixtures::sample_context()),
                        "sample.json");
}

TEST(GoldenTest, ScopeOnlyTextReport) {
  expect_matches_golden(render_text(fixtures::scope_only_findings(), fixtures::sample_context()),
                        "scope_only.txt");
}

TEST(GoldenTest, ScopeOnlyJsonReport) {
  expect_matches_golden(render_json(fixtures::scope_only_findings(), fixtures::sample_context()),
                        "scope_only.json");
}

}  // namespace
}  // namespace hsmproof::report
