// handle_azure called directly: Entra and managed-identity tokens, Resource Manager (auth,
// api-versions, paging, quirks, policy), and the Key Vault / Managed HSM data plane with
// signatures checked by OpenSSL.

#include "sandbox/azure_handlers.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "sandbox/azure_common.h"

namespace hsmproof::sandbox {
namespace {

using azure_impl::base64url_decode;
using azure_impl::base64url_encode;
using nlohmann::json;

constexpr const char* kBase = "https://127.0.0.1:8443";
constexpr const char* kTenant = "11111111-1111-4111-8111-111111111111";
constexpr const char* kClient = "22222222-2222-4222-8222-222222222222";
constexpr const char* kSecret = "test-secret-value";
constexpr const char* kIdentity = "33333333-3333-4333-8333-333333333333";
constexpr const char* kSubA = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
constexpr const char* kSubB = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
constexpr const char* kRsaVersion = "0123456789abcdef0123456789abcdef";
constexpr const char* kHsmKeysPolicy =
    "/providers/Microsoft.Authorization/policyDefinitions/587c79fe-dd04-4a5e-9d0b-f89598c7261b";
constexpr const char* kLogsPolicy =
    "/providers/Microsoft.Authorization/policyDefinitions/cf820ca0-f99e-4f3e-84fb-66e913812d21";
constexpr const char* kInitiative =
    "/providers/Microsoft.Authorization/policySetDefinitions/kv-initiative";

std::string sub_a() { return std::string("/subscriptions/") + kSubA; }
std::string vault_id(const std::string& group, const std::string& name) {
  return sub_a() + "/resourceGroups/" + group + "/providers/Microsoft.KeyVault/vaults/" + name;
}
std::string hsm_id() {
  return sub_a() + "/resourceGroups/rg-keys/providers/Microsoft.KeyVault/managedHSMs/mhsm-1";
}

AzureKeySpec key(const std::string& name, const std::string& kty, int size,
                 const std::string& curve) {
  AzureKeySpec spec;
  spec.name = name;
  spec.kty = kty;
  spec.key_size = size;
  spec.curve = curve;
  return spec;
}

Scenario test_scenario() {
  AzureTenantSpec tenant;
  tenant.tenant_id = kTenant;
  tenant.client_id = kClient;
  tenant.client_secret = kSecret;
  tenant.managed_identity_client_id = kIdentity;
  tenant.policy_set_definitions.push_back(PolicySetDefinitionSpec{
      kInitiative, "Key Vault initiative", {{kHsmKeysPolicy, "hsmKeys"}, {kLogsPolicy, "kvLogs"}}});

  SubscriptionSpec a;
  a.subscription_id = kSubA;
  a.display_name = "Production";
  a.management_groups = {"mg-child", "mg-root"};
  VaultSpec premium;
  premium.name = "kv-premium";
  premium.resource_group = "rg-keys";
  premium.sku = "premium";
  AzureKeySpec rsa = key("rsa-key", "RSA-HSM", 3072, "");
  rsa.version = kRsaVersion;
  premium.keys.push_back(rsa);
  premium.keys.push_back(key("ec-key", "EC-HSM", 0, "P-256"));
  AzureKeySpec soft = key("soft-key", "RSA", 2048, "");
  soft.enabled = false;
  soft.hsm_platform = "0";
  soft.exportable = true;
  premium.keys.push_back(soft);
  premium.diagnostic_settings.push_back(DiagnosticSettingSpec{
      "to-workspace",
      json{{"workspaceId",
            "/subscriptions/x/resourceGroups/logs/providers/Microsoft.OperationalInsights/"
            "workspaces/w"},
           {"logs", json::array({{{"categoryGroup", "allLogs"}, {"enabled", true}}})},
           {"metrics", json::array({{{"category", "AllMetrics"}, {"enabled", false}}})}}});
  a.vaults.push_back(premium);
  for (const char* name : {"kv-std-1", "kv-std-2", "kv-std-3"}) {
    VaultSpec standard;
    standard.name = name;
    standard.resource_group = "rg-other";
    standard.sku = "standard";
    standard.location = "northeurope";
    a.vaults.push_back(standard);
  }
  ManagedHsmSpec hsm;
  hsm.name = "mhsm-1";
  hsm.resource_group = "rg-keys";
  hsm.keys.push_back(key("hsm-key", "EC", 0, "P-384"));
  a.managed_hsms.push_back(hsm);

  PolicyAssignmentSpec mg_hsm;
  mg_hsm.name = "mg-hsm";
  mg_hsm.scope = "/providers/Microsoft.Management/managementGroups/mg-root";
  mg_hsm.policy_definition_id = kHsmKeysPolicy;
  mg_hsm.not_scopes = {sub_a() + "/resourceGroups/rg-other"};
  PolicyAssignmentSpec initiative;
  initiative.name = "sub-initiative";
  initiative.scope = sub_a();
  initiative.policy_definition_id = kInitiative;
  PolicyAssignmentSpec rg_logs;
  rg_logs.name = "rg-logs";
  rg_logs.scope = sub_a() + "/resourceGroups/rg-keys";
  rg_logs.policy_definition_id = kLogsPolicy;
  a.policy_assignments = {mg_hsm, initiative, rg_logs};

  const std::string premium_id = vault_id("rg-keys", "kv-premium");
  const std::string std1 = vault_id("rg-other", "kv-std-1");
  const std::string std2 = vault_id("rg-other", "kv-std-2");
  a.policy_states = {
      {premium_id, "mg-hsm", kHsmKeysPolicy, "Compliant", "2024-05-01T10:00:00Z"},
      {std1, "mg-hsm", kHsmKeysPolicy, "NonCompliant", "2024-05-01T10:00:00Z"},  // notScope
      {premium_id, "sub-initiative", kHsmKeysPolicy, "Compliant", "2024-05-01T11:00:00Z"},
      {premium_id, "sub-initiative", kLogsPolicy, "NonCompliant", "2024-05-01T11:00:00Z"},
      {std1, "sub-initiative", kHsmKeysPolicy, "NonCompliant", "2024-05-01T11:00:00Z"},
      {hsm_id(), "rg-logs", kLogsPolicy, "Compliant", "2024-05-01T12:00:00Z"},
      {std2, "rg-logs", kLogsPolicy, "Compliant", "2024-05-01T12:00:00Z"},  // outside the scope
      {premium_id, "no-such-assignment", kLogsPolicy, "Compliant", "2024-05-01T12:00:00Z"},
  };
  PolicyExemptionSpec expired;
  expired.name = "exempt-std";
  expired.scope = sub_a() + "/resourceGroups/rg-other";
  expired.policy_assignment_name = "sub-initiative";
  expired.expires_on = "2000-01-01T00:00:00Z";
  PolicyExemptionSpec forever;
  forever.name = "exempt-kv";
  forever.scope = premium_id;
  forever.policy_assignment_name = "mg-hsm";
  forever.category = "Mitigated";
  forever.policy_definition_reference_ids = {"hsmKeys"};
  a.policy_exemptions = {expired, forever};

  SubscriptionSpec b;
  b.subscription_id = kSubB;
  b.display_name = "Second";
  b.management_groups = {"mg-root"};
  PolicyAssignmentSpec b_assignment;
  b_assignment.name = "b-sub";
  b_assignment.scope = std::string("/subscriptions/") + kSubB;
  b_assignment.policy_definition_id = kLogsPolicy;
  b.policy_assignments = {b_assignment};

  tenant.subscriptions = {a, b};
  Scenario scenario;
  scenario.name = "azure-test";
  scenario.azure = tenant;
  return scenario;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}

std::string percent_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// A request as the server hands it over: decoded path and query; `target` may be an absolute
// URL (a nextLink) on the sandbox's base URL.
SandboxRequest make_request(const std::string& method, std::string target,
                            std::vector<std::pair<std::string, std::string>> headers = {},
                            std::string body = "") {
  if (target.rfind(kBase, 0) == 0) target = target.substr(std::string(kBase).size());
  SandboxRequest request;
  request.method = method;
  request.target = target;
  request.host = "127.0.0.1:8443";
  const std::size_t question = target.find('?');
  request.path = percent_decode(target.substr(0, question));
  if (question != std::string::npos) {
    std::string query = target.substr(question + 1);
    std::size_t start = 0;
    while (start <= query.size()) {
      std::size_t end = query.find('&', start);
      if (end == std::string::npos) end = query.size();
      const std::string pair = query.substr(start, end - start);
      if (!pair.empty()) {
        const std::size_t equals = pair.find('=');
        request.query.emplace_back(
            percent_decode(pair.substr(0, equals)),
            equals == std::string::npos ? std::string() : percent_decode(pair.substr(equals + 1)));
      }
      start = end + 1;
    }
  }
  for (const auto& [name, value] : headers) request.headers.add(name, value);
  request.body = std::move(body);
  return request;
}

class AzureHandlersTest : public ::testing::Test {
 protected:
  AzureHandlersTest() : context_(test_scenario(), kBase) {}

