#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "report/report.h"
#include "report/testdata/sample_findings.h"

namespace hsmproof::report {
namespace {

using model::Status;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& candidate : lines_of(text)) {
    if (candidate == line) return true;
  }
  return false;
}

std::string plain(const model::Findings& findings) {
  return render_text(findings, fixtures::sample_context(false));
}

TEST(TextReportTest, FirstLineIsTheVerdictInCapitalsWithItsReason) {
  const auto lines = lines_of(plain(fixtures::sample_findings()));
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], "FAIL  — the location holding the requested key fails");
  EXPECT_EQ(lines[1],
            "baseline entrust · trust level self-collected · hsmproof 0.1.0 · "
            "2024-05-01T12:00:00Z");
  EXPECT_EQ(lines_of(plain(fixtures::scope_only_findings()))[0],
            "INCOMPLETE  — no location could be determined");
}

TEST(TextReportTest, VerdictWithoutReasonStandsAlone) {
  model::Findings findings;
  findings.verdict = Status::kPass;
  EXPECT_EQ(lines_of(plain(findings))[0], "PASS");
}

TEST(TextReportTest, LocationHeadersAreAlignedColumnsWithTheVerdict) {
  const std::string text = plain(fixtures::sample_findings());
  // The account column fits the Azure subscription id; AWS rows leave the name column blank.
  const std::string after_account(36 - 12 + 2, ' ');
  const std::string after_region(10 - 9 + 2 + 11 + 2, ' ');
  EXPECT_TRUE(has_line(
      text, "aws-cloudhsm    123456789012" + after_account + "us-east-1" + after_region + "PASS"))
      << text;
  EXPECT_TRUE(has_line(text, "aws-kms         123456789012" + after_account + "eu-west-1" +
                                 after_region + "FAIL  [holds --key]"))
      << text;
  EXPECT_TRUE(has_line(text,
                       "azure-keyvault  00000000-1111-2222-3333-444444444444  westeurope  "
                       "codesign-kv  FAIL"))
      << text;
}

TEST(TextReportTest, AwsOnlyHeadersHaveNoNameColumn) {
  model::Findings findings = fixtures::sample_findings();
  findings.locations.pop_back();  // drop the Azure vault
  EXPECT_TRUE(
      has_line(plain(findings), "aws-kms       123456789012  eu-west-1  FAIL  [holds --key]"))
      << plain(findings);
}

TEST(TextReportTest, EachCheckIsOneLineWithItsMarkAndMessage) {
  const std::string text = plain(fixtures::sample_findings());
  EXPECT_TRUE(has_line(text,
                       "  ✓ pass        aws_kms_cmk_origin: all 2 enabled customer managed "
                       "keys have Origin AWS_KMS"));
  EXPECT_TRUE(has_line(text,
                       "  ✗ fail        aws_kms_cmk_rsa_3072_4096: 1 of 2 enabled customer "
                       "managed keys has another KeySpec"));
  EXPECT_TRUE(has_line(text,
                       "  ? incomplete  aws_cloudtrail_logging: could not read the status "
                       "of 1 trail"));
  EXPECT_TRUE(has_line(text,
                       "  - n/a         azure_keyvault_keys_hsm_backed: the vault holds no "
                       "enabled key"));
}

TEST(TextReportTest, FailingCheckListsOnlyItsOffendingResourcesThenFixes) {
  const auto lines = lines_of(plain(fixtures::sample_findings()));
  const auto check = std::find_if(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find("aws_kms_cmk_rsa_3072_4096") != std::string::npos;
  });
  ASSERT_NE(check, lines.end());
  ASSERT_GE(lines.end() - check, 4);
  EXPECT_EQ(check[1],
            "      ✗ arn:aws:kms:eu-west-1:123456789012:key/2222bbbb-0000-0000-0000-000000000002  "
            "KeySpec RSA_2048 (needs RSA_3072 or RSA_4096)");
  EXPECT_EQ(check[2],
            "      fix: aws kms schedule-key-deletion --region eu-west-1 --key-id "
            "2222bbbb-0000-0000-0000-000000000002 --pending-window-in-days 7");
  EXPECT_EQ(check[3],
            "      fix: aws kms create-key --region eu-west-1 --key-spec RSA_4096 --key-usage "
            "SIGN_VERIFY");
  // The passing RSA_4096 key is not an offender.
  EXPECT_EQ(plain(fixtures::sample_findings()).find("KeySpec RSA_4096"), std::string::npos);
}

