#include "sandbox/scenario.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "sandbox/faults.h"

namespace hsmproof::sandbox {
namespace {

using nlohmann::json;

// A small valid scenario that each error test breaks in one place.
json minimal_scenario() {
  return json::parse(R"({
    "name": "minimal",
    "aws": {"accounts": [{
      "account_id": "111122223333",
      "keys": [{"region": "eu-west-1", "key_spec": "RSA_4096", "aliases": ["alias/codesign"]}],
      "trails": [{"name": "audit", "home_region": "us-east-1", "multi_region": true}],
      "clusters": [{"region": "eu-west-1", "hsms": [{"state": "ACTIVE"}]}]
    }]},
    "azure": {
      "tenant_id": "3c1d2f4e-8a6b-4c7d-9e0f-1a2b3c4d5e6f",
      "subscriptions": [{
        "subscription_id": "0b1f6c7a-2d3e-4f5a-8b9c-0d1e2f3a4b5c",
        "vaults": [{"name": "kv-a", "resource_group": "rg",
                    "keys": [{"name": "k1", "kty": "RSA-HSM", "key_size": 3072}]}],
        "policy_assignments": [{"name": "hsm",
          "policy_definition_id": "/providers/Microsoft.Authorization/policyDefinitions/587c79fe-dd04-4a5e-9d0b-f89598c7261b"}],
        "policy_states": [{"resource_id": "/subscriptions/0b1f6c7a-2d3e-4f5a-8b9c-0d1e2f3a4b5c/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-a",
          "policy_assignment_name": "hsm", "compliance_state": "Compliant"}]
      }]
    }
  })");
}

std::string error_of(const json& document, const std::string& source = "my.json") {
  const Result<Scenario> parsed = parse_scenario(document.dump(), source);
  EXPECT_FALSE(parsed.ok()) << "expected an error for " << document.dump();
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.error().kind, ErrorKind::kUsage);
  return parsed.error().message;
}

