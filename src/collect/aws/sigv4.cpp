#include "collect/aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace hsmproof::aws {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void remove_header(http::Headers& headers, std::string_view name) {
  std::erase_if(headers.entries, [&](const auto& entry) { return iequals(entry.first, name); });
}

struct UrlParts {
  std::string scheme;
  std::string authority;  // host[:port], user info removed
  std::string path;
  std::string query;
};

// Only the split SigV4 needs; the path and query are kept exactly as written, because the
// signature covers the bytes that go on the wire.
UrlParts split_url(const std::string& url) {
  UrlParts parts;
  std::size_t pos = 0;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end != std::string::npos) {
    parts.scheme = to_lower(std::string_view(url).substr(0, scheme_end));
    pos = scheme_end + 3;
  }
  const std::size_t authority_end = url.find_first_of("/?#", pos);
  parts.authority =
      url.substr(pos, authority_end == std::string::npos ? std::string::npos : authority_end - pos);
  const std::size_t at = parts.authority.rfind('@');
  if (at != std::string::npos) parts.authority.erase(0, at + 1);
  if (authority_end == std::string::npos) return parts;
  const std::size_t fragment = url.find('#', authority_end);
  const std::string rest = url.substr(
      authority_end, fragment == std::string::npos ? std::string::npos : fragment - authority_end);
  const std::size_t question = rest.find('?');
  parts.path = rest.substr(0, question);
  if (question != std::string::npos) parts.query = rest.substr(question + 1);
  return parts;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// '+' stays '+': SigV4 follows RFC 3986, not HTML forms.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    pieces.emplace_back(
        text.substr(start, end == std::string_view::npos ? text.npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return pieces;
}

// Removes empty, "." and ".." segments (as botocore's posixpath.normpath does); a trailing slash
// survives because some services distinguish "/a" from "/a/".
std::string normalize_path(const std::string& path) {
  std::vector<std::string> kept;
  for (std::string& segment : split(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      continue;
    }
    kept.push_back(std::move(segment));
  }
  std::string out = "/";
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) out += '/';
    out += kept[i];
  }
  if (!kept.empty() && path.size() > 1 && path.back() == '/') out += '/';
  return out;
}

std::string canonical_uri(const std::string& raw_path, bool normalize) {
  const std::string path = raw_path.empty() ? "/" : raw_path;
  return uri_encode(normalize ? normalize_path(path) : path, false);
}

std::string canonical_query(const std::string& query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (const std::string& piece : split(query, '&')) {
    if (piece.empty()) continue;
    const std::size_t equals = piece.find('=');
    std::string key = piece.substr(0, equals);
    std::string value = equals == std::string::npos ? "" : piece.substr(equals + 1);
    // Decoding first makes "%E1%88%B4" and the raw UTF-8 bytes sign the same way.
    params.emplace_back(uri_encode(percent_decode(key), true),
                        uri_encode(percent_decode(value), true));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trims and collapses every whitespace run (including folded continuation lines) to one space.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

// Headers that proxies, HTTP libraries or SDK retry logic may add or change after signing.
bool is_unsigned_header(const std::string& lower_name) {
  static const std::array<std::string_view, 6> kUnsigned = {"authorization",   "user-agent",
                                                            "expect",          "transfer-encoding",
                                                            "x-amzn-trace-id", "connection"};
  if (std::find(kUnsigned.begin(), kUnsigned.end(), lower_name) != kUnsigned.end()) return true;
  return lower_name.rfind("amz-sdk-", 0) == 0;
}

std::string sha256_raw(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
  return {reinterpret_cast<const char*>(digest.data()), length};
}

}  // namespace

std::string hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char byte : bytes) {
    const auto value = static_cast<unsigned char>(byte);
    out += kDigits[value >> 4U];
    out += kDigits[value & 0x0FU];
  }
  return out;
}

std::string sha256_hex(const std::string& data) { return hex(sha256_raw(data)); }

std::string hmac_sha256(const std::string& key, const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(),
           &length) == nullptr) {
    throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  }
  return {reinterpret_cast<const char*>(mac.data()), length};
}

std::string uri_encode(const std::string& text, bool encode_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved || (c == '/' && !encode_slash)) {
      out += c;
    } else {
      out += '%';
      out += kDigits[byte >> 4U];
      out += kDigits[byte & 0x0FU];
    }
  }
  return out;
}