  SandboxResponse call(const SandboxRequest& request) {
    std::optional<SandboxResponse> response = handle_azure(request, context_);
    EXPECT_TRUE(response.has_value()) << request.method << " " << request.target;
    return response ? *response : SandboxResponse{};
  }

  SandboxResponse call(const std::string& method, const std::string& target,
                       std::vector<std::pair<std::string, std::string>> headers = {},
                       const std::string& body = "") {
    return call(make_request(method, target, std::move(headers), body));
  }

  static json body_of(const SandboxResponse& response) {
    json parsed = json::parse(response.body, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << response.body;
    return parsed;
  }

  SandboxResponse request_token(const std::string& form, const std::string& tenant = kTenant) {
    return call("POST", "/" + tenant + "/oauth2/v2.0/token?client-request-id=corr-123",
                {{"Content-Type", "application/x-www-form-urlencoded"}}, form);
  }

  // A token through the real client-credentials flow.
  std::string token_for(const std::string& resource) {
    const SandboxResponse response = request_token(
        std::string("grant_type=client_credentials&client_id=") + kClient +
        "&client_secret=" + kSecret + "&scope=" + azure_impl::url_encode(resource + "/.default"));
    EXPECT_EQ(response.status, 200) << response.body;
    return body_of(response)["access_token"].get<std::string>();
  }

  std::vector<std::pair<std::string, std::string>> arm_auth() {
    if (arm_token_.empty()) arm_token_ = token_for("https://management.azure.com");
    return {{"Authorization", "Bearer " + arm_token_}};
  }

  std::vector<std::pair<std::string, std::string>> vault_auth() {
    if (vault_token_.empty()) vault_token_ = token_for("https://vault.azure.net");
    return {{"Authorization", "Bearer " + vault_token_}};
  }

  SandboxResponse arm_get(const std::string& target) { return call("GET", target, arm_auth()); }

  static std::vector<std::string> names_of(const json& page) {
    std::vector<std::string> names;
    for (const json& item : page["value"]) names.push_back(item["name"].get<std::string>());
    return names;
  }

  SandboxContext context_;
  std::string arm_token_;
  std::string vault_token_;
};

// ---- Entra ----

TEST_F(AzureHandlersTest, OpenIdConfigurationPointsAtTheSandbox) {
  const SandboxResponse response =
      call("GET", std::string("/") + kTenant + "/v2.0/.well-known/openid-configuration");
  ASSERT_EQ(response.status, 200);
  const json body = body_of(response);
  const std::string authority = std::string(kBase) + "/" + kTenant;
  EXPECT_EQ(body["token_endpoint"], authority + "/oauth2/v2.0/token");
  EXPECT_EQ(body["authorization_endpoint"], authority + "/oauth2/v2.0/authorize");
  EXPECT_EQ(body["issuer"], authority + "/v2.0");
  EXPECT_EQ(body["jwks_uri"], authority + "/discovery/v2.0/keys");

  const SandboxResponse unknown =
      call("GET", "/99999999-9999-4999-8999-999999999999/v2.0/.well-known/openid-configuration");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(body_of(unknown)["error_codes"], json::array({90002}));
}

TEST_F(AzureHandlersTest, InstanceDiscoveryHasMsalShape) {
  const SandboxResponse response = call(
      "GET",
      std::string("/common/discovery/instance?api-version=1.1&authorization_endpoint=") +
          azure_impl::url_encode(std::string(kBase) + "/" + kTenant + "/oauth2/v2.0/authorize"));
  ASSERT_EQ(response.status, 200);
  const json body = body_of(response);
  EXPECT_EQ(body["tenant_discovery_endpoint"],
            std::string(kBase) + "/" + kTenant + "/v2.0/.well-known/openid-configuration");
  EXPECT_EQ(body["api-version"], "1.1");
  EXPECT_EQ(body["metadata"][0]["aliases"], json::array({"127.0.0.1:8443"}));
  EXPECT_EQ(body["metadata"][0]["preferred_network"], "127.0.0.1:8443");
}

TEST_F(AzureHandlersTest, ClientSecretGivesAnAudienceBoundToken) {
  const SandboxResponse response = request_token(
      std::string("client_id=") + kClient + "&grant_type=client_credentials&client_secret=" +
      kSecret + "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default&x-client-SKU=msal.js.node");
  ASSERT_EQ(response.status, 200) << response.body;
  const json body = body_of(response);
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_TRUE(body["expires_in"].is_number_integer());
  EXPECT_EQ(body["expires_in"], 3599);
  EXPECT_TRUE(body["ext_expires_in"].is_number_integer());
  const std::string token = body["access_token"].get<std::string>();
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(context_.token_audience(token), "https://management.azure.com");
  EXPECT_EQ(response.headers.get("client-request-id"), "corr-123");
}

TEST_F(AzureHandlersTest, WrongSecretIsInvalidClient7000215) {
  const SandboxResponse response =
      request_token(std::string("grant_type=client_credentials&client_id=") + kClient +
                    "&client_secret=wrong&scope=https%3A%2F%2Fmanagement.azure.com%2F.default");
  EXPECT_EQ(response.status, 401);
  const json body = body_of(response);
  EXPECT_EQ(body["error"], "invalid_client");
  EXPECT_EQ(body["error_codes"], json::array({7000215}));
  EXPECT_EQ(body["error_description"].get<std::string>().rfind(
                "AADSTS7000215: Invalid client secret provided.", 0),
            0u);
  EXPECT_TRUE(body["timestamp"].is_string());
  EXPECT_TRUE(body["trace_id"].is_string());
  EXPECT_EQ(body["correlation_id"], "corr-123");
  EXPECT_EQ(body["error_description"].get<std::string>().find(kSecret), std::string::npos);
}

TEST_F(AzureHandlersTest, TokenRequestErrorsUseEntraCodes) {
  const std::string good = std::string("grant_type=client_credentials&client_id=") + kClient +
                           "&client_secret=" + kSecret;
  auto codes = [&](const SandboxResponse& response) { return body_of(response)["error_codes"]; };

  const SandboxResponse unknown_tenant =
      request_token(good + "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
                    "99999999-9999-4999-8999-999999999999");
  EXPECT_EQ(unknown_tenant.status, 400);
  EXPECT_EQ(codes(unknown_tenant), json::array({90002}));

  const SandboxResponse no_default = request_token(good + "&scope=https%3A%2F%2Fvault.azure.net");
  EXPECT_EQ(no_default.status, 400);
  EXPECT_EQ(body_of(no_default)["error"], "invalid_scope");
  EXPECT_EQ(codes(no_default), json::array({1002012}));

  const SandboxResponse unknown_client = request_token(
      "grant_type=client_credentials&client_id=nobody&client_secret=x&scope=a%2F.default");
  EXPECT_EQ(unknown_client.status, 400);
  EXPECT_EQ(codes(unknown_client), json::array({700016}));

  const SandboxResponse no_credential = request_token(
      std::string("grant_type=client_credentials&client_id=") + kClient + "&scope=a%2F.default");
  EXPECT_EQ(no_credential.status, 401);
  EXPECT_EQ(codes(no_credential), json::array({7000218}));

  const SandboxResponse password = request_token(std::string("grant_type=password&client_id=") +
                                                 kClient + "&scope=a%2F.default");
  EXPECT_EQ(password.status, 400);
  EXPECT_EQ(codes(password), json::array({70003}));
}

std::string jwt(const json& claims) {
  return base64url_encode(R"({"alg":"RS256","typ":"JWT","x5t":"abc"})") + "." +
         base64url_encode(claims.dump()) + "." + base64url_encode("not-checked");
}

TEST_F(AzureHandlersTest, ClientAssertionChecksItsClaims) {
  const std::int64_t now = azure_impl::epoch_now();
  auto assertion_request = [&](const std::string& assertion) {
    return request_token(
        std::string("grant_type=client_credentials&client_id=") + kClient +
        "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        "&client_assertion=" +
        assertion + "&scope=https%3A%2F%2Fvault.azure.net%2F.default");
  };
  const SandboxResponse certificate = assertion_request(
      jwt({{"iss", kClient}, {"sub", kClient}, {"aud", "x"}, {"exp", now + 600}, {"nbf", now}}));
  ASSERT_EQ(certificate.status, 200) << certificate.body;
  EXPECT_EQ(context_.token_audience(body_of(certificate)["access_token"]),
            "https://vault.azure.net");

  const SandboxResponse federated = assertion_request(jwt({{"iss", "https://oidc.example"},
                                                           {"sub", "system:serviceaccount:a:b"},
                                                           {"aud", "api://AzureADTokenExchange"},
                                                           {"exp", now + 600}}));
  EXPECT_EQ(federated.status, 200) << federated.body;

  const SandboxResponse other =
      assertion_request(jwt({{"iss", "someone"}, {"sub", "someone"}, {"exp", now + 600}}));
  EXPECT_EQ(other.status, 401);
  EXPECT_EQ(body_of(other)["error_codes"], json::array({700021}));

  const SandboxResponse expired =
      assertion_request(jwt({{"iss", kClient}, {"sub", kClient}, {"exp", now - 3600}}));
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(body_of(expired)["error_codes"], json::array({700024}));

  const SandboxResponse malformed = assertion_request("not-a-jwt");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(body_of(malformed)["error_codes"], json::array({50027}));
}

// ---- managed identity ----

TEST_F(AzureHandlersTest, ImdsRequiresTheMetadataHeaderAndAnswersNumbersAsStrings) {
  const std::string target =
      "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement."
      "azure.com%2F";
  const SandboxResponse refused = call("GET", target);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(body_of(refused), json::parse(R"({"error":"invalid_request",
      "error_description":"Required metadata header not specified"})"));

  const SandboxResponse response = call("GET", target, {{"Metadata", "true"}});
  ASSERT_EQ(response.status, 200) << response.body;
  const json body = body_of(response);
  EXPECT_TRUE(body["expires_in"].is_string());
  EXPECT_TRUE(body["expires_on"].is_string());
  EXPECT_TRUE(body["ext_expires_in"].is_string());
  EXPECT_TRUE(body["not_before"].is_string());
  EXPECT_EQ(body["resource"], "https://management.azure.com/");
  EXPECT_EQ(body["client_id"], kIdentity);
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(context_.token_audience(body["access_token"]), "https://management.azure.com");

  const SandboxResponse other_identity = call(
      "GET", target + "&client_id=44444444-4444-4444-8444-444444444444", {{"Metadata", "true"}});
  EXPECT_EQ(other_identity.status, 400);
  EXPECT_EQ(body_of(other_identity)["error_description"], "Identity not found");
}

TEST_F(AzureHandlersTest, AppServiceIdentityEndpointRequiresTheIdentityHeader) {
  const std::string target =
      "/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net";
  const std::string secret = azure_identity_header(context_.scenario());
  ASSERT_FALSE(secret.empty());
  EXPECT_EQ(call("GET", target).status, 401);
  EXPECT_EQ(call("GET", target, {{"X-IDENTITY-HEADER", "guess"}}).status, 401);
  const SandboxResponse response = call("GET", target, {{"X-IDENTITY-HEADER", secret}});
  ASSERT_EQ(response.status, 200) << response.body;
  const json body = body_of(response);
  EXPECT_TRUE(body["expires_on"].is_string());
  EXPECT_EQ(body["resource"], "https://vault.azure.net");
  EXPECT_EQ(context_.token_audience(body["access_token"]), "https://vault.azure.net");
}

// ---- Resource Manager: auth, api-version, headers ----

TEST_F(AzureHandlersTest, ResourceManagerRequiresABearerTokenForItsAudience) {
  const std::string target = "/subscriptions?api-version=2022-12-01";
  const SandboxResponse missing = call("GET", target);
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(body_of(missing)["error"]["code"], "AuthenticationFailed");
  EXPECT_NE(missing.headers.get("WWW-Authenticate").find("error=\"invalid_token\""),
            std::string::npos);
  EXPECT_FALSE(missing.headers.get("x-ms-request-id").empty());

  const SandboxResponse forged = call("GET", target, {{"Authorization", "Bearer forged"}});
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(body_of(forged)["error"]["code"], "InvalidAuthenticationToken");

  const SandboxResponse wrong_audience = call("GET", target, vault_auth());
  EXPECT_EQ(wrong_audience.status, 401);
  EXPECT_EQ(body_of(wrong_audience)["error"]["code"], "InvalidAuthenticationTokenAudience");

  for (const std::string& resource :
       {std::string("https://management.azure.com/"),
        std::string("https://management.core.windows.net/"), std::string(kBase)}) {
    const SandboxResponse ok =
        call("GET", target, {{"Authorization", "Bearer " + token_for(resource)}});
    EXPECT_EQ(ok.status, 200) << resource << ": " << ok.body;
  }
}

TEST_F(AzureHandlersTest, ApiVersionIsRequiredAndCheckedPerResourceType) {
  const SandboxResponse missing = arm_get(sub_a() + "/providers/Microsoft.KeyVault/vaults");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(body_of(missing)["error"]["code"], "MissingApiVersionParameter");

  const SandboxResponse unknown =
      arm_get(sub_a() + "/providers/Microsoft.KeyVault/vaults?api-version=2015-06-01");
  EXPECT_EQ(unknown.status, 400);
  const json error = body_of(unknown)["error"];
  EXPECT_EQ(error["code"], "InvalidApiVersionParameter");
  EXPECT_NE(error["message"].get<std::string>().find("2026-02-01"), std::string::npos);

  // A Key Vault version is no diagnostic-settings version, and the other way round.
  const std::string settings =
      vault_id("rg-keys", "kv-premium") + "/providers/Microsoft.Insights/diagnosticSettings";
  EXPECT_EQ(arm_get(settings + "?api-version=2026-02-01").status, 400);
  EXPECT_EQ(arm_get(settings + "?api-version=2017-05-01-preview").status, 200);
  EXPECT_EQ(
      arm_get(sub_a() + "/providers/Microsoft.KeyVault/vaults?api%2Dversion=2026-02-01").status,
      200);
  const std::string exemptions = sub_a() + "/providers/Microsoft.Authorization/policyExemptions";
  EXPECT_EQ(arm_get(exemptions + "?api-version=2024-12-01-preview").status, 200);
  EXPECT_EQ(arm_get(exemptions + "?api-version=2025-03-01").status, 400);
}

TEST_F(AzureHandlersTest, EveryArmAnswerCarriesRequestIds) {
  for (const std::string& target :
       {std::string("/subscriptions?api-version=2022-12-01"),
        std::string(
            "/subscriptions/00000000-0000-4000-8000-000000000000?api-version=2022-12-01")}) {
    const SandboxResponse response =
        call(make_request("GET", target, {arm_auth()[0], {"x-ms-correlation-request-id", "c-1"}}));
    EXPECT_FALSE(response.headers.get("x-ms-request-id").empty()) << target;
    EXPECT_EQ(response.headers.get("x-ms-correlation-request-id"), "c-1") << target;
    EXPECT_FALSE(response.headers.get("x-ms-ratelimit-remaining-subscription-reads").empty());
  }
}

TEST_F(AzureHandlersTest, SubscriptionsListAndNotFound) {
  const SandboxResponse response = arm_get("/subscriptions?api-version=2022-12-01");
  ASSERT_EQ(response.status, 200);
  const json body = body_of(response);
  ASSERT_EQ(body["value"].size(), 2u);
  EXPECT_EQ(body["value"][0]["subscriptionId"], kSubA);
  EXPECT_EQ(body["value"][0]["tenantId"], kTenant);
  EXPECT_EQ(body["value"][0]["state"], "Enabled");
  EXPECT_EQ(body["count"]["value"], 2);
  EXPECT_FALSE(body.contains("nextLink"));

  const SandboxResponse two_pages = arm_get("/subscriptions?api-version=2022-12-01&$top=1");
  ASSERT_TRUE(body_of(two_pages).contains("nextLink"));
  const json second = body_of(arm_get(body_of(two_pages)["nextLink"]));
  EXPECT_EQ(second["value"][0]["subscriptionId"], kSubB);

  const SandboxResponse missing =
      arm_get("/subscriptions/00000000-0000-4000-8000-000000000000?api-version=2022-12-01");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(body_of(missing)["error"]["code"], "SubscriptionNotFound");
}

// ---- Key Vault management plane ----

TEST_F(AzureHandlersTest, VaultsPageWithTopAndSkipToken) {
  const SandboxResponse first =
      arm_get(sub_a() + "/providers/Microsoft.KeyVault/vaults?api-version=2026-02-01&$top=3");
  ASSERT_EQ(first.status, 200) << first.body;
  const json page1 = body_of(first);
  ASSERT_EQ(page1["value"].size(), 3u);
  ASSERT_TRUE(page1["nextLink"].is_string());
  const std::string next = page1["nextLink"];
  EXPECT_EQ(next.rfind(std::string(kBase) + sub_a() + "/providers/Microsoft.KeyVault/vaults?", 0),
            0u);
  EXPECT_NE(next.find("api-version=2026-02-01"), std::string::npos);
  EXPECT_NE(next.find("$skiptoken="), std::string::npos);

  const SandboxResponse second = arm_get(next);
  ASSERT_EQ(second.status, 200) << second.body;
  const json page2 = body_of(second);
  EXPECT_EQ(page2["value"].size(), 1u);
  EXPECT_FALSE(page2.contains("nextLink"));

  std::set<std::string> names;
  for (const auto& page : {page1, page2}) {
    for (const std::string& name : names_of(page)) names.insert(name);
  }
  EXPECT_EQ(names, (std::set<std::string>{"kv-premium", "kv-std-1", "kv-std-2", "kv-std-3"}));

  EXPECT_EQ(arm_get(sub_a() + "/providers/Microsoft.KeyVault/vaults?api-version=2026-02-01&"
                              "$skiptoken=garbage")
                .status,
            400);
}

TEST_F(AzureHandlersTest, VaultSkuIsUnderPropertiesAndHsmSkuAtTheTop) {
  const json vault =
      body_of(arm_get(vault_id("rg-keys", "kv-premium") + "?api-version=2025-05-01"));
  EXPECT_EQ(vault["properties"]["sku"]["name"], "premium");
  EXPECT_EQ(vault["properties"]["sku"]["family"], "A");
  EXPECT_FALSE(vault.contains("sku"));
  EXPECT_EQ(vault["properties"]["vaultUri"], std::string(kBase) + "/_kv/kv-premium/");
  EXPECT_EQ(vault["type"], "Microsoft.KeyVault/vaults");

  const json hsms = body_of(
      arm_get(sub_a() + "/providers/Microsoft.KeyVault/managedHSMs?api-version=2025-05-01"));
  ASSERT_EQ(hsms["value"].size(), 1u);
  const json& hsm = hsms["value"][0];
  EXPECT_EQ(hsm["sku"]["name"], "Standard_B1");
  EXPECT_EQ(hsm["sku"]["family"], "B");
  EXPECT_FALSE(hsm["properties"].contains("sku"));
  EXPECT_EQ(hsm["properties"]["hsmUri"], std::string(kBase) + "/_mhsm/mhsm-1/");
  EXPECT_EQ(hsm["properties"]["provisioningState"], "Succeeded");
  EXPECT_EQ(hsm["properties"]["securityDomainProperties"]["activationStatus"], "Active");
  EXPECT_EQ(body_of(arm_get(hsm_id() + "?api-version=2025-05-01"))["id"], hsm_id());
}

TEST_F(AzureHandlersTest, KeyListHasNoKtyButKeyGetHas) {
  const json list =
      body_of(arm_get(vault_id("rg-keys", "kv-premium") + "/keys?api-version=2025-05-01"));
  ASSERT_EQ(list["value"].size(), 3u);
  for (const json& item : list["value"]) {
    EXPECT_FALSE(item["properties"].contains("kty")) << item.dump();
    EXPECT_FALSE(item["properties"].contains("keyOps"));
    EXPECT_TRUE(item["properties"].contains("attributes"));
    EXPECT_TRUE(item["properties"].contains("keyUri"));
  }
  const json rsa =
      body_of(arm_get(vault_id("rg-keys", "kv-premium") + "/keys/rsa-key?api-version=2025-05-01"));
  EXPECT_EQ(rsa["properties"]["kty"], "RSA-HSM");
  EXPECT_EQ(rsa["properties"]["keySize"], 3072);
  EXPECT_EQ(rsa["properties"]["attributes"]["exportable"], false);
  EXPECT_EQ(rsa["properties"]["keyUriWithVersion"],
            std::string(kBase) + "/_kv/kv-premium/keys/rsa-key/" + kRsaVersion);
  const json soft =
      body_of(arm_get(vault_id("rg-keys", "kv-premium") + "/keys/soft-key?api-version=2025-05-01"));
  EXPECT_EQ(soft["properties"]["kty"], "RSA");
  EXPECT_EQ(soft["properties"]["attributes"]["enabled"], false);
  EXPECT_EQ(soft["properties"]["attributes"]["exportable"], true);

  // Managed HSM keys are HSM-protected whatever the scenario wrote.
  const json hsm_key = body_of(arm_get(hsm_id() + "/keys/hsm-key?api-version=2025-05-01"));
  EXPECT_EQ(hsm_key["properties"]["kty"], "EC-HSM");
  EXPECT_EQ(hsm_key["properties"]["curveName"], "P-384");
  EXPECT_EQ(hsm_key["type"], "Microsoft.KeyVault/managedHSMs/keys");
}

TEST_F(AzureHandlersTest, MissingResourcesUseArmCodes) {
  const SandboxResponse group =
      arm_get(sub_a() +
              "/resourceGroups/nope/providers/Microsoft.KeyVault/vaults/kv-premium"
              "?api-version=2025-05-01");
  EXPECT_EQ(group.status, 404);
  EXPECT_EQ(body_of(group)["error"]["code"], "ResourceGroupNotFound");
  const SandboxResponse vault = arm_get(vault_id("rg-keys", "nope") + "?api-version=2025-05-01");
  EXPECT_EQ(vault.status, 404);
  EXPECT_EQ(body_of(vault)["error"]["code"], "ResourceNotFound");
  const SandboxResponse key =
      arm_get(vault_id("rg-keys", "kv-premium") + "/keys/nope?api-version=2025-05-01");
  EXPECT_EQ(key.status, 404);
  EXPECT_EQ(body_of(key)["error"]["code"], "ResourceNotFound");
}

TEST_F(AzureHandlersTest, WritesAreRefusedAsForAReader) {
  const SandboxResponse response =
      call("PUT", vault_id("rg-keys", "kv-premium") + "?api-version=2025-05-01", arm_auth(), "{}");
  EXPECT_EQ(response.status, 403);
  const json error = body_of(response)["error"];
  EXPECT_EQ(error["code"], "AuthorizationFailed");
  EXPECT_NE(error["message"].get<std::string>().find("Microsoft.KeyVault/vaults/write"),
            std::string::npos);
}

TEST_F(AzureHandlersTest, DiagnosticSettingsAreNeverPagedAndOldVersionHasNoCategoryGroup) {
  const std::string base =
      vault_id("rg-keys", "kv-premium") + "/providers/Microsoft.Insights/diagnosticSettings";
  const json current = body_of(arm_get(base + "?api-version=2021-05-01-preview"));
  ASSERT_EQ(current["value"].size(), 1u);
  EXPECT_FALSE(current.contains("nextLink"));
  const json& setting = current["value"][0];
  EXPECT_EQ(setting["name"], "to-workspace");
  EXPECT_EQ(setting["type"], "Microsoft.Insights/diagnosticSettings");
  EXPECT_EQ(setting["properties"]["logs"][0]["categoryGroup"], "allLogs");

  const json old = body_of(arm_get(base + "?api-version=2017-05-01-preview"));
  const json& logs = old["value"][0]["properties"]["logs"];
  ASSERT_FALSE(logs.empty());
  for (const json& entry : logs) EXPECT_FALSE(entry.contains("categoryGroup")) << entry.dump();
  EXPECT_EQ(logs[0]["category"], "AuditEvent");
  EXPECT_TRUE(logs[0]["enabled"].get<bool>());

  const json none = body_of(
      arm_get(vault_id("rg-other", "kv-std-1") +
              "/providers/Microsoft.Insights/diagnosticSettings?api-version=2021-05-01-preview"));
  EXPECT_EQ(none["value"], json::array());
}

// ---- policy ----

TEST_F(AzureHandlersTest, PolicyAssignmentsAtScopeIncludeAncestorsOnly) {
  const std::string list =
      "/providers/Microsoft.Authorization/policyAssignments?api-version=2025-03-01";
  auto names = [&](const std::string& target) {
    const SandboxResponse response = arm_get(target);
    EXPECT_EQ(response.status, 200) << target << ": " << response.body;
    std::vector<std::string> result = names_of(body_of(response));
    std::sort(result.begin(), result.end());
    return result;
  };
  EXPECT_EQ(names(sub_a() + list + "&$filter=atScope()"),
            (std::vector<std::string>{"mg-hsm", "sub-initiative"}));
  EXPECT_EQ(names(sub_a() + list),
            (std::vector<std::string>{"mg-hsm", "rg-logs", "sub-initiative"}));
  EXPECT_EQ(names(sub_a() + list + "&$filter=atExactScope()"),
            (std::vector<std::string>{"sub-initiative"}));
  EXPECT_EQ(names(sub_a() + "/resourceGroups/rg-keys" + list + "&$filter=atScope()"),
            (std::vector<std::string>{"mg-hsm", "rg-logs", "sub-initiative"}));
  EXPECT_EQ(names(vault_id("rg-other", "kv-std-1") + list + "&$filter=atScope()"),
            (std::vector<std::string>{"mg-hsm", "sub-initiative"}));
  EXPECT_EQ(names("/providers/Microsoft.Management/managementGroups/mg-root" + list +
                  "&$filter=atScope()"),
            (std::vector<std::string>{"mg-hsm"}));
  EXPECT_EQ(
      names(sub_a() + list + "&$filter=" +
            azure_impl::url_encode(std::string("policyDefinitionId eq '") + kHsmKeysPolicy + "'")),
      (std::vector<std::string>{"mg-hsm"}));

  const json assignment =
      body_of(arm_get("/providers/Microsoft.Management/managementGroups/mg-root/providers/"
                      "Microsoft.Authorization/policyAssignments/mg-hsm?api-version=2025-03-01"));
  EXPECT_EQ(assignment["properties"]["notScopes"],
            json::array({sub_a() + "/resourceGroups/rg-other"}));
  EXPECT_EQ(assignment["properties"]["policyDefinitionId"], kHsmKeysPolicy);

  const SandboxResponse unknown_group = arm_get(
      "/providers/Microsoft.Management/managementGroups/elsewhere" + list + "&$filter=atScope()");
  EXPECT_EQ(unknown_group.status, 403);
  EXPECT_EQ(body_of(unknown_group)["error"]["code"], "AuthorizationFailed");
  EXPECT_EQ(arm_get(sub_a() + list + "&$filter=bogus()").status, 400);
}

TEST_F(AzureHandlersTest, PolicySetDefinitionsListTheirMembers) {
  const json builtin = body_of(arm_get(std::string(kInitiative) + "?api-version=2025-03-01"));
  EXPECT_EQ(builtin["properties"]["policyType"], "BuiltIn");
  const json& members = builtin["properties"]["policyDefinitions"];
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0]["policyDefinitionId"], kHsmKeysPolicy);
  EXPECT_EQ(members[0]["policyDefinitionReferenceId"], "hsmKeys");
  // Built-ins are readable through a subscription too.
  EXPECT_EQ(arm_get(sub_a() + kInitiative + "?api-version=2025-03-01").status, 200);
  const SandboxResponse missing = arm_get(
      "/providers/Microsoft.Authorization/policySetDefinitions/nope?api-version=2025-03-01");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(body_of(missing)["error"]["code"], "PolicySetDefinitionNotFound");
}

std::string states_path(const std::string& scope) {
  return scope +
         "/providers/Microsoft.PolicyInsights/policyStates/latest/"
         "queryResults?api-version=2024-10-01";
}

TEST_F(AzureHandlersTest, PolicyStatesHonourAssignmentCoverageAndNotScopes) {
  const SandboxResponse response = call("POST", states_path(sub_a()), arm_auth());
  ASSERT_EQ(response.status, 200) << response.body;
  const json body = body_of(response);
  EXPECT_TRUE(body["@odata.nextLink"].is_null());
  EXPECT_EQ(body["@odata.count"], 5);
  std::multiset<std::string> seen;
  for (const json& state : body["value"]) {
    seen.insert(state["policyAssignmentName"].get<std::string>() + "|" +
                state["resourceId"].get<std::string>().substr(sub_a().size()));
  }
  EXPECT_EQ(
      seen,
      (std::multiset<std::string>{
          "mg-hsm|/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-premium",
          "sub-initiative|/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-premium",
          "sub-initiative|/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-premium",
          "sub-initiative|/resourceGroups/rg-other/providers/Microsoft.KeyVault/vaults/kv-std-1",
          "rg-logs|/resourceGroups/rg-keys/providers/Microsoft.KeyVault/managedHSMs/mhsm-1"}));

  const json& first = body["value"][0];
  EXPECT_TRUE(first["effectiveParameters"].is_null());
  EXPECT_TRUE(first["policySetDefinitionId"].is_null());
  EXPECT_TRUE(first["policyDefinitionReferenceId"].is_null());
  EXPECT_TRUE(first["isCompliant"].is_boolean());
  EXPECT_TRUE(first["policyAssignmentParameters"].is_string());
  EXPECT_EQ(first["managementGroupIds"], "mg-child,mg-root");
  EXPECT_EQ(first["policyAssignmentId"],
            "/providers/Microsoft.Management/managementGroups/mg-root/providers/"
            "Microsoft.Authorization/policyAssignments/mg-hsm");
  EXPECT_EQ(first["resourceType"], "Microsoft.KeyVault/vaults");
  const json& initiative = body["value"][1];
  EXPECT_EQ(initiative["policySetDefinitionId"], kInitiative);
  EXPECT_EQ(initiative["policyDefinitionReferenceId"], "hsmKeys");
  EXPECT_EQ(initiative["complianceState"], "Compliant");
}

TEST_F(AzureHandlersTest, PolicyStatesFilterSubset) {
  auto count = [&](const std::string& scope, const std::string& filter) {
    const SandboxResponse response =
        call("POST", states_path(scope) + "&$filter=" + azure_impl::url_encode(filter), arm_auth());
    EXPECT_EQ(response.status, 200) << filter << ": " << response.body;
    return body_of(response)["value"].size();
  };
  EXPECT_EQ(count(sub_a(), std::string("PolicyDefinitionId eq '") + kHsmKeysPolicy + "'"), 3u);
  EXPECT_EQ(count(sub_a(), std::string("policydefinitionid eq '") + kHsmKeysPolicy +
                               "' and complianceSTATE eq 'compliant'"),
            2u);
  EXPECT_EQ(count(sub_a(), "IsCompliant eq false"), 2u);
  EXPECT_EQ(count(sub_a(), "IsCompliant eq true or ComplianceState eq 'NonCompliant'"), 5u);
  EXPECT_EQ(count(sub_a(), "ResourceId eq '" + hsm_id() + "'"), 1u);
  EXPECT_EQ(count(sub_a(), "PolicyAssignmentId eq '" + sub_a() +
                               "/providers/Microsoft.Authorization/policyAssignments/"
                               "sub-initiative' and not (IsCompliant eq true)"),
            2u);
  EXPECT_EQ(count(sub_a() + "/resourceGroups/rg-other", "IsCompliant eq false"), 1u);
  EXPECT_EQ(count(vault_id("rg-keys", "kv-premium"), "ComplianceState eq 'Compliant'"), 2u);

  const SandboxResponse bad =
      call("POST", states_path(sub_a()) + "&$filter=" + azure_impl::url_encode("Nope eq 'x'"),
           arm_auth());
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(body_of(bad)["error"]["code"].is_string());
}

TEST_F(AzureHandlersTest, PolicyStatesNextLinkIsPostedWithSkipToken) {
  const std::string filter = azure_impl::url_encode("IsCompliant eq true or IsCompliant eq false");
  const SandboxResponse first =
      call("POST", states_path(sub_a()) + "&$top=2&$filter=" + filter, arm_auth());
  ASSERT_EQ(first.status, 200) << first.body;
  const json page1 = body_of(first);
  ASSERT_EQ(page1["value"].size(), 2u);
  ASSERT_TRUE(page1["@odata.nextLink"].is_string());
  const std::string next = page1["@odata.nextLink"];
  EXPECT_NE(next.find("$skiptoken="), std::string::npos);

  // The next page is a POST of the link; GET is refused as by the service.
  const SandboxResponse wrong_method = call("GET", next, arm_auth());
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(body_of(wrong_method)["error"]["code"], "HttpMethodNotSupported");

  std::size_t total = 2;
  std::string link = next;
  for (int guard = 0; guard < 5 && !link.empty(); ++guard) {
    const SandboxResponse page = call("POST", link, arm_auth());
    ASSERT_EQ(page.status, 200) << page.body;
    const json body = body_of(page);
    total += body["value"].size();
    link = body["@odata.nextLink"].is_string() ? body["@odata.nextLink"].get<std::string>() : "";
  }
  EXPECT_EQ(total, 5u);
}

TEST_F(AzureHandlersTest, SummarizeWritesComplianceStateInLowerCase) {
  const SandboxResponse response = call("POST",
                                        sub_a() +
                                            "/providers/Microsoft.PolicyInsights/policyStates/"
                                            "latest/summarize?api-version=2024-10-01",
                                        arm_auth());
  ASSERT_EQ(response.status, 200) << response.body;
  const json summary = body_of(response)["value"][0];
  const json& results = summary["results"];
  EXPECT_EQ(results["nonCompliantResources"], 2);  // kv-premium (logs) and kv-std-1
  std::set<std::string> states;
  for (const json& detail : results["resourceDetails"]) {
    states.insert(detail["complianceState"].get<std::string>());
  }
  EXPECT_EQ(states, (std::set<std::string>{"compliant", "noncompliant"}));
  EXPECT_EQ(summary["policyAssignments"].size(), 3u);
  for (const json& assignment : summary["policyAssignments"]) {
    if (assignment["policyAssignmentId"].get<std::string>().find("sub-initiative") !=
        std::string::npos) {
      EXPECT_EQ(assignment["policySetDefinitionId"], kInitiative);
      EXPECT_EQ(assignment["policyDefinitions"].size(), 2u);
    }
  }
}

TEST_F(AzureHandlersTest, ExemptionsListWithFilters) {
  const std::string list =
      "/providers/Microsoft.Authorization/policyExemptions?api-version=2022-07-01-preview";
  auto names = [&](const std::string& target) {
    const SandboxResponse response = arm_get(target);
    EXPECT_EQ(response.status, 200) << target << ": " << response.body;
    std::vector<std::string> result = names_of(body_of(response));
    std::sort(result.begin(), result.end());
    return result;
  };
  EXPECT_EQ(names(sub_a() + list), (std::vector<std::string>{"exempt-kv", "exempt-std"}));
  EXPECT_EQ(names(sub_a() + list + "&$filter=excludeExpired()"),
            (std::vector<std::string>{"exempt-kv"}));
  EXPECT_EQ(names(sub_a() + list + "&$filter=atScope()"), std::vector<std::string>{});
  EXPECT_EQ(names(vault_id("rg-keys", "kv-premium") + list + "&$filter=atScope()"),
            (std::vector<std::string>{"exempt-kv"}));
  EXPECT_EQ(names(sub_a() + list + "&$filter=" +
                  azure_impl::url_encode("policyAssignmentId eq '" + sub_a() +
                                         "/providers/Microsoft.Authorization/policyAssignments/"
                                         "sub-initiative'")),
            (std::vector<std::string>{"exempt-std"}));
  const json exemption = body_of(arm_get(vault_id("rg-keys", "kv-premium") +
                                         "/providers/Microsoft.Authorization/policyExemptions/"
                                         "exempt-kv?api-version=2024-12-01-preview"));
  EXPECT_EQ(exemption["properties"]["exemptionCategory"], "Mitigated");
  EXPECT_EQ(exemption["properties"]["policyDefinitionReferenceIds"], json::array({"hsmKeys"}));
  EXPECT_FALSE(exemption["properties"].contains("expiresOn"));
}

// ---- Key Vault data plane ----

TEST_F(AzureHandlersTest, DataPlaneChallengesRequestsWithoutBearer) {
  const SandboxResponse vault = call(
      "POST", "/_kv/kv-premium/keys/rsa-key/" + std::string(kRsaVersion) + "/sign?api-version=7.6");
  EXPECT_EQ(vault.status, 401);
  EXPECT_EQ(vault.headers.get("WWW-Authenticate"), std::string("Bearer authorization=\"") + kBase +
                                                       "/" + kTenant +
                                                       "\", resource=\"https://vault.azure.net\"");
  EXPECT_EQ(body_of(vault), json::parse(R"({"error":{"code":"Unauthorized",
      "message":"AKV10000: Request is missing a Bearer or PoP token."}})"));