TEST(TextReportTest, PassingChecksShowWarningsButNeitherResourcesNorFixes) {
  model::Findings findings = fixtures::sample_findings();
  findings.locations[0].checks[0].remediation = {"aws cloudhsmv2 do-something"};
  const std::string text = plain(findings);
  EXPECT_TRUE(has_line(text, "      warning: cluster-2xqj4k5lmno runs in NON_FIPS mode")) << text;
  EXPECT_EQ(text.find("ACTIVE, 2 HSMs ACTIVE"), std::string::npos);
  EXPECT_EQ(text.find("do-something"), std::string::npos);
}

TEST(TextReportTest, FailingCheckWithOnlyPassingResourcesShowsThemAll) {
  model::Findings findings;
  findings.verdict = Status::kFail;
  model::LocationFinding location{"aws",         "aws-kms", "123456789012", "eu-west-1", "",
                                  Status::kFail, {},        false};
  location.checks.push_back(
      {"aws_kms_sign_verify_key",
       "At least one customer managed key signs and verifies",
       Status::kFail,
       "no key has KeyUsage SIGN_VERIFY",
       {fixtures::resource("key-1", Status::kPass, "KeyUsage ENCRYPT_DECRYPT"),
        fixtures::resource("key-2", Status::kPass, "KeyUsage ENCRYPT_DECRYPT")},
       {},
       {}});
  findings.locations.push_back(location);
  const std::string text = plain(findings);
  EXPECT_TRUE(has_line(text, "      ✓ key-1  KeyUsage ENCRYPT_DECRYPT")) << text;
  EXPECT_TRUE(has_line(text, "      ✓ key-2  KeyUsage ENCRYPT_DECRYPT")) << text;
}

TEST(TextReportTest, ListsAtMostTwentyResourcesThenCountsTheRest) {
  model::Findings findings;
  findings.verdict = Status::kFail;
  model::LocationFinding location{"aws",         "aws-kms", "123456789012", "eu-west-1", "",
                                  Status::kFail, {},        false};
  model::CheckFinding check{"aws_kms_cmk_origin", "title", Status::kFail, "25 keys", {}, {}, {}};
  check.resources.push_back(fixtures::resource("good-key", Status::kPass, ""));
  for (int i = 0; i < 25; ++i) {
    check.resources.push_back(
        fixtures::resource("key-" + std::to_string(i), Status::kFail, "Origin EXTERNAL"));
  }
  location.checks.push_back(check);
  findings.locations.push_back(location);
  const std::string text = plain(findings);
  EXPECT_TRUE(has_line(text, "      ✗ key-19  Origin EXTERNAL")) << text;
  EXPECT_FALSE(has_line(text, "      ✗ key-20  Origin EXTERNAL")) << text;
  EXPECT_TRUE(has_line(text, "      … and 5 more")) << text;
  EXPECT_EQ(text.find("good-key"), std::string::npos);
}

TEST(TextReportTest, ExactlyTwentyResourcesNeedNoEllipsis) {
  model::Findings findings;
  model::LocationFinding location{"aws", "aws-kms", "1", "r", "", Status::kFail, {}, false};
  model::CheckFinding check{"c", "t", Status::kFail, "m", {}, {}, {}};
  for (int i = 0; i < 20; ++i) {
    check.resources.push_back(fixtures::resource("key-" + std::to_string(i), Status::kFail, ""));
  }
  location.checks.push_back(check);
  findings.locations.push_back(location);
  const std::string text = plain(findings);
  EXPECT_TRUE(has_line(text, "      ✗ key-19")) << text;
  EXPECT_EQ(text.find("more"), std::string::npos) << text;
}

TEST(TextReportTest, ScopeErrorsHaveTheirSectionAndHint) {
  const std::string text = plain(fixtures::sample_findings());
  EXPECT_TRUE(has_line(text, "Could not determine scope:"));
  EXPECT_TRUE(has_line(text,
                       "  ? ec2:DescribeRegions in us-east-1: UnauthorizedOperation (HTTP 403, "
                       "request id 5f2c9a1e-0000-4c2b-9d0e-3a7b1c2d4e5f): You are not authorized "
                       "to perform this operation."))
      << text;
  EXPECT_TRUE(has_line(text, "  ? organizations:ListAccounts: connection timed out")) << text;
  EXPECT_TRUE(has_line(text, "  hint: pass --region to scan specific regions"));

  model::Findings no_errors = fixtures::sample_findings();
  no_errors.scope_errors.clear();
  EXPECT_EQ(plain(no_errors).find("Could not determine scope"), std::string::npos);
  EXPECT_EQ(plain(no_errors).find("hint: pass --region"), std::string::npos);
}

