#include "collect/aws/endpoints.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace hsmproof::aws {

namespace {

constexpr std::array<ServiceInfo, 6> kServices = {{
    {Service::kKms, "kms", "kms", "KMS", "TrentService"},
    {Service::kCloudTrail, "cloudtrail", "cloudtrail", "CLOUDTRAIL",
     "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"},
    {Service::kCloudHsmV2, "cloudhsmv2", "cloudhsm", "CLOUDHSM_V2", "BaldrApiService"},
    {Service::kSts, "sts", "sts", "STS", ""},
    {Service::kEc2, "ec2", "ec2", "EC2", ""},
    {Service::kOrganizations, "organizations", "organizations", "ORGANIZATIONS",
     "AWSOrganizationsV20161128"},
}};

std::string to_lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

std::optional<std::string> non_empty_variable(const Environment& env, const std::string& name) {
  std::optional<std::string> value = env.get(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

bool valid_region(const std::string& region) {
  if (region.empty() || region.size() > 64) return false;
  return std::all_of(region.begin(), region.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool valid_port(const std::string& port) {
  if (port.empty() || port.size() > 5) return false;
  int value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return value >= 1 && value <= 65535;
}

std::string dns_suffix(const std::string& region) {
  return starts_with(region, "cn-") ? "amazonaws.com.cn" : "amazonaws.com";
}

Error usage_error(std::string message) {
  Error error;
  error.kind = ErrorKind::kUsage;
  error.message = std::move(message);
  return error;
}

}  // namespace

const ServiceInfo& service_info(Service service) {
  for (const ServiceInfo& info : kServices) {
    if (info.service == service) return info;
  }
  return kServices.front();  // unreachable: every enumerator is in the table
}

std::string signing_region(Service service, const std::string& region) {
  if (service != Service::kOrganizations) return region;
  if (starts_with(region, "cn-")) return "cn-northwest-1";
  if (starts_with(region, "us-gov-")) return "us-gov-west-1";
  return "us-east-1";
}

bool is_loopback_host(const std::string& host) {
  std::string name = to_lower(host);
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  if (name == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, name.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24U) == 127U;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, name.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    // ::ffff:127.x.y.z is the IPv4 loopback seen through an IPv6 socket.
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

Status check_endpoint_url(const std::string& url, const std::string& setting) {
  const std::size_t scheme_end = url.find("://");
  const std::string scheme =
      scheme_end == std::string::npos ? "" : to_lower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    return usage_error(setting + " must be an http:// or https:// URL (got '" + url +
                       "'); for example https://kms.eu-west-1.amazonaws.com or "
                       "http://127.0.0.1:4566 for a local emulator");
  }
  const std::size_t authority_start = scheme_end + 3;
  const std::size_t authority_end = url.find_first_of("/?#", authority_start);
  const std::string authority = url.substr(authority_start, authority_end == std::string::npos
                                                                ? std::string::npos
                                                                : authority_end - authority_start);
  if (authority.find('@') != std::string::npos) {
    // Not echoed: user info is a password more often than not.
    return usage_error(setting +
                       " must not contain user name or password; remove the 'user@' "
                       "part (AWS requests are authenticated by their signature)");
  }
  if (authority_end != std::string::npos &&
      url.find_first_of("?#", authority_start) != std::string::npos) {
    return usage_error(setting + " must not contain a query or fragment (got '" + url + "')");
  }
  std::string host;
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) {
      return usage_error(setting + " has an unterminated IPv6 address (got '" + url + "')");
    }
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        return usage_error(setting + " has an invalid host (got '" + url + "')");
      }
      port = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") {
    return usage_error(setting + " has no host (got '" + url + "')");
  }
  if (authority.back() == ':' || (!port.empty() && !valid_port(port))) {
    return usage_error(setting + " has an invalid port (got '" + url + "')");
  }
  if (scheme == "http" && !is_loopback_host(host)) {
    return usage_error(setting + " is '" + url +
                       "': plain http is allowed only to a loopback address (127.0.0.1, ::1, "
                       "localhost), because requests carry credentials and signed data. Use "
                       "https://, or unset " +
                       setting + " to use the AWS endpoint");
  }
  return ok_status();
}

Result<std::string> resolve_endpoint(const Environment& env, Service service,
                                     const std::string& region) {
  const ServiceInfo& info = service_info(service);
  const std::optional<std::string> ignore = env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  const bool use_configured = !(ignore && to_lower(*ignore) == "true");
  if (use_configured) {
    for (const std::string& name :
         {std::string("AWS_ENDPOINT_URL_") + info.env_suffix, std::string("AWS_ENDPOINT_URL")}) {
      std::optional<std::string> url = non_empty_variable(env, name);
      if (!url) continue;
      Status valid = check_endpoint_url(*url, name);
      if (!valid.ok()) return valid.error();
      while (!url->empty() && url->back() == '/') url->pop_back();
      return *url;
    }
  }
  if (!valid_region(region)) {
    return usage_error("invalid AWS region '" + region +
                       "': use a region name such as us-east-1 or eu-west-1 (--region, "
                       "AWS_REGION or the profile's region setting)");
  }
  return std::string("https://") + info.endpoint_prefix + "." + signing_region(service, region) +
         "." + dns_suffix(region);
}

}  // namespace hsmproof::aws
