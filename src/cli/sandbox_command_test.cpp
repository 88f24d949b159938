#include "cli/sandbox_command.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/cli.h"
#include "sandbox/scenario.h"

extern char** environ;  // NOLINT: POSIX

namespace hsmproof::cli {
namespace {

using nlohmann::json;

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

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// scan --sandbox rewrites the process's AWS_* and AZURE_* variables; other tests must not see it.
class CloudEnvironmentGuard {
 public:
  CloudEnvironmentGuard() {
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
      const std::string variable = *entry;
      const std::size_t equals = variable.find('=');
      const std::string name = variable.substr(0, equals);
      if (name.rfind("AWS_", 0) == 0 || name.rfind("AZURE_", 0) == 0 || name == "SSL_CERT_FILE") {
        saved_[name] = variable.substr(equals + 1);
      }
    }
  }
  ~CloudEnvironmentGuard() {
    std::vector<std::string> current;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
      const std::string variable = *entry;
      const std::string name = variable.substr(0, variable.find('='));
      if (name.rfind("AWS_", 0) == 0 || name.rfind("AZURE_", 0) == 0 || name == "SSL_CERT_FILE") {
        current.push_back(name);
      }
    }
    for (const auto& name : current) ::unsetenv(name.c_str());
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  std::map<std::string, std::string> saved_;
};

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hsmproof-cli-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST(ExportLine, QuotesOnlyWhatAShellWouldMisread) {
  EXPECT_EQ(export_line("AWS_REGION", "eu-west-1"), "export AWS_REGION=eu-west-1");
  EXPECT_EQ(export_line("AWS_ENDPOINT_URL", "https://127.0.0.1:8443"),
            "export AWS_ENDPOINT_URL=https://127.0.0.1:8443");
  EXPECT_EQ(export_line("AWS_SECRET_ACCESS_KEY", "wJal/K7+b="),
            "export AWS_SECRET_ACCESS_KEY=wJal/K7+b=");
  EXPECT_EQ(export_line("AZURE_CLIENT_SECRET", "a~b c"), "export AZURE_CLIENT_SECRET='a~b c'");
  EXPECT_EQ(export_line("X", "it's $HOME"), "export X='it'\\''s $HOME'");
  EXPECT_EQ(export_line("X", ""), "export X=''");
}

TEST(ListenAddress, LoopbackOnly) {
  EXPECT_EQ(parse_listen_address("127.0.0.1:8443").value(),
            std::make_pair(std::string("127.0.0.1"), 8443));
  EXPECT_EQ(parse_listen_address("[::1]:0").value(), std::make_pair(std::string("::1"), 0));
  EXPECT_EQ(parse_listen_address("localhost").value(), std::make_pair(std::string("localhost"), 0));
  EXPECT_EQ(parse_listen_address("::1").value(), std::make_pair(std::string("::1"), 0));
  EXPECT_NE(parse_listen_address("0.0.0.0:80").error().message.find("loopback only"),
            std::string::npos);
  EXPECT_FALSE(parse_listen_address("192.168.1.10:443").ok());
  EXPECT_FALSE(parse_listen_address("127.0.0.1:99999").ok());
  EXPECT_FALSE(parse_listen_address("127.0.0.1:http").ok());
  EXPECT_FALSE(parse_listen_address(":8080").ok());
}

TEST(SandboxCommand, RefusesANonLoopbackAddressOnOneLine) {
  const auto result = run_cli({"sandbox", "--listen", "0.0.0.0:8443"});
  EXPECT_EQ(result.code, kExitUsage);
  EXPECT_EQ(lines(result.err), 1U) << result.err;
  EXPECT_NE(result.err.find("loopback only"), std::string::npos);
  EXPECT_EQ(result.out, "");
}

TEST(SandboxCommand, BadScenarioAndFaultFlagsAreUsageErrors) {
  TempDir dir;
  std::ofstream(dir.file("bad.json")) << R"({"aws": {"accounts": [{"account_id": "12"}]}})";
  const auto bad = run_cli({"sandbox", "--scenario", dir.file("bad.json")});
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_EQ(lines(bad.err), 1U);
  EXPECT_NE(bad.err.find("aws.accounts[0].account_id: \"12\" is not an AWS account id"),
            std::string::npos)
      << bad.err;

  const auto fault = run_cli({"sandbox", "--fault", "explode:kms"});
  EXPECT_EQ(fault.code, kExitUsage);
  EXPECT_NE(fault.err.find("--fault explode:kms: kind: \"explode\" is not a fault kind"),
            std::string::npos)
      << fault.err;

  const auto output = run_cli({"sandbox", "--output", dir.file("x.json")});
  EXPECT_EQ(output.code, kExitUsage);
}

TEST(SandboxCommand, GenerateWritesAScenarioThatLoads) {
  const auto printed =
      run_cli({"sandbox", "--generate", "accounts=1,regions=2,keys=3,subscriptions=1,vaults=1"});
  ASSERT_EQ(printed.code, kExitPass) << printed.err;
  const auto parsed = sandbox::parse_scenario(printed.out, "stdout");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed.value().aws_accounts.at(0).keys.size(), 6U);

