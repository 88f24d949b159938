// handle_azure: the Azure front ends in order (Entra, managed identity, Key Vault data plane,
// Resource Manager), and what the server and CLI need besides.

#include "sandbox/azure_handlers.h"

#include <exception>

#include "sandbox/azure_common.h"

namespace hsmproof::sandbox {

namespace {

bool is_managed_identity_path(const std::vector<std::string>& segments) {
  return segments == std::vector<std::string>{"metadata", "identity", "oauth2", "token"} ||
         segments == std::vector<std::string>{"msi", "token"};
}

bool is_entra_path(const std::vector<std::string>& segments) {
  using azure_impl::iequals;
  if (segments.size() == 3 && iequals(segments[0], "common") && segments[1] == "discovery") {
    return true;
  }
  return segments.size() == 4 &&
         (segments[1] == "oauth2" || segments[1] == "v2.0" || segments[1] == "discovery");
}

bool has_segment(const std::vector<std::string>& segments, const std::string& name) {
  for (const std::string& segment : segments) {
    if (azure_impl::iequals(segment, name)) return true;
  }
  return false;
}

}  // namespace

std::string azure_identity_header(const Scenario& scenario) {
  if (!scenario.azure || scenario.azure->managed_identity_client_id.empty()) return {};
  const std::string hex = azure_impl::sha256_hex(
      "hsmproof-sandbox-identity-header|" + scenario.azure->tenant_id + "|" +
      scenario.azure->managed_identity_client_id + "|" + std::to_string(scenario.seed));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string azure_service_of(const SandboxRequest& request) {
  const std::vector<std::string> segments = azure_impl::split_path(request.path);
  if (segments.empty()) return {};
  if (is_managed_identity_path(segments) || is_entra_path(segments)) return "entra";
  if (segments[0] == "_kv" || segments[0] == "_mhsm" || segments[0] == "keys") return "keyvault";
  if (!azure_impl::iequals(segments[0], "subscriptions") &&
      !azure_impl::iequals(segments[0], "providers")) {
    return {};
  }
  if (has_segment(segments, "Microsoft.Insights")) return "monitor";
  if (has_segment(segments, "Microsoft.PolicyInsights") ||
      has_segment(segments, "policyAssignments") || has_segment(segments, "policyExemptions") ||
      has_segment(segments, "policySetDefinitions") || has_segment(segments, "policyDefinitions")) {
    return "policy";
  }
  return "arm";
}

SandboxResponse azure_error_response(const SandboxRequest& request, SandboxContext& context,
                                     int status, const std::string& code,
                                     const std::string& message) {
  const azure_impl::AzureError error{status, code, message};
  const std::vector<std::string> segments = azure_impl::split_path(request.path);
  if (is_managed_identity_path(segments)) {
    SandboxResponse response = azure_impl::json_response(
        status, azure_impl::ordered_json{{"error", code}, {"error_description", message}});
    response.headers.set("x-ms-request-id", context.new_request_id());
    return response;
  }
  const std::string service = azure_service_of(request);
  if (service == "entra") return azure_impl::entra_error_answer(error, request, context);
  if (service == "keyvault") return azure_impl::key_vault_error_answer(error, request, context);
  return azure_impl::arm_error_answer(error, request, context);
}

std::optional<SandboxResponse> handle_azure(const SandboxRequest& request,
                                            SandboxContext& context) {
  try {
    if (auto response = azure_impl::handle_entra(request, context)) return response;
    if (auto response = azure_impl::handle_managed_identity(request, context)) return response;
    if (auto response = azure_impl::handle_key_vault(request, context)) return response;
    return azure_impl::handle_resource_manager(request, context);
  } catch (const std::exception&) {
    // A handler bug must not take the server down; answer as the service would to a failure.
    return azure_error_response(request, context, 500, "InternalServerError",
                                "The sandbox could not answer this request.");
  }
}

}  // namespace hsmproof::sandbox
