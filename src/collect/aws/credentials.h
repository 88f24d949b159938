#pragma once
// The AWS credential chain, in the SDKs' order: environment, web identity, shared profile
// (static keys, credential_process, assume role with source_profile / credential_source),
// container credentials, EC2 instance metadata (IMDSv2).

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "collect/aws/sigv4.h"
#include "core/clock.h"
#include "core/environment.h"
#include "core/result.h"
#include "http/transport.h"

namespace hsmproof::aws {

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  // Cached; refreshed when within 5 minutes of expiry. Thread-safe.
  virtual Result<Credentials> get() = 0;
  // Short, secret-free description for messages ("profile 'prod' via credential_process").
  [[nodiscard]] virtual std::string describe() const = 0;
};

struct CredentialChainOptions {
  // --profile; falls back to AWS_PROFILE, then "default". As with the AWS CLI, a profile given
  // here (not through AWS_PROFILE) skips the AWS_ACCESS_KEY_ID/... environment variables.
  std::string profile;
  std::string region;  // for STS calls when assuming roles
  // Transport for the link-local metadata services (container endpoint, EC2 IMDS). It should have
  // short timeouts (about 1 s to connect, 3 s in all) so a run off AWS fails fast; nullptr means
  // the main transport.
  http::Transport* metadata_transport = nullptr;
};

// Runs a credential_process command; injectable for tests.
using ProcessRunner = std::function<Result<std::string>(const std::string& command)>;
Result<std::string> run_process_capture_stdout(const std::string& command);

// Resolves the chain to the first source that is configured. The error (kCredentials) says which
// sources were tried and how to configure one; a misconfigured endpoint is kUsage. EC2 instance
// metadata, the last source, is probed (one credentials fetch) since only a call tells whether it
// exists. `env`, `transport`, `clock` (and options.metadata_transport) must outlive the provider.
Result<std::shared_ptr<CredentialProvider>> resolve_credential_chain(
    const Environment& env, http::Transport& transport, const Clock& clock,
    const CredentialChainOptions& options, ProcessRunner runner = run_process_capture_stdout);

// The region for calls that need one before any is chosen (STS when assuming roles):
// options.region, else AWS_REGION, else AWS_DEFAULT_REGION, else the profile's `region`, else
// us-east-1. Fails only when a config file exists but cannot be read.
Result<std::string> resolve_default_region(const Environment& env,
                                           const CredentialChainOptions& options);

// Parses an INI-style AWS config/credentials file: section -> key -> value. In the config file,
// sections are "profile NAME" (except "default"); the caller normalises. Keys are lower-cased (as
// Python's configparser, which the AWS CLI uses, does); '#' and ';' start comment lines.
std::map<std::string, std::map<std::string, std::string>> parse_aws_ini(const std::string& text);

}  // namespace hsmproof::aws