  TempDir dir;
  const auto written =
      run_cli({"sandbox", "--generate", "accounts=1,regions=2,keys=3,subscriptions=1,vaults=1",
               "--output", dir.file("big.json")});
  ASSERT_EQ(written.code, kExitPass) << written.err;
  EXPECT_EQ(written.out, "");
  std::ifstream file(dir.file("big.json"));
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(text.str(), printed.out) << "the same spec gives the same file";

  const auto bad = run_cli({"sandbox", "--generate", "acounts=1"});
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_EQ(lines(bad.err), 1U);
  EXPECT_NE(bad.err.find("\"acounts\" is not a generator setting"), std::string::npos);
}

TEST(ScanSandbox, ScenarioNeedsSandboxAndSandboxRefusesAProfile) {
  EXPECT_EQ(run_cli({"scan", "--scenario", "x.json"}).code, kExitUsage);
  EXPECT_EQ(run_cli({"scan", "--sandbox", "--profile", "prod"}).code, kExitUsage);
}

TEST(ScanSandbox, BadScenarioFileIsAUsageErrorWithTheParsersLine) {
  CloudEnvironmentGuard guard;
  TempDir dir;
  std::ofstream(dir.file("org.json")) << R"({"aws": {"accounts": [{"account_id": "111122223333",
      "keys": [{"region": "eu-west-1", "key_spec": "RSA_1024"}]}]}})";
  const auto result = run_cli({"scan", "--sandbox", "--scenario", dir.file("org.json")});
  EXPECT_EQ(result.code, kExitUsage);
  EXPECT_EQ(lines(result.err), 1U) << result.err;
  EXPECT_NE(
      result.err.find("hsmproof scan: scenario " + dir.file("org.json") +
                      ": aws.accounts[0].keys[0].key_spec: \"RSA_1024\" is not a KMS KeySpec"),
      std::string::npos)
      << result.err;
}

TEST(ScanSandbox, ReportsPassingAndFailingAwsLocations) {
  CloudEnvironmentGuard guard;
  // What a user may have set must not leak into the sandbox scan.
  ::setenv("AWS_PROFILE", "some-profile-that-does-not-exist", 1);
  ::setenv("AWS_ENDPOINT_URL_KMS", "https://kms.invalid", 1);
  ::setenv("AWS_SESSION_TOKEN", "stale", 1);
  const auto result = run_cli({"scan", "--sandbox", "--format", "json", "--quiet"});
  ASSERT_EQ(result.code, kExitPass) << result.err << result.out;
  const json report = json::parse(result.out);
  EXPECT_EQ(report["verdict"], "pass");
  std::map<std::string, std::string> verdicts;
  for (const auto& location : report["locations"]) {
    if (location["provider"] != "aws") continue;
    EXPECT_EQ(location["account"], "111122223333");
    verdicts[location["kind"].get<std::string>() + " " + location["region"].get<std::string>()] =
        location["verdict"];
  }
  EXPECT_EQ(verdicts["aws-kms eu-west-1"], "pass") << report.dump(2);
  EXPECT_EQ(verdicts["aws-kms us-east-1"], "fail");
  EXPECT_EQ(verdicts["aws-kms eu-central-1"], "fail");
  EXPECT_EQ(verdicts["aws-kms ap-southeast-2"], "fail");
  EXPECT_EQ(verdicts["aws-cloudhsm eu-west-1"], "pass");
  EXPECT_EQ(verdicts["aws-cloudhsm us-east-1"], "fail");
  EXPECT_EQ(verdicts["aws-cloudhsm ap-southeast-2"], "pass");
  EXPECT_EQ(verdicts.count("aws-kms us-west-2"), 0U) << "an empty region is no location";

  // Every AWS check fails somewhere in the default scenario.
  std::map<std::string, std::set<std::string>> statuses;
  for (const auto& location : report["locations"]) {
    for (const auto& check : location["checks"]) {
      statuses[check["id"].get<std::string>()].insert(check["status"].get<std::string>());
    }
  }
  for (const char* check :
       {"aws_kms_cmk_origin", "aws_kms_cmk_asymmetric", "aws_kms_cmk_rsa_3072_4096",
        "aws_kms_cmk_usage", "aws_kms_sign_verify_key", "aws_cloudtrail_logging",
        "aws_cloudhsm_active_cluster"}) {
    EXPECT_TRUE(statuses[check].count("fail")) << check;
    EXPECT_TRUE(statuses[check].count("pass")) << check;
  }
}

}  // namespace
}  // namespace hsmproof::cli