  const SandboxResponse hsm = call("GET", "/_mhsm/mhsm-1/keys/hsm-key?api-version=7.6");
  EXPECT_EQ(hsm.status, 401);
  EXPECT_EQ(hsm.headers.get("WWW-Authenticate"),
            std::string("Bearer authorization=\"") + kBase + "/" + kTenant +
                "\", resource=\"https://managedhsm.azure.net\"");

  // A vault token is no managed HSM token, and an ARM token neither.
  const SandboxResponse vault_token_on_hsm =
      call("GET", "/_mhsm/mhsm-1/keys/hsm-key?api-version=7.6", vault_auth());
  EXPECT_EQ(vault_token_on_hsm.status, 401);
  EXPECT_NE(body_of(vault_token_on_hsm)["error"]["message"].get<std::string>().find("AKV10022"),
            std::string::npos);
  EXPECT_EQ(call("GET", "/_kv/kv-premium/keys/rsa-key?api-version=7.6", arm_auth()).status, 401);
}

EVP_PKEY* rsa_public_key(const json& jwk) {
  const std::string n = *base64url_decode(jwk["n"]);
  const std::string e = *base64url_decode(jwk["e"]);
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                           static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                           static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, bn_n);
  OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, bn_e);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* key = nullptr;
  EVP_PKEY_fromdata_init(ctx);
  EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(builder);
  BN_free(bn_n);
  BN_free(bn_e);
  return key;
}

