// Azure Resource Manager: bearer check, api-version check per resource type, subscriptions,
// resource groups, Key Vault vaults / managed HSMs / keys, diagnostic settings, and the routing of
// the policy paths answered in azure_policy.cpp.

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>

#include "sandbox/azure_common.h"

namespace hsmproof::sandbox::azure_impl {

namespace {

constexpr std::size_t kDefaultPageSize = 25;

// Resource types differ in the api-versions they accept; each family lists its real versions,
// newest last, including those the SDKs of wire-formats.md §4/§8 send.
enum class ApiFamily {
  kSubscriptions,
  kResources,
  kKeyVault,
  kDiagnosticSettings,
  kPolicy,
  kPolicyExemptions,
  kPolicyInsights,
};

const std::vector<std::string>& api_versions(ApiFamily family) {
  static const std::map<ApiFamily, std::vector<std::string>> kVersions = {
      {ApiFamily::kSubscriptions,
       {"2016-06-01", "2018-06-01", "2019-06-01", "2019-11-01", "2020-01-01", "2021-01-01",
        "2022-12-01"}},
      {ApiFamily::kResources,
       {"2015-11-01", "2019-10-01", "2020-06-01", "2021-04-01", "2022-09-01", "2023-07-01",
        "2024-03-01", "2024-11-01", "2025-04-01"}},
      {ApiFamily::kKeyVault,
       {"2019-09-01", "2021-10-01", "2022-07-01", "2023-02-01", "2023-07-01", "2024-11-01",
        "2025-05-01", "2026-02-01"}},
      {ApiFamily::kDiagnosticSettings, {"2017-05-01-preview", "2021-05-01-preview"}},
      {ApiFamily::kPolicy,
       {"2021-06-01", "2022-06-01", "2023-04-01", "2024-04-01", "2024-05-01", "2025-01-01",
        "2025-03-01"}},
      {ApiFamily::kPolicyExemptions,
       {"2020-07-01-preview", "2022-07-01-preview", "2024-12-01-preview"}},
      {ApiFamily::kPolicyInsights, {"2019-10-01", "2024-10-01"}},
  };
  return kVersions.at(family);
}

std::string check_api_version(const SandboxRequest& request, ApiFamily family) {
  const std::optional<std::string> version = query_value(request, "api-version");
  if (!version || version->empty()) {
    throw AzureError{400, "MissingApiVersionParameter",
                     "The api-version query parameter (?api-version=) is required for all "
                     "requests."};
  }
  const std::vector<std::string>& supported = api_versions(family);
  if (std::find(supported.begin(), supported.end(), *version) == supported.end()) {
    std::string list;
    for (auto it = supported.rbegin(); it != supported.rend(); ++it) {
      if (!list.empty()) list += ",";
      list += *it;
    }
    throw AzureError{400, "InvalidApiVersionParameter",
                     fmt::format("The api-version '{}' is invalid. The supported versions are "
                                 "'{}'. Please see https://aka.ms/api-upgrade for more details.",
                                 *version, list)};
  }
  return *version;
}

std::string www_authenticate(const SandboxContext& context, const std::string& description) {
  return fmt::format(
      "Bearer authorization_uri=\"{}/\", error=\"invalid_token\", error_description=\"{}\"",
      context.base_url(), description);
}

void check_bearer(const SandboxRequest& request, const SandboxContext& context) {
  const std::string* header = request.headers.find("Authorization");
  if (header == nullptr || header->empty()) {
    AzureError error{401, "AuthenticationFailed",
                     "Authentication failed. The 'Authorization' header is missing."};
    error.headers.emplace_back(
        "WWW-Authenticate",
        www_authenticate(context,
                         "The authentication failed because of missing 'Authorization' header."));
    throw error;
  }
  if (!istarts_with(*header, "Bearer ") || header->size() <= 7) {
    AzureError error{401, "AuthenticationFailed",
                     "Authentication failed. The 'Authorization' header is provided in an invalid "
                     "format."};
    error.headers.emplace_back(
        "WWW-Authenticate",
        www_authenticate(context,
                         "The authentication failed because of 'Authorization' header "
                         "is provided in an invalid format."));
    throw error;
  }
  std::string token = header->substr(7);
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  const std::optional<std::string> audience = context.token_audience(token);
  if (!audience) {
    AzureError error{401, "InvalidAuthenticationToken", "The access token is invalid."};
    error.headers.emplace_back("WWW-Authenticate",
                               www_authenticate(context, "The access token is invalid."));
    throw error;
  }
  const std::string normalized = normalize_audience(*audience);
  for (const std::string& allowed :
       {std::string("https://management.azure.com"),
        std::string("https://management.core.windows.net"), context.base_url()}) {
    if (normalized == normalize_audience(allowed)) return;
  }
  AzureError error{
      401, "InvalidAuthenticationTokenAudience",
      fmt::format("The access token has been obtained for wrong audience or resource '{}'. It "
                  "should exactly match with one of the allowed audiences "
                  "'https://management.core.windows.net/','https://management.core.windows.net',"
                  "'https://management.azure.com/','https://management.azure.com','{}/'.",
                  *audience, context.base_url())};
  error.headers.emplace_back(
      "WWW-Authenticate",
      www_authenticate(context,
                       "The access token has been obtained for wrong audience or "
                       "resource."));
  throw error;
}

void add_arm_headers(SandboxResponse& response, const SandboxRequest& request,
                     SandboxContext& context) {
  const std::string request_id = context.new_request_id();
  response.headers.set("x-ms-request-id", request_id);
  const std::string* correlation = request.headers.find("x-ms-correlation-request-id");
  response.headers.set("x-ms-correlation-request-id",
                       correlation != nullptr && !correlation->empty() ? *correlation : new_guid());
  response.headers.set("x-ms-ratelimit-remaining-subscription-reads", "11999");
  response.headers.set("x-ms-routing-request-id",
                       fmt::format("WESTEUROPE:{}:{}", iso8601_utc(epoch_now()), request_id));
  if (const std::string* client_id = request.headers.find("x-ms-client-request-id")) {
    response.headers.set("x-ms-client-request-id", *client_id);
  }
}

SandboxResponse arm_error_response(const AzureError& error) {
  ordered_json body;
  if (error.top_level_shape) {
    body = ordered_json{{"code", error.code}, {"message", error.message}};
  } else {
    body = ordered_json{{"error", {{"code", error.code}, {"message", error.message}}}};
  }
  SandboxResponse response = json_response(error.status, body);
  for (const auto& [name, value] : error.headers) response.headers.set(name, value);
  return response;
}

// ---- subscriptions and resource groups ----

ordered_json subscription_json(const AzureTenantSpec& tenant,
                               const SubscriptionSpec& subscription) {
  return ordered_json{
      {"id", "/subscriptions/" + subscription.subscription_id},
      {"authorizationSource", "RoleBased"},
      {"managedByTenants", ordered_json::array()},
      {"subscriptionId", subscription.subscription_id},
      {"tenantId", tenant.tenant_id},
      {"displayName", subscription.display_name},
      {"state", "Enabled"},
      {"subscriptionPolicies",
       {{"locationPlacementId", "Public_2014-09-01"},
        {"quotaId", "PayAsYouGo_2014-09-01"},
        {"spendingLimit", "Off"}}},
  };
}

ordered_json resource_group_json(const SubscriptionSpec& subscription, const std::string& group) {
  return ordered_json{
      {"id",
       fmt::format("/subscriptions/{}/resourceGroups/{}", subscription.subscription_id, group)},
      {"name", group},
      {"type", "Microsoft.Resources/resourceGroups"},
      {"location", resource_group_location(subscription, group)},
      {"properties", {{"provisioningState", "Succeeded"}}},
  };
}

// ---- Key Vault management plane ----

ordered_json system_data(const AzureTenantSpec& tenant, std::int64_t created) {
  return ordered_json{
      {"createdBy", tenant.client_id},       {"createdByType", "Application"},
      {"createdAt", iso8601_utc(created)},   {"lastModifiedBy", tenant.client_id},
      {"lastModifiedByType", "Application"}, {"lastModifiedAt", iso8601_utc(created)},
  };
}

ordered_json vault_json(const ArmCall& call, const Container& vault) {
  // The vault's SKU lives under properties (the managed HSM's at the top level).
  return ordered_json{
      {"id", vault.resource_id()},
      {"name", vault.name()},
      {"type", "Microsoft.KeyVault/vaults"},
      {"location", vault.location()},
      {"tags", ordered_json::object()},
      {"systemData", system_data(call.tenant, 1672531200)},
      {"properties",
       {{"sku", {{"family", "A"}, {"name", vault.vault->sku}}},
        {"tenantId", call.tenant.tenant_id},
        {"accessPolicies", ordered_json::array()},
        {"enabledForDeployment", false},
        {"enabledForDiskEncryption", false},
        {"enabledForTemplateDeployment", false},
        {"enableSoftDelete", true},
        {"softDeleteRetentionInDays", 90},
        {"enableRbacAuthorization", true},
        {"enablePurgeProtection", true},
        {"vaultUri", container_uri(call.context, vault)},
        {"provisioningState", "Succeeded"},
        {"publicNetworkAccess", "Enabled"}}},
  };
}

ordered_json managed_hsm_json(const ArmCall& call, const Container& hsm) {
  const ManagedHsmSpec& spec = *hsm.hsm;
  const bool active = spec.activation_status == "Active";
  return ordered_json{
      {"id", hsm.resource_id()},
      {"name", hsm.name()},
      {"type", "Microsoft.KeyVault/managedHSMs"},
      {"location", hsm.location()},
      {"sku", {{"family", istarts_with(spec.sku, "Custom_C") ? "C" : "B"}, {"name", spec.sku}}},
      {"tags", ordered_json::object()},
      {"systemData", system_data(call.tenant, 1672531200)},
      {"properties",
       {{"tenantId", call.tenant.tenant_id},
        {"initialAdminObjectIds", ordered_json::array({call.tenant.client_id})},
        {"enableSoftDelete", true},
        {"softDeleteRetentionInDays", 90},
        {"enablePurgeProtection", true},
        {"hsmUri", container_uri(call.context, hsm)},
        {"provisioningState", spec.provisioning_state},
        {"statusMessage", spec.provisioning_state == "Succeeded"
                              ? "ManagedHsm is functional."
                              : "ManagedHsm is " + to_lower(spec.provisioning_state) + "."},
        {"publicNetworkAccess", "Enabled"},
        {"networkAcls", {{"bypass", "AzureServices"}, {"defaultAction", "Allow"}}},
        {"securityDomainProperties",
         {{"activationStatus", spec.activation_status},
          {"activationStatusMessage",
           active ? "Your HSM has been activated and can be used for cryptographic operations."
                  : "Your HSM has not been activated. Download the security domain to activate "
                    "it."}}}}},
  };
}

ordered_json key_attributes_json(const Container& container, const AzureKeySpec& key) {
  const std::int64_t created = key_created(container, key);
  return ordered_json{
      {"enabled", key.enabled},         {"created", created},           {"updated", created},
      {"recoveryLevel", "Recoverable"}, {"exportable", key.exportable},
  };
}

std::vector<std::string> key_operations(const AzureKeySpec& key) {
  if (is_ec(key)) return {"sign", "verify"};
  return {"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"};
}

// The list carries only attributes and keyUri, like the service: no kty, no keyOps.
ordered_json arm_key_json(const ArmCall& call, const Container& container, const AzureKeySpec& key,
                          bool full) {
  const std::string uri = container_uri(call.context, container) + "keys/" + key.name;
  ordered_json json{
      {"id", container.resource_id() + "/keys/" + key.name},
      {"name", key.name},
      {"type", container.resource_type() + "/keys"},
  };
  if (!container.is_hsm()) json["location"] = container.location();
  ordered_json properties{{"attributes", key_attributes_json(container, key)}};
  if (full) {
    properties["kty"] = effective_kty(container, key);
    properties["keyOps"] = key_operations(key);
    if (is_ec(key)) {
      properties["curveName"] = key.curve;
    } else {
      properties["keySize"] = key.key_size;
    }
  }
  properties["keyUri"] = uri;
  if (full) properties["keyUriWithVersion"] = uri + "/" + key_version(container, key);
  json["properties"] = std::move(properties);
  return json;
}

Container require_container(const ArmCall& call, const SubscriptionSpec& subscription,
                            const std::string& group, bool hsm, const std::string& name) {
  for (const Container& container : all_containers(call.tenant)) {
    if (container.subscription != &subscription || container.is_hsm() != hsm) continue;
    if (iequals(container.resource_group(), group) && iequals(container.name(), name)) {
      return container;
    }
  }
  throw AzureError{404, "ResourceNotFound",
                   fmt::format("The Resource 'Microsoft.KeyVault/{}/{}' under resource group '{}' "
                               "was not found. For more details please go to "
                               "https://aka.ms/ARMResourceNotFoundFix",
                               hsm ? "managedHSMs" : "vaults", name, group)};
}

// ---- diagnostic settings ----

// What a category group stands for on each resource type, for the 2017 api-version, which
// predates category groups and lists plain categories.
std::vector<std::string> categories_of_group(const std::string& resource_type,
                                             const std::string& group) {
  const bool vault = iequals(resource_type, "Microsoft.KeyVault/vaults");
  if (iequals(group, "allLogs") && vault) return {"AuditEvent", "AzurePolicyEvaluationDetails"};
  if (iequals(group, "allLogs") || iequals(group, "audit")) return {"AuditEvent"};
  return {};
}

ordered_json diagnostic_setting_json(const std::string& resource_id,
                                     const DiagnosticSettingSpec& setting,
                                     const std::string& api_version) {
  ordered_json properties =
      setting.properties.is_object() ? ordered_json(setting.properties) : ordered_json::object();
  if (api_version == "2017-05-01-preview") {
    properties.erase("marketplacePartnerId");
    if (properties.contains("logs") && properties["logs"].is_array()) {
      ordered_json logs = ordered_json::array();
      std::vector<std::string> seen;
      auto add = [&](ordered_json entry, const std::string& category) {
        if (std::find(seen.begin(), seen.end(), to_lower(category)) != seen.end()) return;
        seen.push_back(to_lower(category));
        entry.erase("categoryGroup");
        entry["category"] = category;
        logs.push_back(std::move(entry));
      };
      for (const ordered_json& entry : properties["logs"]) {
        if (!entry.is_object()) continue;
        if (entry.contains("category") && entry["category"].is_string()) {
          add(entry, entry["category"].get<std::string>());
        } else if (entry.contains("categoryGroup") && entry["categoryGroup"].is_string()) {
          for (const std::string& category : categories_of_group(
                   resource_type_of(resource_id), entry["categoryGroup"].get<std::string>())) {
            add(entry, category);
          }
        }
      }
      properties["logs"] = std::move(logs);
    }
  }
  return ordered_json{
      {"id", resource_id + "/providers/microsoft.insights/diagnosticSettings/" + setting.name},
      {"type", "Microsoft.Insights/diagnosticSettings"},
      {"name", setting.name},
      {"properties", std::move(properties)},
  };
}

const std::vector<DiagnosticSettingSpec>* settings_of(const AzureTenantSpec& tenant,
                                                      const std::string& resource_id) {
  for (const Container& container : all_containers(tenant)) {
    if (iequals(container.resource_id(), resource_id)) return &container.diagnostic_settings();
  }
  return nullptr;
}

// ---- routing ----

struct Route {
  ApiFamily family = ApiFamily::kResources;
  std::string method = "GET";  // the one method the route answers
  std::string resource_type;   // for AuthorizationFailed on writes
  std::string scope;           // for AuthorizationFailed on writes
  std::function<SandboxResponse(const ArmCall&)> run;
};

SandboxResponse ok(const ordered_json& body) { return json_response(200, body); }

// The last "/providers/{namespace}" that belongs to one of the extension resource providers the
// sandbox emulates; npos when none.
std::size_t extension_provider(const std::vector<std::string>& segments) {
  static const std::vector<std::string> kNamespaces = {
      "Microsoft.Insights", "Microsoft.PolicyInsights", "Microsoft.Authorization"};
  for (std::size_t i = segments.size(); i-- > 0;) {
    if (!iequals(segments[i], "providers") || i + 2 >= segments.size()) continue;
    for (const std::string& space : kNamespaces) {
      if (iequals(segments[i + 1], space)) return i;
    }
  }
  return std::string::npos;
}

std::optional<Route> extension_route(const std::vector<std::string>& segments) {
  const std::size_t p = extension_provider(segments);
  if (p == std::string::npos) return std::nullopt;
  const std::string scope = join_path(segments, 0, p);
  const std::string space = segments[p + 1];
  const std::string collection = segments[p + 2];
  const std::size_t rest = segments.size() - (p + 3);
  Route route;
  route.scope = scope;
  if (iequals(space, "Microsoft.Insights") && iequals(collection, "diagnosticSettings") &&
      rest <= 1) {
    route.family = ApiFamily::kDiagnosticSettings;
    route.resource_type = "Microsoft.Insights/diagnosticSettings";
    std::optional<std::string> name;
    if (rest == 1) name = segments[p + 3];
    route.run = [scope, name](const ArmCall& call) {
      const Scope resolved =
          resolve_scope(call.tenant, scope, "Microsoft.Insights/diagnosticSettings/read");
      const std::vector<DiagnosticSettingSpec>* settings = settings_of(call.tenant, resolved.id);
      static const std::vector<DiagnosticSettingSpec> kNone;
      if (settings == nullptr) settings = &kNone;
      if (!name) {
        // Never paged (the swagger's nextLinkName is null).
        ordered_json value = ordered_json::array();
        for (const DiagnosticSettingSpec& setting : *settings) {
          value.push_back(diagnostic_setting_json(resolved.id, setting, call.api_version));
        }
        return ok(ordered_json{{"value", std::move(value)}});
      }
      for (const DiagnosticSettingSpec& setting : *settings) {
        if (iequals(setting.name, *name)) {
          return ok(diagnostic_setting_json(resolved.id, setting, call.api_version));
        }
      }
      // Insights answers its own errors without the "error" wrapper.
      AzureError error{404, "ResourceNotFound",
                       fmt::format("The diagnostic setting '{}' doesn't exist.", *name)};
      error.top_level_shape = true;
      throw error;
    };
    return route;
  }
  if (iequals(space, "Microsoft.PolicyInsights") && iequals(collection, "policyStates") &&
      rest == 2 && (iequals(segments[p + 3], "latest") || iequals(segments[p + 3], "default"))) {
    route.family = ApiFamily::kPolicyInsights;
    route.method = "POST";
    route.resource_type = "Microsoft.PolicyInsights/policyStates";
    if (iequals(segments[p + 4], "queryResults")) {
      route.run = [scope](const ArmCall& call) { return query_policy_states(call, scope); };
      return route;
    }
    if (iequals(segments[p + 4], "summarize") && iequals(segments[p + 3], "latest")) {
      route.run = [scope](const ArmCall& call) { return summarize_policy_states(call, scope); };
      return route;
    }
    return std::nullopt;
  }
  if (iequals(space, "Microsoft.Authorization") && rest <= 1) {
    std::optional<std::string> name;
    if (rest == 1) name = segments[p + 3];
    if (iequals(collection, "policyAssignments")) {
      route.family = ApiFamily::kPolicy;
      route.resource_type = "Microsoft.Authorization/policyAssignments";
      route.run = [scope, name](const ArmCall& call) {
        return name ? get_policy_assignment(call, scope, *name)
                    : list_policy_assignments(call, scope);
      };
      return route;
    }
    if (iequals(collection, "policyExemptions")) {
      route.family = ApiFamily::kPolicyExemptions;
      route.resource_type = "Microsoft.Authorization/policyExemptions";
      route.run = [scope, name](const ArmCall& call) {
        return name ? get_policy_exemption(call, scope, *name)
                    : list_policy_exemptions(call, scope);
      };
      return route;
    }
    if (iequals(collection, "policySetDefinitions")) {
      route.family = ApiFamily::kPolicy;
      route.resource_type = "Microsoft.Authorization/policySetDefinitions";
      route.run = [scope, name](const ArmCall& call) {
        return name ? get_policy_set_definition(call, scope, *name)
                    : list_policy_set_definitions(call, scope);
      };
      return route;
    }
  }
  return std::nullopt;
}

std::optional<Route> subscription_route(const std::vector<std::string>& segments) {
  Route route;
  const std::size_t n = segments.size();
  if (n == 1) {
    route.family = ApiFamily::kSubscriptions;
    route.resource_type = "Microsoft.Resources/subscriptions";
    route.run = [](const ArmCall& call) {
      std::vector<ordered_json> items;
      for (const SubscriptionSpec& subscription : call.tenant.subscriptions) {
        items.push_back(subscription_json(call.tenant, subscription));
      }
      ordered_json page = arm_page(call, items, kDefaultPageSize);
      page["count"] = {{"type", "Total"}, {"value", items.size()}};
      return ok(page);
    };
    return route;
  }
  const std::string subscription_id = segments[1];
  route.scope = "/subscriptions/" + subscription_id;
  auto subscription_of_call = [subscription_id](const ArmCall& call) -> const SubscriptionSpec& {
    const Scope scope = resolve_scope(call.tenant, "/subscriptions/" + subscription_id,
                                      "Microsoft.Resources/subscriptions/read");
    return *scope.subscription;
  };
  if (n == 2) {
    route.family = ApiFamily::kSubscriptions;
    route.resource_type = "Microsoft.Resources/subscriptions";
    route.run = [subscription_of_call](const ArmCall& call) {
      return ok(subscription_json(call.tenant, subscription_of_call(call)));
    };
    return route;
  }
  if (n == 3 && iequals(segments[2], "resourceGroups")) {
    route.resource_type = "Microsoft.Resources/subscriptions/resourceGroups";
    route.run = [subscription_of_call](const ArmCall& call) {
      const SubscriptionSpec& subscription = subscription_of_call(call);
      std::vector<ordered_json> items;
      for (const std::string& group : resource_groups(subscription)) {
        items.push_back(resource_group_json(subscription, group));
      }
      return ok(arm_page(call, items, kDefaultPageSize));
    };
    return route;
  }
  if (n == 4 && iequals(segments[2], "resourceGroups")) {
    route.resource_type = "Microsoft.Resources/subscriptions/resourceGroups";
    route.scope += "/resourceGroups/" + segments[3];
    const std::string group = segments[3];
    route.run = [subscription_id, group](const ArmCall& call) {
      const Scope scope = resolve_scope(
          call.tenant, "/subscriptions/" + subscription_id + "/resourceGroups/" + group,
          "Microsoft.Resources/subscriptions/resourceGroups/read");
      return ok(resource_group_json(*scope.subscription, scope.resource_group));
    };
    return route;
  }
  // The generic resource list (`$filter=resourceType eq '...'`): no properties, like ARM's.
  if (n == 3 && iequals(segments[2], "resources")) {
    route.resource_type = "Microsoft.Resources/subscriptions/resources";
    route.run = [subscription_of_call](const ArmCall& call) {
      const SubscriptionSpec& subscription = subscription_of_call(call);
      std::optional<std::string> wanted_type;
      if (const std::optional<std::string> filter = query_value(call.request, "$filter")) {
        const std::string lowered = to_lower(*filter);
        const std::string prefix = "resourcetype eq '";
        if (lowered.rfind(prefix, 0) != 0 || lowered.back() != '\'') {
          throw AzureError{
              400, "InvalidFilterInQueryString",
              fmt::format("Invalid $filter '{}' specified in the query string.", *filter)};
        }
        wanted_type = filter->substr(prefix.size(), filter->size() - prefix.size() - 1);
      }
      std::vector<ordered_json> items;
      for (const Container& container : all_containers(call.tenant)) {
        if (container.subscription != &subscription) continue;
        if (wanted_type && !iequals(*wanted_type, container.resource_type())) continue;
        items.push_back(ordered_json{{"id", container.resource_id()},
                                     {"name", container.name()},
                                     {"type", container.resource_type()},
                                     {"location", container.location()},
                                     {"tags", ordered_json::object()}});
      }
      return ok(arm_page(call, items, kDefaultPageSize));
    };
    return route;
  }
  // Microsoft.KeyVault, by subscription: .../providers/Microsoft.KeyVault/{vaults|managedHSMs}
  if (n == 5 && iequals(segments[2], "providers") && iequals(segments[3], "Microsoft.KeyVault") &&
      (iequals(segments[4], "vaults") || iequals(segments[4], "managedHSMs"))) {
    const bool hsm = iequals(segments[4], "managedHSMs");
    route.family = ApiFamily::kKeyVault;
    route.resource_type = hsm ? "Microsoft.KeyVault/managedHSMs" : "Microsoft.KeyVault/vaults";
    route.run = [subscription_of_call, hsm](const ArmCall& call) {
      const SubscriptionSpec& subscription = subscription_of_call(call);
      std::vector<Container> containers;
      for (const Container& container : all_containers(call.tenant)) {
        if (container.subscription == &subscription && container.is_hsm() == hsm) {
          containers.push_back(container);
        }
      }
      return ok(arm_page(
          call, containers.size(),
          [&](std::size_t i) {
            return hsm ? managed_hsm_json(call, containers[i]) : vault_json(call, containers[i]);
          },
          kDefaultPageSize));
    };
    return route;
  }
  // By resource group: /subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/{type}
  //                    [/{name}[/keys[/{key}]]]
  if (n >= 7 && n <= 10 && iequals(segments[2], "resourceGroups") &&
      iequals(segments[4], "providers") && iequals(segments[5], "Microsoft.KeyVault") &&
      (iequals(segments[6], "vaults") || iequals(segments[6], "managedHSMs")) &&
      (n < 9 || iequals(segments[8], "keys"))) {
    const bool hsm = iequals(segments[6], "managedHSMs");
    const std::string group = segments[3];
    route.family = ApiFamily::kKeyVault;
    route.resource_type = std::string("Microsoft.KeyVault/") + (hsm ? "managedHSMs" : "vaults") +
                          (n >= 9 ? "/keys" : "");
    route.scope = join_path(segments, 0, n);
    const std::optional<std::string> name = n >= 8 ? std::optional(segments[7]) : std::nullopt;
    const std::optional<std::string> key = n == 10 ? std::optional(segments[9]) : std::nullopt;
    const bool list_keys = n == 9;
    route.run = [subscription_id, group, hsm, name, key, list_keys](const ArmCall& call) {
      const Scope scope = resolve_scope(
          call.tenant, "/subscriptions/" + subscription_id + "/resourceGroups/" + group,
          "Microsoft.KeyVault/vaults/read");
      if (!name) {
        std::vector<Container> containers;
        for (const Container& container : all_containers(call.tenant)) {
          if (container.subscription == scope.subscription && container.is_hsm() == hsm &&
              iequals(container.resource_group(), scope.resource_group)) {
            containers.push_back(container);
          }
        }
        return ok(arm_page(
            call, containers.size(),
            [&](std::size_t i) {
              return hsm ? managed_hsm_json(call, containers[i]) : vault_json(call, containers[i]);
            },
            kDefaultPageSize));
      }
      const Container container =
          require_container(call, *scope.subscription, scope.resource_group, hsm, *name);
      if (list_keys) {
        return ok(arm_page(
            call, container.keys().size(),
            [&](std::size_t i) {
              return arm_key_json(call, container, container.keys()[i], false);
            },
            kDefaultPageSize));
      }
      if (key) {
        const AzureKeySpec* spec = find_key(container, *key);
        if (spec == nullptr) {
          throw AzureError{
              404, "ResourceNotFound",
              fmt::format("The Resource 'Microsoft.KeyVault/{}/{}/keys/{}' under resource group "
                          "'{}' was not found. For more details please go to "
                          "https://aka.ms/ARMResourceNotFoundFix",
                          hsm ? "managedHSMs" : "vaults", container.name(), *key,
                          container.resource_group())};
        }
        return ok(arm_key_json(call, container, *spec, true));
      }
      return ok(hsm ? managed_hsm_json(call, container) : vault_json(call, container));
    };
    return route;
  }
  return std::nullopt;
}

std::optional<Route> find_route(const std::vector<std::string>& segments) {
  if (std::optional<Route> route = extension_route(segments)) return route;
  if (!segments.empty() && iequals(segments[0], "subscriptions")) {
    return subscription_route(segments);
  }
  return std::nullopt;
}

std::string write_action(const std::string& method, const std::string& resource_type) {
  if (method == "DELETE") return resource_type + "/delete";
  if (method == "POST") return resource_type + "/action";
  return resource_type + "/write";
}

SandboxResponse resource_manager(const SandboxRequest& request, SandboxContext& context,
                                 const std::vector<std::string>& segments) {
  check_bearer(request, context);
  const std::optional<Route> route = find_route(segments);
  if (!route) {
    const std::string type = resource_type_of(request.path);
    throw AzureError{
        404, "InvalidResourceType",
        type.empty() ? fmt::format("The resource path '{}' is not known to Azure Resource "
                                   "Manager.",
                                   request.path)
                     : fmt::format("The resource type '{}' could not be found in the namespace "
                                   "'{}' for api version '{}'.",
                                   type.substr(type.find('/') + 1), type.substr(0, type.find('/')),
                                   query_value(request, "api-version").value_or(""))};
  }
  const AzureTenantSpec& tenant = tenant_of(context);
  if (request.method != route->method) {
    const bool policy_states = route->family == ApiFamily::kPolicyInsights;
    if (policy_states || request.method == "GET" || request.method == "HEAD") {
      throw AzureError{405, "HttpMethodNotSupported",
                       fmt::format("The http method '{}' is not supported for '{}'.",
                                   request.method, segments.back())};
    }
    // The sandbox's principal reads; what a reader gets for a write.
    throw authorization_failed(tenant, write_action(request.method, route->resource_type),
                               route->scope.empty() ? request.path : route->scope);
  }
  const ArmCall call{request, context, tenant, check_api_version(request, route->family)};
  return route->run(call);
}

}  // namespace

std::string normalize_audience(const std::string& resource) {
  std::string normalized = to_lower(resource);
  while (!normalized.empty() && normalized.back() == '/') normalized.pop_back();
  return normalized;
}

std::optional<std::size_t> top_parameter(const ArmCall& call) {
  const std::optional<std::string> top = query_value(call.request, "$top");
  if (!top) return std::nullopt;
  std::size_t value = 0;
  bool valid = !top->empty() && top->size() <= 9;
  for (char c : *top) {
    if (c < '0' || c > '9') {
      valid = false;
      break;
    }
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  if (!valid || value == 0) {
    throw AzureError{400, "InvalidQueryParameterValue",
                     fmt::format("The value '{}' of query parameter '$top' is not valid: it must "
                                 "be a positive integer.",
                                 *top)};
  }
  return value;
}

std::string arm_url(const ArmCall& call, const std::string& path,
                    const std::vector<std::pair<std::string, std::string>>& query) {
  std::string url = call.context.base_url();
  for (const std::string& segment : split_path(path)) url += "/" + url_encode(segment);
  char separator = '?';
  for (const auto& [name, value] : query) {
    url += separator + name + "=" + url_encode(value);
    separator = '&';
  }
  return url;
}

ordered_json arm_page(const ArmCall& call, const std::vector<ordered_json>& items,
                      std::size_t default_page_size) {
  return arm_page(
      call, items.size(), [&items](std::size_t index) { return items[index]; }, default_page_size);
}

ordered_json arm_page(const ArmCall& call, std::size_t count,
                      const std::function<ordered_json(std::size_t)>& item,
                      std::size_t default_page_size) {
  const std::optional<std::size_t> top = top_parameter(call);
  const std::size_t size = top.value_or(default_page_size);
  std::size_t offset = 0;
  if (const std::optional<std::string> token = query_value(call.request, "$skiptoken")) {
    offset = read_skip_token(*token)["offset"].get<std::size_t>();
  }
  ordered_json value = ordered_json::array();
  for (std::size_t i = offset; i < count && i < offset + size; ++i) value.push_back(item(i));
  ordered_json page{{"value", std::move(value)}};
  if (offset + size < count) {
    std::vector<std::pair<std::string, std::string>> query{{"api-version", call.api_version}};
    if (const std::optional<std::string> filter = query_value(call.request, "$filter")) {
      query.emplace_back("$filter", *filter);
    }
    if (top) query.emplace_back("$top", std::to_string(*top));
    query.emplace_back("$skiptoken", make_skip_token(ordered_json{{"offset", offset + size}}));
    page["nextLink"] = arm_url(call, call.request.path, query);
  }
  return page;
}

std::optional<SandboxResponse> handle_resource_manager(const SandboxRequest& request,
                                                       SandboxContext& context) {
  const std::vector<std::string> segments = split_path(request.path);
  if (segments.empty()) return std::nullopt;
  if (!iequals(segments[0], "subscriptions") && !iequals(segments[0], "providers")) {
    return std::nullopt;
  }
  try {
    SandboxResponse response = resource_manager(request, context, segments);
    add_arm_headers(response, request, context);
    return response;
  } catch (const AzureError& error) {
    return arm_error_answer(error, request, context);
  }
}

SandboxResponse arm_error_answer(const AzureError& error, const SandboxRequest& request,
                                 SandboxContext& context) {
  SandboxResponse response = arm_error_response(error);
  add_arm_headers(response, request, context);
  return response;
}

}  // namespace hsmproof::sandbox::azure_impl
