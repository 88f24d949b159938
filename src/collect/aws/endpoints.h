#pragma once
// Where each AWS service lives: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then the
// partition's default (https://<prefix>.<region>.amazonaws.com, .com.cn for China regions).

#include <string>

#include "core/environment.h"
#include "core/result.h"

namespace hsmproof::aws {

enum class Service { kKms, kCloudTrail, kCloudHsmV2, kSts, kEc2, kOrganizations };

struct ServiceInfo {
  Service service;
  const char* endpoint_prefix;     // kms, cloudtrail, cloudhsmv2, sts, ec2, organizations
  const char* signing_name;        // kms, cloudtrail, cloudhsm, sts, ec2, organizations
  const char* env_suffix;          // KMS, CLOUDTRAIL, CLOUDHSM_V2, STS, EC2, ORGANIZATIONS
  const char* json_target_prefix;  // "TrentService" ...; empty for query protocols
};

const ServiceInfo& service_info(Service service);

// The base URL (scheme://host[:port][/path], no trailing slash) for a service in a region.
// Plain http is refused unless the host is loopback. AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true
// skips the environment overrides.
Result<std::string> resolve_endpoint(const Environment& env, Service service,
                                     const std::string& region);

// The region to put in the signature's scope. Organizations is a global service whose single
// endpoint signs as its partition's home region (us-east-1 in the aws partition).
std::string signing_region(Service service, const std::string& region);

// 127.0.0.0/8, ::1 (also as [::1]) and "localhost". The host is given without port.
bool is_loopback_host(const std::string& host);

// Checks that an endpoint URL is http(s) with a host, and that plain http goes to loopback only.
// `setting` names where the URL came from, for the message ("AWS_ENDPOINT_URL_KMS").
Status check_endpoint_url(const std::string& url, const std::string& setting);

}  // namespace hsmproof::aws