EVP_PKEY* ec_public_key(const json& jwk, const char* group) {
  const std::string point =
      std::string(1, '\x04') + *base64url_decode(jwk["x"]) + *base64url_decode(jwk["y"]);
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
  OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  EVP_PKEY_fromdata_init(ctx);
  EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(builder);
  return key;
}

std::string digest_of(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out, &length, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), length);
}

// Verifies a JWS-style signature (raw r||s for ECDSA) over a digest with OpenSSL.
bool verifies(EVP_PKEY* key, const EVP_MD* md, int padding, const std::string& digest,
              std::string signature) {
  if (padding == 0) {  // ECDSA: r||s -> DER
    const std::size_t half = signature.size() / 2;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig,
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()),
                             static_cast<int>(half), nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data() + half),
                             static_cast<int>(half), nullptr));
    unsigned char* der = nullptr;
    const int length = i2d_ECDSA_SIG(sig, &der);
    signature.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
  }
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
  bool ok = EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;
  if (ok && padding != 0) {
    ok = EVP_PKEY_CTX_set_rsa_padding(ctx, padding) == 1;
    if (ok && padding == RSA_PKCS1_PSS_PADDING) {
      ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    }
  }
  ok = ok && EVP_PKEY_verify(
                 ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                 reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) == 1;
  EVP_PKEY_CTX_free(ctx);
  return ok;
}