TEST(Scenario, ParsesAndFillsDefaults) {
  const Result<Scenario> parsed = parse_scenario(minimal_scenario().dump(), "dir/minimal.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const Scenario& scenario = parsed.value();
  ASSERT_EQ(scenario.aws_accounts.size(), 1U);
  const AwsAccountSpec& account = scenario.aws_accounts[0];
  EXPECT_EQ(account.access_key_id.size(), 20U);
  EXPECT_EQ(account.access_key_id.rfind("AKIA", 0), 0U);
  EXPECT_EQ(account.secret_access_key.size(), 40U);
  // us-east-1 plus the regions in use.
  EXPECT_EQ(account.enabled_regions, (std::vector<std::string>{"eu-west-1", "us-east-1"}));
  ASSERT_EQ(account.keys.size(), 1U);
  EXPECT_EQ(account.keys[0].key_usage, "SIGN_VERIFY");
  EXPECT_EQ(account.keys[0].origin, "AWS_KMS");
  EXPECT_EQ(account.keys[0].key_state, "Enabled");
  EXPECT_EQ(account.keys[0].key_id.size(), 36U);
  EXPECT_EQ(account.keys[0].key_id[14], '4');  // a version 4 UUID layout
  ASSERT_EQ(account.clusters.size(), 1U);
  EXPECT_EQ(account.clusters[0].cluster_id.rfind("cluster-", 0), 0U);
  ASSERT_EQ(account.clusters[0].hsms.size(), 1U);
  EXPECT_EQ(account.clusters[0].hsms[0].availability_zone, "eu-west-1a");
  EXPECT_FALSE(account.trails[0].event_selectors.has_value());

  ASSERT_TRUE(scenario.azure.has_value());
  const VaultSpec& vault = scenario.azure->subscriptions[0].vaults[0];
  EXPECT_EQ(vault.location, "westeurope");
  EXPECT_EQ(vault.sku, "premium");
  EXPECT_EQ(vault.keys[0].hsm_platform, "2");
  EXPECT_EQ(vault.keys[0].version.size(), 32U);
  EXPECT_EQ(scenario.azure->subscriptions[0].policy_states[0].policy_definition_id,
            "/providers/Microsoft.Authorization/policyDefinitions/"
            "587c79fe-dd04-4a5e-9d0b-f89598c7261b");
  EXPECT_EQ(scenario.azure->subscriptions[0].policy_assignments[0].scope,
            "/subscriptions/0b1f6c7a-2d3e-4f5a-8b9c-0d1e2f3a4b5c");
}

TEST(Scenario, SmartDefaultsFollowTheKeySpec) {
  json document = minimal_scenario();
  document["aws"]["accounts"][0]["keys"] = json::parse(R"([
    {"region": "eu-west-1", "key_spec": "SYMMETRIC_DEFAULT"},
    {"region": "eu-west-1", "key_spec": "HMAC_256"},
    {"region": "eu-west-1", "key_spec": "RSA_2048", "multi_region": true}])");
  document["azure"]["subscriptions"][0]["vaults"][0]["keys"] =
      json::parse(R"([{"name": "soft", "kty": "RSA", "key_size": 2048},
                      {"name": "ec", "kty": "EC-HSM"}])");
  const Result<Scenario> parsed = parse_scenario(document.dump(), "x.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const auto& keys = parsed.value().aws_accounts[0].keys;
  EXPECT_EQ(keys[0].key_usage, "ENCRYPT_DECRYPT");
  EXPECT_EQ(keys[1].key_usage, "GENERATE_VERIFY_MAC");
  EXPECT_EQ(keys[2].key_id.rfind("mrk-", 0), 0U);
  EXPECT_EQ(keys[2].key_id.size(), 36U);
  const auto& azure_keys = parsed.value().azure->subscriptions[0].vaults[0].keys;
  EXPECT_EQ(azure_keys[0].hsm_platform, "");  // software keys report no HSM platform
  EXPECT_EQ(azure_keys[1].curve, "P-256");
  EXPECT_EQ(azure_keys[1].key_size, 0);
}

TEST(Scenario, DerivedIdsAreStableAndFollowTheSeed) {
  const auto first = parse_scenario(minimal_scenario().dump(), "a.json");
  const auto again = parse_scenario(minimal_scenario().dump(), "b.json");
  json reseeded = minimal_scenario();
  reseeded["seed"] = 7;
  const auto other = parse_scenario(reseeded.dump(), "c.json");
  ASSERT_TRUE(first.ok() && again.ok() && other.ok());
  EXPECT_EQ(first.value().aws_accounts[0].keys[0].key_id,
            again.value().aws_accounts[0].keys[0].key_id);
  EXPECT_EQ(first.value().aws_accounts[0].access_key_id,
            again.value().aws_accounts[0].access_key_id);
  EXPECT_NE(first.value().aws_accounts[0].keys[0].key_id,
            other.value().aws_accounts[0].keys[0].key_id);
  EXPECT_NE(first.value().azure->client_id, other.value().azure->client_id);
}

TEST(Scenario, NameDefaultsToTheFileStem) {
  json document = minimal_scenario();
  document.erase("name");
  const auto parsed = parse_scenario(document.dump(), "/tmp/scenarios/acme-org.json");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value().name, "acme-org");
}

