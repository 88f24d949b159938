#pragma once
// Calls AWS APIs: the JSON 1.1 protocol (KMS, CloudTrail, CloudHSM v2, Organizations) and the
// query protocol with XML answers (STS, EC2). Signs, sends through the (retrying) transport, and
// turns error answers into Error values with operation, region, code and request id.

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "collect/aws/credentials.h"
#include "collect/aws/endpoints.h"
#include "core/clock.h"
#include "core/environment.h"
#include "core/result.h"
#include "http/retry.h"
#include "http/transport.h"

namespace hsmproof::aws {

// A minimal XML element tree for query-protocol answers.
struct XmlElement {
  std::string name;  // local name, namespace prefix dropped
  std::string text;  // concatenated character data
  std::vector<XmlElement> children;

  [[nodiscard]] const XmlElement* child(const std::string& child_name) const;
  // Text of the first descendant path "A/B/C" (empty when absent).
  [[nodiscard]] std::string text_at(const std::string& path) const;
  [[nodiscard]] const XmlElement* find_descendant(const std::string& descendant_name) const;
};
Result<XmlElement> parse_xml(const std::string& text);

// AWS error codes that mean "slow down" (retried by the transport).
bool is_throttling_code(const std::string& code);
// Error codes that mean the credentials themselves were rejected (exit 3, not incomplete).
bool is_credential_rejection_code(const std::string& code);

// Parses an error answer of either protocol into an Error (kHttp) with code and request id.
Error parse_aws_error(const http::Response& response, const std::string& operation,
                      const std::string& region);

class AwsClient {
 public:
  AwsClient(const Environment& env, http::Transport& transport, const Clock& clock,
            std::shared_ptr<CredentialProvider> credentials);

  // POST a JSON 1.1 call: X-Amz-Target "<prefix>.<operation>". Returns the parsed body.
  // Errors: kTransport, kHttp (with provider_code), kMalformed (not JSON / truncated),
  // kCredentials (credentials unavailable).
  Result<nlohmann::json> call_json(Service service, const std::string& region,
                                   const std::string& operation, const nlohmann::json& input);

  // POST a query-protocol call (Action=<operation>&Version=<version>&params...). Returns the
  // parsed XML document.
  Result<XmlElement> call_query(Service service, const std::string& region,
                                const std::string& operation, const std::string& version,
                                const std::vector<std::pair<std::string, std::string>>& params);

  // Number of HTTP requests sent (all attempts), for reports and benchmarks.
  [[nodiscard]] std::size_t requests_sent() const;

  // Where the credentials come from ("profile 'prod' via credential_process"), for messages;
  // never a secret.
  [[nodiscard]] std::string credential_source() const {
    return credentials_ ? credentials_->describe() : std::string("no credential source");
  }

 private:
  Result<http::Response> send_signed(Service service, const std::string& region,
                                     http::Request request);

  const Environment& env_;
  http::Transport& transport_;
  const Clock& clock_;
  std::shared_ptr<CredentialProvider> credentials_;
  std::atomic<std::size_t> requests_sent_{0};
};

// The retry policy AWS services need: 429/5xx, and 400s whose error code is a throttle.
http::RetryPolicy aws_retry_policy();

}  // namespace hsmproof::aws
