#pragma once
// The sandbox: in-process emulation of the AWS and Azure endpoints hsmproof reads, seeded from a
// scenario, served on loopback over HTTPS (a local CA it generates) or plain HTTP. It checks what
// the real services check (SigV4 signatures, bearer tokens it issued) and answers in their wire
// formats, faults included.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "http/transport.h"
#include "sandbox/scenario.h"

namespace hsmproof::sandbox {

struct SandboxRequest {
  std::string method;
  std::string path;    // decoded path, no query
  std::string target;  // raw request target as received (path?query), for SigV4
  std::vector<std::pair<std::string, std::string>> query;  // decoded keys and values, in order
  http::Headers headers;
  std::string body;
  std::string host;  // Host header as received (with port)

  [[nodiscard]] std::optional<std::string> query_param(const std::string& name) const;
};

struct SandboxResponse {
  int status = 200;
  http::Headers headers;
  std::string body;
  // Fault injection: close the connection without an answer, or send the headers with the full
  // Content-Length but only the first `truncate_at` bytes of the body, then close.
  bool reset_connection = false;
  std::optional<std::size_t> truncate_at;
};

// Shared by the handlers: the scenario, the addresses clients use, and generated material.
class SandboxContext {
 public:
  SandboxContext(Scenario scenario, std::string base_url);
  ~SandboxContext();

  const Scenario& scenario() const { return scenario_; }
  const std::string& base_url() const { return base_url_; }  // https://127.0.0.1:PORT

  // Lazily generated, cached key pairs (KMS keys by ARN, Azure keys by kid) as PEM private keys;
  // thread-safe. Generation is deterministic in type and size, not in bits.
  std::string private_key_pem(const std::string& key_ref, const std::string& algorithm,
                              int bits_or_curve_nid);

  // Bearer tokens the sandbox issued: token -> audience/resource. Thread-safe.
  std::string issue_token(const std::string& audience, const std::string& subject);
  std::optional<std::string> token_audience(const std::string& token) const;

  std::string new_request_id();

 private:
  struct Impl;
  Scenario scenario_;
  std::string base_url_;
  std::unique_ptr<Impl> impl_;
};

// A handler answers requests it recognises and returns nullopt for others.
using Handler = std::function<std::optional<SandboxResponse>(const SandboxRequest&, SandboxContext&)>;

// The AWS endpoints (one endpoint for every service, told apart by the SigV4 credential scope and
// X-Amz-Target / Action), and the Azure ones (Entra, managed identity, Resource Manager, Key
// Vault and Managed HSM data planes).
std::optional<SandboxResponse> handle_aws(const SandboxRequest& request, SandboxContext& context);
std::optional<SandboxResponse> handle_azure(const SandboxRequest& request, SandboxContext& context);

struct SandboxOptions {
  std::string listen_host = "127.0.0.1";
  int port = 0;  // 0 = a free port
  bool plain_http = false;
  std::string state_dir;  // where the CA certificate is written (ca.pem); a temp dir when empty
};

class Sandbox {
 public:
  static Result<std::unique_ptr<Sandbox>> start(Scenario scenario, const SandboxOptions& options);
  ~Sandbox();

  [[nodiscard]] std::string base_url() const;     // https://127.0.0.1:PORT
  [[nodiscard]] std::string ca_bundle_path() const;  // PEM of the local CA ("" with plain http)
  // The variables a client needs, in order, as NAME -> value (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
  // AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_CA_BUNDLE, AZURE_TENANT_ID, AZURE_CLIENT_ID,
  // AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST, AZURE_RESOURCE_MANAGER_ENDPOINT, SSL_CERT_FILE).
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> client_environment() const;
  [[nodiscard]] std::uint64_t requests_served() const;
  void stop();

 private:
  Sandbox();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hsmproof::sandbox