TEST(Scenario, ErrorNamesFileJsonPathAndTheAllowedValues) {
  json document = minimal_scenario();
  document["aws"]["accounts"][0]["keys"][0]["key_spec"] = "RSA_1024";
  const std::string message = error_of(document);
  EXPECT_EQ(message.rfind("scenario my.json: aws.accounts[0].keys[0].key_spec: \"RSA_1024\" is "
                          "not a KMS KeySpec (expected one of RSA_2048, RSA_3072, RSA_4096",
                          0),
            0U)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(Scenario, SyntaxErrorsGiveLineAndColumn) {
  const auto parsed = parse_scenario("{\n  \"name\": \"x\",\n  \"aws\": [1,,]\n}", "broken.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message.rfind("scenario broken.json: line 3, column ", 0), 0U)
      << parsed.error().message;
  EXPECT_NE(parsed.error().message.find("not valid JSON"), std::string::npos);
}

TEST(Scenario, UnknownFieldsAreRefusedWithASuggestion) {
  json document = minimal_scenario();
  document["aws"]["accounts"][0]["keys"][0]["keyspec"] = "RSA_4096";
  const std::string message = error_of(document);
  EXPECT_NE(message.find("aws.accounts[0].keys[0].keyspec: unknown field; did you mean "
                         "\"key_spec\"?"),
            std::string::npos)
      << message;
  json top = minimal_scenario();
  top["fautls"] = json::array();
  EXPECT_NE(error_of(top).find("scenario my.json: fautls: unknown field; did you mean \"faults\"?"),
            std::string::npos);
}

struct BadInput {
  const char* json_pointer;  // where to put the bad value
  json value;
  const char* expected;  // a fragment of the message, path included
};

class ScenarioBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(ScenarioBadInput, IsRefusedWithItsPath) {
  const BadInput& input = GetParam();
  json document = minimal_scenario();
  document[json::json_pointer(input.json_pointer)] = input.value;
  const std::string message = error_of(document);
  EXPECT_NE(message.find(input.expected), std::string::npos)
      << "message: " << message << "\nexpected fragment: " << input.expected;
}

INSTANTIATE_TEST_SUITE_P(
    Values, ScenarioBadInput,
    ::testing::Values(
        BadInput{"/aws/accounts/0/account_id", "12345",
                 "aws.accounts[0].account_id: \"12345\" is not an AWS account id (expected 12 "
                 "digits)"},
        BadInput{"/aws/accounts/0/account_id", 111122223333,
                 "aws.accounts[0].account_id: expected a string, got a number"},
        BadInput{"/aws/accounts/0/keys/0/region", "eu-west-9",
                 "aws.accounts[0].keys[0].region: \"eu-west-9\" is not an AWS region name"},
        BadInput{"/aws/accounts/0/keys/0/key_usage", "ENCRYPT_DECRYPT_X",
                 "is not a KMS KeyUsage (expected one of SIGN_VERIFY, ENCRYPT_DECRYPT"},
        BadInput{"/aws/accounts/0/keys/0/key_usage", "GENERATE_VERIFY_MAC",
                 "RSA_4096 keys cannot have KeyUsage GENERATE_VERIFY_MAC (expected one of "
                 "SIGN_VERIFY, ENCRYPT_DECRYPT)"},
        BadInput{"/aws/accounts/0/keys/0/origin", "CLOUDHSM",
                 "keys[0].origin: \"CLOUDHSM\" is not a KMS Origin"},
        BadInput{"/aws/accounts/0/keys/0/key_state", "enabled",
                 "keys[0].key_state: \"enabled\" is not a KMS KeyState"},
        BadInput{"/aws/accounts/0/keys/0/aliases", json::array({"codesign"}),
                 "keys[0].aliases[0]: \"codesign\" is not a KMS alias name"},
        BadInput{"/aws/accounts/0/keys/0/aliases", json::array({"alias/aws/mine"}),
                 "alias/aws/ names belong to AWS managed keys"},
        BadInput{"/aws/accounts/0/keys/0/multi_region", "yes",
                 "keys[0].multi_region: expected true or false, got a string"},
        BadInput{"/aws/accounts/0/keys/0/creation_date", 1.5,
                 "keys[0].creation_date: expected a whole number, got a fraction"},
        BadInput{"/aws/accounts/0/keys/0/key_id", "not-a-uuid",
                 "keys[0].key_id: \"not-a-uuid\" is not a KMS key id"},
        BadInput{"/aws/accounts/0/enabled_regions", json::array({"us-east-1"}),
                 "keys[0].region: \"eu-west-1\" is not among the account's enabled_regions"},
        BadInput{"/aws/accounts/0/enabled_regions", json::array({"us-east-1", "us-east-1"}),
                 "enabled_regions[1]: duplicate region \"us-east-1\""},
        BadInput{"/aws/accounts/0/keys", json::object(), "aws.accounts[0].keys: expected an array"},
        BadInput{"/aws/accounts/0/trails/0/name", nullptr,
                 "trails[0].name: expected a string, got null"},
        BadInput{"/aws/accounts/0/trails/0/event_selectors",
                 json::array({{{"ReadWriteType", "Everything"}}}),
                 "event_selectors[0].ReadWriteType: \"Everything\" is not a ReadWriteType"},
        BadInput{"/aws/accounts/0/trails/0/advanced_event_selectors",
                 json::array({{{"Name", "x"}}}),
                 "advanced_event_selectors[0].FieldSelectors: required field is missing"},
        BadInput{"/aws/accounts/0/clusters/0/state", "RUNNING",
                 "clusters[0].state: \"RUNNING\" is not a CloudHSM cluster state"},
        BadInput{"/aws/accounts/0/clusters/0/mode", "fips",
                 "clusters[0].mode: \"fips\" is not a CloudHSM cluster mode"},
        BadInput{"/aws/accounts/0/clusters/0/hsms/0/availability_zone", "us-east-1a",
                 "is not an availability zone of eu-west-1"},
        BadInput{"/azure/tenant_id", "tenant", "azure.tenant_id: \"tenant\" is not a tenant id"},
        BadInput{"/azure/subscriptions/0/subscription_id", "0b1f6c7a",
                 "azure.subscriptions[0].subscription_id: \"0b1f6c7a\" is not a subscription id "
                 "(expected a GUID"},
        BadInput{"/azure/subscriptions/0/vaults/0/sku", "gold",
                 "vaults[0].sku: \"gold\" is not a vault SKU (expected one of standard, premium)"},
        BadInput{"/azure/subscriptions/0/vaults/0/keys/0/kty", "oct",
                 "keys[0].kty: \"oct\" is not a Key Vault key type (kty)"},
        BadInput{"/azure/subscriptions/0/vaults/0/keys/0/key_size", 1024,
                 "keys[0].key_size: 1024 is not an RSA key size Key Vault offers"},
        BadInput{"/azure/subscriptions/0/vaults/0/sku", "standard",
                 "a standard vault cannot hold HSM keys"},
        BadInput{"/azure/subscriptions/0/vaults/0/name", "1-bad",
                 "vaults[0].name: \"1-bad\" is not a vault name"},
        BadInput{"/azure/subscriptions/0/policy_states/0/policy_assignment_name", "nope",
                 "policy_states[0].policy_assignment_name: \"nope\" is not a policy assignment "
                 "of this subscription (known: hsm)"},
        BadInput{"/azure/subscriptions/0/policy_states/0/compliance_state", "Green",
                 "compliance_state: \"Green\" is not a policy compliance state"},
        BadInput{"/azure/subscriptions/0/policy_states/0/timestamp", "yesterday",
                 "timestamp: \"yesterday\" is not an ISO 8601 date-time"},
        BadInput{"/azure/subscriptions/0/policy_assignments/0/policy_definition_id",
                 "/providers/Microsoft.Authorization/policySetDefinitions/unknown-set",
                 "names a policy set definition that azure.policy_set_definitions does not "
                 "describe"},
        BadInput{"/azure/subscriptions/0/policy_assignments/0/scope", "subscription",
                 "policy_assignments[0].scope: \"subscription\" is not a policy scope"},
        BadInput{"/faults", json::array({{{"kind", "explode"}}}),
                 "faults[0].kind: \"explode\" is not a fault kind"},
        BadInput{"/faults", json::array({{{"kind", "throttle"}, {"service", "s3"}}}),
                 "faults[0].service: \"s3\" is not a sandbox service"},
        BadInput{"/faults",
                 json::array({{{"kind", "throttle"}, {"service", "kms"}, {"provider", "azure"}}}),
                 "faults[0].service: \"kms\" is an aws service, but provider is \"azure\""},
        BadInput{"/faults", json::array({{{"kind", "latency"}}}),
                 "faults[0].latency_ms: required field is missing"},
        BadInput{"/faults", json::array({{{"kind", "server_error"}, {"status", 404}}}),
                 "faults[0].status: 404 is out of range (expected 500 to 599)"},
        BadInput{"/faults", json::array({{{"kind", "throttle"}, {"probability", 0}}}),
                 "faults[0].probability: must be more than 0 and at most 1"},
        BadInput{"/quotas", json::array({{{"key", "aws:kms:Encrypt"}}}),
                 "quotas[0].key: \"aws:kms:Encrypt\" has no published rate"},
        BadInput{"/quotas", "all", "quotas: \"all\" is not a quota preset"},
        BadInput{"/seed", -1, "seed: expected a whole number, 0 or more"}));

TEST(Scenario, DuplicatesAreRefusedWithBothPlaces) {
  json document = minimal_scenario();
  auto& keys = document["aws"]["accounts"][0]["keys"];
  keys.push_back(keys[0]);
  EXPECT_NE(error_of(document).find("aws.accounts[0].keys[1].aliases[0]: duplicate alias in "
                                    "eu-west-1 \"alias/codesign\" (already used at "
                                    "aws.accounts[0].keys[0].aliases[0])"),
            std::string::npos)
      << error_of(document);

  json ids = minimal_scenario();
  ids["aws"]["accounts"][0]["keys"] = json::parse(R"([
    {"region": "eu-west-1", "key_id": "0d3c8a1e-5b7f-4c2a-9e6d-1f2a3b4c5d6e"},
    {"region": "eu-west-1", "key_id": "0d3c8a1e-5b7f-4c2a-9e6d-1f2a3b4c5d6e"}])");
  EXPECT_NE(error_of(ids).find("keys[1].key_id: duplicate key id"), std::string::npos);

  json accounts = minimal_scenario();
  accounts["aws"]["accounts"].push_back(accounts["aws"]["accounts"][0]);
  EXPECT_NE(error_of(accounts).find("aws.accounts[1].account_id: duplicate account id "
                                    "\"111122223333\""),
            std::string::npos);

  json vaults = minimal_scenario();
  auto subscription = vaults["azure"]["subscriptions"][0];
  subscription["subscription_id"] = "6d7e8f9a-0b1c-4d2e-9f3a-4b5c6d7e8f9a";
  subscription["policy_states"] = json::array();
  vaults["azure"]["subscriptions"].push_back(subscription);
  EXPECT_NE(
      error_of(vaults).find("azure.subscriptions[1].vaults[0].name: duplicate vault name "
                            "\"kv-a\" (already used at azure.subscriptions[0].vaults[0].name)"),
      std::string::npos)
      << error_of(vaults);

  json subscriptions = minimal_scenario();
  subscriptions["azure"]["subscriptions"].push_back(subscriptions["azure"]["subscriptions"][0]);
  subscriptions["azure"]["subscriptions"][1]["vaults"] = json::array();
  EXPECT_NE(error_of(subscriptions).find("duplicate subscription id"), std::string::npos);
}

TEST(Scenario, EmptyScenarioIsRefused) {
  EXPECT_NE(error_of(json{{"name", "nothing"}}).find("the scenario describes nothing"),
            std::string::npos);
}

TEST(Scenario, QuotasTakePublishedDefaults) {
  json document = minimal_scenario();
  document["quotas"] = json::array(
      {{{"key", "aws:kms:ListKeys"}}, {{"key", "azure:entra:all"}, {"rate_per_second", 5}}});
  const auto parsed = parse_scenario(document.dump(), "q.json");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed.value().quotas.size(), 2U);
  EXPECT_EQ(parsed.value().quotas[0].rate_per_second, 100);
  EXPECT_EQ(parsed.value().quotas[0].burst, 100);
  EXPECT_EQ(parsed.value().quotas[1].rate_per_second, 5);
  EXPECT_EQ(parsed.value().quotas[1].burst, 5);

  document["quotas"] = "published";
  const auto all = parse_scenario(document.dump(), "q.json");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all.value().quotas.size(), published_quotas().size());
}

