#pragma once
// SigV4 verification as the AWS front end does it: the canonical request is rebuilt from the
// request as received (method, raw path, query, only the signed headers, the body's hash) with
// the same building blocks the client signer uses, and the signatures compared in constant time.

#include <optional>
#include <string>

#include "core/clock.h"
#include "sandbox/sandbox.h"

namespace hsmproof::sandbox::aws_impl {

struct AuthorizationHeader {
  std::string access_key_id;
  std::string scope_date;  // yyyymmdd
  std::string region;
  std::string service;
  std::string terminator;  // aws4_request
  std::string signed_headers;
  std::string signature;

  [[nodiscard]] std::string scope() const {
    return scope_date + "/" + region + "/" + service + "/" + terminator;
  }
};

// True when the header claims SigV4 (the algorithm name), whatever its parameters.
bool is_sigv4_authorization(const std::string& value);

// Parses "AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=..,
// Signature=..". On failure, `problem` holds AWS's IncompleteSignature wording (never the
// header itself).
std::optional<AuthorizationHeader> parse_authorization(const std::string& value,
                                                       std::string& problem);

// "20150830T123600Z" -> time point; nullopt when malformed.
std::optional<TimePoint> parse_amz_date(const std::string& text);

// The signature the request should carry if signed with `secret` at `amz_date`.
std::string expected_signature(const SandboxRequest& request, const AuthorizationHeader& auth,
                               const std::string& amz_date, const std::string& secret);

// Constant-time equality of two hex signatures.
bool signatures_equal(const std::string& expected, const std::string& provided);

// AWS allows 5 minutes of clock skew. Empty when within it, else AWS's message
// ("Signature expired: ... is now earlier than ... (... - 5 min.)" or "not yet current").
std::string clock_skew_problem(TimePoint signed_at, TimePoint now);

}  // namespace hsmproof::sandbox::aws_impl
