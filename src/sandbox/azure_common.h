#pragma once
// Shared by the sandbox's Azure files (azure_*.cpp): the error value each front end turns into its
// own wire shape, scenario lookups (subscriptions, resource groups, vaults, managed HSMs, keys and
// the scope hierarchy of Azure Policy), and encodings.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/sandbox.h"

namespace hsmproof::sandbox::azure_impl {

using ordered_json = nlohmann::ordered_json;

// An error answer. Handler code throws it; the front end that owns the request (Entra, Resource
// Manager, Key Vault) turns it into its wire shape, so a check deep inside a handler needs no
// plumbing back up.
struct AzureError {
  int status = 400;
  std::string code;     // ARM/Key Vault error code, or the OAuth "error" of Entra
  std::string message;  // ARM/Key Vault message, or the Entra "error_description" (without trace)
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. WWW-Authenticate
  int entra_code = 0;                                        // AADSTS number for Entra errors
  std::string inner_code;                                    // Key Vault innererror.code
  bool top_level_shape = false;  // {"code","message"} without the "error" wrapper (Insights)
};

// ---- text ----

std::string to_lower(std::string text);
bool iequals(const std::string& a, const std::string& b);
bool istarts_with(const std::string& text, const std::string& prefix);
// Path segments without empty ones ("/a//b/" -> {"a","b"}).
std::vector<std::string> split_path(const std::string& path);
std::string join_path(const std::vector<std::string>& segments, std::size_t begin, std::size_t end);
// A query parameter by name, compared case-insensitively (ARM and Key Vault do).
std::optional<std::string> query_value(const SandboxRequest& request, const std::string& name);
// application/x-www-form-urlencoded body -> name/value pairs (later duplicates win).
std::vector<std::pair<std::string, std::string>> parse_form(const std::string& body);
std::optional<std::string> form_value(const std::vector<std::pair<std::string, std::string>>& form,
                                      const std::string& name);
// RFC 3986 percent-encoding of a query value (everything but unreserved characters).
std::string url_encode(const std::string& text);

// ---- encodings ----

std::string base64url_encode(const std::string& bytes);                // no padding
std::optional<std::string> base64url_decode(const std::string& text);  // padding optional
std::string sha256_hex(const std::string& data);
std::string new_guid();  // random, lower-case 8-4-4-4-12
std::int64_t epoch_now();
std::string iso8601_utc(std::int64_t epoch_seconds);  // 2024-05-01T12:00:00Z
// "2024-05-01T12:00:00Z", with optional fraction and offset; nullopt when not a date-time.
std::optional<std::int64_t> parse_iso8601(const std::string& text);

// Opaque continuation tokens ($skiptoken): base64url of a small JSON object.
std::string make_skip_token(const ordered_json& state);
ordered_json read_skip_token(const std::string& token);  // throws AzureError 400 when invalid

// ---- responses ----

SandboxResponse json_response(int status, const ordered_json& body);

// ---- scenario lookups ----

const AzureTenantSpec& tenant_of(
    const SandboxContext& context);  // throws when the scenario has none
const SubscriptionSpec* find_subscription(const AzureTenantSpec& tenant, const std::string& id);

// A key container: a vault or a managed HSM, with the subscription that holds it.
struct Container {
  const SubscriptionSpec* subscription = nullptr;
  const VaultSpec* vault = nullptr;
  const ManagedHsmSpec* hsm = nullptr;

