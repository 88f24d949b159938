#include "sandbox/azure_common.h"
#include "core/text.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace hsmproof::sandbox::azure_impl {

// ---- text ----

std::string to_lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && to_lower(a) == to_lower(b);
}

bool istarts_with(const std::string& text, const std::string& prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

std::string join_path(const std::vector<std::string>& segments, std::size_t begin,
                      std::size_t end) {
  std::string path;
  for (std::size_t i = begin; i < end && i < segments.size(); ++i) path += "/" + segments[i];
  return path;
}

std::optional<std::string> query_value(const SandboxRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.query) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

namespace {


}  // namespace

std::vector<std::pair<std::string, std::string>> parse_form(const std::string& body) {
  std::vector<std::pair<std::string, std::string>> fields;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(start, end - start);
    if (!pair.empty()) {
      const std::size_t equals = pair.find('=');
      if (equals == std::string::npos) {
        fields.emplace_back(form_decode(pair), "");
      } else {
        fields.emplace_back(form_decode(pair.substr(0, equals)),
                            form_decode(pair.substr(equals + 1)));
      }
    }
    start = end + 1;
  }
  return fields;
}

std::optional<std::string> form_value(const std::vector<std::pair<std::string, std::string>>& form,
                                      const std::string& name) {
  std::optional<std::string> found;
  for (const auto& [key, value] : form) {
    if (key == name) found = value;
  }
  return found;
}

std::string url_encode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// ---- encodings ----

std::string base64url_encode(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (i + 2 == bytes.size()) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(const std::string& text) {
  std::string body = text;
  while (!body.empty() && body.back() == '=') body.pop_back();
  if (body.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : body) {
    int value;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '-' || c == '+') {
      value = 62;
    } else if (c == '_' || c == '/') {
      value = 63;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

std::string sha256_hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string new_guid() {
  std::array<unsigned char, 16> bytes{};
  RAND_bytes(bytes.data(), static_cast<int>(bytes.size()));
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

std::int64_t epoch_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso8601_utc(std::int64_t epoch_seconds) {
  const std::time_t time = static_cast<std::time_t>(epoch_seconds);
  std::tm parts{};
  gmtime_r(&time, &parts);
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text.data();
}

std::optional<std::int64_t> parse_iso8601(const std::string& text) {
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &consumed) != 3) {
    return std::nullopt;
  }
  std::size_t position = static_cast<std::size_t>(consumed);
  int offset_seconds = 0;
  if (position < text.size() && (text[position] == 'T' || text[position] == ' ')) {
    int time_consumed = 0;
    if (std::sscanf(text.c_str() + position + 1, "%2d:%2d:%2d%n", &hour, &minute, &second,
                    &time_consumed) != 3) {
      return std::nullopt;
    }
    position += 1 + static_cast<std::size_t>(time_consumed);
    if (position < text.size() && text[position] == '.') {
      ++position;
      while (position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]))) {
        ++position;
      }
    }
    if (position < text.size() && (text[position] == '+' || text[position] == '-')) {
      int offset_hours = 0;
      int offset_minutes = 0;
      if (std::sscanf(text.c_str() + position + 1, "%2d:%2d", &offset_hours, &offset_minutes) !=
          2) {
        return std::nullopt;
      }
      offset_seconds =
          (offset_hours * 3600 + offset_minutes * 60) * (text[position] == '-' ? -1 : 1);
      position += 6;
    } else if (position < text.size() && (text[position] == 'Z' || text[position] == 'z')) {
      ++position;
    }
  }
  if (position != text.size()) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::tm parts{};
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&parts)) - offset_seconds;
}

std::string make_skip_token(const ordered_json& state) { return base64url_encode(state.dump()); }

