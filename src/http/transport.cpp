#include "http/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace hsmproof::http {

namespace {

bool equals_ignore_case(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string to_lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Host part of an authority: "[v6]" keeps its brackets, a port is dropped.
std::string host_of_authority(const std::string& authority) {
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    return close == std::string::npos ? authority : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.find(':'));
}

bool is_loopback_host(const std::string& host_in) {
  const std::string host = to_lower(host_in);
  if (host == "localhost" || host == "localhost.") return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    in6_addr v6{};
    const std::string inner = host.substr(1, host.size() - 2);
    return inet_pton(AF_INET6, inner.c_str(), &v6) == 1 &&
           std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
  }
  // inet_pton accepts only the strict dotted quad, so "127.0.0.1.example.com" is not loopback.
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) != 1) return false;
  const auto first_octet = static_cast<unsigned char>(ntohl(v4.s_addr) >> 24U);
  return first_octet == 127;
}

}  // namespace

void Headers::set(const std::string& name, const std::string& value) {
  bool replaced = false;
  for (auto it = entries.begin(); it != entries.end();) {
    if (!equals_ignore_case(it->first, name)) {
      ++it;
      continue;
    }
    if (replaced) {
      it = entries.erase(it);
    } else {
      it->first = name;
      it->second = value;
      replaced = true;
      ++it;
    }
  }
  if (!replaced) entries.emplace_back(name, value);
}

void Headers::add(const std::string& name, const std::string& value) {
  entries.emplace_back(name, value);
}

const std::string* Headers::find(const std::string& name) const {
  for (const auto& [key, value] : entries) {
    if (equals_ignore_case(key, name)) return &value;
  }
  return nullptr;
}

std::string Headers::get(const std::string& name) const {
  const std::string* value = find(name);
  return value == nullptr ? std::string() : *value;
}

std::string url_authority(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return {};
  const auto start = scheme_end + 3;
  const auto end = url.find_first_of("/?#", start);
  std::string authority =
      url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  // User info ("user:password@") may hold a secret and is never the host.
  const auto at = authority.rfind('@');
  if (at != std::string::npos) authority.erase(0, at + 1);
  return authority;
}

Status check_endpoint_scheme(const std::string& url) {
  const auto scheme_end = url.find("://");
  const std::string scheme =
      scheme_end == std::string::npos ? "" : to_lower(url.substr(0, scheme_end));
  const std::string host = host_of_authority(url_authority(url));
  Error error;
  error.kind = ErrorKind::kUsage;
  if (scheme != "https" && scheme != "http") {
    error.message = "endpoint '" +
                    (scheme.empty() ? std::string("(no scheme)") : scheme + "://" + host) +
                    "' is not an http(s) URL; use https://HOST";
    return error;
  }
  if (host.empty()) {
    error.message = "endpoint URL has no host; use https://HOST";
    return error;
  }
  if (scheme == "https" || is_loopback_host(host)) return ok_status();
  error.message = "endpoint 'http://" + host +
                  "' would send credentials in clear text; use https:// (plain http is allowed "
                  "only for localhost, 127.0.0.0/8 and [::1])";
  return error;
}

}  // namespace hsmproof::http