TEST_F(AzureHandlersTest, GetKeyReturnsThePublicJwkAndSignaturesVerify) {
  // As @azure/keyvault-keys sends it: trailing slash for "latest", encoded "-" in the query key.
  const SandboxResponse got =
      call("GET", "/_kv/kv-premium/keys/rsa-key/?api%2Dversion=2025-07-01", vault_auth());
  ASSERT_EQ(got.status, 200) << got.body;
  const json bundle = body_of(got);
  const json& jwk = bundle["key"];
  EXPECT_EQ(jwk["kid"], std::string(kBase) + "/keys/rsa-key/" + kRsaVersion);
  EXPECT_EQ(jwk["kty"], "RSA-HSM");
  EXPECT_EQ(jwk["e"], "AQAB");
  EXPECT_EQ(base64url_decode(jwk["n"])->size(), 384u);
  EXPECT_EQ(jwk["n"].get<std::string>().find('='), std::string::npos);
  EXPECT_EQ(bundle["attributes"]["exportable"], false);
  EXPECT_EQ(bundle["attributes"]["hsmPlatform"], "2");

  EVP_PKEY* public_key = rsa_public_key(jwk);
  ASSERT_NE(public_key, nullptr);
  const std::string digest256 = digest_of(EVP_sha256(), "evidence bundle");
  for (const auto& [alg, padding] : {std::pair<std::string, int>{"RS256", RSA_PKCS1_PADDING},
                                     {"PS256", RSA_PKCS1_PSS_PADDING}}) {
    const SandboxResponse signed_response =
        call("POST",
             "/_kv/kv-premium/keys/rsa-key/" + std::string(kRsaVersion) + "/sign?api-version=7.6",
             vault_auth(), json{{"alg", alg}, {"value", base64url_encode(digest256)}}.dump());
    ASSERT_EQ(signed_response.status, 200) << signed_response.body;
    const json result = body_of(signed_response);
    EXPECT_EQ(result["kid"], jwk["kid"]);
    const std::string signature = *base64url_decode(result["value"]);
    EXPECT_TRUE(verifies(public_key, EVP_sha256(), padding, digest256, signature)) << alg;
    EXPECT_FALSE(verifies(public_key, EVP_sha256(), padding,
                          digest_of(EVP_sha256(), "something else"), signature))
        << alg;
  }
  // The kid the bundle carries is itself an address the sandbox answers.
  const SandboxResponse by_kid = call(
      "POST", jwk["kid"].get<std::string>() + "/sign?api-version=7.6", vault_auth(),
      json{{"alg", "RS512"}, {"value", base64url_encode(digest_of(EVP_sha512(), "x"))}}.dump());
  ASSERT_EQ(by_kid.status, 200) << by_kid.body;
  EXPECT_TRUE(verifies(public_key, EVP_sha512(), RSA_PKCS1_PADDING, digest_of(EVP_sha512(), "x"),
                       *base64url_decode(body_of(by_kid)["value"])));
  EVP_PKEY_free(public_key);
}

