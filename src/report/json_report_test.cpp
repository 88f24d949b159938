#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/report.h"
#include "report/testdata/sample_findings.h"

namespace hsmproof::report {
namespace {

using nlohmann::json;

json parse_report(const model::Findings& findings) {
  const std::string text = render_json(findings, fixtures::sample_context());
  return json::parse(text);  // throws, and so fails the test, on invalid JSON
}

void expect_string(const json& object, const char* key) {
  ASSERT_TRUE(object.contains(key)) << "missing " << key << " in " << object.dump();
  EXPECT_TRUE(object.at(key).is_string()) << key << " is not a string in " << object.dump();
}

void expect_array(const json& object, const char* key) {
  ASSERT_TRUE(object.contains(key)) << "missing " << key << " in " << object.dump();
  EXPECT_TRUE(object.at(key).is_array()) << key << " is not an array in " << object.dump();
}

void expect_status(const json& object, const char* key, const std::vector<std::string>& allowed) {
  expect_string(object, key);
  const std::string value = object.at(key).get<std::string>();
  EXPECT_NE(std::find(allowed.begin(), allowed.end(), value), allowed.end())
      << key << " has unexpected value " << value;
}

const std::vector<std::string> kVerdicts = {"pass", "fail", "incomplete"};
const std::vector<std::string> kStatuses = {"pass", "fail", "incomplete", "not_applicable"};

TEST(JsonReportTest, EveryContractFieldIsPresentWithItsType) {
  const json report = parse_report(fixtures::sample_findings());
  ASSERT_TRUE(report.is_object());

  expect_status(report, "verdict", kVerdicts);
  expect_string(report, "verdict_reason");
  expect_string(report, "baseline");
  expect_string(report, "trust_level");
  expect_string(report, "generated_at");
  ASSERT_TRUE(report.contains("tool"));
  ASSERT_TRUE(report["tool"].is_object());
  expect_string(report["tool"], "name");
  expect_string(report["tool"], "version");
  expect_array(report, "requested_keys");
  for (const auto& key : report["requested_keys"]) EXPECT_TRUE(key.is_string());

  expect_array(report, "errors");
  ASSERT_EQ(report["errors"].size(), 2u);
  for (const auto& error : report["errors"]) {
    for (const char* key : {"operation", "region", "code", "request_id", "message"}) {
      expect_string(error, key);
    }
    ASSERT_TRUE(error.contains("http_status"));
    EXPECT_TRUE(error["http_status"].is_number_integer() || error["http_status"].is_null());
  }

  ASSERT_TRUE(report.contains("summary"));
  for (const char* group : {"locations", "checks"}) {
    ASSERT_TRUE(report["summary"].contains(group)) << group;
    for (const char* key : {"pass", "fail", "incomplete", "not_applicable", "total"}) {
      ASSERT_TRUE(report["summary"][group].contains(key)) << group << "." << key;
      EXPECT_TRUE(report["summary"][group][key].is_number_integer()) << group << "." << key;
    }
  }

  expect_array(report, "locations");
  ASSERT_EQ(report["locations"].size(), 4u);
  for (const auto& location : report["locations"]) {
    expect_status(location, "provider", {"aws", "azure"});
    expect_string(location, "kind");
    expect_string(location, "account");
    expect_string(location, "region");
    expect_string(location, "name");
    expect_status(location, "verdict", kVerdicts);
    ASSERT_TRUE(location.contains("holds_requested_key"));
    EXPECT_TRUE(location["holds_requested_key"].is_boolean());
    expect_array(location, "checks");
    ASSERT_FALSE(location["checks"].empty());
    for (const auto& check : location["checks"]) {
      expect_string(check, "id");
      expect_string(check, "title");
      expect_status(check, "status", kStatuses);
      expect_string(check, "message");
      expect_array(check, "resources");
      for (const auto& resource : check["resources"]) {
        expect_string(resource, "id");
        expect_status(resource, "status", kStatuses);
        expect_string(resource, "detail");
      }
      expect_array(check, "warnings");
      for (const auto& warning : check["warnings"]) EXPECT_TRUE(warning.is_string());
      expect_array(check, "remediation");
      for (const auto& command : check["remediation"]) EXPECT_TRUE(command.is_string());
    }
  }
}

TEST(JsonReportTest, ValuesComeFromFindingsAndContext) {
  const json report = parse_report(fixtures::sample_findings());
  EXPECT_EQ(report["verdict"], "fail");
  EXPECT_EQ(report["verdict_reason"], "the location holding the requested key fails");
  EXPECT_EQ(report["baseline"], "entrust");
  EXPECT_EQ(report["trust_level"], "self-collected");
  EXPECT_EQ(report["tool"]["name"], "hsmproof");
  EXPECT_EQ(report["tool"]["version"], "0.1.0");
  EXPECT_EQ(report["generated_at"], "2024-05-01T12:00:00Z");
  EXPECT_EQ(report["requested_keys"], json::array({"alias/codesign"}));

  const json& denied = report["errors"][0];
  EXPECT_EQ(denied["operation"], "ec2:DescribeRegions");
  EXPECT_EQ(denied["region"], "us-east-1");
  EXPECT_EQ(denied["http_status"], 403);
  EXPECT_EQ(denied["code"], "UnauthorizedOperation");
  EXPECT_EQ(denied["request_id"], "5f2c9a1e-0000-4c2b-9d0e-3a7b1c2d4e5f");
  EXPECT_EQ(denied["message"], "You are not authorized to perform this operation.");
  // No HTTP answer arrived: null, not a made-up status.
  EXPECT_TRUE(report["errors"][1]["http_status"].is_null());

  const json& kms = report["locations"][1];
  EXPECT_EQ(kms["provider"], "aws");
  EXPECT_EQ(kms["kind"], "aws-kms");
  EXPECT_EQ(kms["account"], "123456789012");
  EXPECT_EQ(kms["region"], "eu-west-1");
  EXPECT_EQ(kms["name"], "");
  EXPECT_EQ(kms["verdict"], "fail");
  EXPECT_EQ(kms["holds_requested_key"], true);
  const json& rsa = kms["checks"][1];
  EXPECT_EQ(rsa["id"], "aws_kms_cmk_rsa_3072_4096");
  EXPECT_EQ(rsa["status"], "fail");
  ASSERT_EQ(rsa["resources"].size(), 2u);
  EXPECT_EQ(rsa["resources"][1]["status"], "fail");
  EXPECT_EQ(rsa["resources"][1]["detail"], "KeySpec RSA_2048 (needs RSA_3072 or RSA_4096)");
  ASSERT_EQ(rsa["remediation"].size(), 2u);
  EXPECT_EQ(rsa["remediation"][1],
            "aws kms create-key --region eu-west-1 --key-spec RSA_4096 --key-usage SIGN_VERIFY");
  EXPECT_EQ(kms["checks"][2]["warnings"][0], "trail audit is a shadow trail of another region");

  const json& vault = report["locations"][3];
  EXPECT_EQ(vault["provider"], "azure");
  EXPECT_EQ(vault["name"], "codesign-kv");
  EXPECT_EQ(vault["checks"][1]["status"], "not_applicable");
}

TEST(JsonReportTest, SummaryCountsLocationsByVerdictAndChecksByStatus) {
  const json summary = parse_report(fixtures::sample_findings())["summary"];
  EXPECT_EQ(
      summary["locations"],
      json({{"pass", 1}, {"fail", 2}, {"incomplete", 1}, {"not_applicable", 0}, {"total", 4}}));
  EXPECT_EQ(
      summary["checks"],
      json({{"pass", 4}, {"fail", 2}, {"incomplete", 2}, {"not_applicable", 1}, {"total", 9}}));
}

TEST(JsonReportTest, KeepsLocationAndCheckOrderAsGiven) {
  model::Findings findings = fixtures::sample_findings();
  std::swap(findings.locations[0], findings.locations[3]);
  std::swap(findings.locations[1].checks[0], findings.locations[1].checks[2]);
  const json report = parse_report(findings);
  EXPECT_EQ(report["locations"][0]["kind"], "azure-keyvault");
  EXPECT_EQ(report["locations"][3]["kind"], "aws-cloudhsm");
  EXPECT_EQ(report["locations"][1]["checks"][0]["id"], "aws_cloudtrail_logging");
  EXPECT_EQ(report["locations"][1]["checks"][2]["id"], "aws_kms_cmk_origin");
}

TEST(JsonReportTest, KeysAppearInAFixedOrder) {
  // ordered_json keeps insertion order; a plain parse would sort, so read the keys back in order.
  const std::string text = render_json(fixtures::sample_findings(), fixtures::sample_context());
  const auto report = nlohmann::ordered_json::parse(text);
  std::vector<std::string> top_level;
  for (const auto& item : report.items()) top_level.push_back(item.key());
  EXPECT_EQ(top_level, (std::vector<std::string>{
                           "verdict", "verdict_reason", "baseline", "trust_level", "tool",
                           "generated_at", "requested_keys", "errors", "summary", "locations"}));
  std::vector<std::string> location_keys;
  for (const auto& item : report["locations"][0].items()) location_keys.push_back(item.key());
  EXPECT_EQ(location_keys,
            (std::vector<std::string>{"provider", "kind", "account", "region", "name", "verdict",
                                      "holds_requested_key", "checks"}));
  std::vector<std::string> check_keys;
  for (const auto& item : report["locations"][0]["checks"][0].items()) {
    check_keys.push_back(item.key());
  }
  EXPECT_EQ(check_keys, (std::vector<std::string>{"id", "title", "status", "message", "resources",
                                                  "warnings", "remediation"}));
}

TEST(JsonReportTest, IsIndentedByTwoSpacesAndEndsWithANewline) {
  const std::string text = render_json(fixtures::scope_only_findings(), fixtures::sample_context());
  EXPECT_EQ(text.rfind("{\n  \"verdict\": \"incomplete\",\n", 0), 0u) << text;
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.substr(text.size() - 2), "\n\n");
}

TEST(JsonReportTest, RendersTheSameBytesEveryTime) {
  const model::Findings findings = fixtures::sample_findings();
  const std::string first = render_json(findings, fixtures::sample_context());
  const std::string second = render_json(fixtures::sample_findings(), fixtures::sample_context());
  EXPECT_EQ(first, second);
}

TEST(JsonReportTest, IgnoresColourAndDependsOnTheInjectedTime) {
  const model::Findings findings = fixtures::sample_findings();
  EXPECT_EQ(render_json(findings, fixtures::sample_context(false)),
            render_json(findings, fixtures::sample_context(true)));
  ReportContext later = fixtures::sample_context();
  later.generated_at += std::chrono::hours(24) + std::chrono::milliseconds(750);
  EXPECT_EQ(json::parse(render_json(findings, later))["generated_at"], "2024-05-02T12:00:00Z");
}

TEST(JsonReportTest, InvalidUtf8FromAProviderStillYieldsValidJson) {
  model::Findings findings = fixtures::sample_findings();
  findings.locations[0].checks[0].message = "bad \xff\xfe bytes";
  findings.scope_errors[0].message = "truncated \xe2\x82";
  std::string text;
  ASSERT_NO_THROW(text = render_json(findings, fixtures::sample_context()));
  const json report = json::parse(text);
  EXPECT_EQ(report["locations"][0]["checks"][0]["message"], "bad \xef\xbf\xbd\xef\xbf\xbd bytes");
}

TEST(JsonReportTest, ControlCharactersAreEscaped) {
  model::Findings findings = fixtures::sample_findings();
  findings.locations[0].checks[0].message = "line\nbreak \x1b[31m";
  const std::string text = render_json(findings, fixtures::sample_context());
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(json::parse(text)["locations"][0]["checks"][0]["message"], "line\nbreak \x1b[31m");
}

TEST(JsonReportTest, EmptyFindingsStillCarryEveryTopLevelField) {
  const json report = parse_report(model::Findings{});
  EXPECT_EQ(report["verdict"], "incomplete");
  EXPECT_EQ(report["baseline"], "");
  EXPECT_TRUE(report["locations"].is_array());
  EXPECT_TRUE(report["locations"].empty());
  EXPECT_TRUE(report["errors"].empty());
  EXPECT_EQ(report["summary"]["locations"]["total"], 0);
}

}  // namespace
}  // namespace hsmproof::report
