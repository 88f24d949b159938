#pragma once
// What the rest of the sandbox (server, CLI, faults) needs from the Azure handlers beyond
// handle_azure (declared in sandbox.h).

#include <string>

#include "sandbox/sandbox.h"

namespace hsmproof::sandbox {

// The secret an App Service style managed-identity client sends as X-IDENTITY-HEADER to
// `{base_url}/msi/token` (App Service's IDENTITY_HEADER; IDENTITY_ENDPOINT is that URL). Derived
// from the scenario, so the CLI can print it; empty when the scenario has no managed identity.
std::string azure_identity_header(const Scenario& scenario);

// Which Azure service a request is for, as FaultSpec::service names them: "entra" (token
// endpoints, discovery, managed identity), "keyvault" (Key Vault / Managed HSM data plane),
// "policy" (Microsoft.Authorization policy and Microsoft.PolicyInsights), "monitor"
// (Microsoft.Insights), "arm" (everything else under Resource Manager); "" for other paths.
std::string azure_service_of(const SandboxRequest& request);

// An error answer in the wire shape of the service the request is for (Entra's OAuth error,
// Key Vault's or Resource Manager's {"error":{"code","message"}}), with its request-id headers,
// for faults the server injects (e.g. 429 + Retry-After, 500, AuthorizationFailed).
SandboxResponse azure_error_response(const SandboxRequest& request, SandboxContext& context,
                                     int status, const std::string& code,
                                     const std::string& message);

}  // namespace hsmproof::sandbox