TEST_F(AzureHandlersTest, EcdsaSignaturesAreRawRAndS) {
  const json vault_bundle =
      body_of(call("GET", "/_kv/kv-premium/keys/ec-key?api-version=7.6", vault_auth()));
  EXPECT_EQ(vault_bundle["key"]["crv"], "P-256");
  EXPECT_EQ(base64url_decode(vault_bundle["key"]["x"])->size(), 32u);
  EVP_PKEY* public_key = ec_public_key(vault_bundle["key"], "P-256");
  ASSERT_NE(public_key, nullptr);
  const std::string digest = digest_of(EVP_sha256(), "payload");
  const SandboxResponse response =
      call("POST", "/_kv/kv-premium/keys/ec-key//sign?api-version=7.6", vault_auth(),
           json{{"alg", "ES256"}, {"value", base64url_encode(digest)}}.dump());
  ASSERT_EQ(response.status, 200) << response.body;
  const std::string signature = *base64url_decode(body_of(response)["value"]);
  EXPECT_EQ(signature.size(), 64u);
  EXPECT_TRUE(verifies(public_key, EVP_sha256(), 0, digest, signature));
  EVP_PKEY_free(public_key);

  const std::string hsm_token = token_for("https://managedhsm.azure.net");
  const json hsm_bundle = body_of(call("GET", "/_mhsm/mhsm-1/keys/hsm-key?api-version=7.6",
                                       {{"Authorization", "Bearer " + hsm_token}}));
  EXPECT_EQ(hsm_bundle["key"]["kty"], "EC-HSM");
  EVP_PKEY* hsm_key = ec_public_key(hsm_bundle["key"], "P-384");
  ASSERT_NE(hsm_key, nullptr);
  const std::string digest384 = digest_of(EVP_sha384(), "payload");
  const SandboxResponse hsm_signed =
      call("POST", hsm_bundle["key"]["kid"].get<std::string>() + "/sign?api-version=7.5",
           {{"Authorization", "Bearer " + hsm_token}},
           json{{"alg", "ES384"}, {"value", base64url_encode(digest384)}}.dump());
  ASSERT_EQ(hsm_signed.status, 200) << hsm_signed.body;
  const std::string hsm_signature = *base64url_decode(body_of(hsm_signed)["value"]);
  EXPECT_EQ(hsm_signature.size(), 96u);
  EXPECT_TRUE(verifies(hsm_key, EVP_sha384(), 0, digest384, hsm_signature));
  EVP_PKEY_free(hsm_key);
}

