// The AWS front end of the sandbox: recognises AWS requests, authenticates them as AWS does
// (SigV4 with the scenario's credentials or the sandbox's STS sessions), applies the account's
// region opt-ins, and dispatches to the service files (aws_kms.cpp, aws_cloudtrail.cpp, ...).

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <string>

#include "sandbox/aws_auth.h"
#include "core/text.h"
#include "sandbox/aws_common.h"
#include "sandbox/sandbox.h"

namespace hsmproof::sandbox {

namespace {

using aws_impl::AwsCall;
using aws_impl::AwsError;
using aws_impl::Caller;
using aws_impl::Protocol;
using nlohmann::json;

constexpr const char* kStsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";
constexpr const char* kEc2Version = "2016-11-15";
constexpr const char* kInvalidToken = "The security token included in the request is invalid.";
constexpr const char* kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

// ---- small text helpers ----

std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> params;
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    const std::string piece = body.substr(start, end - start);
    if (!piece.empty()) {
      const std::size_t equals = piece.find('=');
      const std::string key = form_decode(piece.substr(0, equals));
      const std::string value =
          equals == std::string::npos ? std::string() : form_decode(piece.substr(equals + 1));
      params.emplace(key, value);
    }
    start = end + 1;
  }
  return params;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool is_form_body(const SandboxRequest& request) {
  return lower(request.headers.get("Content-Type")).rfind("application/x-www-form-urlencoded", 0) ==
         0;
}

// Query services read their parameters from the query string and, for POST, the form body.
std::map<std::string, std::string> query_params(const SandboxRequest& request) {
  std::map<std::string, std::string> params;
  for (const auto& [key, value] : request.query) params.emplace(key, value);
  if (request.method == "POST" &&
      (is_form_body(request) || request.headers.find("Content-Type") == nullptr)) {
    for (auto& [key, value] : parse_form(request.body)) params[key] = value;
  }
  return params;
}

Protocol protocol_of_service(const std::string& service, const SandboxRequest& request) {
  if (service == "sts") return Protocol::kQuery;
  if (service == "ec2") return Protocol::kEc2;
  if (service == "kms" || service == "cloudtrail" || service == "cloudhsm" ||
      service == "organizations") {
    return Protocol::kJson;
  }
  return request.headers.find("X-Amz-Target") != nullptr ? Protocol::kJson : Protocol::kQuery;
}

// ---- answers ----

SandboxResponse json_answer(const std::string& request_id, int status, const json& body) {
  SandboxResponse response;
  response.status = status;
  response.headers.set("x-amzn-RequestId", request_id);
  response.headers.set("Content-Type", "application/x-amz-json-1.1");
  response.body = body.dump();
  return response;
}

SandboxResponse xml_answer(const std::string& request_id, int status, std::string body) {
  SandboxResponse response;
  response.status = status;
  response.headers.set("x-amzn-RequestId", request_id);
  response.headers.set("Content-Type", "text/xml");
  response.body = std::move(body);
  return response;
}

SandboxResponse error_answer(Protocol protocol, const std::string& request_id,
                             const AwsError& error) {
  if (protocol == Protocol::kJson) {
    json body = {{"__type", error.code}};
    body[error.message_member.empty() ? "message" : error.message_member] = error.message;
    return json_answer(request_id, error.status, body);
  }
  if (protocol == Protocol::kEc2) {
    return xml_answer(
        request_id, error.status,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>" +
            aws_impl::xml_escape(error.code) + "</Code><Message>" +
            aws_impl::xml_escape(error.message) + "</Message></Error></Errors><RequestID>" +
            request_id + "</RequestID></Response>");
  }
  return xml_answer(request_id, error.status,
                    std::string("<ErrorResponse xmlns=\"") + kStsNamespace +
                        "\">\n  <Error>\n    <Type>" + aws_impl::xml_escape(error.type) +
                        "</Type>\n    <Code>" + aws_impl::xml_escape(error.code) +
                        "</Code>\n    <Message>" + aws_impl::xml_escape(error.message) +
                        "</Message>\n  </Error>\n  <RequestId>" + request_id +
                        "</RequestId>\n</ErrorResponse>\n");
}

// ---- front-end errors, per protocol ----

AwsError missing_authentication(Protocol protocol) {
  if (protocol == Protocol::kJson) {
    return AwsError{400, "MissingAuthenticationTokenException", "Missing Authentication Token"};
  }
  if (protocol == Protocol::kEc2) {
    return AwsError{401, "MissingAuthenticationToken", "Request is missing Authentication Token"};
  }
  return AwsError{403, "MissingAuthenticationToken", "Request is missing Authentication Token"};
}

AwsError incomplete_signature(Protocol protocol, const std::string& message) {
  if (protocol == Protocol::kJson) return AwsError{400, "IncompleteSignatureException", message};
  return AwsError{400, "IncompleteSignature", message};
}

AwsError invalid_signature(Protocol protocol, const std::string& message) {
  if (protocol == Protocol::kJson) return AwsError{400, "InvalidSignatureException", message};
  return AwsError{403, "SignatureDoesNotMatch", message};
}

AwsError expired_signature(Protocol protocol, const std::string& message) {
  // EC2 has its own code for a stale request; the others report it as a signature failure.
  if (protocol == Protocol::kEc2) return AwsError{400, "RequestExpired", "Request has expired."};
  return invalid_signature(protocol, message);
}

AwsError unrecognized_client(Protocol protocol) {
  if (protocol == Protocol::kJson)
    return AwsError{400, "UnrecognizedClientException", kInvalidToken};
  if (protocol == Protocol::kEc2) {
    return AwsError{401, "AuthFailure",
                    "AWS was not able to validate the provided access credentials"};
  }
  return AwsError{403, "InvalidClientTokenId", kInvalidToken};
}

AwsError expired_token(Protocol protocol) {
  const char* message = "The security token included in the request is expired";
  if (protocol == Protocol::kJson) return AwsError{400, "ExpiredTokenException", message};
  return AwsError{400, "ExpiredToken", message};
}

bool tokens_equal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Finds who holds the access key: a scenario account (long-term key, no session token allowed)
// or a live session the sandbox's STS issued (its token must come with it).
// `secret` receives the key's secret, for the signature check only.
Caller identify_caller(const SandboxRequest& request, SandboxContext& context,
                       const std::string& access_key_id, Protocol protocol, std::string& secret) {
  const std::string* token = request.headers.find("X-Amz-Security-Token");
  Caller caller;
  caller.access_key_id = access_key_id;
  if (const AwsAccountSpec* account =
          aws_impl::find_account_by_access_key(context.scenario(), access_key_id)) {
    if (token != nullptr) throw unrecognized_client(protocol);
    caller.account = account;
    caller.arn = aws_impl::account_user_arn(*account);
    caller.user_id = aws_impl::account_user_id(*account);
    secret = account->secret_access_key;
    return caller;
  }
  const std::optional<aws_impl::Session> session =
      aws_impl::sessions_of(context)->find(access_key_id);
  if (!session || token == nullptr || !tokens_equal(*token, session->session_token)) {
    throw unrecognized_client(protocol);
  }
  if (std::chrono::system_clock::now() >= session->expiration) throw expired_token(protocol);
  caller.account = aws_impl::find_account(context.scenario(), session->account_id);
  if (caller.account == nullptr) throw unrecognized_client(protocol);
  caller.arn = session->assumed_role_arn;
  caller.user_id = session->assumed_role_id;
  caller.temporary = true;
  secret = session->secret_access_key;
  return caller;
}

// The X-Amz-Target prefixes of the JSON services (CloudTrail's is matched by its end: botocore
// sends com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101, the JS SDK CloudTrail_20131101).
const char* target_prefix(const std::string& service) {
  if (service == "kms") return "TrentService";
  if (service == "cloudtrail") return "CloudTrail_20131101";
  if (service == "cloudhsm") return "BaldrApiService";
  if (service == "organizations") return "AWSOrganizationsV20161128";
  return "";
}

bool is_known_service(const std::string& service) {
  return service == "sts" || service == "ec2" || !std::string(target_prefix(service)).empty();
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

SandboxResponse dispatch_json(AwsCall& call) {
  const std::string target = call.request.headers.get("X-Amz-Target");
  const std::size_t dot = target.rfind('.');
  const std::string prefix = dot == std::string::npos ? std::string() : target.substr(0, dot);
  call.operation = dot == std::string::npos ? target : target.substr(dot + 1);
  const std::string expected_prefix = target_prefix(call.service);
  if (target.empty() || expected_prefix.empty() || !ends_with(prefix, expected_prefix) ||
      (prefix.size() > expected_prefix.size() &&
       prefix[prefix.size() - expected_prefix.size() - 1] != '.')) {
    if (call.operation.empty()) call.operation = target;
    throw aws_impl::unknown_operation(call);
  }
  const std::string body = call.request.body.empty() ? std::string("{}") : call.request.body;
  call.input = json::parse(body, nullptr, false);
  if (call.input.is_discarded() || !call.input.is_object()) {
    throw AwsError{400, "SerializationException",
                   "Start of structure or map found where not expected."};
  }
  json answer;
  if (call.service == "kms") {
    answer = aws_impl::kms_operation(call);
  } else if (call.service == "cloudtrail") {
    answer = aws_impl::cloudtrail_operation(call);
  } else if (call.service == "cloudhsm") {
    answer = aws_impl::cloudhsm_operation(call);
  } else {
    answer = aws_impl::organizations_operation(call);
  }
  return json_answer(call.request_id, 200, answer);
}

SandboxResponse dispatch_query(AwsCall& call) {
  call.params = query_params(call.request);
  auto action = call.params.find("Action");
  if (action == call.params.end() || action->second.empty()) {
    throw AwsError{400, "MissingAction", "Missing Action"};
  }
  call.operation = action->second;
  std::string body =
      call.service == "sts" ? aws_impl::sts_operation(call) : aws_impl::ec2_operation(call);
  return xml_answer(call.request_id, 200, std::move(body));
}

// Regions: a request is served only in a region the account has enabled. STS's global endpoint
// signs as us-east-1 and Organizations lives there, so those always answer in us-east-1.
void check_region(const AwsCall& call) {
  if (call.service == "organizations") {
    if (call.region != "us-east-1") {
      throw invalid_signature(call.protocol, "Credential should be scoped to a valid region. ");
    }
    return;
  }
  if (call.service == "sts" && call.region == "us-east-1") return;
  if (!aws_impl::region_enabled(*call.caller.account, call.region)) {
    throw unrecognized_client(call.protocol);
  }
}

SandboxResponse handle_signed(const SandboxRequest& request, SandboxContext& context,
                              const std::string& authorization, const std::string& request_id) {
  std::string problem;
  const std::optional<aws_impl::AuthorizationHeader> auth =
      aws_impl::parse_authorization(authorization, problem);
  const std::string service = auth ? auth->service : std::string();
  Protocol protocol = protocol_of_service(service, request);
  try {
    if (!auth) throw incomplete_signature(protocol, problem);
    if (!is_known_service(service)) {
      throw AwsError{400,
                     protocol == Protocol::kJson ? "UnknownOperationException" : "InvalidAction",
                     "The sandbox serves no AWS service named '" + service +
                         "' (credential scope); it serves kms, cloudtrail, cloudhsm, sts, ec2 and "
                         "organizations."};
    }
    const std::string* amz_date = request.headers.find("X-Amz-Date");
    if (amz_date == nullptr) {
      throw incomplete_signature(
          protocol,
          "Authorization header requires existence of either a 'X-Amz-Date' or a "
          "'Date' header.");
    }
    const std::optional<TimePoint> signed_at = aws_impl::parse_amz_date(*amz_date);
    if (!signed_at) {
      throw incomplete_signature(protocol, "Date must be in ISO-8601 'basic format'. Got '" +
                                               *amz_date +
                                               "'. See http://en.wikipedia.org/wiki/ISO_8601");
    }
    if (amz_date->substr(0, 8) != auth->scope_date) {
      throw invalid_signature(
          protocol,
          "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
          "date from HTTP: '" +
              auth->scope_date + "' != '" + amz_date->substr(0, 8) + "', from '" + *amz_date +
              "'.");
    }
    const std::string skew =
        aws_impl::clock_skew_problem(*signed_at, std::chrono::system_clock::now());
    if (!skew.empty()) throw expired_signature(protocol, skew);
    const std::string signed_headers = ";" + auth->signed_headers + ";";
    if (signed_headers.find(";host;") == std::string::npos) {
      throw invalid_signature(protocol,
                              "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                              "Authorization.");
    }

    AwsCall call{request, context};
    call.service = auth->service;
    call.region = auth->region;
    call.protocol = protocol;
    call.request_id = request_id;
    std::string secret;
    call.caller = identify_caller(request, context, auth->access_key_id, protocol, secret);
    check_region(call);
    const std::string expected = aws_impl::expected_signature(request, *auth, *amz_date, secret);
    if (!aws_impl::signatures_equal(expected, lower(auth->signature))) {
      throw invalid_signature(protocol, kSignatureMismatch);
    }

    if (protocol == Protocol::kJson) return dispatch_json(call);
    return dispatch_query(call);
  } catch (const AwsError& error) {
    return error_answer(protocol, request_id, error);
  }
}

}  // namespace

std::optional<SandboxResponse> handle_aws(const SandboxRequest& request, SandboxContext& context) {
  const std::string* authorization = request.headers.find("Authorization");
  const bool sigv4 = authorization != nullptr && aws_impl::is_sigv4_authorization(*authorization);
  try {
    if (sigv4) return handle_signed(request, context, *authorization, context.new_request_id());

    // Unsigned: web identity federation (the token is the proof), or an AWS call that forgot
    // its signature. Everything else belongs to another handler.
    if (request.headers.find("X-Amz-Target") != nullptr && authorization == nullptr) {
      return error_answer(Protocol::kJson, context.new_request_id(),
                          missing_authentication(Protocol::kJson));
    }
    if (request.path != "/" || authorization != nullptr) return std::nullopt;
    const std::map<std::string, std::string> params = query_params(request);
    auto action = params.find("Action");
    if (action == params.end()) return std::nullopt;
    const std::string request_id = context.new_request_id();
    auto version = params.find("Version");
    const Protocol protocol = version != params.end() && version->second == kEc2Version
                                  ? Protocol::kEc2
                                  : Protocol::kQuery;
    if (action->second == "AssumeRoleWithWebIdentity" && protocol == Protocol::kQuery) {
      try {
        return xml_answer(
            request_id, 200,
            aws_impl::sts_assume_role_with_web_identity(request, context, params, request_id));
      } catch (const AwsError& error) {
        return error_answer(Protocol::kQuery, request_id, error);
      }
    }
    return error_answer(protocol, request_id, missing_authentication(protocol));
  } catch (const std::exception& e) {
    // The boundary: nothing escapes into the server. The message names no secret (the handlers
    // never put credentials in exceptions).
    SandboxResponse response;
    response.status = 500;
    response.headers.set("x-amzn-RequestId", context.new_request_id());
    response.headers.set("Content-Type", "application/x-amz-json-1.1");
    response.body = json{{"__type", "InternalFailure"},
                         {"message", std::string("sandbox internal error: ") + e.what()}}
                        .dump();
    return response;
  }
}

}  // namespace hsmproof::sandbox