TEST(Scenario, FaultFlags) {
  const auto fault = parse_fault_flag("throttle:kms:ListKeys:eu-west-1");
  ASSERT_TRUE(fault.ok()) << fault.error().message;
  EXPECT_EQ(fault.value().kind, "throttle");
  EXPECT_EQ(fault.value().provider, "aws");
  EXPECT_EQ(fault.value().service, "kms");
  EXPECT_EQ(fault.value().operation, "ListKeys");
  EXPECT_EQ(fault.value().region, "eu-west-1");
  EXPECT_EQ(fault.value().count, -1);

  const auto any = parse_fault_flag("deny:*:*:us-east-1");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any.value().service, "");
  EXPECT_EQ(any.value().region, "us-east-1");

  const auto azure = parse_fault_flag("reset:keyvault");
  ASSERT_TRUE(azure.ok());
  EXPECT_EQ(azure.value().provider, "azure");

  EXPECT_NE(parse_fault_flag("boom").error().message.find("--fault boom: kind: \"boom\" is not a "
                                                          "fault kind"),
            std::string::npos);
  EXPECT_NE(parse_fault_flag("throttle:kms:ListKeys:moon-1")
                .error()
                .message.find("region: \"moon-1\" is not an AWS region name"),
            std::string::npos);
  EXPECT_NE(parse_fault_flag("latency").error().message.find("--latency-ms"), std::string::npos);
  EXPECT_FALSE(parse_fault_flag("throttle:kms:a:b:c").ok());
}