  [[nodiscard]] bool is_hsm() const { return hsm != nullptr; }
  [[nodiscard]] const std::string& name() const;
  [[nodiscard]] const std::string& resource_group() const;
  [[nodiscard]] const std::string& location() const;
  [[nodiscard]] const std::vector<AzureKeySpec>& keys() const;
  [[nodiscard]] const std::vector<DiagnosticSettingSpec>& diagnostic_settings() const;
  // /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.KeyVault/{vaults|managedHSMs}/{n}
  [[nodiscard]] std::string resource_id() const;
  [[nodiscard]] std::string resource_type() const;  // Microsoft.KeyVault/vaults | .../managedHSMs
};

// Vault and managed HSM names are global (they are DNS names), so the data plane finds them by
// name alone; case-insensitive like DNS.
std::optional<Container> find_vault(const AzureTenantSpec& tenant, const std::string& name);
std::optional<Container> find_managed_hsm(const AzureTenantSpec& tenant, const std::string& name);
std::vector<Container> all_containers(const AzureTenantSpec& tenant);
const AzureKeySpec* find_key(const Container& container, const std::string& name);

// The scenario may leave a key's version out; the sandbox then derives a stable one (32 hex).
std::string key_version(const Container& container, const AzureKeySpec& key);
// Managed HSM keys are always HSM-protected, whatever the scenario says.
std::string effective_kty(const Container& container, const AzureKeySpec& key);
bool is_ec(const AzureKeySpec& key);
// Epoch seconds the key claims as created/updated (deterministic per key).
std::int64_t key_created(const Container& container, const AzureKeySpec& key);
// The data-plane key identifier, `{base_url}/keys/{name}[/{version}]`. It carries no vault
// prefix because SDKs parse a kid as exactly "/keys/{name}[/{version}]" (keyvault-common's
// parseKeyVaultIdentifier); the sandbox answers such root paths by finding the key across vaults.
std::string key_kid(const SandboxContext& context, const std::string& name,
                    const std::string& version);
// The vault's own data-plane URL, `{base_url}/_kv/{vault}/` or `{base_url}/_mhsm/{hsm}/`.
std::string container_uri(const SandboxContext& context, const Container& container);

// Resource groups of a subscription: those holding a vault or managed HSM, or named by a policy
// assignment, exemption or state (first spelling wins).
std::vector<std::string> resource_groups(const SubscriptionSpec& subscription);
std::optional<std::string> find_resource_group(const SubscriptionSpec& subscription,
                                               const std::string& name);
// The location of a resource group (that of its first vault or HSM, else the default).
std::string resource_group_location(const SubscriptionSpec& subscription, const std::string& name);

// ---- scopes (Azure Policy, diagnostic settings) ----

struct Scope {
  enum class Kind { kManagementGroup, kSubscription, kResourceGroup, kResource };
  Kind kind = Kind::kSubscription;
  std::string id;  // canonical spelling: /providers/Microsoft.Management/managementGroups/x,
                   // /subscriptions/s, /subscriptions/s/resourceGroups/rg, or a resource id
  std::string management_group;
  const SubscriptionSpec* subscription = nullptr;
  std::string resource_group;
};

// Parses and checks that the scope exists in the scenario: unknown subscription -> 404
// SubscriptionNotFound, resource group -> 404 ResourceGroupNotFound, resource -> 404
// ResourceNotFound, management group -> 403 AuthorizationFailed (what a principal without access
// to it sees). Throws AzureError.
Scope resolve_scope(const AzureTenantSpec& tenant, const std::string& scope_path,
                    const std::string& action);
// The scope and every scope above it, lower-cased: parent resources, resource group,
// subscription, then its management groups nearest first.
std::vector<std::string> scope_chain(const AzureTenantSpec& tenant, const std::string& scope_id);
// Whether `outer` is `inner` or one of its ancestors.
bool scope_covers(const AzureTenantSpec& tenant, const std::string& outer,
                  const std::string& inner);
// Every management group the scenario mentions, in first-seen order.
std::vector<std::string> management_groups(const AzureTenantSpec& tenant);
// Whether a resource id names something the scenario has: a vault, a managed HSM, one of their
// keys, or a resource a policy state is about.
bool resource_exists(const AzureTenantSpec& tenant, const std::string& resource_id);
// The subscription id in a /subscriptions/{id}/... path ("" when none).
std::string subscription_of(const std::string& resource_id);
std::string resource_group_of(const std::string& resource_id);
// "Microsoft.KeyVault/vaults" for .../providers/Microsoft.KeyVault/vaults/v; nested types joined
// ("Microsoft.KeyVault/vaults/keys").
std::string resource_type_of(const std::string& resource_id);

// AuthorizationFailed as ARM words it, for a read-only principal.
AzureError authorization_failed(const AzureTenantSpec& tenant, const std::string& action,
                                const std::string& scope);

// ---- front ends: each answers the paths it owns (nullopt otherwise), in its own error shape ----

std::optional<SandboxResponse> handle_entra(const SandboxRequest& request, SandboxContext& context);
std::optional<SandboxResponse> handle_managed_identity(const SandboxRequest& request,
                                                       SandboxContext& context);
std::optional<SandboxResponse> handle_key_vault(const SandboxRequest& request,
                                                SandboxContext& context);
std::optional<SandboxResponse> handle_resource_manager(const SandboxRequest& request,
                                                       SandboxContext& context);

// Errors in each front end's shape, with its response headers (for faults the server injects).
SandboxResponse entra_error_answer(const AzureError& error, const SandboxRequest& request,
                                   const SandboxContext& context);
SandboxResponse arm_error_answer(const AzureError& error, const SandboxRequest& request,
                                 SandboxContext& context);
SandboxResponse key_vault_error_answer(const AzureError& error, const SandboxRequest& request,
                                       SandboxContext& context);

// Audiences ("resource" of a token) compare without trailing slashes and case.
std::string normalize_audience(const std::string& resource);

// ---- Resource Manager calls (azure_arm.cpp routes, azure_policy.cpp answers policy) ----

struct ArmCall {
  const SandboxRequest& request;
  SandboxContext& context;
  const AzureTenantSpec& tenant;
  std::string api_version;
};

// A list page: `value` is items[offset, offset+size) where offset comes from $skiptoken and size
// from $top (or `default_page_size`); `nextLink` repeats the request with the next $skiptoken
// (and the request's $top and $filter), absent on the last page.
ordered_json arm_page(const ArmCall& call, const std::vector<ordered_json>& items,
                      std::size_t default_page_size);
// The same for `count` items made on demand: only the page's items are built, so paging through
// a large generated scenario costs linear, not quadratic, time.
ordered_json arm_page(const ArmCall& call, std::size_t count,
                      const std::function<ordered_json(std::size_t)>& item,
                      std::size_t default_page_size);
// `$top` as a positive integer, when present (400 InvalidQueryParameterValue otherwise).
std::optional<std::size_t> top_parameter(const ArmCall& call);
// The request URL again, on the sandbox's base URL, with the given query.
std::string arm_url(const ArmCall& call, const std::string& path,
                    const std::vector<std::pair<std::string, std::string>>& query);

SandboxResponse list_policy_assignments(const ArmCall& call, const std::string& scope_path);
SandboxResponse get_policy_assignment(const ArmCall& call, const std::string& scope_path,
                                      const std::string& name);
SandboxResponse list_policy_exemptions(const ArmCall& call, const std::string& scope_path);
SandboxResponse get_policy_exemption(const ArmCall& call, const std::string& scope_path,
                                     const std::string& name);
SandboxResponse list_policy_set_definitions(const ArmCall& call, const std::string& scope_path);
SandboxResponse get_policy_set_definition(const ArmCall& call, const std::string& scope_path,
                                          const std::string& name);
SandboxResponse query_policy_states(const ArmCall& call, const std::string& scope_path);
SandboxResponse summarize_policy_states(const ArmCall& call, const std::string& scope_path);

}  // namespace hsmproof::sandbox::azure_impl
