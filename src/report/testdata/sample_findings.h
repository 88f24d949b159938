#pragma once
// The findings the golden files render, shared by the report tests: every status, a location
// holding the requested key, warnings, remediation, resource errors and scope errors.

#include <chrono>
#include <string>

#include "report/report.h"

namespace hsmproof::report::fixtures {

inline ReportContext sample_context(bool color = false) {
  ReportContext context;
  context.tool_version = "0.1.0";
  // 2024-05-01T12:00:00Z
  context.generated_at = TimePoint(std::chrono::seconds(1714564800));
  context.trust_level = "self-collected";
  context.color = color;
  return context;
}

inline model::ResourceFinding resource(std::string id, model::Status status, std::string detail) {
  return model::ResourceFinding{std::move(id), status, std::move(detail)};
}

inline model::Findings sample_findings() {
  using model::Status;
  const std::string kms_a = "arn:aws:kms:eu-west-1:123456789012:key/";
  model::Findings findings;
  findings.baseline = "entrust";
  findings.verdict = Status::kFail;
  findings.verdict_reason = "the location holding the requested key fails";
  findings.requested_keys = {"alias/codesign"};

  Error regions_error;
  regions_error.kind = ErrorKind::kHttp;
  regions_error.operation = "ec2:DescribeRegions";
  regions_error.region = "us-east-1";
  regions_error.http_status = 403;
  regions_error.provider_code = "UnauthorizedOperation";
  regions_error.request_id = "5f2c9a1e-0000-4c2b-9d0e-3a7b1c2d4e5f";
  regions_error.message = "You are not authorized to perform this operation.";
  Error organizations_error;
  organizations_error.kind = ErrorKind::kTransport;
  organizations_error.operation = "organizations:ListAccounts";
  organizations_error.message = "connection timed out";
  findings.scope_errors = {regions_error, organizations_error};

  model::LocationFinding cloudhsm;
  cloudhsm.provider = "aws";
  cloudhsm.kind = "aws-cloudhsm";
  cloudhsm.account = "123456789012";
  cloudhsm.region = "us-east-1";
  cloudhsm.verdict = Status::kPass;
  cloudhsm.checks = {
      {"aws_cloudhsm_active_cluster",
       "A CloudHSM cluster is active with an active HSM",
       Status::kPass,
       "cluster-2xqj4k5lmno is ACTIVE with 2 ACTIVE HSMs",
       {resource("cluster-2xqj4k5lmno", Status::kPass, "ACTIVE, 2 HSMs ACTIVE, mode NON_FIPS")},
       {"cluster-2xqj4k5lmno runs in NON_FIPS mode"},
       {}},
      {"aws_cloudtrail_logging",
       "CloudTrail logs all management events in the region",
       Status::kPass,
       "trail org-trail logs read and write management events",
       {resource("arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail", Status::kPass,
                 "multi-region, logging, ReadWriteType All")},
       {},
       {}},
  };

  model::LocationFinding kms_failing;
  kms_failing.provider = "aws";
  kms_failing.kind = "aws-kms";
  kms_failing.account = "123456789012";
  kms_failing.region = "eu-west-1";
  kms_failing.verdict = Status::kFail;
  kms_failing.holds_requested_key = true;
  kms_failing.checks = {
      {"aws_kms_cmk_origin",
       "Customer managed keys are generated in KMS",
       Status::kPass,
       "all 2 enabled customer managed keys have Origin AWS_KMS",
       {resource(kms_a + "1111aaaa-0000-0000-0000-000000000001", Status::kPass, "Origin AWS_KMS"),
        resource(kms_a + "2222bbbb-0000-0000-0000-000000000002", Status::kPass, "Origin AWS_KMS")},
       {},
       {}},
      {"aws_kms_cmk_rsa_3072_4096",
       "Customer managed keys are RSA 3072 or RSA 4096",
       Status::kFail,
       "1 of 2 enabled customer managed keys has another KeySpec",
       {resource(kms_a + "1111aaaa-0000-0000-0000-000000000001", Status::kPass, "KeySpec RSA_4096"),
        resource(kms_a + "2222bbbb-0000-0000-0000-000000000002", Status::kFail,
                 "KeySpec RSA_2048 (needs RSA_3072 or RSA_4096)")},
       {},
       {"aws kms schedule-key-deletion --region eu-west-1 --key-id "
        "2222bbbb-0000-0000-0000-000000000002 --pending-window-in-days 7",
        "aws kms create-key --region eu-west-1 --key-spec RSA_4096 --key-usage SIGN_VERIFY"}},
      {"aws_cloudtrail_logging",
       "CloudTrail logs all management events in the region",
       Status::kIncomplete,
       "could not read the status of 1 trail",
       {resource("arn:aws:cloudtrail:eu-west-1:123456789012:trail/audit", Status::kIncomplete,
                 "cloudtrail:GetTrailStatus: AccessDeniedException (HTTP 400)")},
       {"trail audit is a shadow trail of another region"},
       {"grant cloudtrail:GetTrailStatus to the scanning role"}},
  };

  model::LocationFinding kms_incomplete;
  kms_incomplete.provider = "aws";
  kms_incomplete.kind = "aws-kms";
  kms_incomplete.account = "210987654321";
  kms_incomplete.region = "us-east-1";
  kms_incomplete.verdict = Status::kIncomplete;
  kms_incomplete.checks = {
      {"aws_kms_cmk_origin",
       "Customer managed keys are generated in KMS",
       Status::kIncomplete,
       "kms:DescribeKey failed for 1 key",
       {resource("arn:aws:kms:us-east-1:210987654321:key/3333cccc-0000-0000-0000-000000000003",
                 Status::kIncomplete, "kms:DescribeKey: AccessDeniedException (HTTP 400)")},
       {},
       {}},
      {"aws_kms_sign_verify_key",
       "At least one customer managed key signs and verifies",
       Status::kPass,
       "1 key has KeyUsage SIGN_VERIFY",
       {},
       {},
       {}},
  };

  model::LocationFinding vault;
  vault.provider = "azure";
  vault.kind = "azure-keyvault";
  vault.account = "00000000-1111-2222-3333-444444444444";
  vault.region = "westeurope";
  vault.name = "codesign-kv";
  vault.verdict = Status::kFail;
  vault.checks = {
      {"azure_keyvault_premium_sku",
       "The vault uses the premium SKU",
       Status::kFail,
       "sku.name is standard",
       {resource("/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg/providers/"
                 "Microsoft.KeyVault/vaults/codesign-kv",
                 Status::kFail, "sku.name standard")},
       {},
       {"az keyvault update --name codesign-kv --sku premium"}},
      {"azure_keyvault_keys_hsm_backed",
       "Every enabled key is HSM-backed",
       Status::kNotApplicable,
       "the vault holds no enabled key",
       {},
       {},
       {}},
  };

  findings.locations = {cloudhsm, kms_failing, kms_incomplete, vault};
  return findings;
}

// Nothing could be scanned: no location, only the errors that prevented finding any.
inline model::Findings scope_only_findings() {
  model::Findings findings;
  findings.baseline = "entrust";
  findings.verdict = model::Status::kIncomplete;
  findings.verdict_reason = "no location could be determined";
  Error error;
  error.kind = ErrorKind::kCredentials;
  error.operation = "sts:GetCallerIdentity";
  error.http_status = 403;
  error.provider_code = "InvalidClientTokenId";
  error.request_id = "req-1";
  error.message = "The security token included in the request is invalid.";
  findings.scope_errors = {error};
  return findings;
}

}  // namespace hsmproof::report::fixtures