TEST(Scenario, JsonFormRoundTrips) {
  const auto parsed = parse_scenario(default_scenario_text(), "default");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const json once = scenario_to_json(parsed.value());
  const auto reparsed = parse_scenario(once.dump(), "again");
  ASSERT_TRUE(reparsed.ok()) << reparsed.error().message;
  EXPECT_EQ(scenario_to_json(reparsed.value()), once);
}

// ---- the default scenario ----

TEST(DefaultScenario, ParsesAndIsBuiltIn) {
  ASSERT_FALSE(default_scenario_text().empty());
  const auto parsed = parse_scenario(default_scenario_text(), "default");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed.value().name, "default");
  const auto loaded = load_scenario("");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(scenario_to_json(loaded.value()), scenario_to_json(parsed.value()));
  // The file in the source tree is the one compiled in.
  std::ifstream file(std::string(HSMPROOF_SOURCE_DIR) + "/src/sandbox/scenarios/default.json");
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(text.str(), default_scenario_text());
}

TEST(DefaultScenario, HoldsWhatEveryCheckNeedsToPassAndToFail) {
  const auto parsed = parse_scenario(default_scenario_text(), "default");
  ASSERT_TRUE(parsed.ok());
  const Scenario& scenario = parsed.value();
  const AwsAccountSpec& account = scenario.aws_accounts.at(0);
  std::set<std::string> specs, origins, usages, states;
  for (const auto& key : account.keys) {
    if (key.key_manager != "CUSTOMER" || key.key_state != "Enabled") continue;
    specs.insert(key.key_spec);
    origins.insert(key.origin);
    usages.insert(key.key_usage);
  }
  for (const char* spec : {"RSA_4096", "RSA_2048", "SYMMETRIC_DEFAULT", "ECC_NIST_P256"}) {
    EXPECT_TRUE(specs.count(spec)) << spec;
  }
  EXPECT_TRUE(origins.count("EXTERNAL"));
  EXPECT_TRUE(usages.count("GENERATE_VERIFY_MAC"));
  for (const auto& key : account.keys) states.insert(key.key_state);
  EXPECT_TRUE(states.count("Disabled") && states.count("PendingDeletion"));

  bool stopped = false, write_only = false, kms_excluded = false, active_hsm = false,
       empty_cluster = false, non_fips = false;
  for (const auto& trail : account.trails) {
    stopped |= !trail.logging;
    write_only |= trail.event_selectors &&
                  trail.event_selectors->dump().find("WriteOnly") != std::string::npos;
    kms_excluded |=
        trail.multi_region && trail.advanced_event_selectors &&
        trail.advanced_event_selectors->dump().find("kms.amazonaws.com") != std::string::npos;
  }
  for (const auto& cluster : account.clusters) {
    for (const auto& hsm : cluster.hsms)
      active_hsm |= cluster.state == "ACTIVE" && hsm.state == "ACTIVE";
    empty_cluster |= cluster.hsms.empty();
    non_fips |= cluster.mode == "NON_FIPS";
  }
  EXPECT_TRUE(stopped && write_only && kms_excluded && active_hsm && empty_cluster && non_fips);

  ASSERT_TRUE(scenario.azure.has_value());
  std::set<std::string> skus, ktys, compliance, provisioning;
  bool not_scoped = false, through_initiative = false, exempted = false;
  for (const auto& subscription : scenario.azure->subscriptions) {
    for (const auto& vault : subscription.vaults) {
      skus.insert(vault.sku);
      for (const auto& key : vault.keys) ktys.insert(key.kty);
    }
    for (const auto& hsm : subscription.managed_hsms) provisioning.insert(hsm.provisioning_state);
    for (const auto& state : subscription.policy_states) compliance.insert(state.compliance_state);
    for (const auto& assignment : subscription.policy_assignments) {
      not_scoped |= !assignment.not_scopes.empty();
      through_initiative |=
          assignment.policy_definition_id.find("policySetDefinitions") != std::string::npos;
    }
    exempted |= !subscription.policy_exemptions.empty();
  }
  EXPECT_EQ(skus, (std::set<std::string>{"premium", "standard"}));
  EXPECT_TRUE(ktys.count("RSA-HSM") && ktys.count("RSA"));
  EXPECT_TRUE(compliance.count("Compliant") && compliance.count("NonCompliant") &&
              compliance.count("NotStarted"));
  EXPECT_TRUE(provisioning.count("Succeeded") && provisioning.count("Provisioning"));
  EXPECT_TRUE(not_scoped && through_initiative && exempted);
}