TEST(TextReportTest, RequestedKeysAreListed) {
  EXPECT_TRUE(has_line(plain(fixtures::sample_findings()), "requested keys: alias/codesign"));
  model::Findings findings = fixtures::sample_findings();
  findings.requested_keys.clear();
  for (auto& location : findings.locations) location.holds_requested_key = false;
  const std::string text = plain(findings);
  EXPECT_EQ(text.find("requested keys"), std::string::npos);
  EXPECT_EQ(text.find("[holds --key]"), std::string::npos);
}

TEST(TextReportTest, EndsWithASummaryAndTheJsonHintWhenALocationFailed) {
  const auto lines = lines_of(plain(fixtures::sample_findings()));
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[lines.size() - 2], "4 locations: 1 pass, 2 fail, 1 incomplete");
  EXPECT_EQ(lines.back(), "Run with --format json for machine-readable output.");
}

TEST(TextReportTest, NoJsonHintWithoutAFailedLocation) {
  model::Findings findings = fixtures::sample_findings();
  findings.locations = {findings.locations[0], findings.locations[2]};
  const auto lines = lines_of(plain(findings));
  EXPECT_EQ(lines.back(), "2 locations: 1 pass, 1 incomplete");
  const auto one = lines_of(plain(model::Findings{}));
  EXPECT_EQ(one.back(), "No locations to judge.");
  model::Findings single = fixtures::sample_findings();
  single.locations = {single.locations[0]};
  EXPECT_EQ(lines_of(plain(single)).back(), "1 location: 1 pass");
}

TEST(TextReportTest, NoAnsiEscapeWithoutColour) {
  const std::string text = plain(fixtures::sample_findings());
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST(TextReportTest, ColourMarksStatusesWhenAsked) {
  const std::string text = render_text(fixtures::sample_findings(), fixtures::sample_context(true));
  EXPECT_EQ(text.rfind("\x1b[1;31mFAIL\x1b[0m  — ", 0), 0u) << text;
  EXPECT_NE(text.find("\x1b[32m✓ pass\x1b[0m"), std::string::npos);
  EXPECT_NE(text.find("\x1b[31m✗ fail\x1b[0m"), std::string::npos);
  EXPECT_NE(text.find("\x1b[33m? incomplete\x1b[0m"), std::string::npos);
  EXPECT_NE(text.find("\x1b[1mCould not determine scope:\x1b[0m"), std::string::npos);
  // Stripping the escapes gives back the plain report: colour adds nothing else.
  std::string stripped;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b') {
      i = text.find('m', i);
      continue;
    }
    stripped += text[i];
  }
  EXPECT_EQ(stripped, plain(fixtures::sample_findings()));
}

TEST(TextReportTest, TerminalControlCharactersFromTheCloudAreNeutralised) {
  model::Findings findings = fixtures::sample_findings();
  findings.locations[1].checks[1].message = "evil\x1b[2J\nFAKE LINE\r\x9b";
  findings.locations[1].checks[1].resources[1].detail =
      "C1 \xc2\x9b"
      "31m and bad \xff";
  const std::string text = plain(findings);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_FALSE(has_line(text, "FAKE LINE"));
  EXPECT_TRUE(has_line(text,
                       "  ✗ fail        aws_kms_cmk_rsa_3072_4096: evil\\x1b[2J FAKE LINE "
                       "\xef\xbf\xbd"))
      << text;
  EXPECT_NE(text.find("C1 \\x9b31m and bad \xef\xbf\xbd"), std::string::npos) << text;
}

TEST(TextReportTest, RendersTheSameBytesEveryTime) {
  for (const bool color : {false, true}) {
    const std::string first =
        render_text(fixtures::sample_findings(), fixtures::sample_context(color));
    const std::string second =
        render_text(fixtures::sample_findings(), fixtures::sample_context(color));
    EXPECT_EQ(first, second);
  }
}

}  // namespace
}  // namespace hsmproof::report