TEST_F(AzureHandlersTest, SignRejectsWhatKeyVaultRejects) {
  const std::string target = "/_kv/kv-premium/keys/ec-key/sign?api-version=7.6";
  const std::string digest = base64url_encode(digest_of(EVP_sha256(), "x"));
  auto code = [](const SandboxResponse& response) {
    return json::parse(response.body)["error"]["code"].get<std::string>();
  };
  const SandboxResponse rsa_alg =
      call("POST", target, vault_auth(), json{{"alg", "RS256"}, {"value", digest}}.dump());
  EXPECT_EQ(rsa_alg.status, 400);
  EXPECT_EQ(code(rsa_alg), "BadParameter");
  const SandboxResponse short_digest =
      call("POST", target, vault_auth(),
           json{{"alg", "ES256"}, {"value", base64url_encode("abc")}}.dump());
  EXPECT_EQ(short_digest.status, 400);
  const SandboxResponse disabled =
      call("POST", "/_kv/kv-premium/keys/soft-key/sign?api-version=7.6", vault_auth(),
           json{{"alg", "RS256"}, {"value", digest}}.dump());
  EXPECT_EQ(disabled.status, 403);
  const SandboxResponse missing =
      call("GET", "/_kv/kv-premium/keys/nope?api-version=7.6", vault_auth());
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(code(missing), "KeyNotFound");
  const SandboxResponse old_version =
      call("GET", "/_kv/kv-premium/keys/ec-key?api-version=2016-10-01", vault_auth());
  EXPECT_EQ(old_version.status, 400);
  EXPECT_EQ(code(old_version), "BadParameter");
}