TEST(Scenario, ReadmeExampleParses) {
  std::ifstream file(std::string(HSMPROOF_SOURCE_DIR) + "/src/sandbox/scenarios/README.md");
  std::stringstream text;
  text << file.rdbuf();
  const std::string readme = text.str();
  const std::size_t start = readme.find("```json\n");
  ASSERT_NE(start, std::string::npos);
  const std::size_t end = readme.find("```", start + 8);
  const auto parsed = parse_scenario(readme.substr(start + 8, end - start - 8), "README example");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
}

TEST(Scenario, LoadScenarioNamesMissingFiles) {
  const auto missing = load_scenario("/nonexistent/dir/org.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message.rfind(
                "scenario /nonexistent/dir/org.json: no such file (built-in scenarios: ", 0),
            0U)
      << missing.error().message;
}

// ---- generated scenarios ----

TEST(GenerateScenario, IsDeterministicAndSized) {
  const auto first = generate_scenario("accounts=2,regions=3,keys=20,subscriptions=2,vaults=3");
  const auto second = generate_scenario("accounts=2,regions=3,keys=20,subscriptions=2,vaults=3");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(scenario_to_json(first.value()), scenario_to_json(second.value()));
  const Scenario& scenario = first.value();
  ASSERT_EQ(scenario.aws_accounts.size(), 2U);
  EXPECT_NE(scenario.aws_accounts[0].account_id, scenario.aws_accounts[1].account_id);
  EXPECT_NE(scenario.aws_accounts[0].access_key_id, scenario.aws_accounts[1].access_key_id);
  EXPECT_EQ(scenario.aws_accounts[0].enabled_regions.size(), 3U);
  EXPECT_EQ(scenario.aws_accounts[0].keys.size(), 60U);
  std::size_t signing = 0, symmetric = 0;
  for (const auto& key : scenario.aws_accounts[0].keys) {
    signing += key.key_spec == "RSA_4096" && key.key_usage == "SIGN_VERIFY";
    symmetric += key.key_spec == "SYMMETRIC_DEFAULT";
  }
  EXPECT_EQ(signing, 6U);
  EXPECT_EQ(symmetric, 54U);
  EXPECT_FALSE(scenario.aws_accounts[0].trails.empty());
  EXPECT_FALSE(scenario.aws_accounts[0].clusters.empty());
  ASSERT_TRUE(scenario.azure.has_value());
  ASSERT_EQ(scenario.azure->subscriptions.size(), 2U);
  EXPECT_EQ(scenario.azure->subscriptions[1].vaults.size(), 3U);
  EXPECT_FALSE(scenario.azure->subscriptions[1].vaults[0].keys.empty());

  const auto reseeded =
      generate_scenario("accounts=2,regions=3,keys=20,subscriptions=2,vaults=3,seed=9");
  ASSERT_TRUE(reseeded.ok());
  EXPECT_NE(scenario_to_json(reseeded.value()), scenario_to_json(scenario));
}

