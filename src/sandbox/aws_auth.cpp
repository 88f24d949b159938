#include "sandbox/aws_auth.h"

#include <openssl/crypto.h>

#include <cctype>
#include <ctime>
#include <vector>

#include "collect/aws/sigv4.h"

namespace hsmproof::sandbox::aws_impl {

namespace {

constexpr const char* kAlgorithm = "AWS4-HMAC-SHA256";
constexpr auto kAllowedSkew = std::chrono::minutes(5);

std::string trim(const std::string& text) {
  const std::size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  const std::size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    pieces.push_back(
        text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return pieces;
}

bool iequals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool is_sigv4_authorization(const std::string& value) {
  const std::string trimmed = trim(value);
  const std::string algorithm(kAlgorithm);
  return trimmed.size() >= algorithm.size() &&
         trimmed.compare(0, algorithm.size(), algorithm) == 0 &&
         (trimmed.size() == algorithm.size() || trimmed[algorithm.size()] == ' ');
}

std::optional<AuthorizationHeader> parse_authorization(const std::string& value,
                                                       std::string& problem) {
  problem.clear();
  const std::string trimmed = trim(value);
  const std::string algorithm(kAlgorithm);
  if (!is_sigv4_authorization(trimmed)) {
    problem = "Unsupported Authorization Type";
    return std::nullopt;
  }
  std::string credential;
  std::string signed_headers;
  std::string signature;
  bool have_credential = false;
  bool have_signed_headers = false;
  bool have_signature = false;
  for (const std::string& raw_part : split(trimmed.substr(algorithm.size()), ',')) {
    const std::string part = trim(raw_part);
    if (part.empty()) continue;
    const std::size_t equals = part.find('=');
    if (equals == std::string::npos) {
      problem = "Authorization header requires each component to be of the form key=value.";
      return std::nullopt;
    }
    const std::string key = part.substr(0, equals);
    const std::string component = part.substr(equals + 1);
    if (key == "Credential") {
      credential = component;
      have_credential = true;
    } else if (key == "SignedHeaders") {
      signed_headers = component;
      have_signed_headers = true;
    } else if (key == "Signature") {
      signature = component;
      have_signature = true;
    }
  }
  if (!have_credential) problem += "Authorization header requires 'Credential' parameter. ";
  if (!have_signature) problem += "Authorization header requires 'Signature' parameter. ";
  if (!have_signed_headers) problem += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!problem.empty()) {
    problem.pop_back();
    return std::nullopt;
  }
  const std::vector<std::string> scope = split(credential, '/');
  if (scope.size() != 5) {
    problem =
        "Credential should be scoped to a valid region, service and terminator, "
        "in the form <access key>/<date>/<region>/<service>/aws4_request.";
    return std::nullopt;
  }
  AuthorizationHeader header;
  header.access_key_id = scope[0];
  header.scope_date = scope[1];
  header.region = scope[2];
  header.service = scope[3];
  header.terminator = scope[4];
  header.signed_headers = signed_headers;
  header.signature = signature;
  if (header.access_key_id.empty()) {
    problem =
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term.";
    return std::nullopt;
  }
  if (header.terminator != "aws4_request") {
    problem = "Credential should be scoped with a valid terminator: 'aws4_request', not '" +
              header.terminator + "'.";
    return std::nullopt;
  }
  if (header.region.empty()) {
    problem = "Credential should be scoped to a valid region.";
    return std::nullopt;
  }
  if (header.service.empty()) {
    problem = "Credential should be scoped to correct service.";
    return std::nullopt;
  }
  return header;
}

std::optional<TimePoint> parse_amz_date(const std::string& text) {
  // yyyymmddThhmmssZ, nothing else.
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  for (std::size_t i = 0; i < 15; ++i) {
    if (i == 8) continue;
    if (std::isdigit(static_cast<unsigned char>(text[i])) == 0) return std::nullopt;
  }
  std::tm parts{};
  parts.tm_year = std::stoi(text.substr(0, 4)) - 1900;
  parts.tm_mon = std::stoi(text.substr(4, 2)) - 1;
  parts.tm_mday = std::stoi(text.substr(6, 2));
  parts.tm_hour = std::stoi(text.substr(9, 2));
  parts.tm_min = std::stoi(text.substr(11, 2));
  parts.tm_sec = std::stoi(text.substr(13, 2));
  if (parts.tm_mon > 11 || parts.tm_mday < 1 || parts.tm_mday > 31 || parts.tm_hour > 23 ||
      parts.tm_min > 59 || parts.tm_sec > 60) {
    return std::nullopt;
  }
  const std::time_t seconds = timegm(&parts);
  return std::chrono::system_clock::from_time_t(seconds);
}

std::string expected_signature(const SandboxRequest& request, const AuthorizationHeader& auth,
                               const std::string& amz_date, const std::string& secret) {
  http::Request rebuilt;
  rebuilt.method = request.method;
  // The scheme and authority of this URL are not part of the canonical request (the Host
  // header is); only the raw path and query, exactly as received, matter.
  std::string target = request.target.empty() ? request.path : request.target;
  if (target.empty() || target.front() != '/') target.insert(target.begin(), '/');
  rebuilt.url = "http://sandbox" + target;
  rebuilt.headers = request.headers;
  bool has_host = false;
  for (const auto& entry : rebuilt.headers.entries) {
    if (iequals(entry.first, "host")) has_host = true;
  }
  if (!has_host && !request.host.empty()) rebuilt.headers.add("Host", request.host);
  rebuilt.body = request.body;

  const std::string canonical = hsmproof::aws::canonical_request(
      rebuilt, auth.signed_headers, hsmproof::aws::sha256_hex(request.body), true);
  const std::string to_sign = hsmproof::aws::string_to_sign(amz_date, auth.scope(), canonical);
  const std::string key =
      hsmproof::aws::signing_key(secret, auth.scope_date, auth.region, auth.service);
  return hsmproof::aws::hex(hsmproof::aws::hmac_sha256(key, to_sign));
}

bool signatures_equal(const std::string& expected, const std::string& provided) {
  if (expected.size() != provided.size()) return false;
  return CRYPTO_memcmp(expected.data(), provided.data(), expected.size()) == 0;
}

std::string clock_skew_problem(TimePoint signed_at, TimePoint now) {
  const auto seconds = [](TimePoint t) { return std::chrono::floor<std::chrono::seconds>(t); };
  if (signed_at < now - kAllowedSkew) {
    return "Signature expired: " + format_amz_date(signed_at) + " is now earlier than " +
           format_amz_date(seconds(now - kAllowedSkew)) + " (" + format_amz_date(seconds(now)) +
           " - 5 min.)";
  }
  if (signed_at > now + kAllowedSkew) {
    return "Signature not yet current: " + format_amz_date(signed_at) + " is still later than " +
           format_amz_date(seconds(now + kAllowedSkew)) + " (" + format_amz_date(seconds(now)) +
           " + 5 min.)";
  }
  return {};
}

}  // namespace hsmproof::sandbox::aws_impl
