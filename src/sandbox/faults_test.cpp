#include "sandbox/faults.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

namespace hsmproof::sandbox {
namespace {

using nlohmann::json;

SandboxRequest aws_request(const std::string& service, const std::string& region,
                           const std::string& target, const std::string& body = "{}") {
  SandboxRequest request;
  request.method = "POST";
  request.path = "/";
  request.target = "/";
  request.headers.set("Authorization",
                      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7SANDBOX/20240101/" + region + "/" +
                          service + "/aws4_request, SignedHeaders=host;x-amz-date, Signature=00");
  if (!target.empty()) {
    request.headers.set("X-Amz-Target", target);
    request.headers.set("Content-Type", "application/x-amz-json-1.1");
  } else {
    request.headers.set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  }
  request.body = body;
  return request;
}

SandboxRequest azure_request(const std::string& method, const std::string& path) {
  SandboxRequest request;
  request.method = method;
  request.path = path;
  request.target = path + "?api-version=2025-05-01";
  request.query = {{"api-version", "2025-05-01"}};
  return request;
}

Scenario scenario_with_vault() {
  Scenario scenario;
  AwsAccountSpec account;
  account.account_id = "111122223333";
  account.access_key_id = "AKIAIOSFODNN7SANDBOX";
  account.enabled_regions = {"us-east-1"};
  scenario.aws_accounts.push_back(account);
  AzureTenantSpec tenant;
  tenant.client_id = "5e8f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b";
  SubscriptionSpec subscription;
  subscription.subscription_id = "0b1f6c7a-2d3e-4f5a-8b9c-0d1e2f3a4b5c";
  VaultSpec vault;
  vault.name = "kv-north";
  vault.resource_group = "rg";
  vault.location = "northeurope";
  subscription.vaults.push_back(vault);
  tenant.subscriptions.push_back(subscription);
  scenario.azure = tenant;
  return scenario;
}

TEST(DecodeForm, DecodesKeysValuesAndPlus) {
  const auto pairs = decode_form_pairs("api%2Dversion=2025-07-01&%24filter=a+b%20c&flag&x=%zz");
  ASSERT_EQ(pairs.size(), 4U);
  EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>{"api-version", "2025-07-01"}));
  EXPECT_EQ(pairs[1], (std::pair<std::string, std::string>{"$filter", "a b c"}));
  EXPECT_EQ(pairs[2], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(pairs[3].second, "%zz");  // not an escape: kept as sent
  EXPECT_EQ(decode_url_component("/a+b%2Fc", false), "/a+b/c");
}

TEST(ClassifyRequest, AwsFromTheCredentialScopeAndTarget) {
  const RequestRoute kms =
      classify_request(aws_request("kms", "eu-west-1", "TrentService.ListKeys"));
  EXPECT_EQ(kms.provider, "aws");
  EXPECT_EQ(kms.service, "kms");
  EXPECT_EQ(kms.region, "eu-west-1");
  EXPECT_EQ(kms.operation, "ListKeys");
  EXPECT_EQ(kms.principal, "AKIAIOSFODNN7SANDBOX");

  // Both spellings of CloudTrail's target prefix.
  EXPECT_EQ(classify_request(aws_request("cloudtrail", "us-east-1",
                                         "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
                                         "DescribeTrails"))
                .operation,
            "DescribeTrails");
  EXPECT_EQ(
      classify_request(aws_request("cloudtrail", "us-east-1", "CloudTrail_20131101.GetTrailStatus"))
          .operation,
      "GetTrailStatus");

  const RequestRoute sts = classify_request(
      aws_request("sts", "us-east-1", "", "Action=GetCallerIdentity&Version=2011-06-15"));
  EXPECT_EQ(sts.service, "sts");
  EXPECT_EQ(sts.operation, "GetCallerIdentity");
}

TEST(ClassifyRequest, UnsignedWebIdentityIsSts) {
  SandboxRequest request;
  request.method = "POST";
  request.path = "/";
  request.headers.set("Content-Type", "application/x-www-form-urlencoded");
  request.body = "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr";
  const RequestRoute route = classify_request(request);
  EXPECT_EQ(route.provider, "aws");
  EXPECT_EQ(route.service, "sts");
  EXPECT_EQ(route.operation, "AssumeRoleWithWebIdentity");
}

TEST(ClassifyRequest, AzureServicesFromThePath) {
  const std::string sub = "/subscriptions/0b1f6c7a-2d3e-4f5a-8b9c-0d1e2f3a4b5c";
  const auto service = [](const std::string& method, const std::string& path) {
    return classify_request(azure_request(method, path)).service;
  };
  EXPECT_EQ(service("POST", "/3c1d2f4e-8a6b-4c7d-9e0f-1a2b3c4d5e6f/oauth2/v2.0/token"), "entra");
  EXPECT_EQ(service("GET", "/tenant/v2.0/.well-known/openid-configuration"), "entra");
  EXPECT_EQ(service("GET", "/metadata/identity/oauth2/token"), "entra");
  EXPECT_EQ(service("GET", "/msi/token"), "entra");
  EXPECT_EQ(service("GET", "/common/discovery/instance"), "entra");
  EXPECT_EQ(service("GET", "/_kv/kv-a/keys/k1"), "keyvault");
  EXPECT_EQ(service("POST", "/_mhsm/hsm-a/keys/k1/sign"), "keyvault");
  EXPECT_EQ(service("GET", sub + "/providers/Microsoft.KeyVault/vaults"), "arm");
  EXPECT_EQ(service("GET", "/subscriptions"), "arm");
  EXPECT_EQ(service("POST", sub + "/providers/Microsoft.PolicyInsights/policyStates/latest/"
                                  "queryResults"),
            "policy");
  EXPECT_EQ(service("GET", sub + "/providers/microsoft.authorization/policyAssignments"), "policy");
  EXPECT_EQ(service("GET", sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/"
                                 "providers/Microsoft.Insights/diagnosticSettings"),
            "monitor");

  const RequestRoute vault = classify_request(azure_request(
      "GET", sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-North"));
  EXPECT_EQ(vault.resource, "kv-North");
  EXPECT_EQ(vault.principal, "0b1f6c7a-2d3e-4f5a-8b9c-0d1e2f3a4b5c");
  EXPECT_EQ(classify_request(azure_request("GET", "/_kv/kv-a/keys")).resource, "kv-a");
}

TEST(QuotaKeys, MostSpecificFirst) {
  RequestRoute trail{"aws", "cloudtrail", "GetEventSelectors", "eu-west-1", "AKIA", "", "POST"};
  EXPECT_EQ(quota_keys_for(trail),
            (std::vector<std::string>{"aws:cloudtrail:GetEventSelectors", "aws:cloudtrail:read",
                                      "aws:cloudtrail:all"}));
  RequestRoute lookup{"aws", "cloudtrail", "LookupEvents", "eu-west-1", "AKIA", "", "POST"};
  EXPECT_EQ(quota_keys_for(lookup),
            (std::vector<std::string>{"aws:cloudtrail:LookupEvents", "aws:cloudtrail:all"}));
  RequestRoute states{"azure", "policy", "/x", "", "sub", "", "POST"};
  EXPECT_EQ(quota_keys_for(states),
            (std::vector<std::string>{"azure:policy:write", "azure:arm:write"}));
  RequestRoute vaults{"azure", "arm", "/x", "", "sub", "", "GET"};
  EXPECT_EQ(quota_keys_for(vaults), (std::vector<std::string>{"azure:arm:read"}));
}

TEST(PublishedQuotas, AreValidBuckets) {
  for (const auto& quota : published_quotas()) {
    EXPECT_GT(quota.rate_per_second, 0) << quota.key;
    EXPECT_GE(quota.burst, quota.rate_per_second > 1 ? 1.0 : quota.rate_per_second) << quota.key;
    ASSERT_TRUE(published_quota(quota.key).has_value());
  }
  EXPECT_EQ(published_quota("azure:arm:read")->burst, 250);
  EXPECT_FALSE(published_quota("aws:kms:Encrypt").has_value());
}

class FaultInjectorTest : public ::testing::Test {
 protected:
  Scenario scenario_ = scenario_with_vault();
  SandboxContext context_{scenario_, "https://127.0.0.1:1"};
};

TEST_F(FaultInjectorTest, ThrottleShapesPerService) {
  FaultSpec throttle;
  throttle.kind = "throttle";
  FaultInjector injector(scenario_, {throttle}, {});

  const auto kms =
      injector.before_handling(aws_request("kms", "eu-west-1", "TrentService.ListKeys"), context_);
  ASSERT_TRUE(kms.response.has_value());
  EXPECT_EQ(kms.response->status, 400);
  EXPECT_EQ(kms.response->headers.get("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(kms.response->headers.find("Retry-After"), nullptr);
  EXPECT_EQ(kms.response->headers.get("x-amzn-RequestId").size(), 36U);
  EXPECT_EQ(json::parse(kms.response->body),
            (json{{"__type", "ThrottlingException"}, {"message", "Rate exceeded"}}));

  const auto sts = injector.before_handling(
      aws_request("sts", "us-east-1", "", "Action=GetCallerIdentity&Version=2011-06-15"), context_);
  ASSERT_TRUE(sts.response.has_value());
  EXPECT_EQ(sts.response->status, 400);
  EXPECT_NE(sts.response->body.find("<Code>Throttling</Code>"), std::string::npos);
  EXPECT_NE(sts.response->body.find("<Type>Sender</Type>"), std::string::npos);

  const auto ec2 = injector.before_handling(
      aws_request("ec2", "us-east-1", "", "Action=DescribeRegions&Version=2016-11-15"), context_);
  ASSERT_TRUE(ec2.response.has_value());
  EXPECT_EQ(ec2.response->status, 503);
  EXPECT_NE(ec2.response->body.find("<Code>RequestLimitExceeded</Code>"), std::string::npos);
  EXPECT_NE(ec2.response->body.find("<RequestID>"), std::string::npos);

  const auto organizations = injector.before_handling(
      aws_request("organizations", "us-east-1", "AWSOrganizationsV20161128.ListAccounts"),
      context_);
  EXPECT_EQ(json::parse(organizations.response->body)["__type"], "TooManyRequestsException");

  const auto arm = injector.before_handling(azure_request("GET", "/subscriptions"), context_);
  ASSERT_TRUE(arm.response.has_value());
  EXPECT_EQ(arm.response->status, 429);
  EXPECT_EQ(arm.response->headers.get("Retry-After"), "1");
  EXPECT_EQ(json::parse(arm.response->body)["error"]["code"], "TooManyRequests");
  EXPECT_FALSE(arm.response->headers.get("x-ms-request-id").empty());

  const auto vault = injector.before_handling(azure_request("GET", "/_kv/kv-north/keys"), context_);
  EXPECT_EQ(vault.response->status, 429);
  EXPECT_EQ(json::parse(vault.response->body)["error"]["code"], "Throttled");
}

TEST_F(FaultInjectorTest, DenyAndServerErrorShapes) {
  FaultSpec deny;
  deny.kind = "deny";
  deny.provider = "aws";
  FaultSpec broken;
  broken.kind = "server_error";
  broken.provider = "azure";
  broken.status = 503;
  FaultInjector injector(scenario_, {deny, broken}, {});

  const auto kms = injector.before_handling(
      aws_request("kms", "eu-west-1", "TrentService.DescribeKey"), context_);
  ASSERT_TRUE(kms.response.has_value());
  EXPECT_EQ(kms.response->status, 400);
  const json body = json::parse(kms.response->body);
  EXPECT_EQ(body["__type"], "AccessDeniedException");
  EXPECT_NE(body["message"].get<std::string>().find(
                "User: arn:aws:iam::111122223333:user/hsmproof-sandbox is not authorized to "
                "perform: kms:DescribeKey"),
            std::string::npos);

  const auto ec2 = injector.before_handling(
      aws_request("ec2", "us-east-1", "", "Action=DescribeRegions&Version=2016-11-15"), context_);
  EXPECT_EQ(ec2.response->status, 403);
  EXPECT_NE(ec2.response->body.find("<Code>UnauthorizedOperation</Code>"), std::string::npos);

  const auto sts = injector.before_handling(
      aws_request("sts", "us-east-1", "", "Action=AssumeRole&Version=2011-06-15"), context_);
  EXPECT_EQ(sts.response->status, 403);
  EXPECT_NE(sts.response->body.find("<Code>AccessDenied</Code>"), std::string::npos);

  const auto arm = injector.before_handling(azure_request("GET", "/subscriptions"), context_);
  EXPECT_EQ(arm.response->status, 503);
  EXPECT_EQ(arm.response->headers.get("Retry-After"), "1");
  EXPECT_EQ(json::parse(arm.response->body)["error"]["code"], "ServiceUnavailable");

  FaultInjector azure_deny(scenario_, {FaultSpec{"deny", "azure"}}, {});
  const auto vault = azure_deny.before_handling(
      azure_request("GET",
                    "/subscriptions/0b1f6c7a-2d3e-4f5a-8b9c-0d1e2f3a4b5c/resourceGroups/rg/"
                    "providers/Microsoft.KeyVault/vaults/kv-north"),
      context_);
  EXPECT_EQ(vault.response->status, 403);
  const json denied = json::parse(vault.response->body);
  EXPECT_EQ(denied["error"]["code"], "AuthorizationFailed");
  EXPECT_NE(denied["error"]["message"].get<std::string>().find(
                "perform action 'Microsoft.KeyVault/vaults/read'"),
            std::string::npos)
      << denied.dump();
  const auto data_plane =
      azure_deny.before_handling(azure_request("GET", "/_kv/kv-north/keys/k1"), context_);
  EXPECT_EQ(json::parse(data_plane.response->body)["error"]["innererror"]["code"],
            "ForbiddenByRbac");
}

TEST_F(FaultInjectorTest, FiltersCountAndRegion) {
  FaultSpec throttle;
  throttle.kind = "throttle";
  throttle.service = "kms";
  throttle.operation = "ListKeys";
  throttle.region = "eu-west-1";
  throttle.count = 2;
  FaultInjector injector(scenario_, {throttle}, {});
  const auto list_keys = aws_request("kms", "eu-west-1", "TrentService.ListKeys");
  EXPECT_FALSE(
      injector.before_handling(aws_request("kms", "us-east-1", "TrentService.ListKeys"), context_)
          .response);
  EXPECT_FALSE(
      injector
          .before_handling(aws_request("kms", "eu-west-1", "TrentService.DescribeKey"), context_)
          .response);
  EXPECT_TRUE(injector.before_handling(list_keys, context_).response);
  EXPECT_TRUE(injector.before_handling(list_keys, context_).response);
  EXPECT_FALSE(injector.before_handling(list_keys, context_).response) << "count exhausted";
  EXPECT_EQ(injector.faults_fired(), 2U);
}

TEST_F(FaultInjectorTest, AzureRegionIsTheVaultsLocation) {
  FaultSpec deny;
  deny.kind = "deny";
  deny.provider = "azure";
  deny.region = "northeurope";
  FaultInjector injector(scenario_, {deny}, {});
  EXPECT_TRUE(
      injector.before_handling(azure_request("GET", "/_kv/kv-north/keys"), context_).response);
  EXPECT_FALSE(
      injector.before_handling(azure_request("GET", "/_kv/kv-south/keys"), context_).response);
  EXPECT_FALSE(injector.before_handling(azure_request("GET", "/subscriptions"), context_).response);
}

TEST_F(FaultInjectorTest, LatencyTruncateAndResetOutcomes) {
  FaultSpec latency;
  latency.kind = "latency";
  latency.latency_ms = 150;
  FaultSpec truncate;
  truncate.kind = "truncate";
  truncate.service = "arm";
  FaultSpec reset;
  reset.kind = "reset";
  reset.service = "keyvault";
  FaultInjector injector(scenario_, {latency, truncate, reset}, {});
  const auto arm = injector.before_handling(azure_request("GET", "/subscriptions"), context_);
  EXPECT_EQ(arm.delay.count(), 150);
  EXPECT_TRUE(arm.truncate);
  EXPECT_FALSE(arm.response);
  const auto vault = injector.before_handling(azure_request("GET", "/_kv/kv-north/keys"), context_);
  ASSERT_TRUE(vault.response);
  EXPECT_TRUE(vault.response->reset_connection);
}

TEST_F(FaultInjectorTest, ProbabilityIsSeeded) {
  FaultSpec flaky;
  flaky.kind = "server_error";
  flaky.probability = 0.5;
  const auto run = [&] {
    FaultInjector injector(scenario_, {flaky}, {});
    std::string pattern;
    for (int i = 0; i < 64; ++i) {
      pattern += injector.before_handling(azure_request("GET", "/subscriptions"), context_).response
                     ? '1'
                     : '0';
    }
    return pattern;
  };
  const std::string first = run();
  EXPECT_EQ(first, run());
  EXPECT_NE(first.find('1'), std::string::npos);
  EXPECT_NE(first.find('0'), std::string::npos);
}

TEST_F(FaultInjectorTest, QuotaBucketsThrottleWhenEmptyAndRefill) {
  FaultInjector injector(scenario_, {}, {QuotaSpec{"aws:kms:ListKeys", 20, 2}});
  const auto list_keys = aws_request("kms", "eu-west-1", "TrentService.ListKeys");
  EXPECT_FALSE(injector.before_handling(list_keys, context_).response);
  EXPECT_FALSE(injector.before_handling(list_keys, context_).response);
  const auto third = injector.before_handling(list_keys, context_);
  ASSERT_TRUE(third.response) << "the burst of 2 is spent";
  EXPECT_EQ(json::parse(third.response->body)["__type"], "ThrottlingException");
  // Another region is another bucket; another operation draws from no quota.
  EXPECT_FALSE(
      injector.before_handling(aws_request("kms", "us-east-1", "TrentService.ListKeys"), context_)
          .response);
  EXPECT_FALSE(
      injector
          .before_handling(aws_request("kms", "eu-west-1", "TrentService.DescribeKey"), context_)
          .response);
  std::this_thread::sleep_for(std::chrono::milliseconds(120));  // 20/s refills 2 tokens
  EXPECT_FALSE(injector.before_handling(list_keys, context_).response);
}

TEST_F(FaultInjectorTest, AzureQuotaThrottleCarriesRetryAfter) {
  FaultInjector injector(scenario_, {}, {QuotaSpec{"azure:arm:read", 0.5, 1}});
  EXPECT_FALSE(injector.before_handling(azure_request("GET", "/subscriptions"), context_).response);
  const auto second = injector.before_handling(azure_request("GET", "/subscriptions"), context_);
  ASSERT_TRUE(second.response);
  EXPECT_EQ(second.response->status, 429);
  EXPECT_EQ(second.response->headers.get("Retry-After"), "2");
  // Writes draw from another bucket.
  EXPECT_FALSE(injector
                   .before_handling(azure_request("POST",
                                                  "/subscriptions/x/providers/"
                                                  "Microsoft.PolicyInsights/"
                                                  "policyStates/latest/queryResults"),
                                    context_)
                   .response);
}

}  // namespace
}  // namespace hsmproof::sandbox
