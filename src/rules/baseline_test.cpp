#include "rules/baseline.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace hsmproof::rules {
namespace {

const char* const kMinimal = R"({
  "name": "mini",
  "title": "Minimal",
  "checks": {"aws-cloudhsm": ["aws_cloudhsm_active_cluster", "aws_cloudtrail_logging"]}
})";

std::string parse_error_text(const std::string& json_text, const std::string& source) {
  const auto parsed = parse_baseline(json_text, source);
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? "" : parsed.error().describe();
}

TEST(Baseline, EntrustIsBuiltInAndComplete) {
  const auto names = builtin_baseline_names();
  ASSERT_NE(std::find(names.begin(), names.end(), "entrust"), names.end());
  const auto entrust = builtin_baseline("entrust");
  ASSERT_TRUE(entrust.ok()) << entrust.error().describe();
  EXPECT_EQ(entrust->name, "entrust");
  EXPECT_FALSE(entrust->title.empty());
  const std::vector<std::string> kms = {
      "aws_kms_cmk_origin",        "aws_kms_cmk_asymmetric",  "aws_kms_cmk_rsa_3072_4096",
      "aws_kms_cmk_usage",         "aws_kms_sign_verify_key", "aws_cloudtrail_logging"};
  EXPECT_EQ(entrust->checks_by_kind.at("aws-kms"), kms);
  const std::vector<std::string> cloudhsm = {"aws_cloudhsm_active_cluster",
                                             "aws_cloudtrail_logging"};
  EXPECT_EQ(entrust->checks_by_kind.at("aws-cloudhsm"), cloudhsm);
  EXPECT_EQ(entrust->param("aws_kms_allowed_key_specs"),
            (std::vector<std::string>{"RSA_3072", "RSA_4096"}));
  EXPECT_TRUE(entrust->param_contains("aws_kms_allowed_origins", "AWS_KMS"));
  EXPECT_FALSE(entrust->param_contains("aws_kms_allowed_origins", "EXTERNAL"));
}

TEST(Baseline, MissingParamIsEmpty) {
  const auto parsed = parse_baseline(kMinimal, "mini.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().describe();
  EXPECT_TRUE(parsed->param("nothing").empty());
  EXPECT_FALSE(parsed->param_contains("nothing", "x"));
}

TEST(Baseline, MalformedJsonNamesTheSourceAndPosition) {
  const auto parsed = parse_baseline("{\"name\": \"x\",\n  oops}", "my-ca.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().kind, ErrorKind::kUsage);
  const std::string text = parsed.error().describe();
  EXPECT_NE(text.find("baseline my-ca.json: invalid JSON"), std::string::npos) << text;
  EXPECT_NE(text.find("line 2"), std::string::npos) << text;
  EXPECT_EQ(text.find("[json.exception"), std::string::npos) << text;
}

TEST(Baseline, UnknownCheckIdIsRejected) {
  const std::string text = parse_error_text(
      R"({"name": "x", "title": "X", "checks": {"aws-kms": ["aws_kms_cmk_orign"]}})", "x.json");
  EXPECT_NE(text.find("x.json"), std::string::npos) << text;
  EXPECT_NE(text.find("unknown check id \"aws_kms_cmk_orign\""), std::string::npos) << text;
}

TEST(Baseline, CheckUnderTheWrongKindIsRejected) {
  const std::string text = parse_error_text(
      R"({"name": "x", "title": "X", "checks": {"aws-kms": ["aws_cloudhsm_active_cluster"]}})",
      "x.json");
  EXPECT_NE(text.find("judges aws-cloudhsm locations"), std::string::npos) << text;
}

TEST(Baseline, MissingParameterIsRejected) {
  const std::string text = parse_error_text(
      R"({"name": "x", "title": "X", "checks": {"aws-kms": ["aws_kms_cmk_origin"]}})", "x.json");
  EXPECT_NE(text.find("needs parameter \"aws_kms_allowed_origins\""), std::string::npos) << text;
}

TEST(Baseline, UnknownParameterIsRejected) {
  const std::string text =
      parse_error_text(R"({"name": "x", "title": "X",
        "checks": {"aws-cloudhsm": ["aws_cloudhsm_active_cluster"]},
        "params": {"aws_kms_alowed_origins": ["AWS_KMS"]}})",
                       "x.json");
  EXPECT_NE(text.find("parameter \"aws_kms_alowed_origins\" is read by no check"),
            std::string::npos)
      << text;
}

TEST(Baseline, ShapeErrorsAreRejected) {
  EXPECT_NE(parse_error_text("[]", "a.json").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(parse_error_text(R"({"title": "X", "checks": {}})", "a.json").find("missing \"name\""),
            std::string::npos);
  EXPECT_NE(parse_error_text(R"({"name": "x", "title": "X", "checks": {}})", "a.json")
                .find("\"checks\" must be an object"),
            std::string::npos);
  EXPECT_NE(parse_error_text(R"({"name": "x", "title": "X", "checks": {"aws-kms": "a"}})", "a.json")
                .find("\"checks\".\"aws-kms\" must be an array of strings"),
            std::string::npos);
  EXPECT_NE(parse_error_text(R"({"name": "x", "title": "X", "chekcs": {}})", "a.json")
                .find("unknown field \"chekcs\""),
            std::string::npos);
  EXPECT_NE(parse_error_text(R"({"name": "x", "title": "X",
      "checks": {"aws-cloudhsm": ["aws_cloudhsm_active_cluster", "aws_cloudhsm_active_cluster"]}})",
                             "a.json")
                .find("listed twice"),
            std::string::npos);
  EXPECT_NE(parse_error_text(R"({"name": "x", "title": "X",
      "checks": {"aws-kms": ["aws_kms_cmk_origin"]},
      "params": {"aws_kms_allowed_origins": [1]}})",
                             "a.json")
                .find("\"params\".\"aws_kms_allowed_origins\" must be an array of strings"),
            std::string::npos);
}

TEST(Baseline, UnknownBuiltinNamesTheChoices) {
  const auto parsed = builtin_baseline("entrus");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().kind, ErrorKind::kUsage);
  EXPECT_NE(parsed.error().message.find("unknown baseline \"entrus\""), std::string::npos);
  EXPECT_NE(parsed.error().message.find("entrust"), std::string::npos);
}

}  // namespace
}  // namespace hsmproof::rules