TEST(GenerateScenario, DefaultsAndZeroes) {
  const auto defaults = generate_scenario("keys=1");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults.value().aws_accounts.size(), 1U);
  const auto aws_only = generate_scenario("accounts=1,subscriptions=0");
  ASSERT_TRUE(aws_only.ok());
  EXPECT_FALSE(aws_only.value().azure.has_value());
  const auto azure_only = generate_scenario("accounts=0,subscriptions=1,vaults=1");
  ASSERT_TRUE(azure_only.ok());
  EXPECT_TRUE(azure_only.value().aws_accounts.empty());
}

TEST(GenerateScenario, BadSpecsSayWhatIsWrong) {
  const auto message = [](const std::string& spec) {
    const auto result = generate_scenario(spec);
    EXPECT_FALSE(result.ok()) << spec;
    return result.ok() ? std::string() : result.error().message;
  };
  EXPECT_NE(message("acounts=2").find("\"acounts\" is not a generator setting"), std::string::npos);
  EXPECT_NE(message("accounts=two").find("\"two\" is not a whole number"), std::string::npos);
  EXPECT_NE(message("accounts").find("\"accounts\" is not NAME=NUMBER"), std::string::npos);
  EXPECT_NE(message("regions=18").find("regions=18 is more than 17"), std::string::npos);
  EXPECT_NE(message("keys=1,keys=2").find("\"keys\" is given twice"), std::string::npos);
  EXPECT_NE(message("accounts=0,subscriptions=0").find("nothing to generate"), std::string::npos);
  EXPECT_NE(message("").find("empty item"), std::string::npos);
  EXPECT_EQ(message("x=1").rfind("--generate \"x=1\": ", 0), 0U);
  EXPECT_NE(message("x=1").find("(expected e.g. accounts="), std::string::npos);
}

}  // namespace
}  // namespace hsmproof::sandbox