ordered_json read_skip_token(const std::string& token) {
  const std::optional<std::string> decoded = base64url_decode(token);
  if (decoded) {
    ordered_json state = ordered_json::parse(*decoded, nullptr, false);
    if (state.is_object() && state.contains("offset") && state["offset"].is_number_unsigned()) {
      return state;
    }
  }
  throw AzureError{400, "InvalidSkipToken", "The provided $skiptoken value is invalid."};
}

// ---- responses ----

SandboxResponse json_response(int status, const ordered_json& body) {
  SandboxResponse response;
  response.status = status;
  response.headers.set("Content-Type", "application/json; charset=utf-8");
  response.headers.set("Cache-Control", "no-cache");
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

// ---- scenario lookups ----

const AzureTenantSpec& tenant_of(const SandboxContext& context) {
  // A scenario without Azure still answers Azure requests, as a tenant that has nothing.
  static const AzureTenantSpec kNoTenant;
  const std::optional<AzureTenantSpec>& azure = context.scenario().azure;
  return azure ? *azure : kNoTenant;
}

const SubscriptionSpec* find_subscription(const AzureTenantSpec& tenant, const std::string& id) {
  for (const SubscriptionSpec& subscription : tenant.subscriptions) {
    if (iequals(subscription.subscription_id, id)) return &subscription;
  }
  return nullptr;
}

const std::string& Container::name() const { return hsm ? hsm->name : vault->name; }
const std::string& Container::resource_group() const {
  return hsm ? hsm->resource_group : vault->resource_group;
}
const std::string& Container::location() const { return hsm ? hsm->location : vault->location; }
const std::vector<AzureKeySpec>& Container::keys() const { return hsm ? hsm->keys : vault->keys; }
const std::vector<DiagnosticSettingSpec>& Container::diagnostic_settings() const {
  return hsm ? hsm->diagnostic_settings : vault->diagnostic_settings;
}

std::string Container::resource_type() const {
  return hsm ? "Microsoft.KeyVault/managedHSMs" : "Microsoft.KeyVault/vaults";
}

std::string Container::resource_id() const {
  return fmt::format("/subscriptions/{}/resourceGroups/{}/providers/{}/{}",
                     subscription->subscription_id, resource_group(), resource_type(), name());
}

std::optional<Container> find_vault(const AzureTenantSpec& tenant, const std::string& name) {
  for (const SubscriptionSpec& subscription : tenant.subscriptions) {
    for (const VaultSpec& vault : subscription.vaults) {
      if (iequals(vault.name, name)) return Container{&subscription, &vault, nullptr};
    }
  }
  return std::nullopt;
}

std::optional<Container> find_managed_hsm(const AzureTenantSpec& tenant, const std::string& name) {
  for (const SubscriptionSpec& subscription : tenant.subscriptions) {
    for (const ManagedHsmSpec& hsm : subscription.managed_hsms) {
      if (iequals(hsm.name, name)) return Container{&subscription, nullptr, &hsm};
    }
  }
  return std::nullopt;
}

std::vector<Container> all_containers(const AzureTenantSpec& tenant) {
  std::vector<Container> containers;
  for (const SubscriptionSpec& subscription : tenant.subscriptions) {
    for (const VaultSpec& vault : subscription.vaults) {
      containers.push_back(Container{&subscription, &vault, nullptr});
    }
    for (const ManagedHsmSpec& hsm : subscription.managed_hsms) {
      containers.push_back(Container{&subscription, nullptr, &hsm});
    }
  }
  return containers;
}

const AzureKeySpec* find_key(const Container& container, const std::string& name) {
  for (const AzureKeySpec& key : container.keys()) {
    if (iequals(key.name, name)) return &key;
  }
  return nullptr;
}

std::string key_version(const Container& container, const AzureKeySpec& key) {
  if (!key.version.empty()) return key.version;
  return sha256_hex(to_lower(container.resource_id()) + "/keys/" + key.name).substr(0, 32);
}

std::string effective_kty(const Container& container, const AzureKeySpec& key) {
  if (container.is_hsm() && key.kty.find("-HSM") == std::string::npos) return key.kty + "-HSM";
  return key.kty;
}

bool is_ec(const AzureKeySpec& key) { return key.kty.rfind("EC", 0) == 0; }

std::int64_t key_created(const Container& container, const AzureKeySpec& key) {
  // Spread over a year before 2024-01-01, so lists are not all one instant.
  const std::string digest = sha256_hex(to_lower(container.resource_id()) + "/keys/" + key.name);
  return 1672531200 +
         static_cast<std::int64_t>(std::stoul(digest.substr(0, 6), nullptr, 16) % 31536000UL);
}

std::string key_kid(const SandboxContext& context, const std::string& name,
                    const std::string& version) {
  std::string kid = context.base_url() + "/keys/" + name;
  if (!version.empty()) kid += "/" + version;
  return kid;
}

std::string container_uri(const SandboxContext& context, const Container& container) {
  return context.base_url() + (container.is_hsm() ? "/_mhsm/" : "/_kv/") + container.name() + "/";
}

namespace {

void add_group(std::vector<std::string>& groups, const std::string& name) {
  if (name.empty()) return;
  for (const std::string& known : groups) {
    if (iequals(known, name)) return;
  }
  groups.push_back(name);
}

}  // namespace

std::vector<std::string> resource_groups(const SubscriptionSpec& subscription) {
  std::vector<std::string> groups;
  for (const VaultSpec& vault : subscription.vaults) add_group(groups, vault.resource_group);
  for (const ManagedHsmSpec& hsm : subscription.managed_hsms) add_group(groups, hsm.resource_group);
  auto add_from_id = [&](const std::string& id) {
    if (iequals(subscription_of(id), subscription.subscription_id)) {
      add_group(groups, resource_group_of(id));
    }
  };
  for (const PolicyAssignmentSpec& assignment : subscription.policy_assignments) {
    add_from_id(assignment.scope);
  }
  for (const PolicyExemptionSpec& exemption : subscription.policy_exemptions) {
    add_from_id(exemption.scope);
  }
  for (const PolicyStateSpec& state : subscription.policy_states) add_from_id(state.resource_id);
  return groups;
}

std::optional<std::string> find_resource_group(const SubscriptionSpec& subscription,
                                               const std::string& name) {
  for (const std::string& group : resource_groups(subscription)) {
    if (iequals(group, name)) return group;
  }
  return std::nullopt;
}

std::string resource_group_location(const SubscriptionSpec& subscription, const std::string& name) {
  for (const VaultSpec& vault : subscription.vaults) {
    if (iequals(vault.resource_group, name)) return vault.location;
  }
  for (const ManagedHsmSpec& hsm : subscription.managed_hsms) {
    if (iequals(hsm.resource_group, name)) return hsm.location;
  }
  return "westeurope";
}

// ---- scopes ----

namespace {

constexpr const char* kManagementGroupPrefix = "/providers/Microsoft.Management/managementGroups/";

std::string management_group_id(const std::string& name) { return kManagementGroupPrefix + name; }

bool management_group_known(const AzureTenantSpec& tenant, const std::string& name) {
  for (const std::string& group : management_groups(tenant)) {
    if (iequals(group, name)) return true;
  }
  return false;
}

// Management groups above `name`, nearest first, from the chains of the subscriptions under it.
std::vector<std::string> management_group_ancestors(const AzureTenantSpec& tenant,
                                                    const std::string& name) {
  std::vector<std::string> ancestors;
  for (const SubscriptionSpec& subscription : tenant.subscriptions) {
    const std::vector<std::string>& chain = subscription.management_groups;
    for (std::size_t i = 0; i < chain.size(); ++i) {
      if (!iequals(chain[i], name)) continue;
      for (std::size_t j = i + 1; j < chain.size(); ++j) add_group(ancestors, chain[j]);
    }
  }
  return ancestors;
}

std::string strip_trailing_slash(std::string text) {
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

}  // namespace

std::vector<std::string> management_groups(const AzureTenantSpec& tenant) {
  std::vector<std::string> groups;
  for (const SubscriptionSpec& subscription : tenant.subscriptions) {
    for (const std::string& group : subscription.management_groups) add_group(groups, group);
    for (const PolicyAssignmentSpec& assignment : subscription.policy_assignments) {
      if (istarts_with(assignment.scope, kManagementGroupPrefix)) {
        add_group(groups, assignment.scope.substr(std::string(kManagementGroupPrefix).size()));
      }
    }
  }
  return groups;
}

std::string subscription_of(const std::string& resource_id) {
  const std::vector<std::string> segments = split_path(resource_id);
  if (segments.size() >= 2 && iequals(segments[0], "subscriptions")) return segments[1];
  return {};
}

std::string resource_group_of(const std::string& resource_id) {
  const std::vector<std::string> segments = split_path(resource_id);
  if (segments.size() >= 4 && iequals(segments[0], "subscriptions") &&
      iequals(segments[2], "resourceGroups")) {
    return segments[3];
  }
  return {};
}

std::string resource_type_of(const std::string& resource_id) {
  const std::vector<std::string> segments = split_path(resource_id);
  std::size_t providers = segments.size();
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (iequals(segments[i], "providers")) providers = i;
  }
  if (providers + 2 >= segments.size()) return {};
  std::string type = segments[providers + 1];
  for (std::size_t i = providers + 2; i < segments.size(); i += 2) type += "/" + segments[i];
  return type;
}

bool resource_exists(const AzureTenantSpec& tenant, const std::string& resource_id) {
  const std::string wanted = to_lower(strip_trailing_slash(resource_id));
  for (const Container& container : all_containers(tenant)) {
    const std::string id = to_lower(container.resource_id());
    if (wanted == id) return true;
    if (wanted.rfind(id + "/keys/", 0) == 0) {
      const std::string name = wanted.substr(id.size() + 6);
      if (name.find('/') == std::string::npos && find_key(container, name) != nullptr) return true;
    }
  }
  for (const SubscriptionSpec& subscription : tenant.subscriptions) {
    for (const PolicyStateSpec& state : subscription.policy_states) {
      if (to_lower(strip_trailing_slash(state.resource_id)) == wanted) return true;
    }
  }
  return false;
}

AzureError authorization_failed(const AzureTenantSpec& tenant, const std::string& action,
                                const std::string& scope) {
  return AzureError{
      403, "AuthorizationFailed",
      fmt::format("The client '{0}' with object id '{0}' does not have authorization to perform "
                  "action '{1}' over scope '{2}' or the scope is invalid. If access was recently "
                  "granted, please refresh your credentials.",
                  tenant.client_id, action, scope)};
}

Scope resolve_scope(const AzureTenantSpec& tenant, const std::string& scope_path,
                    const std::string& action) {
  const std::vector<std::string> segments = split_path(scope_path);
  Scope scope;
  if (segments.size() == 4 && iequals(segments[0], "providers") &&
      iequals(segments[1], "Microsoft.Management") && iequals(segments[2], "managementGroups")) {
    if (!management_group_known(tenant, segments[3])) {
      throw authorization_failed(tenant, action, strip_trailing_slash(scope_path));
    }
    for (const std::string& group : management_groups(tenant)) {
      if (iequals(group, segments[3])) scope.management_group = group;
    }
    scope.kind = Scope::Kind::kManagementGroup;
    scope.id = management_group_id(scope.management_group);
    return scope;
  }
  if (segments.size() < 2 || !iequals(segments[0], "subscriptions")) {
    throw AzureError{400, "InvalidScope",
                     fmt::format("The scope '{}' is not valid.", strip_trailing_slash(scope_path))};
  }
  scope.subscription = find_subscription(tenant, segments[1]);
  if (scope.subscription == nullptr) {
    throw AzureError{404, "SubscriptionNotFound",
                     fmt::format("The subscription '{}' could not be found.", segments[1])};
  }
  scope.kind = Scope::Kind::kSubscription;
  scope.id = "/subscriptions/" + scope.subscription->subscription_id;
  if (segments.size() == 2) return scope;
  if (segments.size() < 4 || !iequals(segments[2], "resourceGroups")) {
    throw AzureError{400, "InvalidScope",
                     fmt::format("The scope '{}' is not valid.", strip_trailing_slash(scope_path))};
  }
  const std::optional<std::string> group = find_resource_group(*scope.subscription, segments[3]);
  if (!group) {
    throw AzureError{404, "ResourceGroupNotFound",
                     fmt::format("Resource group '{}' could not be found.", segments[3])};
  }
  scope.kind = Scope::Kind::kResourceGroup;
  scope.resource_group = *group;
  scope.id += "/resourceGroups/" + *group;
  if (segments.size() == 4) return scope;
  // providers/{namespace}/{type}/{name}[/{type}/{name}]...
  if (segments.size() < 8 || !iequals(segments[4], "providers") || (segments.size() - 6) % 2 != 0) {
    throw AzureError{400, "InvalidScope",
                     fmt::format("The scope '{}' is not valid.", strip_trailing_slash(scope_path))};
  }
  const std::string resource_id = scope.id + join_path(segments, 4, segments.size());
  if (!resource_exists(tenant, resource_id)) {
    throw AzureError{
        404, "ResourceNotFound",
        fmt::format("The Resource '{}' under resource group '{}' was not found. For more details "
                    "please go to https://aka.ms/ARMResourceNotFoundFix",
                    join_path(segments, 5, segments.size()).substr(1), *group)};
  }
  scope.kind = Scope::Kind::kResource;
  scope.id = resource_id;
  for (const Container& container : all_containers(tenant)) {
    if (iequals(container.resource_id(), resource_id)) scope.id = container.resource_id();
  }
  return scope;
}

std::vector<std::string> scope_chain(const AzureTenantSpec& tenant, const std::string& scope_id) {
  std::vector<std::string> chain;
  std::vector<std::string> segments = split_path(scope_id);
  if (segments.size() == 4 && iequals(segments[0], "providers") &&
      iequals(segments[1], "Microsoft.Management") && iequals(segments[2], "managementGroups")) {
    chain.push_back(to_lower(management_group_id(segments[3])));
    for (const std::string& group : management_group_ancestors(tenant, segments[3])) {
      chain.push_back(to_lower(management_group_id(group)));
    }
    return chain;
  }
  if (segments.size() < 2 || !iequals(segments[0], "subscriptions")) {
    chain.push_back(to_lower(strip_trailing_slash(scope_id)));
    return chain;
  }
  // Resources: the resource, then each parent resource (two segments up while below the
  // provider namespace).
  std::size_t providers = segments.size();
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (iequals(segments[i], "providers")) {
      providers = i;
      break;
    }
  }
  std::size_t length = segments.size();
  if (providers < segments.size()) {
    while (length >= providers + 4) {
      chain.push_back(to_lower(join_path(segments, 0, length)));
      length -= 2;
    }
    length = providers;
  }
  if (length >= 4) chain.push_back(to_lower(join_path(segments, 0, 4)));
  chain.push_back(to_lower(join_path(segments, 0, 2)));
  if (const SubscriptionSpec* subscription = find_subscription(tenant, segments[1])) {
    for (const std::string& group : subscription->management_groups) {
      chain.push_back(to_lower(management_group_id(group)));
    }
  }
  return chain;
}

bool scope_covers(const AzureTenantSpec& tenant, const std::string& outer,
                  const std::string& inner) {
  const std::string wanted = to_lower(strip_trailing_slash(outer));
  for (const std::string& scope : scope_chain(tenant, inner)) {
    if (scope == wanted) return true;
  }
  return false;
}

}  // namespace hsmproof::sandbox::azure_impl
