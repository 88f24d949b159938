#pragma once
// AWS Signature Version 4 (header signing). Implemented from the public specification and
// checked against the aws-c-auth test suite and botocore-generated vectors.

#include <optional>
#include <string>

#include "core/clock.h"
#include "http/transport.h"

namespace hsmproof::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;  // never logged or reported
  std::string session_token;      // empty for long-term keys
  std::optional<TimePoint> expiration;
  std::string source;  // where they came from: "environment", "profile default", ... (no secrets)
};

struct SigningParams {
  std::string region;
  std::string service;  // signing name: kms, cloudtrail, cloudhsm, sts, ec2, organizations
  TimePoint time;
  // Add X-Amz-Security-Token before signing (the normal case) when credentials carry one.
  bool sign_session_token = true;
  // Add x-amz-content-sha256 (S3 style); botocore does not for the services we call.
  bool add_content_sha256_header = false;
  // Remove "." / ".." / empty path segments before encoding. Every service but S3 wants this.
  bool normalize_path = true;
};

struct SigningDebug {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
};

// Adds X-Amz-Date, (X-Amz-Security-Token), and Authorization to the request. The Host header is
// taken from the URL (with its port when not the scheme's default) unless already present.
// When `debug` is given, it receives the intermediate strings (tests compare them).
void sign_request(http::Request& request, const Credentials& credentials,
                  const SigningParams& params, SigningDebug* debug = nullptr);

// Building blocks, exposed for the test suite and the future sandbox verifier.
// `signed_headers` is the ";"-joined list of lower-case names, as in the Authorization header.
// The path is encoded as it appears in the URL, so an already-encoded path is encoded again
// (what every service but S3 expects).
std::string canonical_request(const http::Request& request, const std::string& signed_headers,
                              const std::string& payload_hash, bool normalize_path = true);
// The ";"-joined, sorted, lower-case names of the headers sign_request signs: all present except
// those proxies and SDKs change in flight (User-Agent, Expect, amz-sdk-*, ...).
std::string signed_header_names(const http::Request& request);
// The Host header value for a URL: host, plus ":port" unless it is the scheme's default.
std::string host_header_for_url(const std::string& url);
// "AWS4-HMAC-SHA256\n<amz-date>\n<scope>\n<hex sha256 of canonical request>".
std::string string_to_sign(const std::string& amz_date, const std::string& scope,
                           const std::string& canonical);
// HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request" (raw bytes).
std::string signing_key(const std::string& secret_access_key, const std::string& date,
                        const std::string& region, const std::string& service);
std::string uri_encode(const std::string& text, bool encode_slash);
std::string sha256_hex(const std::string& data);
std::string hmac_sha256(const std::string& key, const std::string& data);  // raw bytes
std::string hex(const std::string& bytes);

}  // namespace hsmproof::aws
