#include "cli/cli.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace hsmproof::cli {
namespace {

struct Captured {
  int code;
  std::string out;
  std::string err;
};

Captured run_cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  Io io{out, err};
  const int code = run(args, io);
  return {code, out.str(), err.str()};
}

TEST(Cli, UnknownCommandSuggestsTheClosestOne) {
  const auto result = run_cli({"scna"});
  EXPECT_EQ(result.code, kExitUsage);
  EXPECT_NE(result.err.find("did you mean 'scan'?"), std::string::npos) << result.err;
}

TEST(Cli, UnknownCommandFarFromAnyGetsNoSuggestion) {
  const auto result = run_cli({"frobnicate"});
  EXPECT_EQ(result.code, kExitUsage);
  EXPECT_EQ(result.err.find("did you mean"), std::string::npos);
}

TEST(Cli, VersionAndHelp) {
  EXPECT_EQ(run_cli({"--version"}).out, std::string("hsmproof ") + version() + "\n");
  const auto help = run_cli({"--help"});
  EXPECT_EQ(help.code, kExitPass);
  for (const auto& command : commands()) {
    EXPECT_NE(help.out.find(command.name), std::string::npos);
  }
  EXPECT_EQ(run_cli({}).code, kExitUsage);
}

TEST(Cli, EveryCommandHasHelp) {
  for (const auto& command : commands()) {
    const auto result = run_cli({command.name, "--help"});
    EXPECT_EQ(result.code, kExitPass) << command.name;
    EXPECT_NE(result.out.find("--"), std::string::npos) << command.name;
  }
}

TEST(Cli, UnknownFlagIsAUsageErrorOnOneLine) {
  const auto result = run_cli({"scan", "--aws", "--regoin", "eu-west-1"});
  EXPECT_EQ(result.code, kExitUsage);
  EXPECT_NE(result.err.find("--regoin"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("--help"), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

TEST(Cli, BadFormatAndUnknownBaselineAreUsageErrors) {
  EXPECT_EQ(run_cli({"scan", "--format", "yaml"}).code, kExitUsage);
  const auto baseline = run_cli({"scan", "--baseline", "nosuch"});
  EXPECT_EQ(baseline.code, kExitUsage);
  EXPECT_NE(baseline.err.find("nosuch"), std::string::npos) << baseline.err;
}

TEST(Cli, PermissionsAwsIsAnIamPolicyCoveringEveryCall) {
  const auto result = run_cli({"permissions", "aws"});
  ASSERT_EQ(result.code, kExitPass) << result.err;
  const auto policy = nlohmann::json::parse(result.out);
  EXPECT_EQ(policy["Version"], "2012-10-17");
  const auto& actions = policy["Statement"][0]["Action"];
  for (const char* needed :
       {"kms:ListKeys", "kms:DescribeKey", "kms:ListAliases", "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors", "cloudhsm:DescribeClusters",
        "ec2:DescribeRegions"}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), needed), actions.end()) << needed;
  }
  for (const auto& action : actions) {
    const std::string name = action;
    EXPECT_TRUE(name.find("Describe") != std::string::npos ||
                name.find("List") != std::string::npos || name.find("Get") != std::string::npos)
        << "not read-only: " << name;
  }
  EXPECT_EQ(run_cli({"permissions", "gcp"}).code, kExitUsage);
}

TEST(Cli, RulesListsEveryCheckOfTheBaseline) {
  const auto result = run_cli({"rules", "--format", "json"});
  ASSERT_EQ(result.code, kExitPass) << result.err;
  const auto list = nlohmann::json::parse(result.out);
  std::vector<std::string> ids;
  for (const auto& entry : list) {
    ids.push_back(entry["id"]);
    EXPECT_FALSE(entry["requirement"].get<std::string>().empty());
    EXPECT_FALSE(entry["permissions"].empty());
  }
  for (const char* id : {"aws_kms_cmk_origin", "aws_kms_cmk_asymmetric", "aws_kms_cmk_rsa_3072_4096",
                         "aws_kms_cmk_usage", "aws_kms_sign_verify_key", "aws_cloudtrail_logging",
                         "aws_cloudhsm_active_cluster"}) {
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
  }
}

}  // namespace
}  // namespace hsmproof::cli