std::string host_header_for_url(const std::string& url) {
  const UrlParts parts = split_url(url);
  std::string host = parts.authority;
  const std::size_t colon = host.rfind(':');
  // A colon inside "[...]" belongs to an IPv6 address, not to a port.
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    const std::string port = host.substr(colon + 1);
    if ((parts.scheme == "https" && port == "443") || (parts.scheme == "http" && port == "80") ||
        port.empty()) {
      host.erase(colon);
    }
  }
  return host;
}

std::string signed_header_names(const http::Request& request) {
  std::vector<std::string> names;
  for (const auto& entry : request.headers.entries) {
    std::string lower = to_lower(entry.first);
    if (is_unsigned_header(lower)) continue;
    names.push_back(std::move(lower));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

std::string canonical_request(const http::Request& request, const std::string& signed_headers,
                              const std::string& payload_hash, bool normalize_path) {
  const UrlParts parts = split_url(request.url);
  std::string out = request.method;
  out += '\n';
  out += canonical_uri(parts.path, normalize_path);
  out += '\n';
  out += canonical_query(parts.query);
  out += '\n';
  for (const std::string& name : split(signed_headers, ';')) {
    if (name.empty()) continue;
    // Repeated headers are joined with commas in the order they appear.
    std::string joined;
    bool first = true;
    for (const auto& entry : request.headers.entries) {
      if (!iequals(entry.first, name)) continue;
      if (!first) joined += ',';
      joined += canonical_header_value(entry.second);
      first = false;
    }
    out += name;
    out += ':';
    out += joined;
    out += '\n';
  }
  out += '\n';
  out += signed_headers;
  out += '\n';
  out += payload_hash;
  return out;
}

std::string string_to_sign(const std::string& amz_date, const std::string& scope,
                           const std::string& canonical) {
  std::string out(kAlgorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += scope;
  out += '\n';
  out += sha256_hex(canonical);
  return out;
}

std::string signing_key(const std::string& secret_access_key, const std::string& date,
                        const std::string& region, const std::string& service) {
  const std::string date_key = hmac_sha256("AWS4" + secret_access_key, date);
  const std::string region_key = hmac_sha256(date_key, region);
  const std::string service_key = hmac_sha256(region_key, service);
  return hmac_sha256(service_key, "aws4_request");
}

void sign_request(http::Request& request, const Credentials& credentials,
                  const SigningParams& params, SigningDebug* debug) {
  const std::string amz_date = format_amz_date(params.time);
  const std::string date = amz_date.substr(0, 8);
  const std::string payload_hash = sha256_hex(request.body);

  // Re-signing (a retry, refreshed credentials) must not carry the previous attempt's values.
  remove_header(request.headers, "authorization");
  remove_header(request.headers, "x-amz-date");
  remove_header(request.headers, "x-amz-security-token");
  if (params.add_content_sha256_header) remove_header(request.headers, "x-amz-content-sha256");

  const bool has_host = std::any_of(request.headers.entries.begin(), request.headers.entries.end(),
                                    [](const auto& entry) { return iequals(entry.first, "host"); });
  if (!has_host) request.headers.add("Host", host_header_for_url(request.url));
  request.headers.add("X-Amz-Date", amz_date);
  const bool has_token = !credentials.session_token.empty();
  if (has_token && params.sign_session_token) {
    request.headers.add("X-Amz-Security-Token", credentials.session_token);
  }
  if (params.add_content_sha256_header) request.headers.add("x-amz-content-sha256", payload_hash);

  const std::string signed_headers = signed_header_names(request);
  const std::string canonical =
      canonical_request(request, signed_headers, payload_hash, params.normalize_path);
  const std::string scope = date + "/" + params.region + "/" + params.service + "/aws4_request";
  const std::string to_sign = string_to_sign(amz_date, scope, canonical);
  const std::string signature = hex(hmac_sha256(
      signing_key(credentials.secret_access_key, date, params.region, params.service), to_sign));

  request.headers.add("Authorization",
                      std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                          scope + ", SignedHeaders=" + signed_headers + ", Signature=" + signature);
  // Some STS-style callers want the token sent but left out of the signature.
  if (has_token && !params.sign_session_token) {
    request.headers.add("X-Amz-Security-Token", credentials.session_token);
  }
  if (debug != nullptr) {
    debug->canonical_request = canonical;
    debug->string_to_sign = to_sign;
    debug->signature = signature;
  }
}

}  // namespace hsmproof::aws
