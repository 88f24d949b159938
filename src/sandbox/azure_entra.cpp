// Microsoft Entra ID (client credentials, OpenID discovery, MSAL instance discovery) and the two
// managed-identity endpoints (IMDS and App Service's IDENTITY_ENDPOINT).

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <algorithm>

#include "sandbox/azure_common.h"
#include "sandbox/azure_handlers.h"

namespace hsmproof::sandbox::azure_impl {

namespace {

constexpr int kTokenLifetimeSeconds = 3599;
constexpr int kManagedIdentityLifetimeSeconds = 86399;
constexpr const char* kJwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

AzureError entra_error(int status, const std::string& error, int code, const std::string& message) {
  AzureError result{status, error, message};
  result.entra_code = code;
  return result;
}

AzureError missing_parameter(const std::string& name) {
  return entra_error(
      400, "invalid_request", 900144,
      fmt::format("The request body must contain the following parameter: '{}'.", name));
}

AzureError tenant_not_found(const std::string& tenant, const std::string& error) {
  return entra_error(
      400, error, 90002,
      fmt::format(
          "Tenant '{}' not found. Check to make sure you have the correct tenant ID and are "
          "signing into the correct cloud. Check with your subscription administrator, "
          "this may happen if there are no active subscriptions for the tenant.",
          tenant));
}

std::string correlation_id_of(const SandboxRequest& request) {
  if (const std::string* header = request.headers.find("client-request-id")) return *header;
  if (std::optional<std::string> query = query_value(request, "client-request-id")) return *query;
  return new_guid();
}

std::string entra_timestamp(std::int64_t epoch) {
  std::string text = iso8601_utc(epoch);  // 2024-05-01T12:00:00Z -> 2024-05-01 12:00:00Z
  text[10] = ' ';
  return text;
}

SandboxResponse entra_response(int status, const ordered_json& body, const SandboxRequest& request,
                               const std::string& trace_id) {
  SandboxResponse response = json_response(status, body);
  response.headers.set("Cache-Control", "no-store, no-cache");
  response.headers.set("Pragma", "no-cache");
  response.headers.set("x-ms-request-id", trace_id);
  response.headers.set("client-request-id", correlation_id_of(request));
  return response;
}

}  // namespace

SandboxResponse entra_error_answer(const AzureError& error, const SandboxRequest& request,
                                   const SandboxContext& context) {
  const std::string trace_id = new_guid();
  const std::string correlation_id = correlation_id_of(request);
  const std::string timestamp = entra_timestamp(epoch_now());
  // Errors that are not Entra's own (faults the server injects) carry no AADSTS number.
  const std::string code_prefix =
      error.entra_code == 0 ? std::string() : fmt::format("AADSTS{}: ", error.entra_code);
  const ordered_json body{
      {"error", error.code},
      {"error_description",
       fmt::format("{}{} Trace ID: {} Correlation ID: {} Timestamp: {}", code_prefix, error.message,
                   trace_id, correlation_id, timestamp)},
      {"error_codes",
       error.entra_code == 0 ? ordered_json::array() : ordered_json::array({error.entra_code})},
      {"timestamp", timestamp},
      {"trace_id", trace_id},
      {"correlation_id", correlation_id},
      {"error_uri", fmt::format("{}/error?code={}", context.base_url(), error.entra_code)},
  };
  SandboxResponse response = entra_response(error.status, body, request, trace_id);
  for (const auto& [name, value] : error.headers) response.headers.set(name, value);
  return response;
}

namespace {

bool known_tenant(const AzureTenantSpec& tenant, const std::string& name) {
  return !tenant.tenant_id.empty() && iequals(tenant.tenant_id, name);
}

ordered_json openid_configuration(const SandboxContext& context, const std::string& tenant) {
  const std::string authority = context.base_url() + "/" + tenant;
  return ordered_json{
      {"token_endpoint", authority + "/oauth2/v2.0/token"},
      {"token_endpoint_auth_methods_supported",
       {"client_secret_post", "private_key_jwt", "client_secret_basic"}},
      {"jwks_uri", authority + "/discovery/v2.0/keys"},
      {"response_modes_supported", {"query", "fragment", "form_post"}},
      {"subject_types_supported", {"pairwise"}},
      {"id_token_signing_alg_values_supported", {"RS256"}},
      {"response_types_supported", {"code", "id_token", "code id_token", "id_token token"}},
      {"scopes_supported", {"openid", "profile", "email", "offline_access"}},
      {"issuer", authority + "/v2.0"},
      {"request_uri_parameter_supported", false},
      {"userinfo_endpoint", context.base_url() + "/oidc/userinfo"},
      {"authorization_endpoint", authority + "/oauth2/v2.0/authorize"},
      {"device_authorization_endpoint", authority + "/oauth2/v2.0/devicecode"},
      {"http_logout_supported", true},
      {"frontchannel_logout_supported", true},
      {"end_session_endpoint", authority + "/oauth2/v2.0/logout"},
      {"claims_supported",
       {"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
        "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
        "name", "tid", "ver", "at_hash", "c_hash", "email"}},
      {"kerberos_endpoint", authority + "/kerberos"},
      {"tenant_region_scope", "EU"},
      {"cloud_instance_name", "microsoftonline.com"},
      {"cloud_graph_host_name", "graph.windows.net"},
      {"msgraph_host", "graph.microsoft.com"},
      {"rbac_url", "https://pas.windows.net"},
  };
}

std::string authority_host_name(const SandboxContext& context) {
  const std::string& base = context.base_url();
  const std::size_t scheme = base.find("://");
  return scheme == std::string::npos ? base : base.substr(scheme + 3);
}

ordered_json instance_discovery(const SandboxRequest& request, const SandboxContext& context) {
  // The tenant comes from the authorization_endpoint MSAL passes; "common" otherwise.
  std::string tenant = "common";
  if (const std::optional<std::string> endpoint = query_value(request, "authorization_endpoint")) {
    const std::string prefix = context.base_url() + "/";
    if (istarts_with(*endpoint, prefix)) {
      const std::vector<std::string> segments = split_path(endpoint->substr(prefix.size() - 1));
      if (!segments.empty()) tenant = segments[0];
    }
  }
  const std::string host = authority_host_name(context);
  return ordered_json{
      {"tenant_discovery_endpoint",
       fmt::format("{}/{}/v2.0/.well-known/openid-configuration", context.base_url(), tenant)},
      {"api-version", "1.1"},
      {"metadata", ordered_json::array({{{"preferred_network", host},
                                         {"preferred_cache", host},
                                         {"aliases", ordered_json::array({host})}}})},
  };
}

bool equal_secret(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size() || expected.empty()) return false;
  return CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

// The certificate and workload-identity flows prove the client with a signed JWT. The sandbox
// has no registered certificate or federated credential to check a signature against, so it
// checks the claims only: sub must be the client id (certificate assertions also have
// iss == client id; federated ones are accepted by their token-exchange audience), and the
// assertion must be within its validity time. The signature is NOT verified.
void check_client_assertion(const std::string& assertion, const std::string& client_id) {
  const AzureError malformed =
      entra_error(400, "invalid_request", 50027, "JWT token is invalid or malformed.");
  const std::size_t first = assertion.find('.');
  const std::size_t second =
      first == std::string::npos ? std::string::npos : assertion.find('.', first + 1);
  if (second == std::string::npos) throw malformed;
  const std::optional<std::string> payload =
      base64url_decode(assertion.substr(first + 1, second - first - 1));
  if (!payload) throw malformed;
  const ordered_json claims = ordered_json::parse(*payload, nullptr, false);
  if (!claims.is_object()) throw malformed;
  auto claim = [&](const char* name) -> std::string {
    return claims.contains(name) && claims[name].is_string() ? claims[name].get<std::string>() : "";
  };
  bool federated = false;
  if (claims.contains("aud")) {
    const ordered_json& audience = claims["aud"];
    if (audience.is_string()) {
      federated = audience.get<std::string>() == "api://AzureADTokenExchange";
    } else if (audience.is_array()) {
      for (const ordered_json& entry : audience) {
        if (entry.is_string() && entry.get<std::string>() == "api://AzureADTokenExchange") {
          federated = true;
        }
      }
    }
  }
  const bool certificate = iequals(claim("sub"), client_id) &&
                           (claim("iss").empty() || iequals(claim("iss"), client_id));
  if (!certificate && !(federated && !claim("sub").empty())) {
    throw entra_error(401, "invalid_client", 700021,
                      "Client assertion application identifier doesn't match 'client_id' "
                      "parameter. Review the documentation at "
                      "https://docs.microsoft.com/en-us/azure/active-directory/develop/"
                      "active-directory-certificate-credentials .");
  }
  const std::int64_t now = epoch_now();
  const std::int64_t skew = 300;
  const bool expired = claims.contains("exp") && claims["exp"].is_number() &&
                       claims["exp"].get<std::int64_t>() + skew < now;
  const bool early = claims.contains("nbf") && claims["nbf"].is_number() &&
                     claims["nbf"].get<std::int64_t>() - skew > now;
  if (expired || early) {
    throw entra_error(401, "invalid_client", 700024,
                      "Client assertion is not within its valid time range.");
  }
}

SandboxResponse issue_client_credentials_token(const SandboxRequest& request,
                                               SandboxContext& context,
                                               const std::string& tenant_name) {
  const AzureTenantSpec& tenant = tenant_of(context);
  if (request.method != "POST") {
    throw entra_error(400, "invalid_request", 900561,
                      fmt::format("The endpoint only accepts POST requests. Received a {} request.",
                                  request.method));
  }
  if (!known_tenant(tenant, tenant_name)) throw tenant_not_found(tenant_name, "invalid_request");
  const auto form = parse_form(request.body);
  const std::optional<std::string> grant_type = form_value(form, "grant_type");
  if (!grant_type || grant_type->empty()) throw missing_parameter("grant_type");
  if (*grant_type != "client_credentials") {
    throw entra_error(
        400, "unsupported_grant_type", 70003,
        fmt::format("The app requested an unsupported grant type '{}'.", *grant_type));
  }
  std::optional<std::string> client_id = form_value(form, "client_id");
  std::optional<std::string> client_secret = form_value(form, "client_secret");
  // client_secret_basic: the id and secret in an Authorization: Basic header.
  if (const std::string* header = request.headers.find("Authorization");
      header != nullptr && istarts_with(*header, "Basic ")) {
    std::string encoded = header->substr(6);
    std::replace(encoded.begin(), encoded.end(), '+', '-');
    std::replace(encoded.begin(), encoded.end(), '/', '_');
    if (const std::optional<std::string> decoded = base64url_decode(encoded)) {
      const std::size_t colon = decoded->find(':');
      if (colon != std::string::npos) {
        if (!client_id) client_id = decoded->substr(0, colon);
        if (!client_secret) client_secret = decoded->substr(colon + 1);
      }
    }
  }
  if (!client_id || client_id->empty()) throw missing_parameter("client_id");
  if (tenant.client_id.empty() || !iequals(*client_id, tenant.client_id)) {
    throw entra_error(
        400, "unauthorized_client", 700016,
        fmt::format("Application with identifier '{}' was not found in the directory '{}'. This "
                    "can happen if the application has not been installed by the administrator "
                    "of the tenant or consented to by any user in the tenant. You may have sent "
                    "your authentication request to the wrong tenant.",
                    *client_id, tenant.tenant_id));
  }
  const std::optional<std::string> scope = form_value(form, "scope");
  if (!scope || scope->empty()) throw missing_parameter("scope");
  std::string resource;
  {
    std::size_t start = 0;
    while (start < scope->size() && resource.empty()) {
      std::size_t end = scope->find(' ', start);
      if (end == std::string::npos) end = scope->size();
      const std::string item = scope->substr(start, end - start);
      const std::string suffix = "/.default";
      if (item.size() > suffix.size() &&
          item.compare(item.size() - suffix.size(), suffix.size(), suffix) == 0) {
        resource = item.substr(0, item.size() - suffix.size());
      }
      start = end + 1;
    }
  }
  if (resource.empty()) {
    throw entra_error(400, "invalid_scope", 1002012,
                      fmt::format("The provided value for scope {} is not valid. Client credential "
                                  "flows must have a scope value with /.default suffixed to the "
                                  "resource identifier (application ID URI).",
                                  *scope));
  }
  const std::optional<std::string> assertion = form_value(form, "client_assertion");
  if (client_secret) {
    if (!equal_secret(*client_secret, tenant.client_secret)) {
      throw entra_error(401, "invalid_client", 7000215,
                        fmt::format("Invalid client secret provided. Ensure the secret being sent "
                                    "in the request is the client secret value, not the client "
                                    "secret ID, for a secret added to app '{}'.",
                                    tenant.client_id));
    }
  } else if (assertion) {
    const std::optional<std::string> assertion_type = form_value(form, "client_assertion_type");
    if (!assertion_type || *assertion_type != kJwtBearer) {
      throw entra_error(400, "invalid_request", 50027, "JWT token is invalid or malformed.");
    }
    check_client_assertion(*assertion, tenant.client_id);
  } else {
    throw entra_error(401, "invalid_client", 7000218,
                      "The request body must contain the following parameter: 'client_assertion' "
                      "or 'client_secret'.");
  }
  const std::string token = context.issue_token(normalize_audience(resource), tenant.client_id);
  const ordered_json body{
      {"token_type", "Bearer"},
      {"expires_in", kTokenLifetimeSeconds},
      {"ext_expires_in", kTokenLifetimeSeconds},
      {"access_token", token},
  };
  return entra_response(200, body, request, new_guid());
}

SandboxResponse entra(const SandboxRequest& request, SandboxContext& context,
                      const std::vector<std::string>& segments) {
  const AzureTenantSpec& tenant = tenant_of(context);
  const std::string& tenant_name = segments[0];
  if (segments.size() == 4 && segments[1] == "v2.0" && segments[2] == ".well-known" &&
      segments[3] == "openid-configuration") {
    // "common" and "organizations" answer with the {tenantid} placeholder, as Entra does.
    if (iequals(tenant_name, "common") || iequals(tenant_name, "organizations")) {
      return entra_response(200, openid_configuration(context, "{tenantid}"), request, new_guid());
    }
    if (!known_tenant(tenant, tenant_name)) throw tenant_not_found(tenant_name, "invalid_tenant");
    return entra_response(200, openid_configuration(context, tenant.tenant_id), request,
                          new_guid());
  }
  if (segments.size() == 4 && segments[1] == "discovery" && segments[2] == "v2.0" &&
      segments[3] == "keys") {
    // Tokens the sandbox issues are opaque, so there is no signing key to publish.
    return entra_response(200, ordered_json{{"keys", ordered_json::array()}}, request, new_guid());
  }
  return issue_client_credentials_token(request, context, tenant_name);
}

bool is_entra_path(const std::vector<std::string>& segments) {
  if (segments.size() == 3 && iequals(segments[0], "common") && segments[1] == "discovery" &&
      segments[2] == "instance") {
    return true;
  }
  if (segments.size() == 4 && segments[1] == "oauth2" && segments[2] == "v2.0" &&
      segments[3] == "token") {
    return true;
  }
  if (segments.size() == 4 && segments[1] == "v2.0" && segments[2] == ".well-known" &&
      segments[3] == "openid-configuration") {
    return true;
  }
  return segments.size() == 4 && segments[1] == "discovery" && segments[2] == "v2.0" &&
         segments[3] == "keys";
}

// ---- managed identity ----

SandboxResponse identity_error(int status, const std::string& error,
                               const std::string& description) {
  return json_response(status, ordered_json{{"error", error}, {"error_description", description}});
}

// The identity the request names (client_id / object_id / msi_res_id / mi_res_id) must be the
// scenario's managed identity; none named means the only one there is.
bool identity_matches(const SandboxRequest& request, const AzureTenantSpec& tenant) {
  if (tenant.managed_identity_client_id.empty()) return false;
  if (const std::optional<std::string> client_id = query_value(request, "client_id")) {
    return iequals(*client_id, tenant.managed_identity_client_id);
  }
  for (const char* other : {"object_id", "principal_id", "msi_res_id", "mi_res_id"}) {
    if (query_value(request, other)) return false;
  }
  return true;
}

SandboxResponse imds_token(const SandboxRequest& request, SandboxContext& context) {
  const AzureTenantSpec& tenant = tenant_of(context);
  const std::string* metadata = request.headers.find("Metadata");
  if (metadata == nullptr || !iequals(*metadata, "true")) {
    return identity_error(400, "invalid_request", "Required metadata header not specified");
  }
  if (request.method != "GET") {
    return identity_error(405, "invalid_request",
                          fmt::format("The request method '{}' is not allowed.", request.method));
  }
  if (!query_value(request, "api-version")) {
    return identity_error(400, "invalid_request",
                          "Required query variable 'api-version' is missing");
  }
  const std::optional<std::string> resource = query_value(request, "resource");
  if (!resource || resource->empty()) {
    return identity_error(400, "invalid_request", "Required query variable 'resource' is missing");
  }
  if (!identity_matches(request, tenant)) {
    return identity_error(400, "invalid_request", "Identity not found");
  }
  const std::int64_t now = epoch_now();
  const std::string token =
      context.issue_token(normalize_audience(*resource), tenant.managed_identity_client_id);
  // IMDS writes every number as a string.
  return json_response(200,
                       ordered_json{
                           {"access_token", token},
                           {"client_id", tenant.managed_identity_client_id},
                           {"expires_in", std::to_string(kManagedIdentityLifetimeSeconds)},
                           {"expires_on", std::to_string(now + kManagedIdentityLifetimeSeconds)},
                           {"ext_expires_in", std::to_string(kManagedIdentityLifetimeSeconds)},
                           {"not_before", std::to_string(now)},
                           {"resource", *resource},
                           {"token_type", "Bearer"},
                       });
}

SandboxResponse app_service_token(const SandboxRequest& request, SandboxContext& context) {
  const AzureTenantSpec& tenant = tenant_of(context);
  const std::string* header = request.headers.find("X-IDENTITY-HEADER");
  const std::string expected = azure_identity_header(context.scenario());
  if (header == nullptr || expected.empty() || !equal_secret(*header, expected)) {
    return identity_error(401, "unauthorized",
                          "The X-IDENTITY-HEADER request header is missing or does not match "
                          "IDENTITY_HEADER.");
  }
  const std::optional<std::string> version = query_value(request, "api-version");
  if (!version || *version != "2019-08-01") {
    return identity_error(
        400, "UnsupportedApiVersion",
        fmt::format("The HTTP resource that matches the request URI '{}{}' does not support the "
                    "API version '{}'.",
                    context.base_url(), request.path, version.value_or("")));
  }
  const std::optional<std::string> resource = query_value(request, "resource");
  if (!resource || resource->empty()) {
    return identity_error(400, "invalid_request", "Required query variable 'resource' is missing");
  }
  if (!identity_matches(request, tenant)) {
    return identity_error(400, "invalid_request", "Identity not found");
  }
  const std::int64_t now = epoch_now();
  const std::string token =
      context.issue_token(normalize_audience(*resource), tenant.managed_identity_client_id);
  return json_response(200,
                       ordered_json{
                           {"access_token", token},
                           {"expires_on", std::to_string(now + kManagedIdentityLifetimeSeconds)},
                           {"resource", *resource},
                           {"token_type", "Bearer"},
                           {"client_id", tenant.managed_identity_client_id},
                       });
}

}  // namespace

std::optional<SandboxResponse> handle_entra(const SandboxRequest& request,
                                            SandboxContext& context) {
  const std::vector<std::string> segments = split_path(request.path);
  if (!is_entra_path(segments)) return std::nullopt;
  try {
    if (segments.size() == 3) {
      return entra_response(200, instance_discovery(request, context), request, new_guid());
    }
    return entra(request, context, segments);
  } catch (const AzureError& error) {
    return entra_error_answer(error, request, context);
  }
}

std::optional<SandboxResponse> handle_managed_identity(const SandboxRequest& request,
                                                       SandboxContext& context) {
  const std::vector<std::string> segments = split_path(request.path);
  SandboxResponse response;
  if (segments == std::vector<std::string>{"metadata", "identity", "oauth2", "token"}) {
    response = imds_token(request, context);
  } else if (segments == std::vector<std::string>{"msi", "token"}) {
    response = app_service_token(request, context);
  } else {
    return std::nullopt;
  }
  response.headers.set("x-ms-request-id", context.new_request_id());
  return response;
}

}  // namespace hsmproof::sandbox::azure_impl
