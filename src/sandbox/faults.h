#pragma once
// Faults and request quotas: what the sandbox does to a request before (or instead of) the
// service handlers answering it. Each fault answers in the shape the real service uses for that
// failure (AWS ThrottlingException over HTTP 400, EC2 RequestLimitExceeded 503, Azure 429 with
// Retry-After, ...), so clients exercise their real error paths.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/sandbox.h"
#include "sandbox/scenario.h"

namespace hsmproof::sandbox {

// kms, cloudtrail, cloudhsm, sts, ec2, organizations (aws); arm, keyvault, entra, policy,
// monitor (azure).
const std::vector<std::string>& sandbox_service_names();
// "aws", "azure", or "" for a name that is no sandbox service.
std::string provider_of_service(const std::string& service);

// What a request is, as far as faults and quotas care.
struct RequestRoute {
  std::string provider;   // aws | azure
  std::string service;    // see sandbox_service_names()
  std::string operation;  // AWS: X-Amz-Target suffix or Action; Azure: the decoded path
  std::string region;     // AWS: the credential scope's; Azure: the named vault's or HSM's location
  std::string principal;  // AWS access key id; Azure subscription id (empty when none)
  std::string resource;   // Azure vault or managed HSM name, for per-vault quotas
  std::string method;
};

// Provider and service from the SigV4 scope (or an unsigned STS Action), else from the path.
RequestRoute classify_request(const SandboxRequest& request);

// The providers' answers for each failure, in the service's own protocol.
SandboxResponse throttle_response(const RequestRoute& route, SandboxContext& context,
                                  int retry_after_seconds);
SandboxResponse server_error_response(const RequestRoute& route, SandboxContext& context,
                                      int status);
SandboxResponse access_denied_response(const RequestRoute& route, SandboxContext& context);

// The quotas the providers publish, used when a scenario names a quota key without a rate.
const std::vector<QuotaSpec>& published_quotas();
std::optional<QuotaSpec> published_quota(const std::string& key);
// Every quota key a request draws from, most specific first ("aws:kms:ListKeys",
// "aws:kms:all"; "azure:arm:read", ...).
std::vector<std::string> quota_keys_for(const RequestRoute& route);

// application/x-www-form-urlencoded and query decoding: %XX everywhere, '+' as a space.
std::string decode_url_component(std::string_view text, bool plus_is_space);
std::vector<std::pair<std::string, std::string>> decode_form_pairs(std::string_view text);

struct FaultOutcome {
  std::optional<SandboxResponse> response;  // answer this instead of the handlers
  std::chrono::milliseconds delay{0};       // wait this long first
  bool truncate = false;                    // send only part of the handlers' body
};

// Thread-safe: faults with a count and probability, and token buckets, are shared state.
class FaultInjector {
 public:
  FaultInjector(const Scenario& scenario, std::vector<FaultSpec> faults,
                std::vector<QuotaSpec> quotas);

  FaultOutcome before_handling(const SandboxRequest& request, SandboxContext& context);
  [[nodiscard]] RequestRoute route(const SandboxRequest& request) const;
  [[nodiscard]] std::uint64_t faults_fired() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
  };
  bool fires(std::size_t index);
  bool take_token(const QuotaSpec& quota, const std::string& bucket_id);

  std::vector<FaultSpec> faults_;
  std::map<std::string, QuotaSpec> quotas_;
  std::map<std::string, std::string> locations_;  // vault / managed HSM name -> location

  mutable std::mutex mutex_;
  std::vector<int> remaining_;  // per fault; -1 = unlimited
  std::mt19937_64 random_;
  std::map<std::string, Bucket> buckets_;
  std::uint64_t fired_ = 0;
};

}  // namespace hsmproof::sandbox