TEST_F(AzureHandlersTest, DataPlaneKeyListPagesWithMaxResults) {
  const SandboxResponse first =
      call("GET", "/_kv/kv-premium/keys?api-version=7.6&maxresults=2", vault_auth());
  ASSERT_EQ(first.status, 200) << first.body;
  const json page1 = body_of(first);
  ASSERT_EQ(page1["value"].size(), 2u);
  EXPECT_FALSE(page1["value"][0].contains("key"));
  EXPECT_EQ(page1["value"][0]["kid"], std::string(kBase) + "/keys/rsa-key");
  ASSERT_TRUE(page1["nextLink"].is_string());
  const json page2 = body_of(call("GET", page1["nextLink"].get<std::string>(), vault_auth()));
  ASSERT_EQ(page2["value"].size(), 1u);
  EXPECT_EQ(page2["value"][0]["kid"], std::string(kBase) + "/keys/soft-key");
  EXPECT_TRUE(page2["nextLink"].is_null());
  EXPECT_EQ(call("GET", "/_kv/kv-premium/keys?api-version=7.6&maxresults=26", vault_auth()).status,
            400);
}

TEST_F(AzureHandlersTest, ServiceOfNamesFaultServices) {
  EXPECT_EQ(
      azure_service_of(make_request("POST", std::string("/") + kTenant + "/oauth2/v2.0/token")),
      "entra");
  EXPECT_EQ(azure_service_of(make_request("GET", "/_kv/v/keys")), "keyvault");
  EXPECT_EQ(azure_service_of(make_request("POST", states_path(sub_a()))), "policy");
  EXPECT_EQ(azure_service_of(make_request(
                "GET", vault_id("g", "v") + "/providers/Microsoft.Insights/diagnosticSettings")),
            "monitor");
  EXPECT_EQ(azure_service_of(make_request("GET", "/subscriptions")), "arm");
  EXPECT_EQ(azure_service_of(make_request("GET", "/favicon.ico")), "");
  EXPECT_FALSE(handle_azure(make_request("GET", "/favicon.ico"), context_).has_value());

  const SandboxResponse throttled =
      azure_error_response(make_request("GET", "/subscriptions"), context_, 429,
                           "SubscriptionRequestsThrottled", "slow");
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(json::parse(throttled.body)["error"]["code"], "SubscriptionRequestsThrottled");
  EXPECT_FALSE(throttled.headers.get("x-ms-request-id").empty());
}

}  // namespace
}  // namespace hsmproof::sandbox
